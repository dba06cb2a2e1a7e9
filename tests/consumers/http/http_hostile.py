#!/usr/bin/python3
"""Hostile HTTP against receiptd's server (tests/consumers/http/http_serve), on
127.0.0.1 only.

Every attack is a row: what is sent, the status it must get (or None when
libmicrohttpd itself refuses the request or the connection), and the
counter it must move.  After the table: slow clients and connection floods
(bounded waits), replays, TLS, the bearer token on /metrics, unsigned mode
(loopback only), `receiptctl receipt --server`, and at the end the
counters must add up: every request whose request line was read is either
answered (gr_http_requests_total by code) or counted unanswered by how it
ended, and every refusal reason matches what was sent.  The server must
still answer afterwards.

usage: http_hostile.py HTTP_SERVE RECEIPTCTL SCENARIOS.jsonl
Exit 77 (skip) without python3-cryptography or openssl.
"""
import base64
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import \
        Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
except ImportError:
    print("python3-cryptography missing: skipped")
    sys.exit(77)

SERVE, RECEIPTCTL, SCENARIOS = sys.argv[1:4]
TMP = tempfile.mkdtemp(prefix="gr-http-hostile-")
FAILS = []
XSS_ID = ("<script>document.title='pwned'</script>"
          "<img src=x onerror=\"document.title='pwned'\">")


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what +
          ("" if ok else "  " + str(detail)))
    if not ok:
        FAILS.append(what)


# ---- keys and registry ----------------------------------------------

