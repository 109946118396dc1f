#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "conf.h"
#include "tap.h"
#include "xalloc.h"

/* Declared in conf.c until conf.h gains it. */
int conf_account_set(struct account *a, const char *cmd, const char *arg,
                     struct mp_err *e);

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

static int load(const char *text, struct account_list *l, struct mp_err *e)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int r;

    err_init(e);
    r = conf_load(f, "rc", l, e);
    fclose(f);
    return r;
}

enum vtype { T_INT, T_LL, T_BOOL, T_STR };

#define F(field) offsetof(struct account, field)

/* Valid commands: the line is added after "account a\nhost h\n" and the
 * field is compared. */
static const struct vrow {
    const char *line;
    enum vtype t;
    size_t off;
    long long want_i;
    const char *want_s;
    enum acc_field bit;
} vrows[] = {
    { "host pop.example.com", T_STR, F(host), 0, "pop.example.com",
      ACC_HOST },
    { "host \"pop.example.com\"", T_STR, F(host), 0, "pop.example.com",
      ACC_HOST },
    { "port 1", T_INT, F(port), 1, NULL, ACC_PORT },
    { "port 65535", T_INT, F(port), 65535, NULL, ACC_PORT },
    { "source_ip 10.0.0.1", T_STR, F(source_ip), 0, "10.0.0.1",
      ACC_SOURCE_IP },
    { "source_ip", T_STR, F(source_ip), 0, NULL, ACC_SOURCE_IP },
    { "proxy_host p", T_STR, F(proxy_host), 0, "p", ACC_PROXY_HOST },
    { "proxy_port 1080", T_INT, F(proxy_port), 1080, NULL, ACC_PROXY_PORT },
    { "proxy_port", T_INT, F(proxy_port), 0, NULL, ACC_PROXY_PORT },
    { "socket /run/pop", T_STR, F(socket_name), 0, "/run/pop", ACC_SOCKET },
    { "timeout off", T_INT, F(timeout), 0, NULL, ACC_TIMEOUT },
    { "timeout 30", T_INT, F(timeout), 30, NULL, ACC_TIMEOUT },
    { "pipelining", T_INT, F(pipelining), PIPELINING_ON, NULL,
      ACC_PIPELINING },
    { "pipelining on", T_INT, F(pipelining), PIPELINING_ON, NULL,
      ACC_PIPELINING },
    { "pipelining off", T_INT, F(pipelining), PIPELINING_OFF, NULL,
      ACC_PIPELINING },
    { "pipelining auto", T_INT, F(pipelining), PIPELINING_AUTO, NULL,
      ACC_PIPELINING },
    { "received_header off", T_BOOL, F(received_header), 0, NULL,
      ACC_RECEIVED_HEADER },
    { "received_header", T_BOOL, F(received_header), 1, NULL,
      ACC_RECEIVED_HEADER },
    { "auth", T_STR, F(auth), 0, NULL, ACC_AUTH },
    { "auth on", T_STR, F(auth), 0, NULL, ACC_AUTH },
    { "auth user", T_STR, F(auth), 0, "user", ACC_AUTH },
    { "auth APOP", T_STR, F(auth), 0, "apop", ACC_AUTH },
    { "auth Plain", T_STR, F(auth), 0, "plain", ACC_AUTH },
    { "auth scram-sha-1", T_STR, F(auth), 0, "scram-sha-1", ACC_AUTH },
    { "auth scram-sha-256", T_STR, F(auth), 0, "scram-sha-256", ACC_AUTH },
    { "auth scram-sha-1-plus", T_STR, F(auth), 0, "scram-sha-1-plus",
      ACC_AUTH },
    { "auth SCRAM-SHA-256-PLUS", T_STR, F(auth), 0, "scram-sha-256-plus",
      ACC_AUTH },
    { "auth cram-md5", T_STR, F(auth), 0, "cram-md5", ACC_AUTH },
    { "auth digest-md5", T_STR, F(auth), 0, "digest-md5", ACC_AUTH },
    { "auth gssapi", T_STR, F(auth), 0, "gssapi", ACC_AUTH },
    { "auth external", T_STR, F(auth), 0, "external", ACC_AUTH },
    { "auth login", T_STR, F(auth), 0, "login", ACC_AUTH },
    { "auth ntlm", T_STR, F(auth), 0, "ntlm", ACC_AUTH },
    { "auth oauthbearer", T_STR, F(auth), 0, "oauthbearer", ACC_AUTH },
    { "auth xoauth2", T_STR, F(auth), 0, "xoauth2", ACC_AUTH },
    { "user joe", T_STR, F(user), 0, "joe", ACC_USER },
    { "user \"joe doe\"", T_STR, F(user), 0, "joe doe", ACC_USER },
    { "user   a  b  ", T_STR, F(user), 0, "a  b", ACC_USER },
    { "\tuser\tx", T_STR, F(user), 0, "x", ACC_USER },
    { "user a\"b", T_STR, F(user), 0, "a\"b", ACC_USER },
    { "user \"a\\\"b\\\\c\"", T_STR, F(user), 0, "a\"b\\c", ACC_USER },
    { "user \"a\\nb\"", T_STR, F(user), 0, "a\\nb", ACC_USER },
    { "user \"a\" \"b\"", T_STR, F(user), 0, "a\" \"b", ACC_USER },
    { "user \"a\" b", T_STR, F(user), 0, "\"a\" b", ACC_USER },
    { "user \"\"", T_STR, F(user), 0, NULL, ACC_USER },
    { "user ~/x", T_STR, F(user), 0, "~/x", ACC_USER },
    { "user h # not a comment", T_STR, F(user), 0, "h # not a comment",
      ACC_USER },
    { "password secret", T_STR, F(password), 0, "secret", ACC_PASSWORD },
    { "passwordeval pass show pop", T_STR, F(passwordeval), 0,
      "pass show pop", ACC_PASSWORDEVAL },
    { "passwordeval \"$HOME/pw\" x", T_STR, F(passwordeval), 0,
      "\"$HOME/pw\" x", ACC_PASSWORDEVAL },
    { "ntlmdomain D", T_STR, F(ntlm_domain), 0, "D", ACC_NTLM_DOMAIN },
    { "ntlm_domain D", T_STR, F(ntlm_domain), 0, "D", ACC_NTLM_DOMAIN },
    { "tls", T_BOOL, F(tls), 1, NULL, ACC_TLS },
    { "tls on", T_BOOL, F(tls), 1, NULL, ACC_TLS },
    { "tls off", T_BOOL, F(tls), 0, NULL, ACC_TLS },
    { "tls_starttls off", T_BOOL, F(tls_starttls), 0, NULL,
      ACC_TLS_STARTTLS },
    { "tls_trust_file system", T_STR, F(tls_trust_file), 0, "system",
      ACC_TLS_TRUST_FILE },
    { "tls_trust_file ~/ca.pem", T_STR, F(tls_trust_file), 0,
      "/tmp/home/ca.pem", ACC_TLS_TRUST_FILE },
    { "tls_trust_file", T_STR, F(tls_trust_file), 0, "",
      ACC_TLS_TRUST_FILE },
    { "tls_crl_file ~/crl", T_STR, F(tls_crl_file), 0, "/tmp/home/crl",
      ACC_TLS_CRL_FILE },
    { "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
      T_STR, F(tls_fingerprint), 0,
      "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
      ACC_TLS_FINGERPRINT },
    { "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
      "00:11:22:33", T_STR, F(tls_fingerprint), 0,
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
      ACC_TLS_FINGERPRINT },
    { "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", T_STR,
      F(tls_fingerprint), 0,
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
      ACC_TLS_FINGERPRINT },
    { "tls_fingerprint", T_STR, F(tls_fingerprint), 0, NULL,
      ACC_TLS_FINGERPRINT },
    { "tls_key_file ~/k", T_STR, F(tls_key_file), 0, "/tmp/home/k",
      ACC_TLS_KEY_FILE },
    { "tls_cert_file /c", T_STR, F(tls_cert_file), 0, "/c",
      ACC_TLS_CERT_FILE },
    { "tls_certcheck off", T_BOOL, F(tls_certcheck), 0, NULL,
      ACC_TLS_CERTCHECK },
    { "tls_min_dh_prime_bits 1024", T_INT, F(tls_min_dh_prime_bits), 1024,
      NULL, ACC_TLS_MIN_DH_PRIME_BITS },
    { "tls_min_dh_prime_bits", T_INT, F(tls_min_dh_prime_bits), -1, NULL,
      ACC_TLS_MIN_DH_PRIME_BITS },
    { "tls_priorities NORMAL:-VERS-TLS1.0", T_STR, F(tls_priorities), 0,
      "NORMAL:-VERS-TLS1.0", ACC_TLS_PRIORITIES },
    { "tls_host_override other", T_STR, F(tls_host_override), 0, "other",
      ACC_TLS_HOST_OVERRIDE },
    { "delivery mda /usr/bin/procmail -f '%F'", T_STR, F(delivery_args), 0,
      "/usr/bin/procmail -f '%F'", ACC_DELIVERY },
    { "delivery mda ~/bin/x", T_STR, F(delivery_args), 0, "~/bin/x",
      ACC_DELIVERY },
    { "delivery mda \"cat\"", T_STR, F(delivery_args), 0, "cat",
      ACC_DELIVERY },
    { "delivery maildir ~/Mail", T_STR, F(delivery_args), 0,
      "/tmp/home/Mail", ACC_DELIVERY },
    { "delivery maildir \"~/a b\"", T_STR, F(delivery_args), 0,
      "/tmp/home/a b", ACC_DELIVERY },
    { "delivery \"maildir ~/x\"", T_STR, F(delivery_args), 0, "/tmp/home/x",
      ACC_DELIVERY },
    { "delivery mbox ~/mbox", T_STR, F(delivery_args), 0, "/tmp/home/mbox",
      ACC_DELIVERY },
    { "delivery mbox ~/mbox", T_INT, F(delivery), DELIVERY_MBOX, NULL,
      ACC_DELIVERY },
    { "delivery exchange ~/ex", T_INT, F(delivery), DELIVERY_EXCHANGE, NULL,
      ACC_DELIVERY },
    { "uidls_file ~/u/%U_%H", T_STR, F(uidls_file), 0, "~/u/%U_%H",
      ACC_UIDLS_FILE },
    { "only_new off", T_BOOL, F(only_new), 0, NULL, ACC_ONLY_NEW },
    { "only_new", T_BOOL, F(only_new), 1, NULL, ACC_ONLY_NEW },
    { "keep", T_INT, F(keep), KEEP_ON, NULL, ACC_KEEP },
    { "keep on", T_INT, F(keep), KEEP_ON, NULL, ACC_KEEP },
    { "keep off", T_INT, F(keep), KEEP_OFF, NULL, ACC_KEEP },
    { "keep 1d12h", T_LL, F(keep_seconds), 129600, NULL, ACC_KEEP },
    { "keep 36h", T_LL, F(keep_seconds), 129600, NULL, ACC_KEEP },
    { "keep 1d 11h 60m", T_LL, F(keep_seconds), 129600, NULL, ACC_KEEP },
    { "keep 2w", T_LL, F(keep_seconds), 1209600, NULL, ACC_KEEP },
    { "keep 90s", T_LL, F(keep_seconds), 90, NULL, ACC_KEEP },
    { "keep \"1d 1s\"", T_LL, F(keep_seconds), 86401, NULL, ACC_KEEP },
    { "keep 1d", T_INT, F(keep), KEEP_DURATION, NULL, ACC_KEEP },
    { "oauth2_provider google", T_STR, F(oauth2_provider), 0, "google",
      ACC_OAUTH2_PROVIDER },
    { "oauth2_provider", T_STR, F(oauth2_provider), 0, NULL,
      ACC_OAUTH2_PROVIDER },
    { "oauth2_tenant consumers", T_STR, F(oauth2_tenant), 0, "consumers",
      ACC_OAUTH2_TENANT },
    { "oauth2_client_id x.apps", T_STR, F(oauth2_client_id), 0, "x.apps",
      ACC_OAUTH2_CLIENT_ID },
    { "oauth2_client_secret s", T_STR, F(oauth2_client_secret), 0, "s",
      ACC_OAUTH2_CLIENT_SECRET },
    { "oauth2_scope \"a b\"", T_STR, F(oauth2_scope), 0, "a b",
      ACC_OAUTH2_SCOPE },
    { "oauth2_authorization_endpoint https://a/", T_STR,
      F(oauth2_authorization_endpoint), 0, "https://a/",
      ACC_OAUTH2_AUTHORIZATION_ENDPOINT },
    { "oauth2_token_endpoint https://t/", T_STR, F(oauth2_token_endpoint),
      0, "https://t/", ACC_OAUTH2_TOKEN_ENDPOINT },
    { "oauth2_device_endpoint https://d/", T_STR, F(oauth2_device_endpoint),
      0, "https://d/", ACC_OAUTH2_DEVICE_ENDPOINT },
    { "oauth2_token_file ~/tok", T_STR, F(oauth2_token_file), 0,
      "/tmp/home/tok", ACC_OAUTH2_TOKEN_FILE },
    { "killsize off", T_LL, F(killsize), -1, NULL, ACC_KILLSIZE },
    { "killsize 0", T_LL, F(killsize), 0, NULL, ACC_KILLSIZE },
    { "killsize 500", T_LL, F(killsize), 500, NULL, ACC_KILLSIZE },
    { "killsize 10k", T_LL, F(killsize), 10240, NULL, ACC_KILLSIZE },
    { "killsize 10K", T_LL, F(killsize), 10240, NULL, ACC_KILLSIZE },
    { "killsize 10m", T_LL, F(killsize), 10485760, NULL, ACC_KILLSIZE },
    { "killsize 2M", T_LL, F(killsize), 2097152, NULL, ACC_KILLSIZE },
    { "killsize 4294967296", T_LL, F(killsize), 4294967296LL, NULL,
      ACC_KILLSIZE },
    { "skipsize 3m", T_LL, F(skipsize), 3145728, NULL, ACC_SKIPSIZE },
    { "skipsize off", T_LL, F(skipsize), -1, NULL, ACC_SKIPSIZE },
    { "filter ~/f", T_STR, F(filter), 0, "~/f", ACC_FILTER },
    { "filter", T_STR, F(filter), 0, NULL, ACC_FILTER },
    { "eval echo user e", T_STR, F(user), 0, "e", ACC_USER },
    { "eval \"echo user e\"", T_STR, F(user), 0, "e", ACC_USER },
    { "eval printf 'user x\\nuser y\\n'", T_STR, F(user), 0, "x",
      ACC_USER },
    { "eval printf 'user \"q w\"'", T_STR, F(user), 0, "q w", ACC_USER },
};

