#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runlog.h"
#include "tap.h"
#include "xalloc.h"

static const struct {
    const char *name, *in, *out;
} strs[] = {
    { "plain", "abc", "\"abc\"" },
    { "empty", "", "\"\"" },
    { "quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"" },
    { "line ends and tab", "a\r\n\tb", "\"a\\r\\n\\tb\"" },
    { "control characters", "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
    { "UTF-8 kept", "B\xc3\xbc" "cher \xe2\x82\xac \xf0\x9f\x93\xa7",
      "\"B\xc3\xbc" "cher \xe2\x82\xac \xf0\x9f\x93\xa7\"" },
    { "lone continuation byte", "a\x80z", "\"a\\ufffdz\"" },
    { "cut sequence", "a\xe2\x82", "\"a\\ufffd\\ufffd\"" },
    { "overlong slash", "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
    { "surrogate", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
    { "beyond U+10FFFF", "\xf4\x90\x80\x80",
      "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
};

static void test_strings(void)
{
    size_t i;

    for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        struct buf b;
        char *s;

        buf_init(&b, 4096);
        runlog_json_string(&b, strs[i].in);
        s = buf_steal(&b);
        is_str(s, strs[i].out, "json string: %s", strs[i].name);
        free(s);
    }
}

static void test_account(void)
{
    struct account *a = account_new("work \"x\"");
    struct runlog_account ra;
    struct retrieve_mail_log ml[] = {
        { 1, "u1", 100, RETRIEVE_DELIVERED, true },
        { 2, "u2", 5000, RETRIEVE_KILLED, true },
        { 3, NULL, 7, RETRIEVE_SKIPPED, false },
        { 4, "u4", 9, RETRIEVE_FILTERED, false },
        { 5, "u5", 9, RETRIEVE_DELETED, true },
    };
    char *json;
    size_t i;

    a->host = xstrdup("pop.example");
    a->user = xstrdup("joe");
    a->delivery = DELIVERY_MAILDIR;
    a->delivery_args = xstrdup("/m");
    runlog_account_begin(&ra, NULL, a);
    for (i = 0; i < sizeof ml / sizeof ml[0]; i++)
        runlog_mail(&ra, &ml[i]);
    runlog_account_end(&ra, 75);
    /* deleted: the records with deleted=yes (delivered, killed, old);
     * skipped: neither delivered nor deleted (skipped, filter's skip). */
    ok(ra.mails == 5 && ra.delivered == 1 && ra.killed == 1
       && ra.skipped == 2 && ra.filtered == 1 && ra.deleted == 3
       && ra.bytes == 100, "account: totals agree with the records");
    json = runlog_account_json(&ra);
    ok(strncmp(json, "{\"account\":\"work \\\"x\\\"\",\"host\":\"pop.example\","
               "\"user\":\"joe\",\"exit_code\":75,", 66) == 0,
       "account: JSON head");
    ok(strstr(json, "\"messages\":[{\"msn\":1,\"uid\":\"u1\",\"size\":100,"
              "\"action\":\"delivered\",\"deleted\":true,"
              "\"where\":\"maildir:/m\"},") != NULL,
       "account: JSON of a delivered mail");
    ok(strstr(json, "{\"msn\":3,\"uid\":null,\"size\":7,\"action\":"
              "\"skipped\",\"deleted\":false,\"where\":null}") != NULL,
       "account: JSON of a mail without UID");
    ok(strstr(json, "\"mails\":5,\"delivered\":1,\"skipped\":2,"
              "\"deleted\":3,\"killed\":1,\"filtered\":1,"
              "\"bytes_delivered\":100,\"where\":\"maildir:/m\"") != NULL,
       "account: JSON totals");
    is_int(json[strlen(json) - 1], '}', "account: JSON ends the object");
    free(json);
    runlog_account_clear(&ra);
    account_free(&a);
}

int main(void)
{
    test_strings();
    test_account();
    is_str(runlog_outcome_name(RETRIEVE_KILLED), "killed", "outcome name");
    return done_testing();
}
