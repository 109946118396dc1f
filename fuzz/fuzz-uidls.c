/* Fuzz target: the UIDLs file (uidls_parse), then the operations mpop runs
 * on what it read: serialising it back (which must round-trip), lookups,
 * adding, removing and retaining UIDs.  The input is a whole file. */
#include "config.h"

#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "uidls.h"

#define NOW 1800000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uidls *u = NULL, *u2 = NULL;
    struct mp_err e;
    char *out, *out2;
    size_t len, len2, i, j;

    err_init(&e);
    if (uidls_parse((const char *)data, size, "fuzz", NOW, &u, &e) != 0) {
        FUZZ_CHECK(u == NULL);
        FUZZ_CHECK(e.kind != MP_EOK && e.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(u != NULL);

    /* Every entry read is valid and found again. */
    for (i = 0; i < u->nlists; i++) {
        struct uidls_list *l = u->lists[i];
        const struct uidls_entry *v;
        size_t n;

        v = uidls_entries(l, &n);
        FUZZ_CHECK(n == uidls_count(l));
        for (j = 0; j < n; j++) {
            FUZZ_CHECK(uidls_valid_uid(v[j].uid, strlen(v[j].uid)));
            if (j > 0)
                FUZZ_CHECK(strcmp(v[j - 1].uid, v[j].uid) < 0);
        }
        for (j = 0; j < n; j++)
            FUZZ_CHECK(uidls_find(l, v[j].uid) != NULL);
        FUZZ_CHECK(uidls_get(u, l->host, l->user, false) == l);
    }

    /* Serialising, parsing that and serialising again gives the same. */
    err_init(&e);
    out = uidls_serialize(u, &len, &e);
    if (out) {
        err_init(&e);
        FUZZ_CHECK(uidls_parse(out, len, "fuzz2", NOW, &u2, &e) == 0);
        err_init(&e);
        out2 = uidls_serialize(u2, &len2, &e);
        FUZZ_CHECK(out2 != NULL);
        FUZZ_CHECK(len2 == len && memcmp(out, out2, len) == 0);
        free(out2);
        uidls_close(&u2);
        free(out);
    } else {
        /* Only a host or user that cannot be stored makes it fail. */
        FUZZ_CHECK(e.kind == MP_EDATA);
    }

    /* Mutations on the first list: add, remove, retain half. */
    if (u->nlists > 0) {
        struct uidls_list *l = u->lists[0];
        const struct uidls_entry *v;
        const char **keep;
        size_t n, k = 0;

        err_init(&e);
        FUZZ_CHECK(uidls_add(l, "fuzz-new-uid", NOW, &e) == 0);
        FUZZ_CHECK(uidls_find(l, "fuzz-new-uid") != NULL);
        FUZZ_CHECK(uidls_add(l, "bad uid", NOW, &e) != 0);
        v = uidls_entries(l, &n);
        keep = malloc((n + 1) * sizeof *keep);
        FUZZ_CHECK(keep != NULL);
        for (j = 0; j < n; j += 2)
            keep[k++] = v[j].uid;
        /* The pointers must survive until retain is done: copy them. */
        for (j = 0; j < k; j++) {
            keep[j] = strdup(keep[j]);
            FUZZ_CHECK(keep[j] != NULL);
        }
        uidls_retain(l, keep, k);
        FUZZ_CHECK(uidls_count(l) == k);
        for (j = 0; j < k; j++)
            FUZZ_CHECK(uidls_find(l, keep[j]) != NULL);
        if (k > 0) {
            FUZZ_CHECK(uidls_remove(l, keep[0]));
            FUZZ_CHECK(uidls_find(l, keep[0]) == NULL);
        }
        for (j = 0; j < k; j++)
            free((char *)keep[j]);
        free(keep);
    }
    uidls_close(&u);
    FUZZ_CHECK(u == NULL);
    return 0;
}
