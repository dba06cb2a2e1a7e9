#!/usr/bin/python3
"""deploy/acls.sh without a broker: run it against a stand-in kafka-acls.sh
that records its arguments, and check the ACL set it would create is the
least-privilege set docs/OPERATIONS.md §10 describes — no more, no less —
and that deploy/k8s-acls/acls-job.yaml embeds the script verbatim.  The
broker side (the ACLs accepted, receiptd working under them alone) is
acls_broker_it.py.

usage: acls_check.py DEPLOY_DIR
"""
import os
import shlex
import subprocess
import sys
import tempfile

DEPLOY = sys.argv[1]
FAILS = []


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what +
          ("" if ok else "  " + str(detail)[:2000]))
    if not ok:
        FAILS.append(what)


def run(**env):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls")
        stub = os.path.join(tmp, "kafka-acls.sh")
        with open(stub, "w") as f:
            f.write('#!/bin/sh\nfor a in "$@"; do printf "%%s\\037" "$a"; '
                    'done >> "%s"\necho >> "%s"\n' % (log, log))
        os.chmod(stub, 0o755)
        e = {"PATH": os.environ["PATH"], "KAFKA_ACLS": stub}
        e.update(env)
        r = subprocess.run(["sh", os.path.join(DEPLOY, "acls.sh")], env=e,
                           capture_output=True, text=True, timeout=60)
        calls = []
        if os.path.exists(log):
            for line in open(log).read().splitlines():
                calls.append(line.split("\x1f")[:-1])
        return r, calls


def acls(calls):
    """{(principal, resource type, name, pattern, operation)}"""
    out = set()
    for c in calls:
        d = {"ops": []}
        i = 0
        while i < len(c):
            a = c[i]
            if a == "--add":
                d["add"] = True
                i += 1
                continue
            v = c[i + 1]
            if a == "--operation":
                d["ops"].append(v)
            else:
                d[a] = v
            i += 2
        assert d.get("add"), c
        res = [k for k in ("--topic", "--group", "--transactional-id",
                           "--cluster") if k in d]
        assert len(res) == 1, c
        pat = d.get("--resource-pattern-type", "literal")
        for op in d["ops"]:
            out.add((d["--allow-principal"], res[0][2:], d[res[0]], pat, op))
    return out, calls


R, P = "User:receiptd", "User:gpu-events"
T = "gpu."
want = {
    (R, "topic", T + "job.events", "literal", "Read"),
    (R, "topic", T + "job.events", "literal", "Describe"),
    (R, "group", "gpu-receipts", "literal", "Read"),
    (R, "group", "gpu-receipts", "literal", "Describe"),
    (R, "group", "gpu-receipts.restore", "literal", "Read"),
    (R, "group", "gpu-receipts.restore", "literal", "Describe"),
    (R, "topic", T + "job.state", "literal", "Read"),
    (R, "topic", T + "job.state", "literal", "Write"),
    (R, "topic", T + "job.state", "literal", "Describe"),
    (R, "transactional-id", "gpu-receipts-", "prefixed", "Write"),
    (R, "transactional-id", "gpu-receipts-", "prefixed", "Describe"),
    (P, "topic", T + "job.events", "literal", "Write"),
    (P, "topic", T + "job.events", "literal", "Describe"),
}
for t in ("job.ledger", "settlement.decisions", "job.events.dlq",
          "job.ledger.heads"):
    want.add((R, "topic", T + t, "literal", "Write"))
    want.add((R, "topic", T + t, "literal", "Describe"))

r, calls = run()
check("acls.sh runs", r.returncode == 0, r.stderr)
got, _ = acls(calls)
check("the default ACL set is exactly the documented one", got == want,
      "extra %s missing %s" % (sorted(got - want), sorted(want - got)))
check("every call names the bootstrap servers",
      all("--bootstrap-server" in c for c in calls))
check("no deny, no wildcard, no admin operation",
      all(a[2] != "*" and a[4] not in ("All", "Alter", "AlterConfigs",
                                       "ClusterAction", "Create", "Delete")
          for a in got) and not any("--deny-principal" in c for c in calls))
check("receiptd does not write the events topic by default",
      (R, "topic", T + "job.events", "literal", "Write") not in got)
check("event producers touch only the events topic",
      {a[2] for a in got if a[0] == P} == {T + "job.events"})

r, calls = run(WINDOW_CLOCK="true")
got2, _ = acls(calls)
check("WINDOW_CLOCK=true adds exactly receiptd's Write on events",
      got2 - got == {(R, "topic", T + "job.events", "literal", "Write")},
      got2 - got)

r, calls = run(PREFIX="acme.", GROUP="rcpt", RECEIPTD="User:r2",
               PRODUCERS="User:p1 User:p2", READERS="User:escrow",
               COMMAND_CONFIG="/etc/admin.properties")
got3, _ = acls(calls)
check("PREFIX, GROUP and principals are applied",
      ("User:r2", "topic", "acme.job.state", "literal", "Write") in got3
      and ("User:r2", "group", "rcpt.restore", "literal", "Read") in got3
      and ("User:r2", "transactional-id", "rcpt-", "prefixed", "Write")
      in got3
      and ("User:p2", "topic", "acme.job.events", "literal", "Write") in got3
      and not any(a[2].startswith("gpu.") for a in got3), sorted(got3))
check("READERS read decisions, ledger and heads only (and their group)",
      {(a[1], a[2]) for a in got3 if a[0] == "User:escrow"} ==
      {("topic", "acme.settlement.decisions"), ("topic", "acme.job.ledger"),
       ("topic", "acme.job.ledger.heads"), ("group", "gpu-readers")}
      and all(a[4] in ("Read", "Describe") for a in got3
              if a[0] == "User:escrow"), sorted(got3))
check("COMMAND_CONFIG reaches every call",
      all("--command-config" in c and
          c[c.index("--command-config") + 1] == "/etc/admin.properties"
          for c in calls))

r = subprocess.run(["sh", os.path.join(DEPLOY, "acls.sh")],
                   env={"PATH": os.environ["PATH"], "DRY_RUN": "1"},
                   capture_output=True, text=True, timeout=60)
check("DRY_RUN=1 prints the commands and runs nothing",
      r.returncode == 0 and r.stdout.count("kafka-acls.sh") == len(
          [c for c in acls(run()[1])[1]]), r.stdout)

try:
    import yaml
    docs = list(yaml.safe_load_all(open(os.path.join(
        DEPLOY, "k8s-acls", "acls-job.yaml"))))
    cm = [d for d in docs if d and d["kind"] == "ConfigMap"][0]
    job = [d for d in docs if d and d["kind"] == "Job"][0]
    check("k8s: the ACL Job embeds deploy/acls.sh verbatim",
          cm["data"]["acls.sh"] == open(os.path.join(DEPLOY,
                                                     "acls.sh")).read())
    c = job["spec"]["template"]["spec"]["containers"][0]
    check("k8s: the ACL Job runs the script with an admin client config",
          "/scripts/acls.sh" in c["command"] and any(
              e["name"] == "COMMAND_CONFIG" for e in c.get("env", [])))
except ImportError:
    print("skip  k8s manifest: python3-yaml missing")

if FAILS:
    print("%d check(s) failed" % len(FAILS))
    sys.exit(1)
print("all checks passed")