class Key:
    def __init__(self, key_id, role, actor_id=None, valid_from=None,
                 valid_to=None):
        self.key_id, self.role = key_id, role
        self.sk = Ed25519PrivateKey.generate()
        self.pk = self.sk.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.entry = {"key_id": key_id, "role": role,
                      "public_key": base64.b64encode(self.pk).decode(),
                      "valid_from": valid_from, "valid_to": valid_to}
        if actor_id:
            self.entry["actor_id"] = actor_id

    def secret_file(self):
        seed = self.sk.private_bytes(serialization.Encoding.Raw,
                                     serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
        path = os.path.join(TMP, self.key_id + ".key.json")
        with open(path, "w") as f:
            json.dump({"key_id": self.key_id, "role": self.role,
                       "public_key": base64.b64encode(self.pk).decode(),
                       "secret_key": base64.b64encode(seed + self.pk)
                       .decode()}, f)
        os.chmod(path, 0o600)
        return path

    def auth(self, method, path, ts=None, nonce=None, key_id=None,
             sign_path=None, sign_method=None):
        ts = str(int(time.time()) if ts is None else ts)
        nonce = nonce or secrets.token_urlsafe(18)
        kid = key_id or self.key_id
        msg = "gr-http-v1\n%s\n%s\n%s\n%s\n%s\n" % (
            sign_method or method, sign_path or path, ts, nonce, kid)
        sig = base64.b64encode(self.sk.sign(msg.encode())).decode()
        return "GR-Ed25519 key_id=%s, ts=%s, nonce=%s, sig=%s" % (
            kid, ts, nonce, sig)


BUYER = Key("k-buyer-5", "buyer", "buyer-5")
SELLER = Key("k-worker-17", "seller", "worker-17")
MKT = Key("k-mkt-1", "marketplace")
REV = Key("k-rev-1", "reviewer")
VERIFIER = Key("k-verifier-2", "verifier")
EXPIRED = Key("k-buyer-old", "buyer", "buyer-5",
              valid_from="2020-01-01T00:00:00Z",
              valid_to="2021-01-01T00:00:00Z")
XSSBUYER = Key("k-xss", "buyer", "buyer-xss")
STRANGER = Key("k-stranger", "buyer", "buyer-5")  # not in the registry
REGISTRY = os.path.join(TMP, "registry.json")
with open(REGISTRY, "w") as f:
    json.dump([k.entry for k in (BUYER, SELLER, MKT, REV, VERIFIER,
                                 EXPIRED, XSSBUYER)], f)
TOKEN = secrets.token_hex(16)
TOKEN_FILE = os.path.join(TMP, "token")
with open(TOKEN_FILE, "w") as f:
    f.write(TOKEN + "\n")
os.chmod(TOKEN_FILE, 0o600)

# Events: the scenarios, a job of other parties, a job whose id is markup.
EVENTS = os.path.join(TMP, "events.jsonl")


def quote(job_id, eid, buyer, seller):
    return [
        {"event_id": eid + "-q", "job_id": job_id, "attempt": 1,
         "type": "quote_accepted", "occurred_at": "2026-05-25T08:03:00Z",
         "actor": {"role": "marketplace", "id": "mkt-1"},
         "body": {"quote_id": "q-" + eid, "provider_id": "prov-9",
                  "gpu": "A100-80GB", "vram_gb": 80, "region": "us-east",
                  "driver_family": "535",
                  "window_start": "2026-05-25T08:00:00Z",
                  "window_end": "2026-05-25T08:30:00Z",
                  "price": {"amount_minor": 420, "currency": "USD"}}},
        {"event_id": eid + "-s", "job_id": job_id, "attempt": 1,
         "type": "execution_started", "occurred_at": "2026-05-25T08:09:04Z",
         "actor": {"role": "seller", "id": seller},
         "body": {"container_image": "sha256:7b3a", "command": "x",
                  "model_hash": "sha256:aa9f",
                  "input_manifest_hash": "sha256:19c2"}},
        {"event_id": eid + "-b", "job_id": job_id, "attempt": 1,
         "type": "buyer_packet", "occurred_at": "2026-05-25T08:14:30Z",
         "actor": {"role": "buyer", "id": buyer},
         "body": {"packet_hash": "sha256:88cc", "container_image":
                  "sha256:7b3a", "command": "x", "model_hash": "sha256:aa9f",
                  "input_manifest_hash": "sha256:19c2",
                  "memory_budget_gb": 120,
                  "expected_output_path": "s3://out/result.json",
                  "evaluation_rule": "bleu>=0.3",
                  "observed_failure_class": "container_oom"}},
    ]


with open(EVENTS, "w") as f:
    with open(SCENARIOS) as s:
        f.write(s.read())
    for ev in quote("run_other", "oth", "buyer-9", "worker-99") + \
            quote(XSS_ID, "xss", "buyer-xss", "worker-xss"):
        f.write(json.dumps(ev) + "\n")


# ---- the server ---------------------------------------------------------

def start(*kv, expect_fail=False):
    p = subprocess.Popen([SERVE, EVENTS] + list(kv), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if expect_fail:
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            return None, "still running"
        return p.returncode, err
    line = p.stdout.readline()
    m = re.match(r"port=(\d+)", line)
    if not m:
        p.kill()
        raise SystemExit("http_serve did not start: " + line +
                         p.stderr.read())
    return p, int(m.group(1))


def stop(p):
    p.stdin.close()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        check("server stops on stdin EOF", False)
    return p.returncode


def exchange(port, data, timeout=10, tls_ctx=None, source=None):
    """Send raw bytes, read to close.  Returns (status or None, headers
    text, body bytes).  source: the client's address (another loopback
    address counts as another client for the per-address limit)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source
                                 else None)
    if tls_ctx:
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    buf = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, BrokenPipeError, socket.timeout,
            ssl.SSLError):
        pass
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
    head, _, body = buf.partition(b"\r\n\r\n")
    return (int(m.group(1)) if m else None), head.decode("latin-1"), body


def request(port, path, method="GET", headers=None, tls_ctx=None,
            source=None):
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers or {})
    data = ("%s %s HTTP/1.1\r\n" % (method, path)).encode("latin-1")
    for k, v in h.items():
        data += ("%s: %s\r\n" % (k, v)).encode("latin-1")
    return exchange(port, data + b"\r\n", tls_ctx=tls_ctx, source=source)


def metrics(port, tls_ctx=None, source=None):
    st, _, body = request(port, "/metrics",
                          headers={"Authorization": "Bearer " + TOKEN},
                          tls_ctx=tls_ctx, source=source)
    assert st == 200, st
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def signed(port, key, path, method="GET", headers=None, **kw):
    h = {"Authorization": key.auth(method, path.split("?")[0], **kw)}
    h.update(headers or {})
    return request(port, path, method, h)


PORT_ARGS = ["keys.registry=" + REGISTRY, "metrics.token.file=" + TOKEN_FILE,
             "metrics.timeout.s=2", "metrics.max.connections=16",
             "metrics.per.ip.connections=8",
             "metrics.request.max.bytes=8192", "metrics.auth.window.s=300"]
srv, port = start(*PORT_ARGS)
expect = {}   # auth failure reason -> count sent


def want(reason, n=1):
    expect[reason] = expect.get(reason, 0) + n


# ---- signed reads -------------------------------------------------------

st, head, body = signed(port, BUYER, "/jobs/run_ok")
check("buyer reads its job (HTML)", st == 200 and b"run_ok" in body and
      "text/html" in head, st)
check("pages carry a CSP and nosniff",
      "Content-Security-Policy: default-src 'none'" in head and
      "X-Content-Type-Options: nosniff" in head, head)
st, head, body = signed(port, BUYER, "/jobs/run_ok.json")
check("buyer reads its job (JSON)", st == 200 and
      json.loads(body)["job_id"] == "run_ok" and
      "application/json" in head, (st, body[:200]))
st, head, body = signed(port, BUYER, "/jobs/run_ok",
                        headers={"Accept": "application/json"})
check("Accept: application/json gives JSON", st == 200 and
      json.loads(body)["job_id"] == "run_ok", st)
st, _, _ = signed(port, BUYER, "/jobs/run_ok", method="HEAD")
check("signed HEAD", st == 200, st)
st, _, _ = signed(port, BUYER, "/jobs/run_ok?x=1&y=%2F")
check("a query is not part of the signed path", st == 200, st)
st, _, body = signed(port, SELLER, "/jobs/run_ok")
check("seller reads its job", st == 200, st)
for who, key, path in (("buyer", BUYER, "/jobs/run_other"),
                       ("seller", SELLER, "/jobs/run_other"),
                       ("verifier", VERIFIER, "/jobs/run_ok"),
                       ("buyer of another job (xss)", XSSBUYER,
                        "/jobs/run_ok")):
    st, _, body = signed(port, key, path)
    check("%s may not read %s: 403" % (who, path), st == 403, st)
    check("403 page names no job", b"run_" not in body, body[:200])
    want("forbidden")
for who, key in (("marketplace", MKT), ("reviewer", REV)):
    st, _, _ = signed(port, key, "/jobs/run_other")
    check("%s reads any job" % who, st == 200, st)
st, _, body = signed(port, MKT, "/jobs/run_nosuch")
check("unknown job, signed: 404", st == 404, st)

# ---- refused signatures --------------------------------------------------

now = int(time.time())
auth_rows = [
    ("no Authorization", {}, "missing"),
    ("empty Authorization", {"Authorization": ""}, "missing"),
    ("Basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}, "malformed"),
    ("scheme only", {"Authorization": "GR-Ed25519"}, "malformed"),
    ("no nonce", {"Authorization": re.sub(r", nonce=[^,]*", "",
                                          BUYER.auth("GET", "/jobs/run_ok"))},
     "malformed"),
    ("nonce twice", {"Authorization": BUYER.auth("GET", "/jobs/run_ok") +
                     ", nonce=AAAAAAAAAAAAAAAAAAAA"}, "malformed"),
    ("unknown parameter", {"Authorization": BUYER.auth("GET", "/jobs/run_ok")
                           + ", x=1"}, "malformed"),
    ("short nonce", {"Authorization": BUYER.auth("GET", "/jobs/run_ok",
                                                 nonce="abc")}, "malformed"),
    ("nonce with quotes", {"Authorization": BUYER.auth(
        "GET", "/jobs/run_ok", nonce='"AAAAAAAAAAAAAAAAAAAA"')}, "malformed"),
    ("sig not base64", {"Authorization": re.sub(
        r"sig=.*", "sig=!!!!", BUYER.auth("GET", "/jobs/run_ok"))},
     "malformed"),
    ("sig truncated", {"Authorization": BUYER.auth("GET", "/jobs/run_ok")
                       [:-8]}, "malformed"),
    ("ts not digits", {"Authorization": BUYER.auth("GET", "/jobs/run_ok",
                                                   ts="-5")}, "malformed"),
    ("ts 13 digits", {"Authorization": BUYER.auth("GET", "/jobs/run_ok",
                                                  ts="9" * 13)}, "malformed"),
    ("600-byte header", {"Authorization": BUYER.auth(
        "GET", "/jobs/run_ok") + " " * 600}, "malformed"),
    ("ts 1000 s old", {"Authorization": BUYER.auth(
        "GET", "/jobs/run_ok", ts=now - 1000)}, "stale"),
    ("ts 1000 s ahead", {"Authorization": BUYER.auth(
        "GET", "/jobs/run_ok", ts=now + 1000)}, "stale"),
    ("ts 0", {"Authorization": BUYER.auth("GET", "/jobs/run_ok", ts=0)},
     "stale"),
    ("key not in registry", {"Authorization": STRANGER.auth(
        "GET", "/jobs/run_ok")}, "unknown_key"),
    ("expired key", {"Authorization": EXPIRED.auth("GET", "/jobs/run_ok")},
     "expired_key"),
    ("signed for another path", {"Authorization": BUYER.auth(
        "GET", "/jobs/run_ok", sign_path="/jobs/run_budget")},
     "bad_signature"),
    ("signed for HEAD, sent as GET", {"Authorization": BUYER.auth(
        "GET", "/jobs/run_ok", sign_method="HEAD")}, "bad_signature"),
    ("another key's signature", {"Authorization": SELLER.auth(
        "GET", "/jobs/run_ok", key_id="k-buyer-5")}, "bad_signature"),
    ("decoded path signed instead of the raw one", {
        "Authorization": BUYER.auth("GET", "/jobs/run%5Fok",
                                    sign_path="/jobs/run_ok")},
     "bad_signature"),
]
for what, hdr, reason in auth_rows:
    path = "/jobs/run%5Fok" if "decoded" in what else "/jobs/run_ok"
    st, head, body = request(port, path, headers=hdr)
    check("%s: 401 (%s)" % (what, reason), st == 401 and
          "WWW-Authenticate: GR-Ed25519" in head, st)
    want(reason)

# A replay of a good request within the window.
hdr = {"Authorization": BUYER.auth("GET", "/jobs/run_ok")}
st1, _, _ = request(port, "/jobs/run_ok", headers=hdr)
st2, _, _ = request(port, "/jobs/run_ok", headers=hdr)
check("replayed signature: 200 then 401", (st1, st2) == (200, 401),
      (st1, st2))
want("replay")
# The same nonce under another path is a fresh signature but the same
# (key, nonce): refused too.
nonce = secrets.token_urlsafe(18)
st1, _, _ = signed(port, BUYER, "/jobs/run_ok", nonce=nonce)
st2, _, _ = signed(port, BUYER, "/jobs/run_budget", nonce=nonce)
check("nonce reused on another path: 401", (st1, st2) == (200, 401),
      (st1, st2))
want("replay")

# ---- paths ----------------------------------------------------------------

path_rows = [
    # (path, signed?, expected status)
    ("/jobs/../metrics", False, 404),
    ("/jobs/run_ok/../run_other", True, 404),
    ("/jobs/..%2Fmetrics", True, 404),
    ("/jobs/..%2Fmetrics", False, 401),
    ("/jobs/run_ok%2F", True, 404),
    ("/jobs/%2e%2e", True, 404),
    ("/jobs/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", True, 404),
    ("/jobs/run%5Fok", True, 200),     # an encoded '_' is still run_ok
    ("/jobs/run_ok%2Ejson", True, 404),  # the id "run_ok.json"
    ("/jobs/%ZZ", True, 400),
    ("/jobs/%4", True, 400),
    ("/jobs/abc%", True, 400),
    ("/jobs/%00run_ok", True, 400),
    ("/jobs/run_ok%0d%0aSet-Cookie:x=1", True, 400),
    ("/jobs/" + "a" * 128, True, 400),
    ("/jobs/" + "%41" * 128, True, 400),
    ("/jobs/", True, 400),
    ("/jobs/.json", True, 400),
    ("/jobs", False, 404),
    ("//jobs/run_ok", False, 404),
    ("/JOBS/run_ok", False, 404),
    ("/metrics/../jobs/run_ok", False, 404),
    ("/%6Detrics", False, 404),
]
for path, sign, status in path_rows:
    st, _, body = (signed(port, MKT, path) if sign else
                   request(port, path))
    check("path %s%s: %d" % (path[:60], " (signed)" if sign else "",
                             status), st == status, (st, body[:120]))
    if not sign and status == 401:
        want("missing")
    check("path %s: nothing reflected raw" % path[:40],
          b"<script" not in body.lower(), body[:200])

# ---- methods and bodies ----------------------------------------------------

for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
    st, _, _ = request(port, "/jobs/run_ok", method=method)
    check("%s: 405" % method, st == 405, st)
st, _, _ = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 5\r\nConnection: close\r\n\r\nhello")
check("GET with a body: 413", st == 413, st)
st, _, _ = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n"
                    b"\r\n5\r\nhello\r\n0\r\n\r\n")
check("GET chunked: 413", st == 413, st)

# ---- malformed and oversized requests (libmicrohttpd refuses) -------------

raw_rows = [
    ("binary garbage", b"\x00\x01\x02\x03\xff\xfe\r\n\r\n"),
    ("no version", b"GET /healthz\r\n\r\n"),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n"),
    ("header without colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     b"garbage\r\n\r\n"),
    ("20 KiB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " +
     b"a" * 20000 + b"\r\n\r\n"),
    ("20 KiB path", b"GET /jobs/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x"
     b"\r\n\r\n"),
    ("2000 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-%d: y\r\n" % i for i in range(2000)) + b"\r\n"),
    ("bare LF lines", b"GET /healthz HTTP/1.1\nHost: x\n\n"),
    ("half a request, then close", b"GET /healthz HTTP/1.1\r\nHo"),
]
for what, data in raw_rows:
    st, _, _ = exchange(port, data)
    check("%s: refused or answered, no crash (%s)" % (what, st),
          st is None or 400 <= st < 600 or (what == "bare LF lines" and
                                            st == 200), st)
st, _, _ = request(port, "/healthz")
check("still serving after malformed requests", st == 200, st)

# ---- metrics token ----------------------------------------------------------

st, head, _ = request(port, "/metrics")
check("/metrics without token: 401", st == 401 and "Bearer" in head, st)
want("bad_token")
st, _, _ = request(port, "/metrics", headers={"Authorization":
                                               "Bearer wrong"})
check("/metrics wrong token: 401", st == 401, st)
want("bad_token")
st, _, _ = request(port, "/metrics", headers={"Authorization":
                                               "Bearer " + TOKEN + "x"})
check("/metrics token with a suffix: 401", st == 401, st)
want("bad_token")
st, _, _ = request(port, "/healthz")
check("/healthz needs no token", st == 200, st)

# ---- slow clients and floods (bounded) --------------------------------------

def wait_serving(port, limit=20):
    t0 = time.time()
    while time.time() - t0 < limit:
        try:
            st, _, _ = request(port, "/healthz")
            if st == 200:
                return time.time() - t0
        except OSError:
            pass
        time.sleep(0.2)
    return None


def still_open(s):
    """True while the server has not closed s (nothing to read yet)."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.settimeout(10)


def stall_eight():
    """Open 8 stalled connections (metrics.per.ip.connections=8), wait
    until the server holds all 8 (asked from another loopback address),
    then try a ninth from 127.0.0.1.  Returns the ninth's status, the
    stalled sockets, and whether the phase held: all 8 still open and
    younger than metrics.timeout.s when the ninth was answered."""
    slow = []
    t0 = time.monotonic()
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /jobs/run_ok HTTP/1.1\r\nHost: x\r\n")  # never ends
        slow.append(s)
    while time.monotonic() - t0 < 1.0:
        if metrics(port, source="127.0.0.2")["gr_http_connections_open"] >= 9:
            break       # the 8 and this scrape
        time.sleep(0.05)
    try:
        st, _, _ = request(port, "/healthz")
    except OSError:
        st = None
    held = time.monotonic() - t0 < 1.8 and all(still_open(s) for s in slow)
    return st, slow, held


for _ in range(3):
    st, slow, held = stall_eight()
    if held or st is None:
        break
    # The server was not holding 8 stalled clients when the ninth came
    # (this process was descheduled past the 2 s timeout): not the case
    # under test, so run it again once they have all timed out.
    print("note  stall phase did not hold (ninth answered %s); again" % st)
    for s in slow:
        s.close()
    wait_serving(port)
check("a ninth connection from the same address is refused while 8 stall",
      st is None, st)
st, _, _ = request(port, "/healthz", source="127.0.0.2")
check("another address is served beside the 8 stalled clients", st == 200, st)
waited = wait_serving(port)
check("stalled clients time out (2 s) and serving resumes",
      waited is not None and waited < 15, waited)
for s in slow:
    try:
        check("a stalled client was closed by the server",
              s.recv(100) == b"")
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()

flood = []
for _ in range(40):
    try:
        flood.append(socket.create_connection(("127.0.0.1", port),
                                              timeout=5))
    except OSError:
        break
for s in flood:
    s.close()
waited = wait_serving(port)
check("after 40 idle connections, serving resumes", waited is not None,
      waited)

# ---- markup in a job id -------------------------------------------------------

enc = "/jobs/" + urllib.parse.quote(XSS_ID, safe="")
st, head, body = signed(port, XSSBUYER, enc)
check("job id with markup: 200 for its buyer", st == 200, st)
check("job id with markup: escaped in the page",
      b"<script" not in body.lower() and b"<img" not in body.lower() and
      b"&lt;script&gt;" in body, body[:300])
st, head, body = signed(port, XSSBUYER, enc + ".json")
check("job id with markup: JSON is application/json",
      st == 200 and "application/json" in head and
      json.loads(body)["job_id"] == XSS_ID, st)
st, head, body = signed(port, MKT, "/jobs/" + urllib.parse.quote(
    "<b>nosuch</b>", safe=""))
check("unknown job id with markup: 404, escaped", st == 404 and
      b"<b>" not in body and b"&lt;b&gt;nosuch" in body, body[:300])

# ---- receiptctl receipt --server ------------------------------------------------

base = "http://127.0.0.1:%d" % port
r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server", base,
                    "--key", BUYER.secret_file()], capture_output=True,
                   text=True, timeout=60)
