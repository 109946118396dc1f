#include "config.h"

#include <string.h>

#ifdef HAVE_LIBSECRET
# include <dlfcn.h>
# include <libsecret/secret.h>
#endif

#include "gettext.h"
#include "keyring.h"
#include "xalloc.h"

#ifdef HAVE_LIBSECRET
/* The original mpop's own schema.  SECRET_SCHEMA_DONT_MATCH_NAME: the
 * lookup matches the attributes only, whatever schema stored them. */
static const SecretSchema mpop_schema = {
    "de.marlam.mpop.password", SECRET_SCHEMA_DONT_MATCH_NAME,
    {
        { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* OAuth2 token records (oauth2.c), our own schema: one item per sign-in,
 * found by the token endpoint, the client ID and the user. */
static const SecretSchema token_schema = {
    "org.mpop.oauth2.token", SECRET_SCHEMA_NONE,
    {
        { "token_endpoint", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "client_id", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* libsecret is opened when a password is first looked up in the key
 * ring, not linked: it brings GLib, GIO and GObject, whose loading and
 * constructors cost about 12 ms at every start on a 2-core machine (more
 * than a whole rescan of a mailbox needs otherwise), and most runs never
 * ask the key ring.  The header still gives the types; the check below
 * makes the compiler compare them with these pointers without emitting a
 * reference to the library. */
struct secret_api {
    gchar *(*lookup_sync)(const SecretSchema *schema,
                          GCancellable *cancellable, GError **error, ...);
    void (*password_free)(gchar *password);
    void (*error_free)(GError *error);
    const SecretSchema **compat_network;
    gboolean (*store_sync)(const SecretSchema *schema,
                           const gchar *collection, const gchar *label,
                           const gchar *password, GCancellable *cancellable,
                           GError **error, ...);
    gboolean (*clear_sync)(const SecretSchema *schema,
                           GCancellable *cancellable, GError **error, ...);
};

#define API_TYPECHECK(api) \
    ((void)sizeof((api).lookup_sync = secret_password_lookup_sync), \
     (void)sizeof((api).password_free = secret_password_free), \
     (void)sizeof((api).error_free = g_error_free), \
     (void)sizeof((api).compat_network = &SECRET_SCHEMA_COMPAT_NETWORK), \
     (void)sizeof((api).store_sync = secret_password_store_sync), \
     (void)sizeof((api).clear_sync = secret_password_clear_sync))

/* The library's functions, or NULL when it cannot be loaded (not
 * installed, an incompatible version): the key ring then has no entry, as
 * when its daemon is missing.  LIBSECRET_SONAME comes from configure. */
static const struct secret_api *secret_api(void)
{
    static struct secret_api api;
    static int state;           /* 0 not tried, 1 loaded, -1 failed */
    void *h;

    API_TYPECHECK(api);
    if (state != 0)
        return state > 0 ? &api : NULL;
    state = -1;
    h = dlopen(LIBSECRET_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return NULL;
    /* POSIX: a function pointer converts from dlsym's void * this way. */
    *(void **)&api.lookup_sync = dlsym(h, "secret_password_lookup_sync");
    *(void **)&api.password_free = dlsym(h, "secret_password_free");
    *(void **)&api.error_free = dlsym(h, "g_error_free");
    api.compat_network = dlsym(h, "SECRET_SCHEMA_COMPAT_NETWORK");
    *(void **)&api.store_sync = dlsym(h, "secret_password_store_sync");
    *(void **)&api.clear_sync = dlsym(h, "secret_password_clear_sync");
    if (!api.lookup_sync || !api.password_free || !api.error_free
        || !api.compat_network || !*api.compat_network || !api.store_sync
        || !api.clear_sync) {
        /* Never unloaded: GLib does not support it. */
        memset(&api, 0, sizeof api);
        return NULL;
    }
    state = 1;
    return &api;
}

/* Any error (no session bus, no Secret Service daemon, a locked
 * collection whose unlock prompt was dismissed) means "not found", as in
 * the original (it passes no GError): the next password source is asked,
 * and without any, the terminal prompt says what is missing. */
static int result(const struct secret_api *api, gchar *pw, GError *err,
                  char **password_r)
{
    if (err)
        api->error_free(err);
    if (!pw)
        return 0;
    *password_r = xstrdup(pw);
    api->password_free(pw);       /* wipes it */
    return 1;
}

int keyring_lookup(const char *host, const char *user, char **password_r,
                   struct mp_err *e)
{
    const struct secret_api *api;
    GError *err = NULL;
    gchar *pw;
    int r;

    (void)e;
    *password_r = NULL;
    if (!host || !*host || !user || !*user)
        return 0;
    api = secret_api();
    if (!api)
        return 0;
    pw = api->lookup_sync(&mpop_schema, NULL, &err, "host", host,
                          "service", "pop3", "user", user, NULL);
    r = result(api, pw, err, password_r);
    if (r != 0)
        return r;
    /* Entries of the older libgnome-keyring, which the original still
     * reads. */
    err = NULL;
    pw = api->lookup_sync(*api->compat_network, NULL, &err, "user", user,
                          "protocol", "pop3", "server", host, NULL);
    return result(api, pw, err, password_r);
}

int keyring_token_lookup(const char *endpoint, const char *client_id,
                         const char *user, char **secret_r)
{
    const struct secret_api *api = secret_api();
    GError *err = NULL;
    gchar *pw;

    *secret_r = NULL;
    if (!api)
        return -1;
    pw = api->lookup_sync(&token_schema, NULL, &err, "token_endpoint",
                          endpoint, "client_id", client_id, "user", user,
                          NULL);
    if (err) {
        api->error_free(err);
        if (pw)
            api->password_free(pw);
        return -1;
    }
    return result(api, pw, NULL, secret_r);
}

int keyring_token_store(const char *endpoint, const char *client_id,
                        const char *user, const char *label,
                        const char *secret)
{
    const struct secret_api *api = secret_api();
    GError *err = NULL;
    gboolean ok;

    if (!api)
        return -1;
    ok = api->store_sync(&token_schema, SECRET_COLLECTION_DEFAULT, label,
                         secret, NULL, &err, "token_endpoint", endpoint,
                         "client_id", client_id, "user", user, NULL);
    if (err)
        api->error_free(err);
    return ok && !err ? 0 : -1;
}

void keyring_token_clear(const char *endpoint, const char *client_id,
                         const char *user)
{
    const struct secret_api *api = secret_api();
    GError *err = NULL;

    if (!api)
        return;
    (void)api->clear_sync(&token_schema, NULL, &err, "token_endpoint",
                          endpoint, "client_id", client_id, "user", user,
                          NULL);
    if (err)
        api->error_free(err);
}
#else
int keyring_lookup(const char *host, const char *user, char **password_r,
                   struct mp_err *e)
{
    (void)host;
    (void)user;
    (void)e;
    *password_r = NULL;
    return 0;
}

int keyring_token_lookup(const char *endpoint, const char *client_id,
                         const char *user, char **secret_r)
{
    (void)endpoint;
    (void)client_id;
    (void)user;
    *secret_r = NULL;
    return -1;
}

int keyring_token_store(const char *endpoint, const char *client_id,
                        const char *user, const char *label,
                        const char *secret)
{
    (void)endpoint;
    (void)client_id;
    (void)user;
    (void)label;
    (void)secret;
    return -1;
}

void keyring_token_clear(const char *endpoint, const char *client_id,
                         const char *user)
{
    (void)endpoint;
    (void)client_id;
    (void)user;
}
#endif
