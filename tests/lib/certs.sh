# Test certificates made with GnuTLS's certtool (bash; source it).
#
#   certs_make DIR    writes into DIR (created if needed):
#     ca.key ca.pem             the test CA (trust this one)
#     server.key                one key shared by every server certificate
#     server.pem                localhost, DNS localhost, IP 127.0.0.1 and ::1,
#                               signed by the CA, valid now
#     chain.pem                 server.pem followed by ca.pem
#     expired.pem               same names, validity ended in 2001
#     notyet.pem                same names, valid only from 2099
#     wronghost.pem             signed by the CA for wrong.invalid only
#     selfsigned.pem            localhost, signed by its own key
#     revoked.pem crl.pem       localhost, revoked by the CA in crl.pem
#     client.key client.pem     a client certificate signed by the CA
#   Every certificate is PEM.  Returns non-zero if certtool fails.
#
#   certs_fingerprint FILE [sha256|sha1]
#                     print the certificate's fingerprint as hex pairs
#                     separated by colons (mpop's tls_fingerprint format)

certs_template()
{
    # certs_template FILE CN [extra template lines...]
    local f=$1 cn=$2
    shift 2
    {
        echo "organization = mpop test suite"
        echo "cn = $cn"
        echo "serial = $((RANDOM * 32768 + RANDOM + 1))"
        for l in "$@"; do
            echo "$l"
        done
    } >"$f"
}

certs_make()
{
    local d=$1 ok=0
    local srv=("dns_name = localhost" "ip_address = 127.0.0.1"
        "ip_address = ::1" "tls_www_server" "encryption_key" "signing_key")
    mkdir -p "$d" || return 1
    (
        set -e
        cd "$d"
        ct() { certtool "$@" >>certtool.log 2>&1; }

        ct --generate-privkey --key-type=rsa --bits=2048 --outfile ca.key
        certs_template ca.tmpl "mpop test CA" "ca" "cert_signing_key" \
            "crl_signing_key" "expiration_days = 3650"
        ct --generate-self-signed --load-privkey ca.key --template ca.tmpl \
            --outfile ca.pem

        ct --generate-privkey --key-type=rsa --bits=2048 --outfile server.key

        certs_template server.tmpl localhost "${srv[@]}" \
            "expiration_days = 3650"
        ct --generate-certificate --load-privkey server.key \
            --load-ca-certificate ca.pem --load-ca-privkey ca.key \
            --template server.tmpl --outfile server.pem
        cat server.pem ca.pem >chain.pem

        certs_template expired.tmpl localhost "${srv[@]}" \
            'activation_date = "2000-01-01 00:00:00 UTC"' \
            'expiration_date = "2001-01-01 00:00:00 UTC"'
        ct --generate-certificate --load-privkey server.key \
            --load-ca-certificate ca.pem --load-ca-privkey ca.key \
            --template expired.tmpl --outfile expired.pem

        certs_template notyet.tmpl localhost "${srv[@]}" \
            'activation_date = "2099-01-01 00:00:00 UTC"' \
            'expiration_date = "2100-01-01 00:00:00 UTC"'
        ct --generate-certificate --load-privkey server.key \
            --load-ca-certificate ca.pem --load-ca-privkey ca.key \
            --template notyet.tmpl --outfile notyet.pem

        certs_template wronghost.tmpl wrong.invalid \
            "dns_name = wrong.invalid" "tls_www_server" "encryption_key" \
            "signing_key" "expiration_days = 3650"
        ct --generate-certificate --load-privkey server.key \
            --load-ca-certificate ca.pem --load-ca-privkey ca.key \
            --template wronghost.tmpl --outfile wronghost.pem

        certs_template selfsigned.tmpl localhost "${srv[@]}" \
            "expiration_days = 3650"
        ct --generate-self-signed --load-privkey server.key \
            --template selfsigned.tmpl --outfile selfsigned.pem

        certs_template revoked.tmpl localhost "${srv[@]}" \
            "expiration_days = 3650"
        ct --generate-certificate --load-privkey server.key \
            --load-ca-certificate ca.pem --load-ca-privkey ca.key \
            --template revoked.tmpl --outfile revoked.pem
        certs_template crl.tmpl "mpop test CA" "crl_next_update = 3650" \
            "crl_number = 1"
        ct --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem \
            --load-certificate revoked.pem --template crl.tmpl --outfile crl.pem

        ct --generate-privkey --key-type=rsa --bits=2048 --outfile client.key
        certs_template client.tmpl "mpop test client" "tls_www_client" \
            "signing_key" "expiration_days = 3650"
        ct --generate-certificate --load-privkey client.key \
            --load-ca-certificate ca.pem --load-ca-privkey ca.key \
            --template client.tmpl --outfile client.pem
        chmod 644 ./*.pem
        chmod 600 ./*.key
    ) || ok=1
    if [ "$ok" -ne 0 ]; then
        echo "certs_make: certtool failed; see $d/certtool.log" >&2
    fi
    return "$ok"
}

certs_fingerprint()
{
    local hash=${2:-sha256}
    certtool --certificate-info --infile "$1" 2>/dev/null |
        awk -v h="$hash" '
            /^[ \t]*Fingerprint:/ { inf = 1; next }
            inf && index($1, h ":") == 1 { print substr($1, length(h) + 2); exit }' |
        sed 's/../&:/g; s/:$//' | tr 'a-f' 'A-F'
}