check("receiptctl receipt --server (buyer, JSON)", r.returncode == 0 and
      json.loads(r.stdout)["job_id"] == "run_ok", (r.returncode, r.stderr))
r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server", base,
                    "--key", BUYER.secret_file(), "--html"],
                   capture_output=True, text=True, timeout=60)
check("receiptctl receipt --server --html", r.returncode == 0 and
      "<!DOCTYPE html>" in r.stdout, (r.returncode, r.stderr))
r = subprocess.run([RECEIPTCTL, "receipt", XSS_ID, "--server", base,
                    "--key", XSSBUYER.secret_file()], capture_output=True,
                   text=True, timeout=60)
check("receiptctl percent-encodes the id", r.returncode == 0 and
      json.loads(r.stdout)["job_id"] == XSS_ID, (r.returncode, r.stderr))
r = subprocess.run([RECEIPTCTL, "receipt", "run_other", "--server", base,
                    "--key", BUYER.secret_file()], capture_output=True,
                   text=True, timeout=60)
check("receiptctl: another's job is 403, exit 1", r.returncode == 1 and
      "403" in r.stderr, (r.returncode, r.stderr))
want("forbidden")
loose = BUYER.secret_file()
os.chmod(loose, 0o644)
r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server", base,
                    "--key", loose], capture_output=True, text=True,
                   timeout=60)