static void test_valid(void)
{
    size_t i;

    for (i = 0; i < sizeof vrows / sizeof vrows[0]; i++) {
        const struct vrow *r = &vrows[i];
        char *text = xasprintf("# comment\n\naccount a\n  host h\n%s\n",
                               r->line);
        struct account_list l = { NULL, 0 };
        struct mp_err e;
        const struct account *a;
        const char *base;

        if (load(text, &l, &e) != 0 || l.n != 1) {
            ok(0, "valid '%s': %s", r->line, e.msg);
            free(text);
            account_list_clear(&l);
            continue;
        }
        a = l.v[0];
        base = (const char *)a;
        switch (r->t) {
        case T_INT:
            is_int(*(const int *)(base + r->off), r->want_i, "%s", r->line);
            break;
        case T_LL:
            is_int(*(const long long *)(base + r->off), r->want_i, "%s",
                   r->line);
            break;
        case T_BOOL:
            is_int(*(const bool *)(base + r->off), r->want_i, "%s", r->line);
            break;
        case T_STR:
            is_str(*(char *const *)(base + r->off), r->want_s, "%s",
                   r->line);
            break;
        }
        ok((a->set & ACC_BIT(r->bit)) != 0, "%s: its set bit", r->line);
        account_list_clear(&l);
        free(text);
    }
}

