#!/usr/bin/python3
"""A real Prometheus server (Debian package `prometheus`) on loopback scrapes
a gr_metrics endpoint (metrics_serve, fed by replaying a data file through
the engine) and the counters are read back through Prometheus' HTTP API.

usage: prometheus_scrape.py METRICS_SERVE DATA.jsonl
Exit 77 (ctest skip) when no prometheus binary is installed.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

serve_bin, data = sys.argv[1:3]
prom = shutil.which("prometheus")
if not prom:
    print("prometheus not installed (Debian package prometheus): skipped")
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def query(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (
        port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(body)
    return body["data"]["result"]


serve = subprocess.Popen([serve_bin, data], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
prom_proc = None
tmp = tempfile.mkdtemp(prefix="gr-prom-")
rc = 1
try:
    first = serve.stdout.readline().split()
    info = dict(kv.split("=") for kv in first)
    target = int(info["port"])
    want_applied = int(info["applied"])
    want_r7 = int(info["decisions_hold_r7"])
    assert want_applied > 0 and want_r7 > 0, info
    pport = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: receiptd\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % target)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom_proc = subprocess.Popen(
        [prom, "--config.file=" + cfg,
         "--storage.tsdb.path=" + os.path.join(tmp, "data"),
         "--web.listen-address=127.0.0.1:%d" % pport,
         "--log.level=warn"], stdout=log, stderr=log)
    deadline = time.time() + 90
    got = None
    while time.time() < deadline:
        time.sleep(1)
        if prom_proc.poll() is not None:
            raise RuntimeError("prometheus exited %d" % prom_proc.returncode)
        try:
            up = query(pport, 'up{job="receiptd"}')
            res = query(pport, "gr_events_applied_total")
        except (OSError, RuntimeError):
            continue
        if up and up[0]["value"][1] == "1" and res:
            got = res
            break
    assert got, "prometheus never scraped the target (see %s)" % tmp
    applied = int(float(got[0]["value"][1]))
    print("prometheus %s scraped gr_events_applied_total = %d (want %d)"
          % (subprocess.run([prom, "--version"], capture_output=True,
                            text=True).stdout.split("\n")[0], applied,
             want_applied))
    assert applied == want_applied
    r7 = query(pport, 'gr_decisions_total{settlement="hold",rule="R7"}')
    assert r7 and int(float(r7[0]["value"][1])) == want_r7, r7
    ready = query(pport, "gr_ready")
    assert ready and ready[0]["value"][1] == "1", ready
    # A PromQL aggregation over labels works on what we expose.
    rej = query(pport, "sum(gr_events_rejected_total)")
    assert rej, rej
    print("gr_decisions_total{hold,R7} = %d, sum(rejected) = %s: ok"
          % (want_r7, rej[0]["value"][1]))
    rc = 0
except Exception as e:  # report, then clean up
    print("FAIL: %r" % (e,))
    rc = 1
finally:
    if prom_proc:
        prom_proc.terminate()
        try:
            prom_proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prom_proc.kill()
    serve.stdin.close()
    try:
        serve.wait(timeout=20)
    except subprocess.TimeoutExpired:
        serve.kill()
    if rc == 0:
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(rc)