check("receiptctl refuses a key file others can read", r.returncode == 2
      and "chmod 600" in r.stderr, (r.returncode, r.stderr))
r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server",
                    "ftp://127.0.0.1:1", "--key", BUYER.secret_file()],
                   capture_output=True, text=True, timeout=60)
check("receiptctl refuses a server URL it cannot speak", r.returncode == 2,
      (r.returncode, r.stderr))
r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server", base,
                    "--key", BUYER.secret_file(), "--print-auth"],
                   capture_output=True, text=True, timeout=60)
check("receiptctl --print-auth prints a header curl can send",
      r.returncode == 0 and r.stdout.startswith("Authorization: GR-Ed25519"),
      (r.returncode, r.stdout, r.stderr))
if r.returncode == 0:
    st, _, _ = request(port, "/jobs/run_ok.json", headers={
        "Authorization": r.stdout.strip().split(": ", 1)[1]})
    check("the printed header works once", st == 200, st)

# ---- the counters add up ---------------------------------------------------------

t0 = time.time()
while time.time() - t0 < 20:
    m = metrics(port)
    if m["gr_http_connections_open"] <= 1:
        break
    time.sleep(0.2)
m = metrics(port)
answered = sum(v for k, v in m.items()
               if k.startswith("gr_http_requests_total{"))
