#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "gettext.h"
#include "paths.h"
#include "xalloc.h"

#define DEFAULT_TIMEOUT 180
#define DEFAULT_UIDLS_FILE "~/.mpop_uidls/%U_at_%H"
#define DEFAULT_PROXY_PORT 1080

struct account *account_new(const char *id)
{
    struct account *a = xcalloc(1, sizeof *a);

    a->id = xstrdup(id);
    a->timeout = DEFAULT_TIMEOUT;
    a->pipelining = PIPELINING_AUTO;
    a->received_header = true;
    a->tls_starttls = true;
    a->tls_trust_file = xstrdup("system");
    a->tls_certcheck = true;
    a->tls_min_dh_prime_bits = -1;
    a->delivery = DELIVERY_NONE;
    a->uidls_file = xstrdup(DEFAULT_UIDLS_FILE);
    a->only_new = true;
    a->keep = KEEP_OFF;
    a->killsize = -1;
    a->skipsize = -1;
    return a;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* Replaces *dst by a copy of src. */
static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = dup_or_null(src);
}

static void set_secret(char **dst, const char *src)
{
    xfree_secret(dst);
    *dst = dup_or_null(src);
}

struct account *account_copy(const struct account *a, const char *new_id)
{
    struct account *c = xmalloc(sizeof *c);

    *c = *a;
    c->id = xstrdup(new_id ? new_id : a->id);
    c->conffile = dup_or_null(a->conffile);
    c->host = dup_or_null(a->host);
    c->source_ip = dup_or_null(a->source_ip);
    c->proxy_host = dup_or_null(a->proxy_host);
    c->socket_name = dup_or_null(a->socket_name);
    c->auth = dup_or_null(a->auth);
    c->user = dup_or_null(a->user);
    c->password = dup_or_null(a->password);
    c->passwordeval = dup_or_null(a->passwordeval);
    c->ntlm_domain = dup_or_null(a->ntlm_domain);
    c->tls_trust_file = dup_or_null(a->tls_trust_file);
    c->tls_crl_file = dup_or_null(a->tls_crl_file);
    c->tls_fingerprint = dup_or_null(a->tls_fingerprint);
    c->tls_key_file = dup_or_null(a->tls_key_file);
    c->tls_cert_file = dup_or_null(a->tls_cert_file);
    c->tls_priorities = dup_or_null(a->tls_priorities);
    c->tls_host_override = dup_or_null(a->tls_host_override);
    c->delivery_args = dup_or_null(a->delivery_args);
    c->uidls_file = dup_or_null(a->uidls_file);
    c->filter = dup_or_null(a->filter);
    c->oauth2_provider = dup_or_null(a->oauth2_provider);
    c->oauth2_tenant = dup_or_null(a->oauth2_tenant);
    c->oauth2_client_id = dup_or_null(a->oauth2_client_id);
    c->oauth2_client_secret = dup_or_null(a->oauth2_client_secret);
    c->oauth2_scope = dup_or_null(a->oauth2_scope);
    c->oauth2_authorization_endpoint = dup_or_null(a->oauth2_authorization_endpoint);
    c->oauth2_token_endpoint = dup_or_null(a->oauth2_token_endpoint);
    c->oauth2_device_endpoint = dup_or_null(a->oauth2_device_endpoint);
    c->oauth2_token_file = dup_or_null(a->oauth2_token_file);
    return c;
}

void account_free(struct account **ap)
{
    struct account *a;

    if (!ap || !*ap)
        return;
    a = *ap;
    free(a->id);
    free(a->conffile);
    free(a->host);
    free(a->source_ip);
    free(a->proxy_host);
    free(a->socket_name);
    free(a->auth);
    free(a->user);
    xfree_secret(&a->password);
    free(a->passwordeval);
    free(a->ntlm_domain);
    free(a->tls_trust_file);
    free(a->tls_crl_file);
    free(a->tls_fingerprint);
    free(a->tls_key_file);
    free(a->tls_cert_file);
    free(a->tls_priorities);
    free(a->tls_host_override);
    free(a->delivery_args);
    free(a->uidls_file);
    free(a->filter);
    free(a->oauth2_provider);
    free(a->oauth2_tenant);
    free(a->oauth2_client_id);
    xfree_secret(&a->oauth2_client_secret);
    free(a->oauth2_scope);
    free(a->oauth2_authorization_endpoint);
    free(a->oauth2_token_endpoint);
    free(a->oauth2_device_endpoint);
    free(a->oauth2_token_file);
    free(a);
    *ap = NULL;
}

