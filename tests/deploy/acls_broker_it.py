#!/usr/bin/python3
"""deploy/acls.sh against a real broker: a one-node Apache Kafka (KRaft)
on loopback with SASL/PLAIN and the StandardAuthorizer, nothing allowed
but what acls.sh adds.  receiptd (as User:receiptd) must process the
scenarios into exactly replay's decisions with transactions, restore after
a restart, and serve /jobs/ from the restored state (the job parties came
back through the state topic); the event producer (User:gpu-events) may
only write events; a stranger may do nothing.

usage: acls_broker_it.py RECEIPTCTL RECEIPTD DEPLOY_DIR SCENARIOS [JARS]
The broker's jars: GR_KAFKA_JARS, else KAFKA_HOME/libs, else JARS (the
folder tests/kafka's cluster script fills with Maven).  Exit 77 (skip)
without them, java or kcat.  Every wait is bounded.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "kafka"))
import kafka_cluster  # noqa: E402

RECEIPTCTL, RECEIPTD, DEPLOY, SCENARIOS = sys.argv[1:5]
JARS = os.environ.get("GR_KAFKA_JARS") or (
    os.path.join(os.environ["KAFKA_HOME"], "libs")
    if os.environ.get("KAFKA_HOME") else
    (sys.argv[5] if len(sys.argv) > 5 else ""))
if not (JARS and os.path.isdir(JARS) and any(
        f.startswith("kafka_2.13") for f in os.listdir(JARS))):
    print("no Kafka jars (GR_KAFKA_JARS, KAFKA_HOME): skipped")
    sys.exit(77)
for tool in ("java", "kcat"):
    if not shutil.which(tool):
        print("%s not installed: skipped" % tool)
        sys.exit(77)

TMP = tempfile.mkdtemp(prefix="gr-acls-it-")
CP = os.path.join(JARS, "*")
FAILS = []
PW = {"admin": "admin-secret", "receiptd": "r-secret",
      "gpu-events": "p-secret", "mallory": "m-secret"}


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what +
          ("" if ok else "  " + str(detail)[:1500]))
    if not ok:
        FAILS.append(what)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


bport, cport, mport = free_ports(3)
BOOT = "127.0.0.1:%d" % bport
jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        "username=\"admin\" password=\"admin-secret\" " +
        " ".join('user_%s="%s"' % kv for kv in PW.items()) + ";")
props = os.path.join(TMP, "server.properties")
with open(props, "w") as f:
    f.write("""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%d
