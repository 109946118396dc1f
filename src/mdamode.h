/* `mpop --mda[=FROM]`: deliver one mail read from a file descriptor
 * (standard input) with an account's delivery method, the same backends
 * and guarantees as a fetched mail (deliver.h), so that mpop can serve as
 * the local delivery agent of an MTA or of another retrieval program.
 *
 * The envelope sender (%F of `delivery mda`, the mbox From_ line) is FROM
 * when given, sanitised like an address from a header; otherwise it is
 * found in the mail's header (envelope.h; the first DELIVER_HEADER_MAX
 * bytes of the header block).  No Received header is added:
 * the mail did not come over POP3.  The mail is committed durably (fsync)
 * before the function returns 0; on any error nothing partial remains in
 * the destination (see deliver_abort()). */
#ifndef MPOP_MDAMODE_H
#define MPOP_MDAMODE_H

#include "account.h"
#include "err.h"

/* Reads the mail from fd until end of file and delivers it with a's
 * delivery method.  Returns 0, or -1 with e set: MP_ECONFIG (the account
 * has no delivery), MP_EDATA (the input is empty), MP_EIO (reading fd),
 * MP_ESIGNAL (transport_interrupted was set: SIGTERM, SIGINT, SIGHUP),
 * or a delivery error (deliver.h). */
int mdamode_run(const struct account *a, const char *from, int fd,
                struct mp_err *e);

#endif