void account_merge(struct account *dst, const struct account *src)
{
    uint64_t m = src->set;

#define HAS(f) (m & ACC_BIT(f))
    if (HAS(ACC_HOST))
        set_str(&dst->host, src->host);
    if (HAS(ACC_PORT))
        dst->port = src->port;
    if (HAS(ACC_SOURCE_IP))
        set_str(&dst->source_ip, src->source_ip);
    if (HAS(ACC_PROXY_HOST))
        set_str(&dst->proxy_host, src->proxy_host);
    if (HAS(ACC_PROXY_PORT))
        dst->proxy_port = src->proxy_port;
    if (HAS(ACC_SOCKET))
        set_str(&dst->socket_name, src->socket_name);
    if (HAS(ACC_TIMEOUT))
        dst->timeout = src->timeout;
    if (HAS(ACC_PIPELINING))
        dst->pipelining = src->pipelining;
    if (HAS(ACC_RECEIVED_HEADER))
        dst->received_header = src->received_header;
    if (HAS(ACC_AUTH))
        set_str(&dst->auth, src->auth);
    if (HAS(ACC_USER))
        set_str(&dst->user, src->user);
    if (HAS(ACC_PASSWORD))
        set_secret(&dst->password, src->password);
    if (HAS(ACC_PASSWORDEVAL))
        set_str(&dst->passwordeval, src->passwordeval);
    if (HAS(ACC_NTLM_DOMAIN))
        set_str(&dst->ntlm_domain, src->ntlm_domain);
    if (HAS(ACC_TLS))
        dst->tls = src->tls;
    if (HAS(ACC_TLS_STARTTLS))
        dst->tls_starttls = src->tls_starttls;
    if (HAS(ACC_TLS_TRUST_FILE))
        set_str(&dst->tls_trust_file, src->tls_trust_file);
    if (HAS(ACC_TLS_CRL_FILE))
        set_str(&dst->tls_crl_file, src->tls_crl_file);
    if (HAS(ACC_TLS_FINGERPRINT))
        set_str(&dst->tls_fingerprint, src->tls_fingerprint);
    if (HAS(ACC_TLS_KEY_FILE))
        set_str(&dst->tls_key_file, src->tls_key_file);
    if (HAS(ACC_TLS_CERT_FILE))
        set_str(&dst->tls_cert_file, src->tls_cert_file);
    if (HAS(ACC_TLS_CERTCHECK))
        dst->tls_certcheck = src->tls_certcheck;
    if (HAS(ACC_TLS_MIN_DH_PRIME_BITS))
        dst->tls_min_dh_prime_bits = src->tls_min_dh_prime_bits;
    if (HAS(ACC_TLS_PRIORITIES))
        set_str(&dst->tls_priorities, src->tls_priorities);
    if (HAS(ACC_TLS_HOST_OVERRIDE))
        set_str(&dst->tls_host_override, src->tls_host_override);
    if (HAS(ACC_DELIVERY)) {
        dst->delivery = src->delivery;
        set_str(&dst->delivery_args, src->delivery_args);
    }
    if (HAS(ACC_UIDLS_FILE))
        set_str(&dst->uidls_file, src->uidls_file);
    if (HAS(ACC_ONLY_NEW))
        dst->only_new = src->only_new;
    if (HAS(ACC_KEEP)) {
        dst->keep = src->keep;
        dst->keep_seconds = src->keep_seconds;
    }
    if (HAS(ACC_KILLSIZE))
        dst->killsize = src->killsize;
    if (HAS(ACC_SKIPSIZE))
        dst->skipsize = src->skipsize;
    if (HAS(ACC_FILTER))
        set_str(&dst->filter, src->filter);
    if (HAS(ACC_OAUTH2_PROVIDER))
        set_str(&dst->oauth2_provider, src->oauth2_provider);
    if (HAS(ACC_OAUTH2_TENANT))
        set_str(&dst->oauth2_tenant, src->oauth2_tenant);
    if (HAS(ACC_OAUTH2_CLIENT_ID))
        set_str(&dst->oauth2_client_id, src->oauth2_client_id);
    if (HAS(ACC_OAUTH2_CLIENT_SECRET))
        set_secret(&dst->oauth2_client_secret, src->oauth2_client_secret);
    if (HAS(ACC_OAUTH2_SCOPE))
        set_str(&dst->oauth2_scope, src->oauth2_scope);
    if (HAS(ACC_OAUTH2_AUTHORIZATION_ENDPOINT))
        set_str(&dst->oauth2_authorization_endpoint, src->oauth2_authorization_endpoint);
    if (HAS(ACC_OAUTH2_TOKEN_ENDPOINT))
        set_str(&dst->oauth2_token_endpoint, src->oauth2_token_endpoint);
    if (HAS(ACC_OAUTH2_DEVICE_ENDPOINT))
        set_str(&dst->oauth2_device_endpoint, src->oauth2_device_endpoint);
    if (HAS(ACC_OAUTH2_TOKEN_FILE))
        set_str(&dst->oauth2_token_file, src->oauth2_token_file);
#undef HAS
    dst->set |= m;
}

