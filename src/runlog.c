#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "log.h"
#include "monotime.h"
#include "runlog.h"
#include "xalloc.h"

/* The JSON of one account holds one small object per mail; a mailbox of
 * a million mails stays far below this. */
#define JSON_MAX (256u * 1024 * 1024)
#define LINE_MAX_LEN 4096

/* key=value; the value in double quotes when it is empty, has a blank or
 * needs an escape (log_quote_buf() with '"' escaped too). */
static void kv(struct buf *b, const char *key, const char *val)
{
    size_t len = strlen(val);
    struct buf q;
    bool quote;

    buf_init(&q, len * 4 + 1);
    log_quote_buf(&q, val, len, LOG_QUOTE_DQUOTE);
    quote = !len || q.len != len || strchr(val, ' ');
    if (b->len)
        buf_append_str(b, " ");
    buf_printf(b, "%s=%s", key, quote ? "\"" : "");
    buf_append(b, q.data, q.len);
    if (quote)
        buf_append_str(b, "\"");
    buf_clear(&q);
}

static void emit(struct logfile *l, struct buf *line)
{
    if (line->data)
        logfile_line(l, LOGFILE_INFO, "%s", line->data);
}

const char *runlog_outcome_name(enum retrieve_outcome o)
{
    switch (o) {
    case RETRIEVE_DELIVERED:
        return "delivered";
    case RETRIEVE_DELETED:
        return "deleted";
    case RETRIEVE_KILLED:
        return "killed";
    case RETRIEVE_FILTERED:
        return "filtered";
    default:
        return "skipped";
    }
}

void runlog_account_begin(struct runlog_account *ra, struct logfile *log,
                          const struct account *a)
{
    const char *w = account_delivery_name(a->delivery);

    memset(ra, 0, sizeof *ra);
    ra->log = log;
    ra->id = xstrdup(a->id ? a->id : "");
    ra->host = xstrdup(a->host ? a->host
                       : a->socket_name ? a->socket_name : "");
    ra->user = xstrdup(a->user ? a->user : "");
    if (w)
        ra->where = xasprintf("%s:%s", w,
                              a->delivery_args ? a->delivery_args : "");
    ra->start = monotime_ms();
    ra->keep_mails = true;
    buf_init(&ra->json_mails, JSON_MAX);
}

/* A mail as kept for the JSON object: the facts, not yet text (the JSON
 * is wanted only with --summary, and building it for every mail cost more
 * than fetching a small mail).  The record is followed by the UID and its
 * NUL when has_uid is set. */
struct mail_rec {
    unsigned long msn;
    long long size;
    unsigned char outcome;
    unsigned char deleted;
    unsigned char has_uid;
    unsigned char uidlen;       /* UIDs are at most 70 bytes (RFC 1939) */
};

void runlog_mail(struct runlog_account *ra,
                 const struct retrieve_mail_log *ml)
{
    bool delivered = ml->outcome == RETRIEVE_DELIVERED;
    struct mail_rec rec;
    size_t ulen = ml->uid ? strlen(ml->uid) : 0;

    /* The totals count what the records say, so that they agree:
     * deleted = records with deleted=yes (whatever the action), skipped =
     * mails neither delivered nor deleted (left on the server), killed
     * and filtered = records with that action (each also counted as
     * deleted or skipped). */
    ra->mails++;
    if (delivered) {
        ra->delivered++;
        ra->bytes += ml->size > 0 ? (unsigned long long)ml->size : 0;
    }
    if (ml->deleted)
        ra->deleted++;
    else if (!delivered)
        ra->skipped++;
    if (ml->outcome == RETRIEVE_KILLED)
        ra->killed++;
    else if (ml->outcome == RETRIEVE_FILTERED)
        ra->filtered++;

    if (logfile_active(ra->log)) {
        struct buf line;
        char num[32];

        buf_init(&line, LINE_MAX_LEN);
        kv(&line, "account", ra->id);
        kv(&line, "uid", ml->uid ? ml->uid : "-");
        snprintf(num, sizeof num, "%lld", ml->size);
        kv(&line, "size", num);
        kv(&line, "action", runlog_outcome_name(ml->outcome));
        kv(&line, "deleted", ml->deleted ? "yes" : "no");
        if (delivered && ra->where)
            kv(&line, "where", ra->where);
        emit(ra->log, &line);
        buf_clear(&line);
    }

    /* A longer UID (the engine refuses them) would not fit uidlen: it is
     * cut here, for the summary only. */
    if (!ra->keep_mails)
        return;
    if (ulen > 255)
        ulen = 255;
    memset(&rec, 0, sizeof rec);
    rec.msn = ml->msn;
    rec.size = ml->size;
    rec.outcome = (unsigned char)ml->outcome;
    rec.deleted = ml->deleted;
    rec.has_uid = ml->uid != NULL;
    rec.uidlen = (unsigned char)ulen;
    if (ra->json_mails.cap - ra->json_mails.len
        < sizeof rec + (ml->uid ? ulen + 1 : 0))
        return;     /* full: the summary leaves this mail out */
    buf_append(&ra->json_mails, &rec, sizeof rec);
    if (ml->uid) {
        buf_append(&ra->json_mails, ml->uid, ulen);
        buf_append(&ra->json_mails, "", 1);
    }
}