/* Invalid input: the whole file, and the exact start of the message. */
static const struct irow {
    const char *text;
    const char *want;   /* the message starts with this */
} irows[] = {
    { "account a\nhost h\nfoo bar\n", "rc:3: unknown command foo" },
    { "account a\nhost\n", "rc:2: command host needs an argument" },
    { "account a\nhost \"\"\n", "rc:2: command host needs an argument" },
    { "host h\n", "rc:1: first command must be account or defaults" },
    { "\n# c\nuser u\n", "rc:3: first command must be account or defaults" },
    { "account a\nuser \"abc\n", "rc:2: unterminated quoted argument" },
    { "account a\nuser \"\n", "rc:2: unterminated quoted argument" },
    { "account a\nuser \"a\\\"\n", "rc:2: unterminated quoted argument" },
    { "account a\nport 0\n", "rc:2: invalid argument 0 for command port" },
    { "account a\noauth2_provider yahoo\n",
      "rc:2: invalid argument yahoo for command oauth2_provider" },
    { "account a\nport 65536\n",
      "rc:2: invalid argument 65536 for command port" },
    { "account a\nport 1x\n", "rc:2: invalid argument 1x for command port" },
    { "account a\nport -1\n", "rc:2: invalid argument -1 for command port" },
    { "account a\nport\n", "rc:2: command port needs an argument" },
    { "account a\nproxy_port 0\n",
      "rc:2: invalid argument 0 for command proxy_port" },
    { "account a\nproxy_port 70000\n",
      "rc:2: invalid argument 70000 for command proxy_port" },
    { "account a\ntimeout 0\n",
      "rc:2: invalid argument 0 for command timeout" },
    { "account a\ntimeout on\n",
      "rc:2: invalid argument on for command timeout" },
    { "account a\ntimeout\n", "rc:2: command timeout needs an argument" },
    { "account a\npipelining maybe\n",
      "rc:2: invalid argument maybe for command pipelining" },
    { "account a\nreceived_header yes\n",
      "rc:2: invalid argument yes for command received_header" },
    { "account a\nauth bogus\n",
      "rc:2: invalid argument bogus for command auth" },
    { "account a\nauth scram-sha-512\n",
      "rc:2: invalid argument scram-sha-512 for command auth" },
    { "account a\ntls 1\n", "rc:2: invalid argument 1 for command tls" },
    { "account a\ntls_starttls x\n",
      "rc:2: invalid argument x for command tls_starttls" },
    { "account a\ntls_certcheck x\n",
      "rc:2: invalid argument x for command tls_certcheck" },
    { "account a\ntls_fingerprint AA:BB\n",
      "rc:2: invalid argument AA:BB for command tls_fingerprint" },
    { "account a\ntls_fingerprint ab:cd:\n",
      "rc:2: invalid argument ab:cd: for command tls_fingerprint" },
    { "account a\ntls_fingerprint 0g:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"
      "ee:ff\n", "rc:2: invalid argument 0g:" },
    { "account a\ntls_fingerprint 00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-"
      "ee-ff\n", "rc:2: invalid argument 00-11" },
    { "account a\ntls_min_dh_prime_bits 0\n",
      "rc:2: invalid argument 0 for command tls_min_dh_prime_bits" },
    { "account a\ntls_min_dh_prime_bits x\n",
      "rc:2: invalid argument x for command tls_min_dh_prime_bits" },
    { "account a\ndelivery\n", "rc:2: command delivery needs an argument" },
    { "account a\ndelivery mda\n",
      "rc:2: invalid argument mda for command delivery" },
    { "account a\ndelivery maildir \"\"\n",
      "rc:2: invalid argument maildir \"\" for command delivery" },
    { "account a\ndelivery pipe cat\n",
      "rc:2: invalid argument pipe cat for command delivery" },
    { "account a\nuidls_file\n", "rc:2: command uidls_file needs an argument" },
    { "account a\nonly_new x\n",
      "rc:2: invalid argument x for command only_new" },
    { "account a\nkeep 1\n", "rc:2: invalid argument 1 for command keep" },
    { "account a\nkeep 1x\n", "rc:2: invalid argument 1x for command keep" },
    { "account a\nkeep d\n", "rc:2: invalid argument d for command keep" },
    { "account a\nkeep 0d\n", "rc:2: invalid argument 0d for command keep" },
    { "account a\nkeep 1d12\n",
      "rc:2: invalid argument 1d12 for command keep" },
    { "account a\nkeep -1d\n", "rc:2: invalid argument -1d for command keep" },
    { "account a\nkeep 99999999999999999w\n",
      "rc:2: invalid argument 99999999999999999w for command keep" },
    { "account a\nkillsize\n", "rc:2: command killsize needs an argument" },
    { "account a\nkillsize 1g\n",
      "rc:2: invalid size (not a number or out of range): 1g" },
    { "account a\nkillsize -1\n",
      "rc:2: invalid size (not a number or out of range): -1" },
    { "account a\nkillsize 1.5m\n",
      "rc:2: invalid size (not a number or out of range): 1.5m" },
    { "account a\nkillsize 10 k\n",
      "rc:2: invalid size (not a number or out of range): 10 k" },
    { "account a\nkillsize k\n",
      "rc:2: invalid size (not a number or out of range): k" },
    { "account a\nkillsize 99999999999999999999\n",
      "rc:2: invalid size (not a number or out of range): 9999" },
    { "account a\nkillsize 9007199254740992m\n",
      "rc:2: invalid size (not a number or out of range): 9007" },
    { "account a\nskipsize off2\n",
      "rc:2: invalid size (not a number or out of range): off2" },
    { "account a\nskipsize\n", "rc:2: command skipsize needs an argument" },
    { "account\n", "rc:1: missing account name" },
    { "account \"\"\n", "rc:1: missing account name" },
    { "account a\naccount a\n", "rc:2: account a was already defined" },
    { "account a\naccount b : x\n", "rc:2: account x not (yet) defined" },
    { "account a\naccount b : a, x\n", "rc:2: account x not (yet) defined" },
    { "account b : b\n", "rc:1: account b not (yet) defined" },
    { "account a\naccount b : c\naccount c\n",
      "rc:2: account c not (yet) defined" },
    { "account a\naccount b :\n", "rc:2: missing account name" },
    { "account a\naccount b : a,\n", "rc:2: missing account name" },
    { "account a\naccount : a\n", "rc:2: missing account name" },
    { "defaults x\n", "rc:1: command defaults takes no argument" },
    { "account a\neval\n", "rc:2: command eval needs an argument" },
    { "account a\neval echo eval echo user x\n",
      "rc:2: the output of eval must not contain another eval" },
    { "account a\neval echo '  eval true'\n",
      "rc:2: the output of eval must not contain another eval" },
    { "account a\neval false\n",
      "rc:2: eval command 'false' failed with exit code 1" },
    { "account a\neval exit 3\n",
      "rc:2: eval command 'exit 3' failed with exit code 3" },
    { "account a\neval kill -9 $$\n",
      "rc:2: eval command 'kill -9 $$' failed" },
    { "account a\neval echo bogus x\n", "rc:2: unknown command bogus" },
    { "account a\neval echo port 0\n",
      "rc:2: invalid argument 0 for command port" },
    { "account a\neval printf 'a\\0b'\n",
      "rc:2: eval command 'printf 'a\\0b'' gave unusable output" },
    { "account a\neval head -c 70000 /dev/zero | tr '\\0' x\n",
      "rc:2: eval command" },
};