static bool is_set(const char *s)
{
    return s && *s;
}

/* 16 (MD5), 20 (SHA-1) or 32 (SHA-256) bytes as hex pairs joined by ':'. */
static bool fingerprint_ok(const char *s)
{
    size_t n = 0;

    for (;;) {
        if (!strchr("0123456789abcdefABCDEF", s[0]) || !s[0]
            || !strchr("0123456789abcdefABCDEF", s[1]) || !s[1])
            return false;
        n++;
        s += 2;
        if (*s == '\0')
            break;
        if (*s != ':')
            return false;
        s++;
    }
    return n == 16 || n == 20 || n == 32;
}

static int check_oauth2(const struct account *a, struct mp_err *e);

static int check_fail(const struct account *a, struct mp_err *e,
                      const char *msg)
{
    if (a->conffile && a->confline > 0)
        return err_set(e, MP_ECONFIG, _("%s:%d: account %s: %s"),
                       a->conffile, a->confline, a->id, msg);
    if (a->conffile)
        return err_set(e, MP_ECONFIG, _("%s: account %s: %s"),
                       a->conffile, a->id, msg);
    return err_set(e, MP_ECONFIG, "%s", msg);
}

int account_check(const struct account *a, bool need_delivery,
                  struct mp_err *e)
{
    /* The order follows the original mpop, so that a config with several
     * faults reports the same one first. */
    if (!is_set(a->host) && !is_set(a->socket_name))
        return check_fail(a, e, _("host not set"));
    if (need_delivery && a->delivery == DELIVERY_NONE)
        return check_fail(a, e, _("no delivery information"));
    if (need_delivery && a->delivery != DELIVERY_NONE
        && !is_set(a->delivery_args))
        return check_fail(a, e, _("delivery needs an argument"));
    if (a->port < 0 || a->port > 65535)
        return check_fail(a, e, _("invalid port"));
    if (a->proxy_port < 0 || a->proxy_port > 65535)
        return check_fail(a, e, _("invalid proxy port"));
    if (is_set(a->tls_key_file) && !is_set(a->tls_cert_file))
        return check_fail(a, e, _("tls_key_file requires tls_cert_file"));
    if (is_set(a->tls_cert_file) && !is_set(a->tls_key_file))
        return check_fail(a, e, _("tls_cert_file requires tls_key_file"));
    if (is_set(a->tls_crl_file) && !is_set(a->tls_trust_file))
        return check_fail(a, e, _("tls_crl_file requires tls_trust_file"));
    if (is_set(a->tls_fingerprint) && !fingerprint_ok(a->tls_fingerprint))
        return check_fail(a, e, _("invalid tls_fingerprint: expected 16, "
                                  "20 or 32 hex byte pairs separated by "
                                  "':'"));
    if (a->keep == KEEP_DURATION && a->keep_seconds <= 0)
        return check_fail(a, e, _("keep needs a positive duration"));
    if (need_delivery && !is_set(a->uidls_file))
        return check_fail(a, e, _("uidls_file not set"));
    return check_oauth2(a, e);
}

