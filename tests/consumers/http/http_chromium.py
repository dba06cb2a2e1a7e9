#!/usr/bin/python3
"""Job ids carrying HTML/JS, served by receiptd's HTTP server and loaded in
headless Chromium: nothing may execute.

The server (tests/consumers/http/http_serve, unsigned mode on 127.0.0.1 since a
browser cannot sign) holds jobs whose ids are script and event-handler
payloads.  Each page — the receipt, the 404 page of an unknown id, the 400
page, the JSON form — is loaded with --dump-dom; a payload that ran would
set the title to "pwned" or a data-pwned attribute on <html>.  A control
page with the same payload unescaped (a local file) must show it ran, so a
pass means the escaping held, not that the browser did not run scripts.

usage: http_chromium.py HTTP_SERVE
Exit 77 (skip) without chromium.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

SERVE = sys.argv[1]
CHROMIUM = os.environ.get("GR_CHROMIUM") or next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                 "/usr/lib/chromium/chromium") if os.access(p, os.X_OK)),
    None)
if not CHROMIUM:
    print("chromium not installed: skipped")
    sys.exit(77)

TMP = tempfile.mkdtemp(prefix="gr-http-chromium-")
FAILS = []
MARK = "document.documentElement.setAttribute('data-pwned','1');" \
       "document.title='pwned'"
PAYLOADS = [
    "<script>%s</script>" % MARK,
    "<img src=x onerror=\"%s\">" % MARK,
    "\"><svg onload=\"%s\">" % MARK,
    "</code></p><script>%s</script>" % MARK,
    "'><iframe srcdoc='<script>parent.%s</script>'>" % MARK,
]


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what +
          ("" if ok else "  " + str(detail)[:400]))
    if not ok:
        FAILS.append(what)


def dump(url):
    r = subprocess.run(
        ["timeout", "120", CHROMIUM, "--headless", "--no-sandbox",
         "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--user-data-dir=" + os.path.join(TMP, "profile"), "--dump-dom",
         url], capture_output=True, text=True, timeout=150)
    return r.returncode, r.stdout


def ran(dom):
    # On the <html> element itself (the text of the page may well contain
    # the words, escaped).
    return bool(re.search(r"<html[^>]*data-pwned", dom)) or \
        "<title>pwned</title>" in dom


# Control: the browser does run the payload when it is not escaped.
ctl = os.path.join(TMP, "control.html")
with open(ctl, "w") as f:
    f.write("<!DOCTYPE html><html><head><title>c</title></head><body>%s"
            "</body></html>" % PAYLOADS[0])
rc, dom = dump("file://" + ctl)
check("control: an unescaped payload runs in this browser",
      rc == 0 and ran(dom), (rc, dom[:300]))

events = os.path.join(TMP, "events.jsonl")
with open(events, "w") as f:
    for i, jid in enumerate(PAYLOADS):
        assert len(jid.encode()) < 128, jid
        f.write(json.dumps({
            "event_id": "x%d-q" % i, "job_id": jid, "attempt": 1,
            "type": "quote_accepted", "occurred_at": "2026-05-25T08:03:00Z",
            "actor": {"role": "marketplace", "id": jid},
            "body": {"quote_id": jid, "provider_id": jid, "gpu": jid,
                     "vram_gb": 80, "region": jid, "driver_family": "535",
                     "window_start": "2026-05-25T08:00:00Z",
                     "window_end": "2026-05-25T08:30:00Z",
                     "price": {"amount_minor": 420, "currency": "USD"}}})
                + "\n")

p = subprocess.Popen([SERVE, events, "metrics.jobs.unsigned=true"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
m = re.match(r"port=(\d+)", p.stdout.readline())
if not m:
    p.kill()
    raise SystemExit("http_serve did not start")
base = "http://127.0.0.1:%s" % m.group(1)
try:
    for i, jid in enumerate(PAYLOADS):
        enc = urllib.parse.quote(jid, safe="")
        for what, url, must_show in (
                ("receipt", "/jobs/" + enc, True),
                ("404 page", "/jobs/" + enc + "~", len(jid.encode()) < 127),
                ("JSON", "/jobs/" + enc + ".json", False),
                ("400 page", "/jobs/" + enc + "%00", False)):
            rc, dom = dump(base + url)
            check("payload %d, %s: loaded" % (i, what), rc == 0 and
                  "<html" in dom, (rc, dom[:200]))
            check("payload %d, %s: nothing ran" % (i, what), not ran(dom),
                  dom[:600])
            if must_show:
                # The id is shown as text: its escaped form is in the DOM.
                check("payload %d, %s: the id is shown as text" % (i, what),
                      "&lt;" in dom, dom[:600])
finally:
    p.stdin.close()
    p.wait(timeout=30)
shutil.rmtree(TMP, ignore_errors=True)
if FAILS:
    print("%d check(s) failed" % len(FAILS))
    sys.exit(1)
print("all checks passed")
