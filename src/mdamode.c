/* --mda: one mail from a file descriptor to a delivery backend.  See
 * mdamode.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
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

int mdamode_run(const struct account *a, const char *from, int fd,
                struct mp_err *e)
{
    const char *name = account_delivery_name(a->delivery);
    const struct deliver_ops *ops = name ? deliver_lookup(name) : NULL;
    struct deliver *d = NULL;
    struct deliver_msg_info info;
    char fromb[ENVELOPE_FROM_MAX];
    struct buf hdr;
    char *chunk = NULL;
    size_t hl = 0;
    bool eof = false;
    ssize_t r;
    int rc = -1;

    buf_init(&hdr, MDAMODE_HEADER_MAX + CHUNK);
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

    /* Hold the header block (or its first MDAMODE_HEADER_MAX bytes) to
     * find the sender before the destination is opened. */
    chunk = xmalloc(CHUNK);
    while (hdr.len < MDAMODE_HEADER_MAX) {
        r = read_some(fd, chunk, CHUNK, e);
        if (r < 0)
            goto out;
        if (r == 0) {
            eof = true;
            break;
        }
        buf_append(&hdr, chunk, (size_t)r);
        hl = envelope_header_len(hdr.data, hdr.len);
        if (hl > 0)
            break;
    }
    if (hdr.len == 0) {
        err_set(e, MP_EDATA, _("no mail on standard input: nothing was "
                               "delivered"));
        goto out;
    }

    memset(&info, 0, sizeof info);
    if (from) {
        size_t n = strlen(from);

        if (n >= sizeof fromb)
            n = sizeof fromb - 1;
        memcpy(fromb, from, n);
        fromb[n] = '\0';
        envelope_sanitize(fromb, n);
    } else {
        envelope_from(hdr.data, hl ? hl : hdr.len, fromb, sizeof fromb);
    }
    info.envelope_from = fromb;
    info.received = NULL;
    info.size = -1;
    if (deliver_open(d, &info, e) < 0)
        goto abort;
    if (deliver_write(d, hdr.data, hdr.len, e) < 0)
        goto abort;
    while (!eof) {
        r = read_some(fd, chunk, CHUNK, e);
        if (r < 0)
            goto abort;
        if (r == 0)
            break;
        if (deliver_write(d, chunk, (size_t)r, e) < 0)
            goto abort;
    }
    /* A signal that came while the last bytes were written still stops
     * the delivery: the user asked us not to finish. */
    if (transport_interrupted) {
        err_set(e, MP_ESIGNAL,
                _("interrupted by a signal; nothing was delivered"));
        goto abort;
    }
    if (deliver_commit(d, 0, e) < 0)
        goto abort;
    rc = 0;
    goto out;

abort:
    deliver_abort(d);
out:
    deliver_free(&d);
    buf_clear(&hdr);
    free(chunk);
    return rc;
}