/* The presets of oauth2_provider.  Google: "Using OAuth 2.0 for Mobile &
 * Desktop Apps" and its device flow page (2026-12); its device flow does
 * not allow the mail scope, hence no device endpoint.  Microsoft identity
 * platform v2.0 endpoints, %s is the tenant ("common", "organizations",
 * "consumers" or a tenant ID or domain). */
static const struct oauth2_preset {
    const char *name;
    const char *authorization, *token, *device, *scope;
} oauth2_presets[] = {
    { "google", "https://accounts.google.com/o/oauth2/v2/auth",
      "https://oauth2.googleapis.com/token", NULL,
      "https://mail.google.com/" },
    { "microsoft",
      "https://login.microsoftonline.com/%s/oauth2/v2.0/authorize",
      "https://login.microsoftonline.com/%s/oauth2/v2.0/token",
      "https://login.microsoftonline.com/%s/oauth2/v2.0/devicecode",
      "https://outlook.office.com/POP.AccessAsUser.All offline_access" },
    { "custom", NULL, NULL, NULL, NULL },
};

static const struct oauth2_preset *oauth2_preset(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof oauth2_presets / sizeof *oauth2_presets;
         i++)
        if (strcmp(oauth2_presets[i].name, name) == 0)
            return &oauth2_presets[i];
    return NULL;
}

bool account_oauth2_provider_ok(const char *name)
{
    return oauth2_preset(name) != NULL;
}

static char *endpoint(const char *set, const char *preset,
                      const struct account *a)
{
    const char *pct;

    if (is_set(set))
        return xstrdup(set);
    if (!preset)
        return NULL;
    pct = strstr(preset, "%s");
    if (pct)
        return xasprintf("%.*s%s%s", (int)(pct - preset), preset,
                         is_set(a->oauth2_tenant) ? a->oauth2_tenant
                                                  : "common", pct + 2);
    return xstrdup(preset);
}

void account_oauth2_endpoints(const struct account *a,
                              struct account_oauth2 *o)
{
    const struct oauth2_preset *p = oauth2_preset(a->oauth2_provider);
    static const struct oauth2_preset none;

    if (!p)
        p = &none;
    o->authorization = endpoint(a->oauth2_authorization_endpoint,
                                p->authorization, a);
    o->token = endpoint(a->oauth2_token_endpoint, p->token, a);
    o->device = endpoint(a->oauth2_device_endpoint, p->device, a);
    o->scope = endpoint(a->oauth2_scope, p->scope, a);
}

void account_oauth2_clear(struct account_oauth2 *o)
{
    free(o->authorization);
    free(o->token);
    free(o->device);
    free(o->scope);
    memset(o, 0, sizeof *o);
}

static bool https_url(const char *s)
{
    return !s || strncasecmp(s, "https://", 8) == 0;
}

static int check_oauth2(const struct account *a, struct mp_err *e)
{
    struct account_oauth2 o;
    int r = 0;

    if (!is_set(a->oauth2_provider))
        return 0;
    if (!oauth2_preset(a->oauth2_provider))
        return check_fail(a, e, _("invalid oauth2_provider (google, "
                                  "microsoft or custom)"));
    if (!is_set(a->oauth2_client_id))
        return check_fail(a, e, _("oauth2_provider needs "
                                  "oauth2_client_id"));
    account_oauth2_endpoints(a, &o);
    if (!o.token)
        r = check_fail(a, e, _("oauth2_provider custom needs "
                               "oauth2_token_endpoint"));
    else if (!o.authorization && !o.device)
        r = check_fail(a, e, _("oauth2_provider custom needs "
                               "oauth2_authorization_endpoint or "
                               "oauth2_device_endpoint"));
    /* Tokens and the client secret never travel without TLS. */
    else if (!https_url(o.token) || !https_url(o.authorization)
             || !https_url(o.device))
        r = check_fail(a, e, _("OAuth2 endpoints must be https:// "
                               "addresses"));
    account_oauth2_clear(&o);
    return r;
}

int account_port(const struct account *a)
{
    if (a->port > 0)
        return a->port;
    return (a->tls && !a->tls_starttls) ? 995 : 110;
}

