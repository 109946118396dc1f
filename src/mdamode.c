/* --mda: one mail from a file descriptor to a delivery backend.  See
 * mdamode.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "envelope.h"
#include "gettext.h"
#include "mdamode.h"
#include "transport.h"
#include "xalloc.h"

#define CHUNK 65536

/* read(2) that retries EINTR unless a signal asked us to stop.  Returns
 * the count (0 at end of file) or -1 with e set. */
static ssize_t read_some(int fd, char *p, size_t n, struct mp_err *e)
{
    ssize_t r;

    for (;;) {
        if (transport_interrupted)
            return err_set(e, MP_ESIGNAL,
                           _("interrupted by a signal; nothing was "
                             "delivered"));
        r = read(fd, p, n);
        if (r >= 0)
            return r;
        if (errno != EINTR)
            return err_set_errno(e, MP_EIO, errno,
                                 _("cannot read the mail from standard "
                                   "input"));
    }
}

/* The sender given with --mda=FROM, sanitised. */
static int given_from(void *arg, const char *hdr, size_t len,
                      struct deliver_msg_info *info, struct mp_err *e)
{
    (void)hdr;
    (void)len;
    (void)e;
    info->envelope_from = arg;
    return 0;
}

int mdamode_run(const struct account *a, const char *from, int fd,
                struct mp_err *e)
{
    const char *name = account_delivery_name(a->delivery);
    const struct deliver_ops *ops = name ? deliver_lookup(name) : NULL;
    struct deliver_stream_hooks hooks;
    struct deliver_stream st;
    struct deliver *d = NULL;
    char fromb[ENVELOPE_FROM_MAX];
    char *chunk = NULL;
    bool dropped;
    ssize_t r;
    int rc = -1;

    if (!ops || !a->delivery_args || !*a->delivery_args) {
        if (a->conffile)
            return err_set(e, MP_ECONFIG,
                           _("%s: account %s: no delivery information"),
                           a->conffile, a->id);
        return err_set(e, MP_ECONFIG,
                       _("no delivery information: use --delivery or an "
                         "account with a delivery command"));
    }
    if (deliver_new(ops, a->delivery_args, &d, e) < 0)
        return -1;
    memset(&hooks, 0, sizeof hooks);
    if (from) {
        size_t n = strlen(from);

        if (n >= sizeof fromb)
            n = sizeof fromb - 1;
        memcpy(fromb, from, n);
        fromb[n] = '\0';
        envelope_sanitize(fromb, n);
        hooks.ready = given_from;
        hooks.arg = fromb;
    }
    deliver_stream_init(&st, d, &hooks);
    /* No Received header: the mail did not come over POP3. */
    if (deliver_stream_begin(&st, false, -1, e) < 0)
        goto out;
    chunk = xmalloc(CHUNK);
    for (;;) {
        r = read_some(fd, chunk, CHUNK, e);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if (deliver_stream_data(&st, chunk, (size_t)r, e) < 0)
            goto out;
    }
    if (st.bytes == 0) {
        err_set(e, MP_EDATA, _("no mail on standard input: nothing was "
                               "delivered"));
        goto out;
    }
    /* A signal that came while the last bytes were written still stops
     * the delivery: the user asked us not to finish. */
    if (transport_interrupted) {
        err_set(e, MP_ESIGNAL,
                _("interrupted by a signal; nothing was delivered"));
        goto out;
    }
    if (deliver_stream_end(&st, 0, &dropped, e) < 0)
        goto out;
    rc = 0;

out:
    deliver_stream_clear(&st);
    deliver_free(&d);
    free(chunk);
    return rc;
}
