#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "conf.h"
#include "tap.h"
#include "xalloc.h"

/* Output of the original mpop 1.4.18 (`mpop -C rc -P --all-accounts`,
 * HOME=/tmp/orig) for the config in load_example(). */
static const char example_pretend[] =
    "using account example from rc\n"
    "host = pop.example.com\n"
    "port = 110\n"
    "source ip = (not set)\n"
    "proxy host = (not set)\n"
    "proxy port = 0\n"
    "socket = (not set)\n"
    "timeout = 180 seconds\n"
    "pipelining = auto\n"
    "received_header = on\n"
    "auth = choose\n"
    "user = joe\n"
    "password = *\n"
    "passwordeval = (not set)\n"
    "ntlmdomain = (not set)\n"
    "tls = on\n"
    "tls_starttls = on\n"
    "tls_trust_file = system\n"
    "tls_crl_file = (not set)\n"
    "tls_fingerprint = (not set)\n"
    "tls_key_file = (not set)\n"
    "tls_cert_file = (not set)\n"
    "tls_certcheck = on\n"
    "tls_min_dh_prime_bits = (not set)\n"
    "tls_priorities = (not set)\n"
    "tls_host_override = (not set)\n"
    "delivery = mda /usr/bin/procmail\n"
    "uidls file = /tmp/orig/.mpop_uidls/joe_at_pop.example.com\n"
    "only_new = on\n"
    "keep = on\n"
    "killsize = 10485760\n"
    "skipsize = off\n"
    "filter = (not set)\n";

/* The original's output for the second config (HOME=/tmp/orig), with
 * every setting changed. */
static const char full_pretend[] =
    "using account a from rc\n"
    "host = h\n"
    "port = 995\n"
    "source ip = 1.2.3.4\n"
    "proxy host = p\n"
    "proxy port = 1080\n"
    "socket = /s\n"
    "timeout = off\n"
    "pipelining = on\n"
    "received_header = off\n"
    "auth = PLAIN\n"
    "user = (not set)\n"
    "password = (not set)\n"
    "passwordeval = (not set)\n"
    "ntlmdomain = (not set)\n"
    "tls = on\n"
    "tls_starttls = off\n"
    "tls_trust_file = (not set)\n"
    "tls_crl_file = (not set)\n"
    "tls_fingerprint = AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\n"
    "tls_key_file = (not set)\n"
    "tls_cert_file = (not set)\n"
    "tls_certcheck = off\n"
    "tls_min_dh_prime_bits = 1024\n"
    "tls_priorities = (not set)\n"
    "tls_host_override = (not set)\n"
    "delivery = maildir /tmp/orig/x\n"
    "uidls file = /tmp/orig/u/-h\n"
    "only_new = off\n"
    "keep = off\n"
    "killsize = 10240\n"
    "skipsize = 5\n"
    "filter = cat\n";

static struct account *load_one(const char *text)
{
    struct account_list l = { NULL, 0 };
    struct mp_err e;
    struct account *a = NULL;
    FILE *f = fmemopen((void *)text, strlen(text), "r");

    err_init(&e);
    if (conf_load(f, "rc", &l, &e) == 0 && l.n >= 1) {
        a = account_copy(l.v[l.n - 1], NULL);
    } else {
        printf("# load failed: %s\n", e.msg);
    }
    fclose(f);
    account_list_clear(&l);
    return a;
}

static char *pretend(const struct account *a)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    account_print_pretend(a, f);
    fclose(f);
    return buf;
}