unanswered = sum(v for k, v in m.items()
                 if k.startswith("gr_http_requests_unanswered_total{"))
started = m["gr_http_requests_started_total"]
check("started = answered + unanswered (+1: this scrape)",
      started == answered + unanswered + 1,
      (started, answered, unanswered))
for reason in ("missing", "malformed", "stale", "unknown_key", "expired_key",
               "bad_signature", "replay", "forbidden", "bad_token"):
    got = m['gr_http_auth_failures_total{reason="%s"}' % reason]
    check("gr_http_auth_failures_total{reason=%s} = %d" %
          (reason, expect.get(reason, 0)), got == expect.get(reason, 0), got)
check("401s = auth failures other than forbidden",
      m['gr_http_requests_total{code="401"}'] ==
      sum(v for k, v in expect.items() if k != "forbidden"),
      m['gr_http_requests_total{code="401"}'])
check("timeouts were counted",
      m['gr_http_requests_unanswered_total{reason="timeout"}'] >= 8,
      m['gr_http_requests_unanswered_total{reason="timeout"}'])
check("requests refused by the HTTP layer were counted",
      m['gr_http_requests_unanswered_total{reason="server_reply"}'] +
      m['gr_http_requests_unanswered_total{reason="error"}'] +
      m['gr_http_requests_unanswered_total{reason="client_abort"}'] +
      m['gr_http_requests_unanswered_total{reason="read_error"}'] >= 3, m)
