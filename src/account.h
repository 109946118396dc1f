/* struct account: every setting of one POP3 account, as the configuration
 * file, the command line and the defaults make it.  Each field has a bit in
 * `set` so that inheritance (`account a : b, c`) and command-line overrides
 * merge only what was written.
 *
 * Strings are owned by the account (NULL means "not set").  Sizes are in
 * bytes; -1 means off.  Durations are in seconds. */
#ifndef MPOP_ACCOUNT_H
#define MPOP_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

enum acc_field {
    ACC_HOST, ACC_PORT, ACC_SOURCE_IP, ACC_PROXY_HOST, ACC_PROXY_PORT,
    ACC_SOCKET, ACC_TIMEOUT, ACC_PIPELINING, ACC_RECEIVED_HEADER,
    ACC_AUTH, ACC_USER, ACC_PASSWORD, ACC_PASSWORDEVAL, ACC_NTLM_DOMAIN,
    ACC_TLS, ACC_TLS_STARTTLS, ACC_TLS_TRUST_FILE, ACC_TLS_CRL_FILE,
    ACC_TLS_FINGERPRINT, ACC_TLS_KEY_FILE, ACC_TLS_CERT_FILE,
    ACC_TLS_CERTCHECK, ACC_TLS_MIN_DH_PRIME_BITS, ACC_TLS_PRIORITIES,
    ACC_TLS_HOST_OVERRIDE, ACC_DELIVERY, ACC_UIDLS_FILE, ACC_ONLY_NEW,
    ACC_KEEP, ACC_KILLSIZE, ACC_SKIPSIZE, ACC_FILTER,
    ACC_OAUTH2_PROVIDER, ACC_OAUTH2_TENANT, ACC_OAUTH2_CLIENT_ID,
    ACC_OAUTH2_CLIENT_SECRET, ACC_OAUTH2_SCOPE,
    ACC_OAUTH2_AUTHORIZATION_ENDPOINT, ACC_OAUTH2_TOKEN_ENDPOINT,
    ACC_OAUTH2_DEVICE_ENDPOINT, ACC_OAUTH2_TOKEN_FILE,
    ACC_FIELD_COUNT
};

#define ACC_BIT(f) (UINT64_C(1) << (f))

enum acc_pipelining { PIPELINING_AUTO = -1, PIPELINING_OFF = 0, PIPELINING_ON = 1 };

enum acc_delivery {
    DELIVERY_NONE = 0, DELIVERY_MDA, DELIVERY_MAILDIR, DELIVERY_MBOX,
    DELIVERY_EXCHANGE
};

/* keep: KEEP_OFF deletes after delivery, KEEP_ON never deletes,
 * KEEP_DURATION deletes once the mail was first seen keep_seconds ago. */
enum acc_keep { KEEP_OFF = 0, KEEP_ON, KEEP_DURATION };

struct account {
    char *id;                   /* account name; "" never */
    char *conffile;             /* file that defined it, NULL for --host */
    int confline;               /* line of its `account` command, 0 if none */
    uint64_t set;               /* ACC_BIT(field) for each field written */

    char *host;
    int port;                   /* 0: default (110, or 995 for TLS without STARTTLS) */
    char *source_ip;
    char *proxy_host;
    int proxy_port;             /* 0: default (1080) */
    char *socket_name;          /* unix domain socket */
    int timeout;                /* seconds, 0 = off; default 180 */
    int pipelining;             /* enum acc_pipelining */
    bool received_header;       /* default on */

    char *auth;                 /* NULL or "" = choose ("on"); else a method name, lower case */
    char *user;
    char *password;             /* a secret: wipe with xfree_secret */
    char *passwordeval;
    char *ntlm_domain;

    bool tls;
    bool tls_starttls;          /* default on */
    char *tls_trust_file;       /* "system" (default), a file, or "" = none */
    char *tls_crl_file;
    char *tls_fingerprint;      /* as written: hex pairs separated by ':' */
    char *tls_key_file;
    char *tls_cert_file;
    bool tls_certcheck;         /* default on */
    int tls_min_dh_prime_bits;  /* -1: not set */
    char *tls_priorities;
    char *tls_host_override;