static void test_invalid(void)
{
    size_t i;

    for (i = 0; i < sizeof irows / sizeof irows[0]; i++) {
        const struct irow *r = &irows[i];
        struct account_list l = { NULL, 0 };
        struct mp_err e;
        int ret = load(r->text, &l, &e);

        is_int(ret, -1, "invalid: %s", oneline(r->text));
        ok(strncmp(e.msg, r->want, strlen(r->want)) == 0
           && e.kind == MP_ECONFIG,
           "message '%s' starts with '%s'", e.msg, r->want);
        ok(l.n == 0 && l.v == NULL, "list cleared after failure");
        account_list_clear(&l);
    }
}

static void test_nul_byte(void)
{
    static const char text[] = "account a\nhost h\0x\n";
    struct account_list l = { NULL, 0 };
    struct mp_err e;
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");

    err_init(&e);
    is_int(conf_load(f, "rc", &l, &e), -1, "NUL byte refused");
    is_str(e.msg, "rc:2: NUL byte in line", "NUL byte names rc:2");
    fclose(f);
}

static void test_inheritance(void)
{
    static const char text[] =
        "defaults\n"
        "tls on\n"
        "port 99\n"
        "account a\n"
        "host h\n"
        "user ua\n"
        "delivery mda cat\n"
        "defaults\n"
        "port 50\n"
        "timeout 5\n"
        "account b\n"
        "host hb\n"
        "user ub\n"
        "keep on\n"
        "account c : a, b\n"
        "timeout 7\n"
        "account d : c\n"
        "account e\n"
        "host he\n";
    struct account_list l = { NULL, 0 };
    struct mp_err e;
    struct account *a, *b, *c, *d, *x;

    if (!is_int(load(text, &l, &e), 0, "inheritance config loads"))
        printf("# %s\n", e.msg);
    is_int((long long)l.n, 5, "five accounts in file order");
    if (l.n != 5)
        goto out;
    a = l.v[0], b = l.v[1], c = l.v[2], d = l.v[3], x = l.v[4];
    is_str(a->id, "a", "first is a");
    is_str(x->id, "e", "last is e");
    is_str(a->conffile, "rc", "conffile");
    is_int(a->confline, 4, "a defined on line 4");
    is_int(c->confline, 15, "c defined on line 15");
    ok(a->tls, "a: tls from defaults");
    is_int(a->port, 99, "a: port from defaults at that time");
    is_int(a->timeout, 180, "a: later defaults do not change a");
    is_int(b->port, 50, "b: defaults changed by the second block");
    ok(b->tls, "b: the first block still applies");
    is_int(b->timeout, 5, "b: timeout from the second block");
    ok(!(a->set & ACC_BIT(ACC_TLS)), "defaults do not count as written");
    ok(a->set == (ACC_BIT(ACC_HOST) | ACC_BIT(ACC_USER)
                  | ACC_BIT(ACC_DELIVERY)), "a: set has exactly its lines");
    /* c : a, b -- b (later) wins over a; both over the defaults. */
    is_str(c->host, "hb", "c: host from b (last parent wins)");
    is_str(c->user, "ub", "c: user from b");
    is_int(c->delivery, DELIVERY_MDA, "c: delivery from a");
    is_int(c->keep, KEEP_ON, "c: keep from b");
    is_int(c->port, 50, "c: port from the current defaults, not a's");
    is_int(c->timeout, 7, "c: own timeout");
    ok(c->set & ACC_BIT(ACC_DELIVERY), "c: inherited bits are set");
    is_str(d->host, "hb", "d : c inherits what c inherited");
    is_int(d->timeout, 7, "d: c's own timeout");
    is_int(d->delivery, DELIVERY_MDA, "d: a's delivery via c");
    is_int(x->delivery, DELIVERY_NONE, "e: nothing inherited");
    is_int(x->timeout, 5, "e: defaults apply");
out:
    account_list_clear(&l);
}

