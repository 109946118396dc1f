/* Errors: a kind that maps to a sysexits code, our own text, and, separately,
 * the server's own words (untrusted, quoted when shown).  Functions return 0
 * or -1 and fill a caller-owned struct mp_err.  Only mpop.c and mpopd.c
 * print errors. */
#ifndef MPOP_ERR_H
#define MPOP_ERR_H

#include <stddef.h>

enum mp_err_kind {
    MP_EOK = 0,
    MP_EUSAGE,      /* bad command line                     EX_USAGE */
    MP_ECONFIG,     /* bad configuration                    EX_CONFIG */
    MP_EDATA,       /* bad input data (e.g. --mda input)    EX_DATAERR */
    MP_ENOINPUT,    /* a file we must read is missing       EX_NOINPUT */
    MP_ENOHOST,     /* host name not found                  EX_NOHOST */
    MP_EUNAVAIL,    /* service unavailable, refused         EX_UNAVAILABLE */
    MP_ESOFTWARE,   /* internal error, library failure      EX_SOFTWARE */
    MP_EOS,         /* OS error: fork, socket, pipe         EX_OSERR */
    MP_EIO,         /* I/O error, network or local file     EX_IOERR */
    MP_ETEMP,       /* temporary failure: timeout, [IN-USE] EX_TEMPFAIL */
    MP_EPROTO,      /* the server broke the protocol        EX_PROTOCOL */
    MP_EAUTH,       /* authentication refused (any -ERR)    EX_NOPERM */
    MP_ETLSCERT,    /* TLS certificate not trusted          EX_UNAVAILABLE */
    MP_EINSECURE,   /* would send a secret in the clear     EX_NOPERM */
    MP_EDELIVERY,   /* delivery failed                      EX_IOERR */
    MP_EFILTER,     /* filter command failed                EX_SOFTWARE */
    MP_ECANTCREAT,  /* cannot create an output file         EX_CANTCREAT */
    MP_ESIGNAL,     /* interrupted by a signal              EX_TEMPFAIL */
    MP_EKIND_COUNT
};

#define MP_ERR_MSG_MAX 1024
#define MP_ERR_SERVER_MAX 512

struct mp_err {
    enum mp_err_kind kind;
    char msg[MP_ERR_MSG_MAX];        /* ours, translated, no trailing newline */
    char server[MP_ERR_SERVER_MAX];  /* the peer's words, raw; "" if none */
};

void err_init(struct mp_err *e);
/* Sets kind and message; returns -1 so callers can `return err_set(...)`. */
int err_set(struct mp_err *e, enum mp_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like err_set, appending ": strerror(errnum)". */
int err_set_errno(struct mp_err *e, enum mp_err_kind kind, int errnum,
                  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Stores the server's words (len bytes, not NUL-terminated), truncated. */
void err_set_server(struct mp_err *e, const char *p, size_t len);
/* Prepends context: err_prefix(e, "account %s: ", id). */
void err_prefix(struct mp_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The sysexits code of a kind (EX_OK for MP_EOK). */
int err_exitcode(enum mp_err_kind kind);

#endif