listeners=SASL_PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:%d
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=%s
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.dirs=%s
""" % (cport, bport, cport, bport, jaas, os.path.join(TMP, "data")))
admin = os.path.join(TMP, "admin.properties")
with open(admin, "w") as f:
    f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
            "sasl.jaas.config=org.apache.kafka.common.security.plain."
            "PlainLoginModule required username=\"admin\" "
            "password=\"admin-secret\";\n")
bindir = os.path.join(TMP, "bin")
os.mkdir(bindir)
for name, cls in (("kafka-acls.sh", "org.apache.kafka.tools.AclCommand"),
                  ("kafka-topics.sh", "org.apache.kafka.tools.TopicCommand")):
    with open(os.path.join(bindir, name), "w") as f:
        f.write('#!/bin/sh\nexec java -Xmx256m -cp "%s" %s "$@"\n' % (CP, cls))
    os.chmod(os.path.join(bindir, name), 0o755)


def sasl(user):
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X",
            "sasl.mechanisms=PLAIN", "-X", "sasl.username=" + user, "-X",
            "sasl.password=" + PW[user]]


def kcat(user, *args, stdin=None):
    return subprocess.run(["kcat", "-b", BOOT] + sasl(user) + list(args),
                          input=stdin, capture_output=True, text=True,
                          timeout=40)


def decisions():
    r = kcat("admin", "-C", "-t", "gpu.settlement.decisions", "-e", "-q",
             "-X", "isolation.level=read_committed")
    return len([l for l in r.stdout.splitlines() if l.strip()])


procs = []
rc = 1
try:
    cid = kafka_cluster.new_cluster_id()
    r = subprocess.run(["java", "-cp", CP, "kafka.tools.StorageTool",
                        "format", "-t", cid, "-c", props],
                       capture_output=True, text=True, timeout=120)
    check("storage formatted", r.returncode == 0, r.stderr)
    blog = open(os.path.join(TMP, "broker.log"), "w")
    broker = subprocess.Popen(["java", "-Xmx768m", "-cp", CP, "kafka.Kafka",
                               props], stdout=blog, stderr=blog,
                              start_new_session=True)
    procs.append(broker)
    kt = os.path.join(bindir, "kafka-topics.sh")
    t0 = time.time()
    while time.time() - t0 < 120:
        r = subprocess.run([kt, "--bootstrap-server", BOOT,
                            "--command-config", admin, "--list"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            break
        time.sleep(1)
    check("broker up with SASL and the StandardAuthorizer",
          r.returncode == 0, r.stderr[-500:])
    for t, extra in (("job.events", []),
                     ("job.state", ["--config", "cleanup.policy=compact"]),
                     ("job.ledger", []), ("settlement.decisions", []),
                     ("job.events.dlq", []), ("job.ledger.heads", [])):
        r = subprocess.run([kt, "--bootstrap-server", BOOT,
                            "--command-config", admin, "--create", "--topic",
                            "gpu." + t, "--partitions", "4",
                            "--replication-factor", "1"] + extra,
                           capture_output=True, text=True, timeout=60)
        check("topic gpu.%s created by the admin" % t, r.returncode == 0,
              r.stderr[-300:])

    # Before any ACL, receiptd's principal may do nothing.
    r = kcat("receiptd", "-C", "-t", "gpu.job.events", "-e", "-q")
    check("without ACLs receiptd cannot read", "uthoriz" in r.stderr,
          r.stderr[-300:])

    env = dict(os.environ, KAFKA_ACLS=os.path.join(bindir, "kafka-acls.sh"),
               BOOTSTRAP=BOOT, COMMAND_CONFIG=admin)
    r = subprocess.run(["sh", os.path.join(DEPLOY, "acls.sh")], env=env,
                       capture_output=True, text=True, timeout=300)
    check("deploy/acls.sh ran against the broker", r.returncode == 0,
          r.stderr[-500:])

    em = subprocess.run([RECEIPTCTL, "emit", "--bootstrap", BOOT] +
                        sasl("gpu-events") + [SCENARIOS],
                        capture_output=True, text=True, timeout=120)
    check("the event producer writes the events topic", em.returncode == 0,
          em.stderr[-300:])
    want = subprocess.run([RECEIPTCTL, "replay", "--emit", "decisions",
                           SCENARIOS], capture_output=True, text=True,
                          timeout=60).stdout.count("\n")

    # A buyer key for /jobs/ after the restart.
    kd = os.path.join(TMP, "keys")
    os.mkdir(kd)
    subprocess.run([RECEIPTCTL, "keygen", "--role", "buyer", "--id",
                    "k-buyer-5", "--out", kd], check=True,
                   capture_output=True, timeout=60)
    with open(os.path.join(kd, "k-buyer-5.pub.json")) as f:
        e = json.load(f)
    e["actor_id"] = "buyer-5"
    reg = os.path.join(kd, "registry.json")
    with open(reg, "w") as f:
        json.dump([e], f)

    def receiptd(n, extra=()):
        log = open(os.path.join(TMP, "receiptd-%d.log" % n), "w")
        p = subprocess.Popen(
            [RECEIPTD, "-X", "bootstrap.servers=" + BOOT] + sasl("receiptd") +
            ["-X", "producer.transactional.id=gpu-receipts-it",
             "-X", "consumer.fetch.wait.max.ms=10",
             "-X", "startup.timeout.ms=30000"] + list(extra),
            stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    rd = receiptd(1)
    t0 = time.time()
    got = 0
    while time.time() - t0 < 120 and got < want:
        time.sleep(1)
        got = decisions()
    check("receiptd under the ACLs publishes replay's %d decisions" % want,
          got == want, got)
    rd.send_signal(signal.SIGTERM)
    check("receiptd stops cleanly", rd.wait(timeout=60) == 0)

    # Least privilege, seen from the other side.
    r = kcat("gpu-events", "-P", "-t", "gpu.settlement.decisions",
             stdin="x\n")
    check("the event producer cannot write decisions",
          "uthoriz" in r.stderr, r.stderr[-300:])
    r = kcat("gpu-events", "-C", "-t", "gpu.job.events", "-e", "-q")
    check("the event producer cannot read events", "uthoriz" in r.stderr,
          r.stderr[-300:])
    r = kcat("receiptd", "-C", "-t", "gpu.settlement.decisions", "-e", "-q")
    check("receiptd cannot read its outputs", "uthoriz" in r.stderr,
          r.stderr[-300:])
    r = kcat("receiptd", "-P", "-t", "gpu.job.events", stdin="x\n")
    check("receiptd cannot write events (window_clock off)",
          "uthoriz" in r.stderr, r.stderr[-300:])
    r = kcat("mallory", "-C", "-t", "gpu.job.events", "-e", "-q")
    check("a stranger cannot read events", "uthoriz" in r.stderr,
          r.stderr[-300:])

    # Restart: restore under the ACLs, nothing published twice, and the
    # job parties came back with the state.
    rd = receiptd(2, ["-X", "metrics.listen=127.0.0.1:%d" % mport,
                      "-X", "keys.registry=" + reg])
    t0 = time.time()
    ready = False
    while time.time() - t0 < 60 and not ready:
        time.sleep(0.5)
        try:
            s = socket.create_connection(("127.0.0.1", mport), timeout=2)
            s.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
            ready = s.recv(100).startswith(b"HTTP/1.1 200")
            s.close()
        except OSError:
            pass
    check("restarted receiptd restored its partitions", ready)
    key = os.path.join(kd, "k-buyer-5.key.json")
    url = "http://127.0.0.1:%d" % mport
    r = subprocess.run([RECEIPTCTL, "receipt", "run_ok", "--server", url,
                        "--key", key], capture_output=True, text=True,
                       timeout=60)
    check("after the restart the buyer reads its job (parties restored)",
          r.returncode == 0 and json.loads(r.stdout)["job_id"] == "run_ok",
          (r.returncode, r.stderr))
    r = subprocess.run([RECEIPTCTL, "receipt", "run_8841", "--server", url,
                        "--key", key], capture_output=True, text=True,
                       timeout=60)
    check("and not another's job (403)", r.returncode == 1 and
          "403" in r.stderr, (r.returncode, r.stderr))
    rd.send_signal(signal.SIGTERM)
    check("restarted receiptd stops cleanly", rd.wait(timeout=60) == 0)
    check("no decision published twice", decisions() == want)
    rc = 1 if FAILS else 0
except Exception as e:  # report, then clean up
    print("FAIL: %r (logs in %s)" % (e, TMP))
    rc = 1
finally:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    if rc == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("logs kept in " + TMP)
print("all checks passed" if rc == 0 else "%d check(s) failed" % len(FAILS))
sys.exit(rc)