st, _, _ = request(port, "/healthz")
check("the server still answers at the end", st == 200, st)
check("the server stops cleanly", stop(srv) == 0)

# ---- configurations refused at start-up ------------------------------------------

rc, err = start("metrics.listen=0.0.0.0:0", "metrics.jobs.unsigned=true",
                expect_fail=True)
check("unsigned /jobs/ on 0.0.0.0 refused at start-up",
      rc == 2 and "loopback" in err, (rc, err))
rc, err = start("metrics.listen=:0", "metrics.jobs.unsigned=true",
                expect_fail=True)
check("unsigned /jobs/ on every interface refused", rc == 2, (rc, err))
os.chmod(TOKEN_FILE, 0o640)
rc, err = start("metrics.token.file=" + TOKEN_FILE, expect_fail=True)
check("a token file others can read is refused", rc == 2 and
      "chmod 600" in err and TOKEN not in err, (rc, err))
os.chmod(TOKEN_FILE, 0o600)

# ---- unsigned mode on loopback -------------------------------------------------

srv2, port2 = start("metrics.jobs.unsigned=true")
st, _, _ = request(port2, "/jobs/run_ok")
check("unsigned mode on loopback: /jobs/ without a signature", st == 200, st)
st, _, _ = request(port2, "/metrics")
check("no token configured: /metrics open", st == 200, st)
stop(srv2)