static void test_account_names(void)
{
    static const struct { const char *text, *id; } rows[] = {
        { "account \"x y\"\n", "x y" },
        { "account b c\n", "b c" },
        { "account a\naccount c:a\n", "c" },
        { "account a\naccount b: a , a\n", "b" },
        { "account  default  \n", "default" },
        { "account a\neval echo account z\n", "z" },
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct account_list l = { NULL, 0 };
        struct mp_err e;
        int r = load(rows[i].text, &l, &e);
        is_int(r, 0, "loads: %s", oneline(rows[i].text));
        is_str(l.n ? l.v[l.n - 1]->id : NULL, rows[i].id, "account id '%s'",
               rows[i].id);
        account_list_clear(&l);
    }
}

static void test_empty(void)
{
    struct account_list l = { NULL, 0 };
    struct mp_err e;

    is_int(load("", &l, &e), 0, "empty file");
    is_int((long long)l.n, 0, "no accounts");
    is_int(load("# only\n\n   \t\n#x\ndefaults\ntls on\n", &l, &e), 0,
           "comments, blanks and defaults only");
    is_int((long long)l.n, 0, "still no accounts");
    is_int(load("account a\r\nhost h\r\n", &l, &e), 0, "CRLF lines");
    is_str(l.n ? l.v[0]->host : NULL, "h", "CR stripped");
    account_list_clear(&l);
    is_int(load("account a\nhost h", &l, &e), 0, "no final newline");
    is_str(l.n ? l.v[0]->host : NULL, "h", "last line read");
    account_list_clear(&l);
}

