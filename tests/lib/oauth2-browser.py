#!/usr/bin/env python3
"""The person's browser in mpop's OAuth2 tests (test code only).

    oauth2-browser.py CA URL follow    open URL (the address mpop printed);
                                       follow its redirect to mpop's
                                       loopback listener; print the page
    oauth2-browser.py CA URL location  open URL, print where it redirects
                                       (for the paste-the-address fallback)
    oauth2-browser.py CA URL get       open URL, print the body
"""
import http.client
import ssl
import sys
import urllib.parse

ca, url, what = sys.argv[1:4]


def get(u):
    p = urllib.parse.urlsplit(u)
    if p.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca)
        c = http.client.HTTPSConnection(p.hostname, p.port, context=ctx,
                                        timeout=20)
    else:
        c = http.client.HTTPConnection(p.hostname, p.port, timeout=20)
    c.request("GET", p.path + ("?" + p.query if p.query else ""))
    r = c.getresponse()
    return r.status, r.getheader("Location"), r.read().decode()


status, loc, body = get(url)
if what == "get":
    print(body)
    sys.exit(0 if status == 200 else 1)
if status != 302 or not loc:
    sys.exit("no redirect: HTTP %d %s" % (status, body))
if what == "location":
    print(loc)
    sys.exit(0)
status, _, body = get(loc)
print(body)
sys.exit(0 if status == 200 else 1)
