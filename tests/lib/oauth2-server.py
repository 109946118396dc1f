#!/usr/bin/env python3
"""An OAuth2 authorization server for mpop's tests (test code only).

    oauth2-server.py STATEDIR CERT KEY USER

Listens on two free ports of 127.0.0.1 and writes "HTTPS_PORT HTTP_PORT"
to STATEDIR/ports once both listen.

HTTPS (the test CA's certificate), what mpop talks to:
  GET  /authorize  authorization endpoint: checks client_id, a loopback
                   redirect_uri, response_type=code, state and a PKCE S256
                   challenge, then redirects (302) to redirect_uri with
                   code and state (or error=access_denied when told to)
  POST /token      token endpoint: authorization_code (PKCE verified,
                   redirect_uri compared), refresh_token (rotated: the old
                   one stops working), device_code (authorization_pending
                   until approved, slow_down when told to, expired_token,
                   access_denied)
  POST /device     device authorization endpoint (RFC 8628)
  GET  /device/approve?user_code=X, /device/deny?user_code=X
                   the person's step in the browser, driven by the test
Plain HTTP, for dovecot and the test:
  POST /introspect RFC 7662 token introspection (dovecot's oauth2 passdb)
  GET  /control?k=v...  expires_in=N, rotate=0|1, fail=STATUS (token
                   endpoint answers STATUS), delay=SECONDS (before each
                   refresh reply), slow_down=N (device polls answered
                   slow_down), deny=0|1 (authorization endpoint refuses)
  GET  /revoke     every refresh and access token stops working
  GET  /stats      JSON counters: refresh, code, device, introspect,
                   pending (authorization_pending answers)

Every secret issued or received (codes, tokens, device codes, verifiers,
the client secret) is appended to STATEDIR/secrets, one per line, so the
test can look for each in everything mpop printed.
"""
import base64
import hashlib
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE, CERT, KEY, USER = sys.argv[1:5]
CLIENT_ID = "mpop-test-client"
CLIENT_SECRET = "cs-" + secrets.token_urlsafe(12)
lock = threading.Lock()
cfg = {"expires_in": 3600, "rotate": 1, "fail": 0, "delay": 0.0,
       "slow_down": 0, "deny": 0}
stats = {"refresh": 0, "code": 0, "device": 0, "introspect": 0,
         "pending": 0}
codes, refresh, access, devices = {}, {}, {}, {}


def remember(s):
    with open(os.path.join(STATE, "secrets"), "a") as f:
        f.write(s + "\n")


def new_secret(prefix):
    s = prefix + secrets.token_urlsafe(24)
    remember(s)
    return s


remember(CLIENT_SECRET)
with open(os.path.join(STATE, "client_secret"), "w") as f:
    f.write(CLIENT_SECRET)


def issue():
    """A new access token (and refresh token); caller holds lock."""
    at = new_secret("AT-")
    rt = new_secret("RT-")
    access[at] = {"exp": time.time() + max(cfg["expires_in"], 30),
                  "ok": True}
    refresh[rt] = True
    return {"access_token": at, "token_type": "Bearer",
            "expires_in": cfg["expires_in"], "refresh_token": rt,
            "scope": "pop"}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with open(os.path.join(STATE, "server.log"), "a") as f:
            f.write("%s %s\n" % (self.command, self.path.split("?")[0]))

    def reply(self, status, obj=None, headers=()):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def error(self, err, desc, status=400):
        self.reply(status, {"error": err, "error_description": desc})

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(data).items()}

    def query(self):
        q = urllib.parse.urlsplit(self.path).query
        return {k: v[0] for k, v in urllib.parse.parse_qs(q).items()}

    def route(self):
        return urllib.parse.urlsplit(self.path).path