    int delivery;               /* enum acc_delivery */
    char *delivery_args;        /* command or path, ~ expanded for paths */
    char *uidls_file;           /* as written, %U/%H unexpanded; default ~/.mpop_uidls/%U_at_%H */
    bool only_new;              /* default on */
    int keep;                   /* enum acc_keep */
    long long keep_seconds;     /* for KEEP_DURATION */
    long long killsize;         /* -1 = off */
    long long skipsize;         /* -1 = off */
    char *filter;

    /* OAuth2 (issue 15, oauth2.h): on when oauth2_provider is set. */
    char *oauth2_provider;      /* "google", "microsoft" or "custom" */
    char *oauth2_tenant;        /* Microsoft; NULL: "common" */
    char *oauth2_client_id;
    char *oauth2_client_secret; /* a secret: wipe with xfree_secret */
    char *oauth2_scope;         /* NULL: the provider's mail scope */
    char *oauth2_authorization_endpoint;  /* NULL: the provider's */
    char *oauth2_token_endpoint;
    char *oauth2_device_endpoint;
    char *oauth2_token_file;    /* ~ expanded; NULL: key ring, else the
                                 * default file (oauth2.h) */
};

/* The list owns its accounts (and the array v). */
struct account_list {
    struct account **v;
    size_t n;
};

/* A new account with every default set and `set` == 0.  id is copied.
 * The caller owns the result: account_free(), or hand it to a list. */
struct account *account_new(const char *id);
/* A deep copy (with id replaced when new_id is not NULL); nothing is
 * shared with a.  The caller frees it with account_free(). */
struct account *account_copy(const struct account *a, const char *new_id);
/* Frees every string (the password wiped) and the account.  NULL-safe;
 * sets *ap to NULL. */
void account_free(struct account **ap);

/* Copies into dst every field whose bit is set in src->set (strings are
 * duplicated: src keeps its own), and sets those bits in dst->set. */
void account_merge(struct account *dst, const struct account *src);

/* Validation after loading and overrides: a host or socket is required,
 * delivery is required in retrieval mode, the proxy needs a host, the
 * fingerprint must be well formed, and so on.  Fills e (MP_ECONFIG), naming
 * the account and, where known, its file and line. */
int account_check(const struct account *a, bool need_delivery, struct mp_err *e);

/* "mda", "maildir", "mbox" or "exchange" (the `delivery` command's and the
 * backend's name, deliver_lookup()), NULL for DELIVERY_NONE.  A static
 * string. */
const char *account_delivery_name(int delivery);

/* The effective port: a->port, else 995 for TLS without STARTTLS, else 110. */
int account_port(const struct account *a);

/* The UIDLs file path with %U (user) and %H (host) expanded and ~ expanded.
 * The caller frees. */
char *account_uidls_path(const struct account *a);

/* Prints the --pretend block of one account in the original mpop's layout
 * ("using account X from FILE", then "key = value" lines). */
void account_print_pretend(const struct account *a, FILE *f);

/* OAuth2 endpoints and scope of a: the oauth2_* settings, else the
 * preset of its oauth2_provider (Microsoft's with the tenant filled in);
 * NULL where neither has one.  Strings are new; free with
 * account_oauth2_clear(). */
struct account_oauth2 {
    char *authorization, *token, *device, *scope;
};
void account_oauth2_endpoints(const struct account *a,
                              struct account_oauth2 *o);
void account_oauth2_clear(struct account_oauth2 *o);
/* Whether name is a known oauth2_provider (google, microsoft, custom). */
bool account_oauth2_provider_ok(const char *name);

/* Takes ownership of a. */
void account_list_add(struct account_list *l, struct account *a);
/* The account called id, borrowed from the list (valid until the list is
 * cleared), or NULL. */
struct account *account_list_find(const struct account_list *l, const char *id);
/* Frees every account and the array; the list is then empty. */
void account_list_clear(struct account_list *l);

#endif
