#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#ifdef HAVE_SYSEXITS_H
# include <sysexits.h>
#endif

#include "err.h"

#ifndef EX_USAGE
# define EX_OK 0
# define EX_USAGE 64
# define EX_DATAERR 65
# define EX_NOINPUT 66
# define EX_NOHOST 68
# define EX_UNAVAILABLE 69
# define EX_SOFTWARE 70
# define EX_OSERR 71
# define EX_CANTCREAT 73
# define EX_IOERR 74
# define EX_TEMPFAIL 75
# define EX_PROTOCOL 76
# define EX_NOPERM 77
# define EX_CONFIG 78
#endif

void err_init(struct mp_err *e)
{
    e->kind = MP_EOK;
    e->msg[0] = '\0';
    e->server[0] = '\0';
}

int err_set(struct mp_err *e, enum mp_err_kind kind, const char *fmt, ...)
{
    va_list ap;

    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int err_set_errno(struct mp_err *e, enum mp_err_kind kind, int errnum,
                  const char *fmt, ...)
{
    va_list ap;
    size_t n;

    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
    return -1;
}

void err_set_server(struct mp_err *e, const char *p, size_t len)
{
    if (len >= sizeof e->server)
        len = sizeof e->server - 1;
    memcpy(e->server, p, len);
    e->server[len] = '\0';
}

void err_prefix(struct mp_err *e, const char *fmt, ...)
{
    char pre[MP_ERR_MSG_MAX];
    char old[MP_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Both parts fit in MP_ERR_MSG_MAX by truncation, which is fine. */
    size_t n = strlen(pre);
    if (n >= sizeof e->msg)
        n = sizeof e->msg - 1;
    memcpy(e->msg, pre, n);
    e->msg[n] = '\0';
    strncat(e->msg, old, sizeof e->msg - n - 1);
}

int err_exitcode(enum mp_err_kind kind)
{
    static const int table[MP_EKIND_COUNT] = {
        [MP_EOK] = EX_OK,
        [MP_EUSAGE] = EX_USAGE,
        [MP_ECONFIG] = EX_CONFIG,
        [MP_EDATA] = EX_DATAERR,
        [MP_ENOINPUT] = EX_NOINPUT,
        [MP_ENOHOST] = EX_NOHOST,
        [MP_EUNAVAIL] = EX_UNAVAILABLE,
        [MP_ESOFTWARE] = EX_SOFTWARE,
        [MP_EOS] = EX_OSERR,
        [MP_EIO] = EX_IOERR,
        [MP_ETEMP] = EX_TEMPFAIL,
        [MP_EPROTO] = EX_PROTOCOL,
        [MP_EAUTH] = EX_NOPERM,
        [MP_ETLSCERT] = EX_UNAVAILABLE,  /* as the original mpop 1.4.18 */
        [MP_EINSECURE] = EX_NOPERM,
        [MP_EDELIVERY] = EX_IOERR,
        [MP_EFILTER] = EX_SOFTWARE,
        [MP_ECANTCREAT] = EX_CANTCREAT,
        [MP_ESIGNAL] = EX_TEMPFAIL,
    };
    if ((unsigned)kind >= MP_EKIND_COUNT)
        return EX_SOFTWARE;
    return table[kind];
}
