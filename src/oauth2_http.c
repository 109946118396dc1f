#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gettext.h"
#include "log.h"
#include "oauth2_http.h"
#include "xalloc.h"

/* A token endpoint's reply is a few hundred bytes; Microsoft's with an
 * id_token a few KiB. */
#define REPLY_MAX (64 * 1024)

char *oauth2_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i, j = 0;
    char *out = xmalloc(3 * n + 1);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~') {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

#ifdef HAVE_OAUTH2
# include <dlfcn.h>
# include <curl/curl.h>
# include <json-c/json.h>

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

const char *oauth2_json_str(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!o || !json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, key, &v)
        || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

long long oauth2_json_int(struct json_object *o, const char *key,
                          long long def)
{
    struct json_object *v;
    const char *s;
    char *end;
    long long n;

    if (!o || !json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, key, &v))
        return def;
    if (json_object_is_type(v, json_type_int))
        return (long long)json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_string))
        return def;
    /* Some providers (an older Microsoft endpoint) send "3599". */
    s = json_object_get_string(v);
    n = strtoll(s, &end, 10);
    return (*s && !*end) ? n : def;
}

long long oauth2_json_seconds(struct json_object *o, const char *key,
                              long long def, long long max)
{
    long long n = oauth2_json_int(o, key, def);

    return n < 0 ? 0 : n > max ? max : n;
}

static void wipe_strings(struct json_object *o)
{
    size_t i, n;

    if (!o)
        return;
    switch (json_object_get_type(o)) {
    case json_type_string:
        wipe((void *)json_object_get_string(o),
             (size_t)json_object_get_string_len(o));
        break;
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            (void)k;
            wipe_strings(v);
        }
        break;
    }
    case json_type_array:
        n = json_object_array_length(o);
        for (i = 0; i < n; i++)
            wipe_strings(json_object_array_get_idx(o, i));
        break;
    default:
        break;
    }
}

void oauth2_json_free(struct json_object **o)
{
    if (!o || !*o)
        return;
    wipe_strings(*o);
    json_object_put(*o);
    *o = NULL;
}

/* libcurl is opened at the first request, not linked: libcurl-gnutls
 * brings some 30 libraries (Kerberos, LDAP, SSH, RTMP, ...) whose loading
 * costs about 3.6 ms at every start (measured on the 2-core test machine,
 * 2026-12-07), and only OAuth2 accounts ever make a request.  The header
 * gives the types; API_TYPECHECK makes the compiler compare them with
 * these pointers without a reference to the library. */
struct curl_api {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
};

/* The macros of <curl/curl.h> that wrap these names (typecheck-gcc.h)
 * are bypassed by the parentheses. */
#define API_TYPECHECK(api) \
    ((void)sizeof((api).easy_init = (curl_easy_init)), \
     (void)sizeof((api).easy_setopt = (curl_easy_setopt)), \
     (void)sizeof((api).easy_perform = (curl_easy_perform)), \
     (void)sizeof((api).easy_getinfo = (curl_easy_getinfo)), \
     (void)sizeof((api).easy_cleanup = (curl_easy_cleanup)), \
     (void)sizeof((api).easy_strerror = (curl_easy_strerror)), \
     (void)sizeof((api).slist_append = (curl_slist_append)), \
     (void)sizeof((api).slist_free_all = (curl_slist_free_all)))

/* Why libcurl could not be loaded: dlerror() says it only once, and a
 * second OAuth2 account asks again. */
static char curl_why[512];

static const struct curl_api *curl_api(void)
{
    static struct curl_api api;
    static int state;           /* 0 not tried, 1 loaded, -1 failed */
    const char *why;
    void *h;

    API_TYPECHECK(api);
    if (state != 0)
        return state > 0 ? &api : NULL;
    state = -1;
    snprintf(curl_why, sizeof curl_why, "%s", _("a function is missing"));
    h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        why = dlerror();
        if (why)
            snprintf(curl_why, sizeof curl_why, "%s", why);
        return NULL;
    }
    *(void **)&api.easy_init = dlsym(h, "curl_easy_init");
    *(void **)&api.easy_setopt = dlsym(h, "curl_easy_setopt");
    *(void **)&api.easy_perform = dlsym(h, "curl_easy_perform");
    *(void **)&api.easy_getinfo = dlsym(h, "curl_easy_getinfo");
    *(void **)&api.easy_cleanup = dlsym(h, "curl_easy_cleanup");
    *(void **)&api.easy_strerror = dlsym(h, "curl_easy_strerror");
    *(void **)&api.slist_append = dlsym(h, "curl_slist_append");
    *(void **)&api.slist_free_all = dlsym(h, "curl_slist_free_all");
    if (!api.easy_init || !api.easy_setopt || !api.easy_perform
        || !api.easy_getinfo || !api.easy_cleanup || !api.easy_strerror
        || !api.slist_append || !api.slist_free_all) {
        memset(&api, 0, sizeof api);
        return NULL;
    }
    state = 1;
    return &api;
}

bool oauth2_http_available(struct mp_err *e)
{
    if (curl_api())
        return true;
    err_set(e, MP_EUNAVAIL, _("OAuth2 needs the library %s, which cannot "
            "be loaded: %s"), LIBCURL_SONAME, curl_why);
    return false;
}

struct body {
    char *p;
    size_t len;
    bool too_long;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct body *b = ctx;
    size_t n = size * nmemb;

