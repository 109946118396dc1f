/* Fuzz target: the configuration file (conf_load on an fmemopen stream),
 * then what mpop does with a loaded account: account_check,
 * account_uidls_path and the --pretend printout.
 *
 * `eval CMD` must never run a command while fuzzing.  conf.c gets an
 * eval's output through its conf_eval_capture hook (proc_capture(), which
 * runs sh -c CMD); this target replaces it with fake_capture, which runs
 * nothing: the output is the command text itself followed by a newline,
 * so `eval account x` behaves like `account x` and the eval paths (nested
 * eval, empty output, output with a NUL) stay covered.  A command starting
 * with "false" fails with exit code 1.  LLVMFuzzerInitialize checks once
 * that the hook is in effect and aborts otherwise, so a change to how
 * conf.c runs eval stops the fuzzer instead of letting it run random shell
 * commands.  As a second guard, PATH is set to a directory that does not
 * exist. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "conf.h"
#include "err.h"
#include "fuzz.h"

static unsigned long fake_calls;
static FILE *devnull;

static int fake_capture(const char *cmd, size_t max, char **out_r,
                        size_t *len_r, bool *too_long_r,
                        struct proc_status *st, struct mp_err *e)
{
    size_t n = strlen(cmd);

    (void)e;
    fake_calls++;
    *too_long_r = n + 1 > max;
    if (*too_long_r)
        n = max - 1;
    *out_r = malloc(n + 2);
    FUZZ_CHECK(*out_r != NULL);
    memcpy(*out_r, cmd, n);
    (*out_r)[n] = '\n';
    (*out_r)[n + 1] = '\0';
    *len_r = n + 1;
    st->how = PROC_EXITED;
    st->code = strncmp(cmd, "false", 5) == 0 ? 1 : 0;
    return 0;
}

static void load(const char *text, size_t len, int check)
{
    struct account_list list = { NULL, 0 };
    struct mp_err e;
    FILE *f;
    size_t i;

    /* glibc's fmemopen refuses a zero-sized buffer in read mode. */
    if (len == 0) {
        text = "\n";
        len = 1;
    }
    f = fmemopen((void *)text, len, "r");
    FUZZ_CHECK(f != NULL);
    err_init(&e);
    if (conf_load(f, "fuzz.conf", &list, &e) != 0) {
        FUZZ_CHECK(e.kind != MP_EOK && e.msg[0] != '\0');
        FUZZ_CHECK(list.n == 0);
    } else if (check) {
        for (i = 0; i < list.n; i++) {
            struct account *a = list.v[i];
            char *path;

            FUZZ_CHECK(a && a->id);
            err_init(&e);
            if (account_check(a, false, &e) != 0)
                FUZZ_CHECK(e.msg[0] != '\0');
            path = account_uidls_path(a);
            free(path);
            account_print_pretend(a, devnull);
        }
    }
    fclose(f);
    account_list_clear(&list);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char probe[] = "defaults\neval account probe\n";

    conf_eval_capture = fake_capture;
    setenv("PATH", "/nonexistent-fuzz-path", 1);
    setenv("HOME", "/nonexistent-fuzz-home", 1);
    unsetenv("XDG_CONFIG_HOME");
    devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(devnull != NULL);
    load(probe, sizeof probe - 1, 0);
    if (fake_calls != 1) {
        fprintf(stderr, "fuzz-conf: eval no longer goes through "
                "conf_eval_capture; neutralise it again before fuzzing "
                "(see fuzz-conf.c)\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load((const char *)data, size, 1);
    return 0;
}
