#include "config.h"

#include <string.h>

#ifdef HAVE_LIBSECRET
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

/* Any error (no session bus, no Secret Service daemon, a locked
 * collection whose unlock prompt was dismissed) means "not found", as in
 * the original (it passes no GError): the next password source is asked,
 * and without any, the terminal prompt says what is missing. */
static int result(gchar *pw, GError *err, char **password_r)
{
    if (err)
        g_error_free(err);
    if (!pw)
        return 0;
    *password_r = xstrdup(pw);
    secret_password_free(pw);     /* wipes it */
    return 1;
}

bool keyring_available(void)
{
    return true;
}

int keyring_lookup(const char *host, const char *user, char **password_r,
                   struct mp_err *e)
{
    GError *err = NULL;
    gchar *pw;
    int r;

    (void)e;
    *password_r = NULL;
    if (!host || !*host || !user || !*user)
        return 0;
    pw = secret_password_lookup_sync(&mpop_schema, NULL, &err,
                                     "host", host, "service", "pop3",
                                     "user", user, NULL);
    r = result(pw, err, password_r);
    if (r != 0)
        return r;
    /* Entries of the older libgnome-keyring, which the original still
     * reads. */
    err = NULL;
    pw = secret_password_lookup_sync(SECRET_SCHEMA_COMPAT_NETWORK, NULL,
                                     &err, "user", user, "protocol", "pop3",
                                     "server", host, NULL);
    return result(pw, err, password_r);
}
#else
bool keyring_available(void)
{
    return false;
}

int keyring_lookup(const char *host, const char *user, char **password_r,
                   struct mp_err *e)
{
    (void)host;
    (void)user;
    (void)e;
    *password_r = NULL;
    return 0;
}
#endif