static void test_account_set(void)
{
    struct account *a = account_new("x");
    struct mp_err e;

    err_init(&e);
    is_int(conf_account_set(a, "killsize", "10k", &e), 0, "set killsize");
    is_int(a->killsize, 10240, "killsize value");
    ok(a->set == ACC_BIT(ACC_KILLSIZE), "killsize bit");
    is_int(conf_account_set(a, "keep", "1h", &e), 0, "set keep");
    is_int(a->keep_seconds, 3600, "keep value");
    is_int(conf_account_set(a, "nope", "", &e), -1, "unknown command");
    is_str(e.msg, "unknown command nope", "no FILE:LINE outside a file");
    is_int(conf_account_set(a, "port", "0", &e), -1, "bad port");
    is_str(e.msg, "invalid argument 0 for command port", "port message");
    account_free(&a);
}

static char *write_file(const char *dir, const char *name, const char *text,
                        mode_t mode)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
    return path;
}

static void test_files(void)
{
    char tmpl[] = "/tmp/test-conf-XXXXXX";
    char *dir = mkdtemp(tmpl);
    static const struct {
        const char *text;
        mode_t mode;
        int ok;
    } rows[] = {
        { "account a\nhost h\npassword x\n", 0600, 1 },
        { "account a\nhost h\npassword x\n", 0400, 1 },
        { "account a\nhost h\npassword x\n", 0640, 0 },
        { "account a\nhost h\npassword x\n", 0604, 0 },
        { "account a\nhost h\npassword x\n", 0700, 0 },
        { "account a\nhost h\npassword x\n", 0660, 0 },
        { "account a\nhost h\noauth2_client_secret x\n", 0600, 1 },
        { "account a\nhost h\noauth2_client_secret x\n", 0644, 0 },
        { "account a\nhost h\n", 0644, 1 },
        { "account a\nhost h\npassword\n", 0644, 1 },
        /* The original checks only literal password commands. */
        { "account a\nhost h\neval echo password x\n", 0644, 1 },
        { "account a\nhost h\npasswordeval echo x\n", 0644, 1 },
    };
    size_t i;
    char *p, *q;
    struct account_list l = { NULL, 0 };
    struct mp_err e;

    if (!ok(dir != NULL, "temp dir"))
        return;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *path = write_file(dir, "rc", rows[i].text, rows[i].mode);
        char *want = xasprintf("%s:3: contains secrets", path);
        int r;
        err_init(&e);
        r = conf_load_file(path, &l, &e);
        if (rows[i].ok) {
            is_int(r, 0, "mode %04o accepted: %s", (unsigned)rows[i].mode,
                   oneline(rows[i].text));
        } else {
            is_int(r, -1, "mode %04o refused", (unsigned)rows[i].mode);
            ok(strncmp(e.msg, want, strlen(want)) == 0
               && e.kind == MP_ECONFIG, "message names FILE:LINE: %s",
               e.msg);
            ok(l.n == 0, "no accounts after the refusal");
        }
        account_list_clear(&l);
        unlink(path);
        free(path);
        free(want);
    }
    p = xasprintf("%s/missing", dir);
    is_int(conf_load_file(p, &l, &e), -1, "missing file");
    is_int(e.kind, MP_ENOINPUT, "missing file is MP_ENOINPUT");
    free(p);

    /* conf_default_path */
    setenv("HOME", dir, 1);
    unsetenv("XDG_CONFIG_HOME");
    p = conf_default_path();
    q = xasprintf("%s/.mpoprc", dir);
    is_str(p, q, "neither file: ~/.mpoprc");
    free(p);
    free(q);
    q = xasprintf("%s/.config", dir);
    mkdir(q, 0700);
    free(q);
    q = xasprintf("%s/.config/mpop", dir);
    mkdir(q, 0700);
    free(q);
    q = write_file(dir, ".config/mpop/config", "", 0600);
    p = conf_default_path();
    is_str(p, q, "only the XDG file: it");
    free(p);
    setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
    p = conf_default_path();
    ok(strstr(p, "/.mpoprc") != NULL, "XDG elsewhere: ~/.mpoprc");
    free(p);
    unsetenv("XDG_CONFIG_HOME");
    p = write_file(dir, ".mpoprc", "", 0600);
    {
        char *r = conf_default_path();
        is_str(r, p, "~/.mpoprc wins when it exists");
        free(r);
    }
    unlink(p);
    unlink(q);
    free(p);
    free(q);
    q = xasprintf("%s/.config/mpop", dir);
    rmdir(q);
    free(q);
    q = xasprintf("%s/.config", dir);
    rmdir(q);
    free(q);
    rmdir(dir);
}

int main(void)
{
    setenv("HOME", "/tmp/home", 1);
    test_valid();
    test_invalid();
    test_nul_byte();
    test_inheritance();
    test_account_names();
    test_empty();
    test_account_set();
    test_files();
    return done_testing();
}
