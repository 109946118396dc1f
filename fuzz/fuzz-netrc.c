/* Fuzz target: netrc files (netrc_parse, netrc_find).  The input is a
 * whole file. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "netrc.h"

struct walk {
    const char *text;
    size_t len;
    unsigned long entries, last_line;
};

static void check_span(const struct walk *w, bool has, struct span s)
{
    if (!has)
        return;
    FUZZ_CHECK(fuzz_inside(w->text, w->len, s.p, s.len));
    (void)fuzz_touch(s.p, s.len);
}

static int cb(const struct netrc_entry *ent, void *arg)
{
    struct walk *w = arg;

    w->entries++;
    FUZZ_CHECK(ent->line >= 1 && ent->line >= w->last_line);
    w->last_line = ent->line;
    if (ent->is_default)
        FUZZ_CHECK(ent->machine.len == 0);
    else
        check_span(w, true, ent->machine);
    check_span(w, ent->has_login, ent->login);
    check_span(w, ent->has_password, ent->password);
    check_span(w, ent->has_account, ent->account);
    return 0;
}

/* Stops after the first entry. */
static int cb_first(const struct netrc_entry *ent, void *arg)
{
    (*(unsigned long *)arg)++;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct walk w = { text, size, 0, 0 };
    struct netrc_entry ent;
    unsigned long line = 0, first = 0;
    const char *why = NULL;
    int r, r2;

    r = netrc_parse(text, size, cb, &w, &line, &why);
    if (r != 0) {
        FUZZ_CHECK(r == -1 && why != NULL && line >= 1);
    }
    line = 0;
    why = NULL;
    r2 = netrc_parse(text, size, cb_first, &first, &line, &why);
    FUZZ_CHECK(first <= 1);
    if (r == 0)
        FUZZ_CHECK(r2 == 0 && first == (w.entries > 0));

    memset(&ent, 0, sizeof ent);
    line = 0;
    why = NULL;
    r2 = netrc_find(text, size, "pop.example.org", "joe", &ent, &line, &why);
    FUZZ_CHECK(r2 == 1 || r2 == 0 || r2 == -1);
    if (r2 == 1) {
        FUZZ_CHECK(!ent.is_default && ent.has_password);
        FUZZ_CHECK(ent.machine.len == 15
                   && strncasecmp(ent.machine.p, "pop.example.org", 15) == 0);
        FUZZ_CHECK(ent.login.len == 3
                   && memcmp(ent.login.p, "joe", 3) == 0);
        FUZZ_CHECK(fuzz_inside(text, size, ent.password.p, ent.password.len));
    }
    if (r2 == -1)
        FUZZ_CHECK(why != NULL);
    return 0;
}
