/* Fuzz target: the configuration file (conf_load on an fmemopen stream),
 * then what mpop does with a loaded account: account_check,
 * account_uidls_path and the --pretend printout.
 *
 * `eval CMD` must never run a command while fuzzing.  conf.c runs it with
 * popen(3) and reads the output with pclose(3) (see run_eval in conf.c).
 * This file defines popen and pclose itself: conf.c is linked statically
 * into the fuzzer (libmpop.a or the objects scripts/fuzz builds), so the
 * linker binds conf.c's calls to the definitions here, never to libc's
 * (the sanitizer runtimes' interceptors of popen are weak and lose too).
 * The fake popen runs nothing: it returns a memory stream holding the
 * command text itself followed by a newline, so `eval account x` behaves
 * like `account x` and the eval paths (nested eval, empty output, output
 * with a NUL) stay covered.  A command starting with "false" fails with
 * exit code 1.  LLVMFuzzerInitialize checks once that the interposition is
 * in effect and aborts otherwise, so a change to how conf.c runs eval (say
 * through proc.c) stops the fuzzer instead of letting it run random shell
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

static unsigned long fake_popen_calls;
static FILE *devnull;

/* The fake streams: at most a few are open at once (one per eval). */
#define FAKE_MAX 4
static struct {
    FILE *f;
    char *buf;
    int status;
} fake[FAKE_MAX];

FILE *popen(const char *command, const char *type);
int pclose(FILE *stream);

FILE *popen(const char *command, const char *type)
{
    size_t n = strlen(command);
    int i;

    fake_popen_calls++;
    if (strcmp(type, "r") != 0)
        return NULL;
    for (i = 0; i < FAKE_MAX; i++)
        if (!fake[i].f)
            break;
    if (i == FAKE_MAX)
        return NULL;
    fake[i].buf = malloc(n + 2);
    if (!fake[i].buf)
        return NULL;
    memcpy(fake[i].buf, command, n);
    fake[i].buf[n] = '\n';
    fake[i].buf[n + 1] = '\0';
    fake[i].status = strncmp(command, "false", 5) == 0 ? 1 << 8 : 0;
    fake[i].f = fmemopen(fake[i].buf, n + 1, "r");
    if (!fake[i].f) {
        free(fake[i].buf);
        fake[i].buf = NULL;
    }
    return fake[i].f;
}

int pclose(FILE *stream)
{
    int i, status;

    for (i = 0; i < FAKE_MAX; i++) {
        if (fake[i].f == stream) {
            fclose(stream);
            free(fake[i].buf);
            fake[i].f = NULL;
            fake[i].buf = NULL;
            status = fake[i].status;
            return status;
        }
    }
    abort();    /* conf.c closed a stream the fake did not open */
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

    setenv("PATH", "/nonexistent-fuzz-path", 1);
    setenv("HOME", "/nonexistent-fuzz-home", 1);
    unsetenv("XDG_CONFIG_HOME");
    devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(devnull != NULL);
    load(probe, sizeof probe - 1, 0);
    if (fake_popen_calls != 1) {
        fprintf(stderr, "fuzz-conf: eval no longer goes through popen(); "
                "neutralise it again before fuzzing (see fuzz-conf.c)\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load((const char *)data, size, 1);
    return 0;
}