char *account_uidls_path(const struct account *a)
{
    const char *host = is_set(a->host) ? a->host : a->socket_name;
    char *t, *r;

    /* The default is built with a join, so a $HOME that ends in '/' gives
     * no double slash; a written "~" is replaced literally, as the original
     * does for every file argument. */
    if (!(a->set & ACC_BIT(ACC_UIDLS_FILE)) && a->uidls_file
        && strcmp(a->uidls_file, DEFAULT_UIDLS_FILE) == 0) {
        char *home = paths_home();
        t = paths_join(home, &DEFAULT_UIDLS_FILE[2]);
        free(home);
    } else {
        t = paths_expand_tilde(a->uidls_file ? a->uidls_file : "");
    }
    r = paths_expand_uh(t, a->user, host);
    free(t);
    return r;
}

static const char *str_or_unset(const char *s)
{
    return is_set(s) ? s : _("(not set)");
}

static const char *onoff(bool b)
{
    return b ? "on" : "off";
}

static void print_upper(FILE *f, const char *key, const char *s)
{
    fprintf(f, "%s = ", key);
    for (; *s; s++)
        fputc((*s >= 'a' && *s <= 'z') ? *s - 'a' + 'A' : *s, f);
    fputc('\n', f);
}

/* keep DURATION is our extension: it is shown in the largest units that
 * divide it exactly, from weeks down to seconds ("1d12h", "2w", "90s"),
 * which `keep` reads back unchanged. */
static void print_duration(FILE *f, long long s)
{
    static const struct { char unit; long long sec; } units[] = {
        { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
        { 's', 1 }
    };
    size_t i;

    if (s <= 0) {
        fputs("0s", f);
        return;
    }
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (s >= units[i].sec) {
            fprintf(f, "%lld%c", s / units[i].sec, units[i].unit);
            s %= units[i].sec;
        }
    }
}

static void print_size(FILE *f, const char *key, long long v)
{
    if (v < 0)
        fprintf(f, "%s = off\n", key);
    else
        fprintf(f, "%s = %lld\n", key, v);
}

const char *account_delivery_name(int delivery)
{
    switch (delivery) {
    case DELIVERY_MDA:
        return "mda";
    case DELIVERY_MAILDIR:
        return "maildir";
    case DELIVERY_MBOX:
        return "mbox";
    case DELIVERY_EXCHANGE:
        return "exchange";
    default:
        return NULL;
    }
}