/* The "messages" array's members, comma-joined, from the records. */
static void json_mails(const struct runlog_account *ra, struct buf *b)
{
    const char *p = ra->json_mails.data, *end;
    char num[128];
    bool first = true;

    if (!p)
        return;
    end = p + ra->json_mails.len;
    while ((size_t)(end - p) >= sizeof(struct mail_rec)) {
        struct mail_rec rec;
        const char *uid = NULL;
        bool delivered;

        memcpy(&rec, p, sizeof rec);
        p += sizeof rec;
        if (rec.has_uid) {
            uid = p;
            p += rec.uidlen + 1;
        }
        delivered = rec.outcome == RETRIEVE_DELIVERED;
        snprintf(num, sizeof num, "%s{\"msn\":%lu,\"uid\":",
                 first ? "" : ",", rec.msn);
        buf_append_str(b, num);
        first = false;
        if (uid)
            runlog_json_string(b, uid);
        else
            buf_append_str(b, "null");
        snprintf(num, sizeof num, ",\"size\":%lld,\"action\":\"%s\","
                 "\"deleted\":%s,\"where\":", rec.size,
                 runlog_outcome_name((enum retrieve_outcome)rec.outcome),
                 rec.deleted ? "true" : "false");
        buf_append_str(b, num);
        if (delivered && ra->where)
            runlog_json_string(b, ra->where);
        else
            buf_append_str(b, "null");
        buf_append_str(b, "}");
    }
}

void runlog_account_end(struct runlog_account *ra, int exitcode)
{
    struct buf line;
    char num[64];

    ra->exitcode = exitcode;
    ra->duration = (double)(monotime_ms() - ra->start) / 1000.0;
    if (!logfile_active(ra->log))
        return;
    buf_init(&line, LINE_MAX_LEN);
    kv(&line, "account", ra->id);
    kv(&line, "host", ra->host);
    kv(&line, "user", ra->user);
#define KV_NUM(k, v) \
    (snprintf(num, sizeof num, "%llu", (unsigned long long)(v)), \
     kv(&line, k, num))
    KV_NUM("mails", ra->mails);
    KV_NUM("delivered", ra->delivered);
    KV_NUM("skipped", ra->skipped);
    KV_NUM("deleted", ra->deleted);
    KV_NUM("killed", ra->killed);
    KV_NUM("filtered", ra->filtered);
    KV_NUM("bytes", ra->bytes);
    KV_NUM("exit", (unsigned)exitcode);
#undef KV_NUM
    snprintf(num, sizeof num, "%.3f", ra->duration);
    kv(&line, "duration", num);
    emit(ra->log, &line);
    buf_clear(&line);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t k, i;
    unsigned long cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates, beyond U+10FFFF. */
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000)
        || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return k;
}

void runlog_json_string(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), k;

    buf_append_str(b, "\"");
    while (n > 0) {
        if (*p == '"' || *p == '\\') {
            buf_printf(b, "\\%c", *p);
            k = 1;
        } else if (*p == '\n') {
            buf_append_str(b, "\\n");
            k = 1;
        } else if (*p == '\r') {
            buf_append_str(b, "\\r");
            k = 1;
        } else if (*p == '\t') {
            buf_append_str(b, "\\t");
            k = 1;
        } else if (*p < 0x20 || *p == 0x7f) {
            buf_printf(b, "\\u%04x", *p);
            k = 1;
        } else if ((k = utf8_len(p, n)) == 0) {
            buf_append_str(b, "\\ufffd");
            k = 1;
        } else {
            buf_append(b, p, k);
        }
        p += k;
        n -= k;
    }
    buf_append_str(b, "\"");
}

char *runlog_account_json(const struct runlog_account *ra)
{
    struct buf b;

    buf_init(&b, JSON_MAX + 4096);
    buf_append_str(&b, "{\"account\":");
    runlog_json_string(&b, ra->id);
    buf_append_str(&b, ",\"host\":");
    runlog_json_string(&b, ra->host);
    buf_append_str(&b, ",\"user\":");
    runlog_json_string(&b, ra->user);
    buf_printf(&b, ",\"exit_code\":%d,\"duration_seconds\":%.3f,"
               "\"mails\":%lu,\"delivered\":%lu,\"skipped\":%lu,"
               "\"deleted\":%lu,\"killed\":%lu,\"filtered\":%lu,"
               "\"bytes_delivered\":%llu,\"where\":",
               ra->exitcode, ra->duration, ra->mails, ra->delivered,
               ra->skipped, ra->deleted, ra->killed, ra->filtered,
               ra->bytes);
    if (ra->where)
        runlog_json_string(&b, ra->where);
    else
        buf_append_str(&b, "null");
    buf_append_str(&b, ",\"messages\":[");
    json_mails(ra, &b);
    buf_append_str(&b, "]}");
    return buf_steal(&b);
}

void runlog_account_clear(struct runlog_account *ra)
{
    free(ra->id);
    free(ra->host);
    free(ra->user);
    free(ra->where);
    buf_clear(&ra->json_mails);
    memset(ra, 0, sizeof *ra);
}
