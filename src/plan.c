/* The decision per mail; see plan.h. */
#include "config.h"

#include "plan.h"

static struct plan_decision decision(enum plan_action a, enum plan_reason r,
                                     bool delete_after)
{
    struct plan_decision d;

    d.action = a;
    d.reason = r;
    d.delete_after = delete_after;
    return d;
}

/* May the mail be deleted now, as far as keep is concerned? */
static bool may_delete(const struct account *acc, const struct plan_mail *m,
                       long long now)
{
    long long first = m->seen ? m->first_seen : now;

    switch (acc->keep) {
    case KEEP_OFF:
        return true;
    case KEEP_DURATION:
        /* A first-seen time in the future (a clock that went back) counts
         * as now: the mail is kept, never deleted early. */
        if (first > now)
            first = now;
        return now - first >= acc->keep_seconds;
    case KEEP_ON:
    default:
        return false;
    }
}

/* Delete, or under keep mark as retrieved. */
static struct plan_decision kill_or_mark(const struct account *acc,
                                         const struct plan_mail *m,
                                         long long now, enum plan_reason r)
{
    return may_delete(acc, m, now) ? decision(PLAN_DELETE, r, false)
                                   : decision(PLAN_MARK, r, false);
}

struct plan_decision plan_decide(const struct account *acc,
                                 const struct plan_mail *m, long long now)
{
    if (acc->only_new && m->seen) {
        if (!may_delete(acc, m, now))
            return decision(PLAN_IGNORE, REASON_SEEN, false);
        return decision(PLAN_DELETE_OLD, acc->keep == KEEP_DURATION
                                         ? REASON_EXPIRED : REASON_SEEN,
                        false);
    }
    if (acc->killsize >= 0 && m->size >= acc->killsize)
        return kill_or_mark(acc, m, now, REASON_KILLSIZE);
    if (acc->skipsize >= 0 && m->size >= acc->skipsize)
        return decision(PLAN_SKIP, REASON_SKIPSIZE, false);
    if (acc->filter && acc->filter[0])
        return decision(PLAN_FILTER, REASON_FILTER, false);
    return decision(PLAN_RETRIEVE, REASON_NEW, may_delete(acc, m, now));
}

enum plan_filter_verdict plan_filter_map(int exit_status)
{
    switch (exit_status) {
    case 0:
        return PLAN_FILTER_RETRIEVE;
    case 1:
        return PLAN_FILTER_DELETE;
    case 2:
        return PLAN_FILTER_SKIP;
    default:
        return PLAN_FILTER_ERROR;
    }
}

struct plan_decision plan_after_filter(const struct account *acc,
                                       const struct plan_mail *m,
                                       long long now,
                                       enum plan_filter_verdict v)
{
    switch (v) {
    case PLAN_FILTER_RETRIEVE:
        return decision(PLAN_RETRIEVE, REASON_FILTER,
                        may_delete(acc, m, now));
    case PLAN_FILTER_DELETE:
        return kill_or_mark(acc, m, now, REASON_FILTER);
    case PLAN_FILTER_SKIP:
        return decision(PLAN_SKIP, REASON_FILTER, false);
    case PLAN_FILTER_ERROR:
    default:
        return decision(PLAN_ABORT, REASON_FILTER_ERROR, false);
    }
}

bool plan_marks_seen(enum plan_action a)
{
    switch (a) {
    case PLAN_RETRIEVE:
    case PLAN_DELETE:
    case PLAN_MARK:
    case PLAN_DELETE_OLD:
    case PLAN_IGNORE:
        return true;
    case PLAN_FILTER:
    case PLAN_SKIP:
    case PLAN_ABORT:
    default:
        return false;
    }
}

bool plan_needs_uids(const struct account *acc)
{
    return acc->only_new || acc->keep == KEEP_DURATION;
}

const char *plan_action_name(enum plan_action a)
{
    static const char *const names[] = {
        [PLAN_RETRIEVE] = "retrieve", [PLAN_FILTER] = "filter",
        [PLAN_SKIP] = "skip", [PLAN_DELETE] = "delete",
        [PLAN_MARK] = "mark", [PLAN_DELETE_OLD] = "delete-old",
        [PLAN_IGNORE] = "ignore", [PLAN_ABORT] = "abort"
    };

    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const char *plan_reason_name(enum plan_reason r)
{
    static const char *const names[] = {
        [REASON_NEW] = "new", [REASON_SEEN] = "seen",
        [REASON_EXPIRED] = "expired", [REASON_KILLSIZE] = "killsize",
        [REASON_SKIPSIZE] = "skipsize", [REASON_FILTER] = "filter",
        [REASON_FILTER_ERROR] = "filter-error"
    };

    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