void account_print_pretend(const struct account *a, FILE *f)
{
    int proxy_port = a->proxy_port;
    char *uidls;

    if (a->conffile)
        fprintf(f, _("using account %s from %s\n"), a->id, a->conffile);
    fprintf(f, "host = %s\n", str_or_unset(a->host));
    fprintf(f, "port = %d\n", account_port(a));
    fprintf(f, "source ip = %s\n", str_or_unset(a->source_ip));
    fprintf(f, "proxy host = %s\n", str_or_unset(a->proxy_host));
    if (proxy_port == 0 && is_set(a->proxy_host))
        proxy_port = DEFAULT_PROXY_PORT;
    fprintf(f, "proxy port = %d\n", proxy_port);
    fprintf(f, "socket = %s\n", str_or_unset(a->socket_name));
    if (a->timeout <= 0)
        fprintf(f, "timeout = off\n");
    else
        fprintf(f, ngettext("timeout = %d second\n", "timeout = %d seconds\n",
                            (unsigned long)a->timeout), a->timeout);
    fprintf(f, "pipelining = %s\n",
            a->pipelining == PIPELINING_AUTO ? "auto"
            : onoff(a->pipelining == PIPELINING_ON));
    fprintf(f, "received_header = %s\n", onoff(a->received_header));
    if (is_set(a->auth))
        print_upper(f, "auth", a->auth);
    else
        fprintf(f, "auth = choose\n");
    fprintf(f, "user = %s\n", str_or_unset(a->user));
    /* The original evaluates passwordeval before printing; we never run a
     * command to print settings, so a passwordeval also shows as "*". */
    fprintf(f, "password = %s\n",
            (is_set(a->password) || is_set(a->passwordeval))
            ? "*" : _("(not set)"));
    fprintf(f, "passwordeval = %s\n", str_or_unset(a->passwordeval));
    fprintf(f, "ntlmdomain = %s\n", str_or_unset(a->ntlm_domain));
    fprintf(f, "tls = %s\n", onoff(a->tls));
    fprintf(f, "tls_starttls = %s\n", onoff(a->tls_starttls));
    fprintf(f, "tls_trust_file = %s\n", str_or_unset(a->tls_trust_file));
    fprintf(f, "tls_crl_file = %s\n", str_or_unset(a->tls_crl_file));
    if (is_set(a->tls_fingerprint))
        print_upper(f, "tls_fingerprint", a->tls_fingerprint);
    else
        fprintf(f, "tls_fingerprint = %s\n", _("(not set)"));
    fprintf(f, "tls_key_file = %s\n", str_or_unset(a->tls_key_file));
    fprintf(f, "tls_cert_file = %s\n", str_or_unset(a->tls_cert_file));
    fprintf(f, "tls_certcheck = %s\n", onoff(a->tls_certcheck));
    if (a->tls_min_dh_prime_bits >= 0)
        fprintf(f, "tls_min_dh_prime_bits = %d\n", a->tls_min_dh_prime_bits);
    else
        fprintf(f, "tls_min_dh_prime_bits = %s\n", _("(not set)"));
    fprintf(f, "tls_priorities = %s\n", str_or_unset(a->tls_priorities));
    fprintf(f, "tls_host_override = %s\n",
            str_or_unset(a->tls_host_override));
    /* Only with OAuth2, so the output of the original's settings stays
     * byte-identical to mpop 1.4.18's; never a secret. */
    if (is_set(a->oauth2_provider)) {
        struct account_oauth2 o;

        account_oauth2_endpoints(a, &o);
        fprintf(f, "oauth2_provider = %s\n", a->oauth2_provider);
        if (strcmp(a->oauth2_provider, "microsoft") == 0)
            fprintf(f, "oauth2_tenant = %s\n", is_set(a->oauth2_tenant)
                    ? a->oauth2_tenant : "common");
        fprintf(f, "oauth2_client_id = %s\n",
                str_or_unset(a->oauth2_client_id));
        fprintf(f, "oauth2_client_secret = %s\n",
                is_set(a->oauth2_client_secret) ? "*" : _("(not set)"));
        fprintf(f, "oauth2_scope = %s\n", str_or_unset(o.scope));
        fprintf(f, "oauth2_authorization_endpoint = %s\n",
                str_or_unset(o.authorization));
        fprintf(f, "oauth2_token_endpoint = %s\n", str_or_unset(o.token));
        fprintf(f, "oauth2_device_endpoint = %s\n", str_or_unset(o.device));
        fprintf(f, "oauth2_token_file = %s\n",
                is_set(a->oauth2_token_file) ? a->oauth2_token_file
                : _("(not set: key ring, else the default file)"));
        account_oauth2_clear(&o);
    }

    /* The retrieval settings: the original leaves them out in
     * --serverinfo mode, the only mode in which delivery may be unset. */
    if (a->delivery == DELIVERY_NONE)
        return;
    fprintf(f, "delivery = %s %s\n", account_delivery_name(a->delivery),
            a->delivery_args ? a->delivery_args : "");
    uidls = account_uidls_path(a);
    fprintf(f, "uidls file = %s\n", uidls);
    free(uidls);
    fprintf(f, "only_new = %s\n", onoff(a->only_new));
    if (a->keep == KEEP_DURATION) {
        fputs("keep = ", f);
        print_duration(f, a->keep_seconds);
        fputc('\n', f);
    } else {
        fprintf(f, "keep = %s\n", onoff(a->keep == KEEP_ON));
    }
    print_size(f, "killsize", a->killsize);
    print_size(f, "skipsize", a->skipsize);
    fprintf(f, "filter = %s\n", str_or_unset(a->filter));
}

void account_list_add(struct account_list *l, struct account *a)
{
    l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
    l->v[l->n++] = a;
}

struct account *account_list_find(const struct account_list *l,
                                  const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->v[i]->id, id) == 0)
            return l->v[i];
    return NULL;
}

void account_list_clear(struct account_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        account_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
