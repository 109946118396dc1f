/* --configure=ADDRESS: find the POP3 server of a mail domain through the
 * SRV records of RFC 6186 (_pop3s._tcp, then _pop3._tcp) and write a
 * ready configuration in the original mpop's layout.  Implicit TLS is
 * preferred (RFC 8314 §5.1): _pop3s wins whenever it has a usable record.
 *
 * The lookup goes through the system resolver (res_query).  Test hook
 * (script tests only, never for users): MPOP_TEST_DNS=IPV4:PORT sends the
 * queries to that DNS server instead of those of /etc/resolv.conf. */
#ifndef MPOP_CONFIGURE_H
#define MPOP_CONFIGURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* One SRV record (RFC 2782). */
struct configure_srv {
    unsigned prio;
    unsigned weight;
    unsigned port;
    char target[256];       /* without the final dot; "" for "." */
};

/* Parses a DNS answer (untrusted bytes msg[0..len)) and fills out[] with
 * up to max SRV records of the answer section, in the order received;
 * *n_r is their number.  Other record types are skipped.  Returns 0, or
 * -1 with *why_r (a static string) when the message is malformed.
 * Allocates nothing. */
int configure_parse_srv(const unsigned char *msg, size_t len,
                        struct configure_srv *out, size_t max, size_t *n_r,
                        const char **why_r);

/* The record to use among v[0..n): the lowest priority, then the highest
 * weight, then the first; records with target "." (RFC 2782: no service)
 * never.  Returns its index, or -1 when none is usable. */
int configure_pick(const struct configure_srv *v, size_t n);

/* What --configure found for a domain. */
struct configure_result {
    char host[256];
    unsigned port;
    bool starttls;          /* from _pop3._tcp: STLS; else implicit TLS */
};

/* Looks up the records of domain (UTF-8, converted with IDNA).  Errors
 * (-1, e filled): MP_ENOHOST when neither name has a usable record (the
 * message names both), when the domain is not a valid IDN, or when the
 * resolver fails; MP_EPROTO when the answer is malformed. */
int configure_lookup(const char *domain, struct configure_result *r,
                     struct mp_err *e);

/* The whole --configure job for a mail address: splits it at the last
 * '@', looks up its domain and writes the configuration to f, naming
 * conffile as the place to copy it to.  Errors as configure_lookup, and
 * MP_EUSAGE for an address without a user or domain part. */
int configure_run(const char *address, const char *conffile, FILE *f,
                  struct mp_err *e);

#endif
