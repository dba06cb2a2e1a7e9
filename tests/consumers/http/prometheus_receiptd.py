#!/usr/bin/python3
"""Integration (label kafka): a real Prometheus server on loopback scrapes a
real receiptd running against the embedded broker (or, with
GR_KAFKA_BROKER=real GR_KAFKA_CLUSTER=DIR, the real cluster of tests/kafka)
while the scenario events
flow, and the counters are read back through Prometheus' HTTP API and
compared with what `receiptctl replay` decides for the same input.

usage: prometheus_receiptd.py RECEIPTCTL RECEIPTD DATA.jsonl
Exit 77 (skip) when prometheus is not installed, or when this receiptd does
not know `metrics.listen` yet (gr_metrics not wired in).  Every wait is
bounded.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

receiptctl, receiptd, data = sys.argv[1:4]
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


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def query(port, q):
    st, body = get("http://127.0.0.1:%d/api/v1/query?%s" % (
        port, urllib.parse.urlencode({"query": q})))
    body = json.loads(body)
    return body["data"]["result"] if body.get("status") == "success" else []


def value(res):
    return int(float(res[0]["value"][1])) if res else None


def wait(what, fn, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError("timed out waiting for " + what)


# What the same engine decides offline: the expected counters.
rep = subprocess.run([receiptctl, "replay", "--emit", "decisions", data],
                     capture_output=True, text=True, timeout=60)
decisions = [json.loads(l) for l in rep.stdout.splitlines() if l.strip()]
want_r7 = sum(1 for d in decisions
              if d["rule"] == "R7" and d["settlement"] == "hold")
want_records = sum(1 for l in open(data) if l.strip())

tmp = tempfile.mkdtemp(prefix="gr-prom-rd-")
procs = []
rc = 1
try:
    group = []
    if os.environ.get("GR_KAFKA_BROKER") == "real":
        # The real cluster of tests/kafka (kafka_it.py): fresh topics, a
        # group of our own.
        sys.path.insert(0, os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "..", "..", "kafka"))
        import kafka_it
        bootstrap = kafka_it.RealBroker(tmp).bootstrap
        group = ["-X", [kv for kv in kafka_it.RECEIPTD_X
                        if kv.startswith("group.id=")][-1]]
    else:
        broker = subprocess.Popen([receiptctl, "broker", "--partitions",
                                   "4"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        procs.append(broker)
        first = broker.stdout.readline().strip()
        assert first.startswith("bootstrap.servers="), first
        bootstrap = first.split("=", 1)[1]

    # A seller key for /jobs/ (run_8841's seller is worker-17).
    kg = subprocess.run([receiptctl, "keygen", "--role", "seller", "--id",
                         "k-worker-17", "--out", tmp],
                        capture_output=True, text=True, timeout=60)
    assert kg.returncode == 0, kg.stderr
    with open(os.path.join(tmp, "k-worker-17.pub.json")) as f:
        entry = json.load(f)
    entry["actor_id"] = "worker-17"
    registry = os.path.join(tmp, "registry.json")
    with open(registry, "w") as f:
        json.dump([entry], f)

    mport = free_port()
    rd_log = open(os.path.join(tmp, "receiptd.log"), "w")
    rd = subprocess.Popen(
        [receiptd, "-X", "bootstrap.servers=" + bootstrap,
         "-X", "metrics.listen=127.0.0.1:%d" % mport,
         "-X", "keys.registry=" + registry,
         "-X", "consumer.fetch.wait.max.ms=10",
         "-X", "consumer.session.timeout.ms=6000",
         "-X", "consumer.heartbeat.interval.ms=500"] + group,
        stdout=rd_log, stderr=subprocess.STDOUT)
    procs.append(rd)
    time.sleep(1)
    if rd.poll() == 2:
        log = open(os.path.join(tmp, "receiptd.log")).read()
        if "metrics.listen" in log:
            print("receiptd does not know metrics.listen yet "
                  "(gr_metrics not wired in): skipped")
            rc = 77
            raise SystemExit
    st, _ = get("http://127.0.0.1:%d/healthz" % mport)
    assert st == 200

    pport = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: receiptd\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % mport)
    plog = open(os.path.join(tmp, "prometheus.log"), "w")
    procs.append(subprocess.Popen(
        [prom, "--config.file=" + cfg,
         "--storage.tsdb.path=" + os.path.join(tmp, "data"),
         "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"],
        stdout=plog, stderr=plog))

    # Ready only after restore; Prometheus sees the target up.
    wait("/readyz 200", lambda: get("http://127.0.0.1:%d/readyz" % mport)[0]
         == 200, 60)
    wait("first scrape", lambda: value(query(pport, 'up{job="receiptd"}'))
         == 1, 60)

    em = subprocess.run([receiptctl, "emit", "--bootstrap", bootstrap, data],
                        capture_output=True, text=True, timeout=60)
    assert em.returncode == 0, em.stderr

    got = wait("events in Prometheus", lambda: value(query(
        pport, "sum(gr_events_in_total)")) == want_records, 90)
    r7 = wait("R7 decisions in Prometheus", lambda: value(query(
        pport, 'gr_decisions_total{settlement="hold",rule="R7"}'))
        == want_r7, 60)
    restores = value(query(pport, "gr_restores_total"))
    print("prometheus scraped receiptd: sum(gr_events_in_total) = %d, "
          "gr_decisions_total{hold,R7} = %d (replay: %d), gr_restores_total "
          "= %s" % (want_records, want_r7, want_r7, restores))
    assert got and r7 and restores and restores >= 1
    # /jobs/ answers only signed requests: unsigned 401, the job's seller
    # through receiptctl 200.
    st, _ = get("http://127.0.0.1:%d/jobs/run_8841" % mport)
    assert st == 401, st
    rc_ = subprocess.run(
        [receiptctl, "receipt", "run_8841", "--server",
         "http://127.0.0.1:%d" % mport, "--key",
         os.path.join(tmp, "k-worker-17.key.json"), "--html"],
        capture_output=True, text=True, timeout=60)
    assert rc_.returncode == 0, rc_.stderr
    page = rc_.stdout
    assert "FAILED HERE" in page and ">R7<" in page

    rd.send_signal(signal.SIGTERM)
    assert rd.wait(timeout=60) == 0
    rc = 0
except SystemExit:
    pass
except Exception as e:
    print("FAIL: %r (logs in %s)" % (e, tmp))
    rc = 1
finally:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    if rc != 1:
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(rc)
