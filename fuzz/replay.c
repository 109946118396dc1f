/* Runs a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer, so that every corpus is a regression test with any compiler
 * and under the sanitizer build (make check; see run-replay.sh).
 *
 *   replay-NAME DIR|FILE...
 *
 * A directory is replayed file by file (in name order, not recursing);
 * a file is replayed as is, so a crash file from scripts/fuzz reproduces
 * with `replay-NAME fuzz/crashes/NAME/crash-...`.  Each input is copied
 * into a buffer of exactly its size, so that AddressSanitizer catches a
 * read one byte past the end.  Prints "replayed N inputs" and exits 0; a
 * crash ends the program as it would end libFuzzer.  Exits 1 when an
 * argument cannot be read or nothing at all was replayed (an empty or
 * misplaced corpus is an error, not a pass). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Optional in a target; NULL when it does not define it. */
#pragma weak LLVMFuzzerInitialize

static int replay_file(const char *path, unsigned long *count)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL, *exact;
    size_t len = 0, cap = 0, r;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            data = realloc(data, cap);
            if (!data) {
                fprintf(stderr, "replay: out of memory\n");
                exit(1);
            }
        }
        r = fread(data + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    /* malloc(0) may return NULL; libFuzzer passes a valid pointer. */
    exact = malloc(len ? len : 1);
    if (!exact) {
        fprintf(stderr, "replay: out of memory\n");
        exit(1);
    }
    if (len)
        memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput((const uint8_t *)exact, len);
    free(exact);
    (*count)++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned long *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    int ret = 0;

    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char *path;
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
            fprintf(stderr, "replay: out of memory\n");
            exit(1);
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        names = realloc(names, (n + 1) * sizeof *names);
        if (!names) {
            fprintf(stderr, "replay: out of memory\n");
            exit(1);
        }
        names[n++] = path;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, by_name);
    for (i = 0; i < n; i++) {
        if (replay_file(names[i], count) != 0)
            ret = -1;
        free(names[i]);
    }
    free(names);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    int i, ret = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            ret = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &count) != 0)
                ret = 1;
        } else if (replay_file(argv[i], &count) != 0) {
            ret = 1;
        }
    }
    printf("replayed %lu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no input found\n");
        ret = 1;
    }
    return ret;
}
