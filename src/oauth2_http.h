/* HTTPS for OAuth2 (issue 15): form POSTs to a token or device endpoint and
 * their JSON replies, through libcurl (built on GnuTLS, opened with
 * dlopen() at the first request) and json-c.
 *
 * The account's TLS trust settings apply as for its POP3 connection:
 * tls_trust_file (a file, or the system's trust store for "system" and
 * for none), tls_crl_file, tls_priorities (a GnuTLS priority string),
 * timeout, source_ip and the SOCKS proxy.  tls_certcheck off and
 * tls_fingerprint, which concern the POP3 server, do not: a token
 * endpoint's certificate is always verified.  Only https:// is spoken, no
 * redirect is followed.
 *
 * Nothing here prints the request or the reply: they carry tokens, codes,
 * verifiers and client secrets.  --debug shows one line per request: the
 * URL (an endpoint, no secret) and the HTTP status. */
#ifndef MPOP_OAUTH2_HTTP_H
#define MPOP_OAUTH2_HTTP_H

#include <stdbool.h>

#include "account.h"
#include "err.h"

struct json_object;

/* A reply.  json is the parsed body when it was a JSON object (the caller
 * frees it with oauth2_http_reply_clear(), which wipes its strings first),
 * else NULL. */
struct oauth2_http_reply {
    long status;
    struct json_object *json;
};

/* Whether this build has OAuth2 and libcurl can be loaded.  Fills e
 * (MP_EUNAVAIL) when not. */
bool oauth2_http_available(struct mp_err *e);

/* POSTs application/x-www-form-urlencoded fields (name, value, name,
 * value, ..., NULL; a NULL value leaves its name out) to url.  Returns 0
 * when the server answered (whatever the status), or -1: MP_ETEMP when it
 * cannot be reached (name, connection, timeout: try again later),
 * MP_ETLSCERT when its certificate is not trusted, MP_EUNAVAIL when
 * libcurl is missing, MP_EPROTO for a reply over 64 KiB. */
int oauth2_http_post(const struct account *a, const char *url,
                     const char *const *fields, struct oauth2_http_reply *r,
                     struct mp_err *e);

void oauth2_http_reply_clear(struct oauth2_http_reply *r);

/* RFC 3986 percent-encoding of s: everything but unreserved characters.
 * New string. */
char *oauth2_url_escape(const char *s);

/* A string member of a JSON object, or NULL. */
const char *oauth2_json_str(struct json_object *o, const char *key);
/* An integer member (also given as a string of digits), or def. */
long long oauth2_json_int(struct json_object *o, const char *key,
                          long long def);
/* A duration in seconds (an integer member as above, def when absent),
 * brought into 0..max: a hostile or broken server's expires_in or
 * interval must not overflow the time it is added to. */
long long oauth2_json_seconds(struct json_object *o, const char *key,
                              long long def, long long max);
/* Overwrites every string in o (recursively) with zeros before it is
 * freed, then frees it; NULL-safe. */
void oauth2_json_free(struct json_object **o);

#endif
