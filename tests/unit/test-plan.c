/* Tests of plan.c: every combination of only_new, keep (off, on, a
 * duration before and after expiry), killsize and skipsize at and around
 * their thresholds, and the filter; then the filter's verdicts. */
#include "config.h"

#include "plan.h"
#include "tap.h"

#define NOW 1000000LL
#define OFF (-1)
#define H 3600

enum { K_OFF = KEEP_OFF, K_ON = KEEP_ON, K_DUR = KEEP_DURATION };

static const struct row {
    const char *name;
    bool only_new;
    int keep;
    long long keep_seconds;
    long long killsize, skipsize;
    const char *filter;
    long long size;
    bool seen;
    long long age;              /* now - first_seen, for seen mails */
    enum plan_action action;
    enum plan_reason reason;
    bool delete_after;
} rows[] = {
    /* name, only_new, keep, secs, killsize, skipsize, filter, size, seen,
     * age */
    { "new, keep off",          1, K_OFF, 0, OFF, OFF, NULL, 10, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "new, keep on",           1, K_ON, 0, OFF, OFF, NULL, 10, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, false },
    { "new, keep 1h",           1, K_DUR, H, OFF, OFF, NULL, 10, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, false },
    { "new, keep 0s",           1, K_DUR, 0, OFF, OFF, NULL, 10, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "seen, keep off",         1, K_OFF, 0, OFF, OFF, NULL, 10, 1, 5,
      PLAN_DELETE_OLD, REASON_SEEN, false },
    { "seen, keep on",          1, K_ON, 0, OFF, OFF, NULL, 10, 1, 5 * H,
      PLAN_IGNORE, REASON_SEEN, false },
    { "seen, keep 1h, 1h-1s",   1, K_DUR, H, OFF, OFF, NULL, 10, 1, H - 1,
      PLAN_IGNORE, REASON_SEEN, false },
    { "seen, keep 1h, 1h",      1, K_DUR, H, OFF, OFF, NULL, 10, 1, H,
      PLAN_DELETE_OLD, REASON_EXPIRED, false },
    { "seen, keep 1h, 2h",      1, K_DUR, H, OFF, OFF, NULL, 10, 1, 2 * H,
      PLAN_DELETE_OLD, REASON_EXPIRED, false },
    { "seen, keep 1h, future",  1, K_DUR, H, OFF, OFF, NULL, 10, 1, -5 * H,
      PLAN_IGNORE, REASON_SEEN, false },
    { "seen, keep 0s",          1, K_DUR, 0, OFF, OFF, NULL, 10, 1, 0,
      PLAN_DELETE_OLD, REASON_EXPIRED, false },
    { "all, seen, keep off",    0, K_OFF, 0, OFF, OFF, NULL, 10, 1, 5,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "all, seen, keep on",     0, K_ON, 0, OFF, OFF, NULL, 10, 1, 5,
      PLAN_RETRIEVE, REASON_NEW, false },
    { "all, seen, keep 1h, early", 0, K_DUR, H, OFF, OFF, NULL, 10, 1, H - 1,
      PLAN_RETRIEVE, REASON_NEW, false },
    { "all, seen, keep 1h, over", 0, K_DUR, H, OFF, OFF, NULL, 10, 1, H,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "all, new, keep off",     0, K_OFF, 0, OFF, OFF, NULL, 10, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    /* killsize */
    { "killsize = size",        1, K_OFF, 0, 100, OFF, NULL, 100, 0, 0,
      PLAN_DELETE, REASON_KILLSIZE, false },
    { "killsize > size",        1, K_OFF, 0, 100, OFF, NULL, 99, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "killsize < size",        1, K_OFF, 0, 100, OFF, NULL, 101, 0, 0,
      PLAN_DELETE, REASON_KILLSIZE, false },
    { "killsize, keep on",      1, K_ON, 0, 100, OFF, NULL, 101, 0, 0,
      PLAN_MARK, REASON_KILLSIZE, false },
    { "killsize 0, keep on",    1, K_ON, 0, 0, OFF, NULL, 1, 0, 0,
      PLAN_MARK, REASON_KILLSIZE, false },
    { "killsize 0, keep off",   1, K_OFF, 0, 0, OFF, NULL, 1, 0, 0,
      PLAN_DELETE, REASON_KILLSIZE, false },
    { "killsize 0, size 0",     1, K_ON, 0, 0, OFF, NULL, 0, 0, 0,
      PLAN_MARK, REASON_KILLSIZE, false },
    { "killsize, keep 1h, new", 1, K_DUR, H, 100, OFF, NULL, 101, 0, 0,
      PLAN_MARK, REASON_KILLSIZE, false },
    { "killsize, all, keep 1h, over", 0, K_DUR, H, 100, OFF, NULL, 101, 1, H,
      PLAN_DELETE, REASON_KILLSIZE, false },
    { "killsize, all, keep 1h, early", 0, K_DUR, H, 100, OFF, NULL, 101, 1, 1,
      PLAN_MARK, REASON_KILLSIZE, false },
    { "killsize, seen, keep on",  1, K_ON, 0, 0, OFF, NULL, 101, 1, 1,
      PLAN_IGNORE, REASON_SEEN, false },
    { "killsize, seen, keep off", 1, K_OFF, 0, 0, OFF, NULL, 101, 1, 1,
      PLAN_DELETE_OLD, REASON_SEEN, false },
    /* skipsize */
    { "skipsize = size",        1, K_OFF, 0, OFF, 100, NULL, 100, 0, 0,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    { "skipsize > size",        1, K_OFF, 0, OFF, 100, NULL, 99, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "skipsize < size",        1, K_OFF, 0, OFF, 100, NULL, 101, 0, 0,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    { "skipsize, keep on",      1, K_ON, 0, OFF, 100, NULL, 101, 0, 0,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    { "skipsize 0",             1, K_OFF, 0, OFF, 0, NULL, 1, 0, 0,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    { "skipsize, all, seen",    0, K_ON, 0, OFF, 100, NULL, 101, 1, 1,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    /* the chain: killsize, skipsize, filter; first match wins */
    { "kill before skip",       1, K_OFF, 0, 100, 50, NULL, 101, 0, 0,
      PLAN_DELETE, REASON_KILLSIZE, false },
    { "skip when not killed",   1, K_OFF, 0, 100, 50, NULL, 60, 0, 0,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    { "neither: retrieve",      1, K_OFF, 0, 100, 50, NULL, 49, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "kill before filter",     1, K_OFF, 0, 100, OFF, "f", 101, 0, 0,
      PLAN_DELETE, REASON_KILLSIZE, false },
    { "skip before filter",     1, K_OFF, 0, OFF, 100, "f", 101, 0, 0,
      PLAN_SKIP, REASON_SKIPSIZE, false },
    { "filter needed",          1, K_OFF, 0, 100, 100, "f", 99, 0, 0,
      PLAN_FILTER, REASON_FILTER, false },
    { "filter, keep on",        1, K_ON, 0, OFF, OFF, "f", 1, 0, 0,
      PLAN_FILTER, REASON_FILTER, false },
    { "empty filter is off",    1, K_OFF, 0, OFF, OFF, "", 1, 0, 0,
      PLAN_RETRIEVE, REASON_NEW, true },
    { "filter, seen: not run",  1, K_ON, 0, OFF, OFF, "f", 1, 1, 1,
      PLAN_IGNORE, REASON_SEEN, false },
    { "filter, all, seen",      0, K_ON, 0, OFF, OFF, "f", 1, 1, 1,
      PLAN_FILTER, REASON_FILTER, false },
};

static void set_account(struct account *a, const struct row *r)
{
    memset(a, 0, sizeof(*a));
    a->only_new = r->only_new;
    a->keep = r->keep;
    a->keep_seconds = r->keep_seconds;
    a->killsize = r->killsize;
    a->skipsize = r->skipsize;
    a->filter = (char *)r->filter;
}

static void test_decide(void)
{
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct account a;
        struct plan_mail m;
        struct plan_decision d;

        set_account(&a, r);
        m.size = r->size;
        m.seen = r->seen;
        m.first_seen = NOW - r->age;
        d = plan_decide(&a, &m, NOW);
        ok(d.action == r->action && d.reason == r->reason
           && d.delete_after == r->delete_after,
           "%s: %s/%s%s", r->name, plan_action_name(d.action),
           plan_reason_name(d.reason), d.delete_after ? "/dele" : "");
        if (d.action != r->action || d.reason != r->reason)
            printf("#   want %s/%s%s\n", plan_action_name(r->action),
                   plan_reason_name(r->reason),
                   r->delete_after ? "/dele" : "");
    }
}

static void test_filter(void)
{
    static const struct {
        int status;
        enum plan_filter_verdict v;
    } map[] = {
        { 0, PLAN_FILTER_RETRIEVE }, { 1, PLAN_FILTER_DELETE },
        { 2, PLAN_FILTER_SKIP }, { 3, PLAN_FILTER_ERROR },
        { 75, PLAN_FILTER_ERROR }, { 255, PLAN_FILTER_ERROR },
        { -1, PLAN_FILTER_ERROR }, { -9, PLAN_FILTER_ERROR },
    };
    static const struct {
        const char *name;
        int keep;
        long long keep_seconds;
        bool seen;
        long long age;
        enum plan_filter_verdict v;
        enum plan_action action;
        enum plan_reason reason;
        bool delete_after;
    } after[] = {
        { "0, keep off", K_OFF, 0, 0, 0, PLAN_FILTER_RETRIEVE,
          PLAN_RETRIEVE, REASON_FILTER, true },
        { "0, keep on", K_ON, 0, 0, 0, PLAN_FILTER_RETRIEVE,
          PLAN_RETRIEVE, REASON_FILTER, false },
        { "0, keep 1h, seen 1h ago", K_DUR, H, 1, H, PLAN_FILTER_RETRIEVE,
          PLAN_RETRIEVE, REASON_FILTER, true },
        { "1, keep off", K_OFF, 0, 0, 0, PLAN_FILTER_DELETE,
          PLAN_DELETE, REASON_FILTER, false },
        { "1, keep on", K_ON, 0, 0, 0, PLAN_FILTER_DELETE,
          PLAN_MARK, REASON_FILTER, false },
        { "1, keep 1h, new", K_DUR, H, 0, 0, PLAN_FILTER_DELETE,
          PLAN_MARK, REASON_FILTER, false },
        { "2, keep off", K_OFF, 0, 0, 0, PLAN_FILTER_SKIP,
          PLAN_SKIP, REASON_FILTER, false },
        { "2, keep on", K_ON, 0, 0, 0, PLAN_FILTER_SKIP,
          PLAN_SKIP, REASON_FILTER, false },
        { "error, keep off", K_OFF, 0, 0, 0, PLAN_FILTER_ERROR,
          PLAN_ABORT, REASON_FILTER_ERROR, false },
        { "error, keep on", K_ON, 0, 0, 0, PLAN_FILTER_ERROR,
          PLAN_ABORT, REASON_FILTER_ERROR, false },
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        is_int(plan_filter_map(map[i].status), map[i].v,
               "filter exit %d", map[i].status);
    for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        struct account a;
        struct plan_mail m;
        struct plan_decision d;

        memset(&a, 0, sizeof(a));
        a.only_new = true;
        a.keep = after[i].keep;
        a.keep_seconds = after[i].keep_seconds;
        a.killsize = a.skipsize = -1;
        a.filter = (char *)"f";
        m.size = 10;
        m.seen = after[i].seen;
        m.first_seen = NOW - after[i].age;
        d = plan_after_filter(&a, &m, NOW, after[i].v);
        ok(d.action == after[i].action && d.reason == after[i].reason
           && d.delete_after == after[i].delete_after,
           "after filter %s: %s/%s%s", after[i].name,
           plan_action_name(d.action), plan_reason_name(d.reason),
           d.delete_after ? "/dele" : "");
    }
}

static void test_misc(void)
{
    static const struct {
        enum plan_action a;
        bool marks;
    } marks[] = {
        { PLAN_RETRIEVE, true }, { PLAN_FILTER, false }, { PLAN_SKIP, false },
        { PLAN_DELETE, true }, { PLAN_MARK, true }, { PLAN_DELETE_OLD, true },
        { PLAN_IGNORE, true }, { PLAN_ABORT, false },
    };
    static const struct {
        bool only_new;
        int keep;
        bool needs;
    } uids[] = {
        { 1, K_OFF, true }, { 1, K_ON, true }, { 1, K_DUR, true },
        { 0, K_OFF, false }, { 0, K_ON, false }, { 0, K_DUR, true },
    };
    size_t i;

    for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        is_int(plan_marks_seen(marks[i].a), marks[i].marks,
               "marks seen: %s", plan_action_name(marks[i].a));
    for (i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
        struct account a;
        memset(&a, 0, sizeof(a));
        a.only_new = uids[i].only_new;
        a.keep = uids[i].keep;
        is_int(plan_needs_uids(&a), uids[i].needs,
               "needs UIDs: only_new %d keep %d", uids[i].only_new,
               uids[i].keep);
    }
    is_str(plan_action_name((enum plan_action)99), "?", "unknown action");
    is_str(plan_reason_name(REASON_EXPIRED), "expired", "reason name");
}

int main(void)
{
    test_decide();
    test_filter();
    test_misc();
    return done_testing();
}