class HTTPS(H):
    def do_GET(self):
        q, path = self.query(), self.route()
        if path == "/authorize":
            return self.authorize(q)
        if path in ("/device/approve", "/device/deny"):
            with lock:
                for d in devices.values():
                    if d["user_code"] == q.get("user_code"):
                        d["state"] = ("approved" if path.endswith("approve")
                                      else "denied")
                        return self.reply(200, {"ok": True})
            return self.reply(404, {"ok": False})
        self.reply(404)

    def authorize(self, q):
        redirect = q.get("redirect_uri", "")
        if (q.get("client_id") != CLIENT_ID
                or q.get("response_type") != "code"
                or not redirect.startswith("http://127.0.0.1:")
                or q.get("code_challenge_method") != "S256"
                or len(q.get("code_challenge", "")) != 43
                or not q.get("state")):
            return self.reply(400, {"error": "invalid_request"})
        sep = "&" if "?" in redirect else "?"
        with lock:
            if cfg["deny"]:
                loc = redirect + sep + urllib.parse.urlencode(
                    {"error": "access_denied",
                     "error_description": "The user said no",
                     "state": q["state"]})
            else:
                code = new_secret("AC-")
                codes[code] = {"redirect": redirect,
                               "challenge": q["code_challenge"]}
                loc = redirect + sep + urllib.parse.urlencode(
                    {"code": code, "state": q["state"]})
        self.send_response(302)
        self.send_header("Location", loc)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def do_POST(self):
        f, path = self.form(), self.route()
        for v in f.values():
            if v.startswith(("AC-", "RT-", "DC-")) or len(v) == 43:
                remember(v)         # codes, tokens and verifiers received
        if path == "/device":
            return self.device(f)
        if path != "/token":
            return self.reply(404)
        with lock:
            fail = cfg["fail"]
        if fail:
            return self.error("temporarily_unavailable", "down", fail)
        if f.get("client_id") != CLIENT_ID:
            return self.error("invalid_client", "unknown client", 401)
        if f.get("client_secret") != CLIENT_SECRET:
            return self.error("invalid_client", "wrong client secret", 401)
        g = f.get("grant_type")
        if g == "authorization_code":
            return self.grant_code(f)
        if g == "refresh_token":
            return self.grant_refresh(f)
        if g == "urn:ietf:params:oauth:grant-type:device_code":
            return self.grant_device(f)
        self.error("unsupported_grant_type", g or "")

    def grant_code(self, f):
        with lock:
            c = codes.pop(f.get("code", ""), None)
            if not c:
                return self.error("invalid_grant", "unknown or used code")
            v = f.get("code_verifier", "")
            ch = base64.urlsafe_b64encode(
                hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
            if ch != c["challenge"]:
                return self.error("invalid_grant", "PKCE verification failed")
            if f.get("redirect_uri") != c["redirect"]:
                return self.error("invalid_grant", "redirect_uri differs")
            stats["code"] += 1
            r = issue()
        self.reply(200, r)

    def grant_refresh(self, f):
        rt = f.get("refresh_token", "")
        with lock:
            delay = cfg["delay"]
        if delay:
            time.sleep(delay)
        with lock:
            if not refresh.get(rt):
                return self.error("invalid_grant",
                                  "Token has been expired or revoked.")
            stats["refresh"] += 1
            r = issue()
            if cfg["rotate"]:
                refresh[rt] = False
            else:
                refresh.pop(r["refresh_token"])
                del r["refresh_token"]
        self.reply(200, r)

    def device(self, f):
        if f.get("client_id") != CLIENT_ID:
            return self.error("invalid_client", "unknown client", 401)
        with lock:
            dc = new_secret("DC-")
            uc = "WDJB-MJHT-%d" % len(devices)
            devices[dc] = {"user_code": uc, "state": "pending",
                           "slow_down": cfg["slow_down"]}
        self.reply(200, {"device_code": dc, "user_code": uc,
                         "verification_uri": "https://127.0.0.1/device",
                         "expires_in": 600, "interval": 1})

    def grant_device(self, f):
        with lock:
            d = devices.get(f.get("device_code", ""))
            if not d:
                return self.error("invalid_grant", "unknown device code")
            if d["state"] == "pending":
                stats["pending"] += 1
                return self.error("authorization_pending", "waiting")
            if d["slow_down"] > 0:
                d["slow_down"] -= 1
                return self.error("slow_down", "polling too fast")
            if d["state"] == "denied":
                return self.error("access_denied", "the user said no")
            if d["state"] == "used":
                return self.error("expired_token", "used")
            d["state"] = "used"
            stats["device"] += 1
            r = issue()
        self.reply(200, r)


class Plain(H):
    def do_GET(self):
        q, path = self.query(), self.route()
        with lock:
            if path == "/control":
                for k, v in q.items():
                    cfg[k] = float(v) if k == "delay" else int(v)
                return self.reply(200, cfg)
            if path == "/revoke":
                for k in refresh:
                    refresh[k] = False
                for v in access.values():
                    v["ok"] = False
                return self.reply(200, {"ok": True})
            if path == "/stats":
                return self.reply(200, stats)
        self.reply(404)

    def do_POST(self):
        f = self.form()
        with lock:
            stats["introspect"] += 1
            a = access.get(f.get("token", ""))
            ok = bool(a and a["ok"] and a["exp"] > time.time())
        self.reply(200, {"active": True, "username": USER} if ok
                   else {"active": False})


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    s1 = ThreadingHTTPServer(("127.0.0.1", 0), HTTPS)
    s1.socket = ctx.wrap_socket(s1.socket, server_side=True)
    s2 = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    s1.daemon_threads = s2.daemon_threads = True
    threading.Thread(target=s2.serve_forever, daemon=True).start()
    tmp = os.path.join(STATE, "ports.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (s1.server_address[1], s2.server_address[1]))
    os.rename(tmp, os.path.join(STATE, "ports"))
    s1.serve_forever()


main()