    if (b->len + n > REPLY_MAX) {
        b->too_long = true;
        return 0;               /* ends the transfer */
    }
    if (!b->p)
        b->p = xmalloc(REPLY_MAX + 1);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

static char *form(const char *const *fields)
{
    size_t i, len = 0;
    char *out = xstrdup(""), *k, *v, *next;

    for (i = 0; fields[i]; i += 2) {
        if (!fields[i + 1])
            continue;
        k = oauth2_url_escape(fields[i]);
        v = oauth2_url_escape(fields[i + 1]);
        next = xasprintf("%s%s%s=%s", out, len ? "&" : "", k, v);
        len = strlen(next);
        xfree_secret(&out);
        xfree_secret(&v);
        free(k);
        out = next;
    }
    return out;
}

static bool is_set(const char *s)
{
    return s && *s;
}

static void tls_options(const struct curl_api *api, CURL *c,
                        const struct account *a)
{
    if (is_set(a->tls_trust_file) && strcmp(a->tls_trust_file, "system")
        != 0) {
        api->easy_setopt(c, CURLOPT_CAINFO, a->tls_trust_file);
        api->easy_setopt(c, CURLOPT_CAPATH, (char *)NULL);
    }
    if (is_set(a->tls_crl_file))
        api->easy_setopt(c, CURLOPT_CRLFILE, a->tls_crl_file);
    /* With the GnuTLS backend this is a GnuTLS priority string. */
    if (is_set(a->tls_priorities))
        api->easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, a->tls_priorities);
    api->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    api->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
}

int oauth2_http_post(const struct account *a, const char *url,
                     const char *const *fields, struct oauth2_http_reply *r,
                     struct mp_err *e)
{
    const struct curl_api *api;
    struct curl_slist *hdr = NULL;
    struct body b = { NULL, 0, false };
    char errbuf[CURL_ERROR_SIZE];
    char *body = NULL, *proxy = NULL;
    enum json_tokener_error jerr;
    CURLcode cc;
    CURL *c = NULL;
    int ret = -1;

    memset(r, 0, sizeof *r);
    if (!oauth2_http_available(e))
        return -1;
    api = curl_api();
    if (strncmp(url, "https://", 8) != 0)
        return err_set(e, MP_ECONFIG, _("OAuth2 endpoint %s is not an "
                       "https:// address"), url);
    c = api->easy_init();
    if (!c)
        return err_set(e, MP_ESOFTWARE, _("cannot start libcurl"));
    errbuf[0] = '\0';
    body = form(fields);
    hdr = api->slist_append(NULL, "Accept: application/json");
    api->easy_setopt(c, CURLOPT_URL, url);
    api->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    api->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    api->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    api->easy_setopt(c, CURLOPT_USERAGENT, PACKAGE "/" VERSION);
    api->easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    api->easy_setopt(c, CURLOPT_POSTFIELDS, body);
    api->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    api->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    api->easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (a->timeout > 0)
        api->easy_setopt(c, CURLOPT_TIMEOUT, (long)a->timeout);
    if (is_set(a->source_ip))
        api->easy_setopt(c, CURLOPT_INTERFACE, a->source_ip);
    if (is_set(a->proxy_host)) {
        proxy = xasprintf("socks5h://%s:%d", a->proxy_host,
                          a->proxy_port > 0 ? a->proxy_port : 1080);
        api->easy_setopt(c, CURLOPT_PROXY, proxy);
    }
    tls_options(api, c, a);

    cc = api->easy_perform(c);
    if (b.too_long) {
        err_set(e, MP_EPROTO, _("the reply of %s is longer than %d bytes"),
                url, REPLY_MAX);
        goto out;
    }
    if (cc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : api->easy_strerror(cc);

        switch (cc) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
            err_set(e, MP_ETLSCERT, _("the TLS certificate of %s is not "
                    "trusted: %s"), url, why);
            break;
        default:
            err_set(e, MP_ETEMP, _("cannot reach %s: %s"), url, why);
            break;
        }
        goto out;
    }
    api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    log_debug("OAuth2: POST %s: HTTP %ld\n", url, r->status);
    if (b.p) {
        struct json_tokener *tok = json_tokener_new();

        r->json = json_tokener_parse_ex(tok, b.p, (int)b.len);
        jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (jerr != json_tokener_success
            || !json_object_is_type(r->json, json_type_object))
            oauth2_json_free(&r->json);
    }
    ret = 0;
out:
    api->easy_cleanup(c);
    api->slist_free_all(hdr);
    free(proxy);
    xfree_secret(&body);
    if (b.p) {
        wipe(b.p, b.len);
        free(b.p);
    }
    return ret;
}

void oauth2_http_reply_clear(struct oauth2_http_reply *r)
{
    oauth2_json_free(&r->json);
    r->status = 0;
}
#else
const char *oauth2_json_str(struct json_object *o, const char *key)
{
    (void)o;
    (void)key;
    return NULL;
}

long long oauth2_json_int(struct json_object *o, const char *key,
                          long long def)
{
    (void)o;
    (void)key;
    return def;
}

long long oauth2_json_seconds(struct json_object *o, const char *key,
                              long long def, long long max)
{
    (void)o;
    (void)key;
    (void)max;
    return def;
}

void oauth2_json_free(struct json_object **o)
{
    (void)o;
}

bool oauth2_http_available(struct mp_err *e)
{
    err_set(e, MP_EUNAVAIL, _("this mpop was built without OAuth2 "
            "support (libcurl and json-c)"));
    return false;
}

int oauth2_http_post(const struct account *a, const char *url,
                     const char *const *fields, struct oauth2_http_reply *r,
                     struct mp_err *e)
{
    (void)a;
    (void)url;
    (void)fields;
    memset(r, 0, sizeof *r);
    oauth2_http_available(e);
    return -1;
}

void oauth2_http_reply_clear(struct oauth2_http_reply *r)
{
    r->status = 0;
}
#endif