/* A test name on one TAP line: newlines become " | ". */
static const char *oneline(const char *s)
{
    static char buf[512];
    size_t n = 0;

    for (; *s && n + 4 < sizeof buf; s++) {
        if (*s == '\n') {
            memcpy(buf + n, " | ", 3);
            n += 3;
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* Returns the line of text that starts with key, without its newline. */
static char *line_of(const char *text, const char *key)
{
    const char *p = text;
    size_t klen = strlen(key);

    while (p && *p) {
        if (strncmp(p, key, klen) == 0)
            return xstrndup(p, strcspn(p, "\n"));
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return xstrdup("(missing)");
}

static void test_pretend_compat(void)
{
    struct account *a;
    char *out;

    setenv("HOME", "/tmp/orig", 1);
    a = load_one("account example\nhost pop.example.com\ntls on\n"
                 "user joe\npassword secret\n"
                 "delivery mda /usr/bin/procmail\nkeep on\nkillsize 10m\n");
    ok(a != NULL, "example config loads");
    if (!a)
        return;
    out = pretend(a);
    is_str(out, example_pretend, "pretend output equals the original's");
    free(out);
    account_free(&a);

    a = load_one("account a\nhost h\ndelivery mda cat\ntls on\n"
                 "tls_starttls off\ntimeout off\npipelining on\n"
                 "delivery maildir ~/x\nkeep off\nkillsize 10k\nskipsize 5\n"
                 "auth plain\ntls_fingerprint "
                 "AA:bb:CC:dd:EE:ff:00:11:22:33:44:55:66:77:88:99\n"
                 "proxy_host p\nsocket /s\nsource_ip 1.2.3.4\n"
                 "tls_min_dh_prime_bits 1024\nfilter cat\n"
                 "received_header off\nonly_new off\ntls_certcheck off\n"
                 "tls_trust_file\nuidls_file ~/u/%U-%H\n");
    ok(a != NULL, "full config loads");
    if (!a)
        return;
    out = pretend(a);
    is_str(out, full_pretend, "pretend with every setting changed");
    free(out);
    account_free(&a);
}

static void test_pretend_lines(void)
{
    static const struct {
        const char *conf, *key, *want;
    } rows[] = {
        { "timeout 1", "timeout", "timeout = 1 second" },
        { "timeout 30", "timeout", "timeout = 30 seconds" },
        { "pipelining off", "pipelining", "pipelining = off" },
        { "pipelining auto", "pipelining", "pipelining = auto" },
        { "auth user", "auth", "auth = USER" },
        { "auth on", "auth", "auth = choose" },
        { "auth", "auth", "auth = choose" },
        { "proxy_port 99", "proxy port", "proxy port = 99" },
        { "proxy_host p\nproxy_port 99", "proxy port", "proxy port = 99" },
        { "tls on\ntls_starttls off\nport 123", "port", "port = 123" },
        { "tls_starttls off", "port", "port = 110" },
        { "passwordeval echo x", "password =", "password = *" },
        { "user u\nuidls_file x%U", "uidls file", "uidls file = xu" },
        { "socket /s\nuidls_file %H", "uidls file", "uidls file = h" },
        { "keep 1d12h", "keep", "keep = 1d12h" },
        { "keep 36h", "keep", "keep = 1d12h" },
        { "keep 1d 11h 60m", "keep", "keep = 1d12h" },
        { "keep 14d", "keep", "keep = 2w" },
        { "keep 90s", "keep", "keep = 1m30s" },
        { "killsize 0", "killsize", "killsize = 0" },
        { "skipsize 3m", "skipsize", "skipsize = 3145728" },
        { "delivery mbox ~/mb", "delivery", "delivery = mbox /tmp/orig/mb" },
        { "delivery exchange ~/ex", "delivery",
          "delivery = exchange /tmp/orig/ex" },
        { "delivery  mda  cat  x", "delivery", "delivery = mda cat  x" },
        { "tls_trust_file ~/ca", "tls_trust_file",
          "tls_trust_file = /tmp/orig/ca" },
        { "ntlmdomain d", "ntlmdomain", "ntlmdomain = d" },
        { "socket ~/s", "socket", "socket = ~/s" },
    };
    size_t i;

    setenv("HOME", "/tmp/orig", 1);
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = xasprintf("account a\nhost h\ndelivery mda cat\n%s\n",
                               rows[i].conf);
        struct account *a = load_one(text);
        char *out = a ? pretend(a) : xstrdup("");
        char *line = line_of(out, rows[i].key);
        is_str(line, rows[i].want, "pretend for '%s'",
               oneline(rows[i].conf));
        free(line);
        free(out);
        free(text);
        account_free(&a);
    }
}

static void test_pretend_nofile(void)
{
    struct account *a = account_new("");
    char *out;

    a->host = xstrdup("h");
    a->delivery = DELIVERY_MDA;
    a->delivery_args = xstrdup("cat");
    out = pretend(a);
    ok(strncmp(out, "host = h\n", 9) == 0,
       "--host mode: no 'using account' line");
    ok(strstr(out, "\nfilter = (not set)\n") != NULL, "ends with filter");
    free(out);
    a->delivery = DELIVERY_NONE;
    out = pretend(a);
    {
        static const char tail[] = "\ntls_host_override = (not set)\n";
        size_t n = strlen(out);
        ok(strstr(out, "delivery") == NULL && n > sizeof tail
           && strcmp(out + n - (sizeof tail - 1), tail) == 0,
           "no delivery (--serverinfo): stops after tls_host_override");
    }
    free(out);
    account_free(&a);
}

static void test_defaults(void)
{
    struct account *a = account_new("x");

    is_str(a->id, "x", "id");
    ok(a->set == 0, "nothing set");
    is_int(a->timeout, 180, "timeout 180");
    is_int(a->pipelining, PIPELINING_AUTO, "pipelining auto");
    ok(a->received_header && a->tls_starttls && a->tls_certcheck
       && a->only_new && !a->tls, "boolean defaults");
    is_str(a->tls_trust_file, "system", "trust file system");
    is_str(a->uidls_file, "~/.mpop_uidls/%U_at_%H", "uidls file");
    is_int(a->killsize, -1, "killsize off");
    is_int(a->skipsize, -1, "skipsize off");
    is_int(a->tls_min_dh_prime_bits, -1, "dh bits not set");
    is_int(a->keep, KEEP_OFF, "keep off");
    is_int(account_port(a), 110, "port 110");
    a->tls = true;
    is_int(account_port(a), 110, "tls with STARTTLS: 110");
    a->tls_starttls = false;
    is_int(account_port(a), 995, "tls without STARTTLS: 995");
    a->port = 7;
    is_int(account_port(a), 7, "explicit port");
    account_free(&a);
    ok(a == NULL, "free sets NULL");
    account_free(&a);
    account_free(NULL);
}

static void test_merge_copy(void)
{
    struct account *src = account_new("s"), *dst = account_new("d"), *c;

    src->user = xstrdup("u");
    src->host = xstrdup("not-merged");   /* bit not set */
    src->killsize = 5;
    src->password = xstrdup("pw");
    src->set = ACC_BIT(ACC_USER) | ACC_BIT(ACC_KILLSIZE)
               | ACC_BIT(ACC_PASSWORD);
    dst->host = xstrdup("keep");
    dst->set = ACC_BIT(ACC_HOST);
    account_merge(dst, src);
    is_str(dst->user, "u", "user merged");
    is_str(dst->host, "keep", "unset field not merged");
    is_int(dst->killsize, 5, "killsize merged");
    is_str(dst->password, "pw", "password merged");
    ok(dst->set == (ACC_BIT(ACC_HOST) | ACC_BIT(ACC_USER)
                    | ACC_BIT(ACC_KILLSIZE) | ACC_BIT(ACC_PASSWORD)),
       "set bits are the union");
    c = account_copy(dst, "c");
    is_str(c->id, "c", "copy with a new id");
    ok(c->user != dst->user && strcmp(c->user, "u") == 0, "deep copy");
    ok(c->set == dst->set, "copy keeps set");
    account_free(&c);
    account_free(&src);
    account_free(&dst);
}

static void test_check(void)
{
    static const struct {
        const char *conf;
        int need_delivery;
        const char *want;       /* NULL: valid */
    } rows[] = {
        { "host h\ndelivery mda cat", 1, NULL },
        { "socket /s\ndelivery mda cat", 1, NULL },
        { "host h", 0, NULL },
        { "host h", 1, "rc:1: account a: no delivery information" },
        { "delivery mda cat", 1, "rc:1: account a: host not set" },
        { "host h\ndelivery mda cat\ntls_key_file k", 1,
          "rc:1: account a: tls_key_file requires tls_cert_file" },
        { "host h\ndelivery mda cat\ntls_cert_file c", 1,
          "rc:1: account a: tls_cert_file requires tls_key_file" },
        { "host h\ndelivery mda cat\ntls_key_file k\ntls_cert_file c", 1,
          NULL },
        { "host h\ndelivery mda cat\ntls_trust_file\ntls_crl_file c", 1,
          "rc:1: account a: tls_crl_file requires tls_trust_file" },
        { "host h\noauth2_provider google\noauth2_client_id c", 0, NULL },
        { "host h\noauth2_provider microsoft\noauth2_client_id c", 0,
          NULL },
        { "host h\noauth2_provider google", 0,
          "rc:1: account a: oauth2_provider needs oauth2_client_id" },
        { "host h\noauth2_provider custom\noauth2_client_id c", 0,
          "rc:1: account a: oauth2_provider custom needs "
          "oauth2_token_endpoint" },
        { "host h\noauth2_provider custom\noauth2_client_id c\n"
          "oauth2_token_endpoint https://t/", 0,
          "rc:1: account a: oauth2_provider custom needs "
          "oauth2_authorization_endpoint or oauth2_device_endpoint" },
        { "host h\noauth2_provider custom\noauth2_client_id c\n"
          "oauth2_token_endpoint https://t/\n"
          "oauth2_device_endpoint https://d/", 0, NULL },
        { "host h\noauth2_provider google\noauth2_client_id c\n"
          "oauth2_token_endpoint http://t/", 0,
          "rc:1: account a: OAuth2 endpoints must be https:// addresses" },
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = xasprintf("account a\n%s\n", rows[i].conf);
        struct account *a = load_one(text);
        struct mp_err e;
        int r;

        err_init(&e);
        r = a ? account_check(a, rows[i].need_delivery, &e) : -2;
        if (!rows[i].want) {
            is_int(r, 0, "check ok: %s", oneline(rows[i].conf));
        } else {
            is_int(r, -1, "check fails: %s", oneline(rows[i].conf));
            is_str(e.msg, rows[i].want, "message for: %s",
                   oneline(rows[i].conf));
            is_int(e.kind, MP_ECONFIG, "MP_ECONFIG for: %s",
                   oneline(rows[i].conf));
        }
        account_free(&a);
        free(text);
    }
}

/* The presets: Microsoft's tenant goes into its endpoints; an explicit
 * endpoint or scope wins over a preset. */
static void test_oauth2_presets(void)
{
    struct account *a = load_one("account a\nhost h\n"
                                 "oauth2_provider microsoft\n"
                                 "oauth2_tenant contoso.com\n"
                                 "oauth2_client_id c\n");
    struct account_oauth2 o;

    account_oauth2_endpoints(a, &o);
    is_str(o.token, "https://login.microsoftonline.com/contoso.com/"
           "oauth2/v2.0/token", "microsoft token endpoint with the tenant");
    is_str(o.device, "https://login.microsoftonline.com/contoso.com/"
           "oauth2/v2.0/devicecode", "microsoft device endpoint");
    is_str(o.scope, "https://outlook.office.com/POP.AccessAsUser.All "
           "offline_access", "microsoft scope");
    account_oauth2_clear(&o);
    account_free(&a);

    a = load_one("account a\nhost h\noauth2_provider google\n"
                 "oauth2_client_id c\noauth2_scope s\n");
    account_oauth2_endpoints(a, &o);
    is_str(o.authorization, "https://accounts.google.com/o/oauth2/v2/auth",
           "google authorization endpoint");
    ok(o.device == NULL, "google: no device endpoint (not for mail)");
    is_str(o.scope, "s", "an explicit scope wins");
    account_oauth2_clear(&o);
    account_free(&a);

    a = load_one("account a\nhost h\noauth2_provider microsoft\n"
                 "oauth2_client_id c\n");
    account_oauth2_endpoints(a, &o);
    is_str(o.authorization, "https://login.microsoftonline.com/common/"
           "oauth2/v2.0/authorize", "microsoft default tenant: common");
    account_oauth2_clear(&o);
    account_free(&a);
}

static void test_check_direct(void)
{
    struct account *a = account_new("x");
    struct mp_err e;

    err_init(&e);
    a->host = xstrdup("h");
    a->tls_fingerprint = xstrdup("AA:BB");
    is_int(account_check(a, false, &e), -1, "bad fingerprint refused");
    is_str(e.msg, "invalid tls_fingerprint: expected 16, 20 or 32 hex byte "
           "pairs separated by ':'", "no file: message without a prefix");
    free(a->tls_fingerprint);
    a->tls_fingerprint = xstrdup("aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:"
                                 "88:99:aa:bb:cc:dd");
    is_int(account_check(a, false, &e), 0, "SHA-1 fingerprint accepted");
    a->keep = KEEP_DURATION;
    a->keep_seconds = 0;
    is_int(account_check(a, false, &e), -1, "keep duration 0 refused");
    a->conffile = xstrdup("f");
    a->confline = 0;
    account_check(a, false, &e);
    ok(strncmp(e.msg, "f: account x: ", 14) == 0, "file without line: %s",
       e.msg);
    account_free(&a);
}

static void test_uidls_path(void)
{
    struct account *a = account_new("x");
    char *p;

    a->host = xstrdup("h");
    a->user = xstrdup("u");
    setenv("HOME", "/home/me/", 1);
    p = account_uidls_path(a);
    is_str(p, "/home/me/.mpop_uidls/u_at_h",
           "default path joins a $HOME with a trailing slash cleanly");
    free(p);
    setenv("HOME", "/home/me", 1);
    free(a->uidls_file);
    a->uidls_file = xstrdup("~/%U/~%H");
    a->set |= ACC_BIT(ACC_UIDLS_FILE);
    p = account_uidls_path(a);
    is_str(p, "/home/me/u/~h", "written path: ~ then %%U/%%H");
    free(p);
    free(a->host);
    a->host = NULL;
    a->socket_name = xstrdup("/run/s");
    p = account_uidls_path(a);
    is_str(p, "/home/me/u/~/run/s", "%%H is the socket without a host");
    free(p);
    account_free(&a);
}

static void test_list(void)
{
    struct account_list l = { NULL, 0 };

    account_list_add(&l, account_new("a"));
    account_list_add(&l, account_new("b"));
    is_int((long long)l.n, 2, "two accounts");
    ok(account_list_find(&l, "b") == l.v[1], "find b");
    ok(account_list_find(&l, "c") == NULL, "no c");
    account_list_clear(&l);
    ok(l.n == 0 && l.v == NULL, "cleared");
    account_list_clear(&l);
}

int main(void)
{
    test_pretend_compat();
    test_pretend_lines();
    test_pretend_nofile();
    test_defaults();
    test_merge_copy();
    test_check();
    test_oauth2_presets();
    test_check_direct();
    test_uidls_path();
    test_list();
    return done_testing();
}