# ---- TLS ------------------------------------------------------------------------

if shutil.which("openssl"):
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"],
                       capture_output=True, timeout=60)
    check("openssl made a test certificate", r.returncode == 0, r.stderr)
    os.chmod(key, 0o644)
    rc, err = start("metrics.tls.cert=" + cert, "metrics.tls.key=" + key,
                    expect_fail=True)
    check("a TLS key others can read is refused", rc == 2 and
          "chmod 600" in err, (rc, err))
    os.chmod(key, 0o600)
    rc, err = start("metrics.tls.cert=" + cert, expect_fail=True)
    check("a certificate without its key is refused", rc == 2 and
          "together" in err, (rc, err))
    srv3, port3 = start("metrics.tls.cert=" + cert, "metrics.tls.key=" + key,
                        "keys.registry=" + REGISTRY,
                        "metrics.token.file=" + TOKEN_FILE)
    ctx = ssl.create_default_context(cafile=cert)
    st, _, _ = request(port3, "/healthz", tls_ctx=ctx)
    check("HTTPS /healthz", st == 200, st)
    st, _, _ = request(port3, "/jobs/run_ok", tls_ctx=ctx)
    check("HTTPS /jobs/ unsigned: 401", st == 401, st)
    h = {"Authorization": BUYER.auth("GET", "/jobs/run_ok")}
    st, _, body = request(port3, "/jobs/run_ok", headers=h, tls_ctx=ctx)
    check("HTTPS /jobs/ signed: 200", st == 200 and b"run_ok" in body, st)
    st, _, _ = request(port3, "/healthz")
    check("plain HTTP to the HTTPS port gets no HTTP answer", st is None, st)
    st, _, _ = request(port3, "/healthz", tls_ctx=ctx)
    check("HTTPS still serves after a plain-HTTP client", st == 200, st)
    r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server",
                        "https://localhost:%d" % port3, "--key",
                        BUYER.secret_file(), "--cacert", cert],
                       capture_output=True, text=True, timeout=60)
    check("receiptctl receipt --server https:// --cacert",
          r.returncode == 0 and json.loads(r.stdout)["job_id"] == "run_ok",
          (r.returncode, r.stderr))
    r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server",
                        "https://localhost:%d" % port3, "--key",
                        BUYER.secret_file()], capture_output=True, text=True,
                       timeout=60)
    check("receiptctl over https refuses an untrusted certificate",
          r.returncode == 1 and "TLS" in r.stderr, (r.returncode, r.stderr))
    r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server",
                        "https://127.0.0.1:%d" % port3, "--key",
                        BUYER.secret_file(), "--cacert", cert],
                       capture_output=True, text=True, timeout=60)
    check("receiptctl over https refuses a name the certificate lacks",
          r.returncode == 1 and "TLS" in r.stderr, (r.returncode, r.stderr))
    m3 = metrics(port3, tls_ctx=ctx)
    check("HTTPS counters", m3['gr_http_requests_total{code="200"}'] >= 3,
          m3['gr_http_requests_total{code="200"}'])
    stop(srv3)

shutil.rmtree(TMP, ignore_errors=True)
if FAILS:
    print("%d check(s) failed" % len(FAILS))
    sys.exit(1)
print("all checks passed")
