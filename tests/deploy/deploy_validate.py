#!/usr/bin/python3
"""Validates deploy/ as far as this machine can without a Docker engine or a
Kubernetes cluster: every YAML parses, the keys that matter are
there, the topic script really creates five topics with equal partitions and
the right policies (run against a fake kafka-topics.sh), the config loads in
the real receiptd, the policy gives the default policy's decisions, the
Dockerfile's runtime stage installs every library receiptd links, and the
systemd unit passes `systemd-analyze verify`.

usage: deploy_validate.py SRC_DIR RECEIPTD RECEIPTCTL
Runs under /usr/bin/python3 (python3-yaml).  Exit 0 when every check passed
or was skipped with a reason, 1 otherwise.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC, RECEIPTD, RECEIPTCTL = sys.argv[1:4]
DEPLOY = os.path.join(SRC, "deploy")
TOPICS = ["job.events", "job.state", "job.ledger", "settlement.decisions",
          "job.events.dlq", "job.ledger.heads"]
NS = "gpu-receipts"

results = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail))
    return ok


def skip(name, why):
    results["skipped"] += 1
    print("skip  " + name + ": " + why)


def read(*p):
    with open(os.path.join(DEPLOY, *p)) as f:
        return f.read()


def conf_keys(text):
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        keys[k.strip()] = v.strip()
    return keys


# ---- YAML parses -------------------------------------------------------
docs = {}
for rel in ["compose.yaml"] + ["k8s/" + f for f in
                               sorted(os.listdir(os.path.join(DEPLOY, "k8s")))]:
    try:
        docs[rel] = [d for d in yaml.safe_load_all(read(rel)) if d is not None]
        check("yaml parses: " + rel, len(docs[rel]) > 0, "empty")
    except yaml.YAMLError as e:
        check("yaml parses: " + rel, False, str(e))
        docs[rel] = []

# ---- compose -------------------------------------------------------------
compose = docs["compose.yaml"][0] if docs["compose.yaml"] else {}
svcs = compose.get("services", {})
kafka = svcs.get("kafka", {})
env = kafka.get("environment", {})
check("compose: Apache Kafka image", str(kafka.get("image", "")).startswith(
    "apache/kafka:"), str(kafka.get("image")))
check("compose: KRaft (broker,controller roles, quorum voters, no zookeeper)",
      "controller" in str(env.get("KAFKA_PROCESS_ROLES", ""))
      and "KAFKA_CONTROLLER_QUORUM_VOTERS" in env
      and not any("zookeeper" in str(k).lower() for k in env),
      str(env.get("KAFKA_PROCESS_ROLES")))
topics_svc = svcs.get("topics", {})
check("compose: topic job runs create-topics.sh",
      "create-topics.sh" in " ".join(map(str, topics_svc.get("entrypoint", [])))
      and any("create-topics.sh" in v for v in topics_svc.get("volumes", [])))
rds = {n: s for n, s in svcs.items() if n.startswith("receiptd")}
check("compose: two receiptd instances", len(rds) >= 2, str(list(rds)))
txn_ids = set()
for n, s in rds.items():
    cmd = s.get("command", [])
    txn_ids.update(c for c in cmd if str(c).startswith(
        "producer.transactional.id="))
    dep = s.get("depends_on", {})
    check("compose: %s starts after topic creation" % n,
          dep.get("topics", {}).get("condition") ==
          "service_completed_successfully" or "receiptd" in "".join(dep))
check("compose: distinct transactional.id per instance",
      len(txn_ids) == len(rds), str(txn_ids))
builds = [s["build"] for s in rds.values() if "build" in s]
check("compose: builds deploy/Dockerfile",
      any(b.get("dockerfile") == "deploy/Dockerfile" for b in builds))
check("compose: equal partitions (one PARTITIONS for all topics)",
      str(topics_svc.get("environment", {}).get("PARTITIONS", "")).isdigit())

# ---- create-topics.sh against a fake kafka-topics.sh ----------------------
script = os.path.join(DEPLOY, "create-topics.sh")
r = subprocess.run(["sh", "-n", script], capture_output=True, text=True)
check("create-topics.sh: sh -n", r.returncode == 0, r.stderr)
with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "calls")
    fake = os.path.join(tmp, "kafka-topics.sh")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\n"
                "echo \"$*\" >> '%s'\n"
                "case \"$*\" in *--describe*)\n"
                "  echo \"Topic: x\tPartitionCount: $FAKE_N\"\n"
                "  i=0; while [ $i -lt $FAKE_N ]; do\n"
                "    echo \"\tTopic: x\tPartition: $i\tLeader: 1\"; "
                "i=$((i+1)); done;;\n"
                "esac\n" % log)
    os.chmod(fake, 0o755)
    e = dict(os.environ, KAFKA_TOPICS=fake, PARTITIONS="12", FAKE_N="12",
             BOOTSTRAP="b:9092", PREFIX="gpu.")
    r = subprocess.run(["sh", script], env=e, capture_output=True, text=True)
    check("create-topics.sh runs", r.returncode == 0, r.stderr + r.stdout)
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    creates = {}
    for c in calls:
        if "--create" not in c:
            continue
        m = re.search(r"--topic (\S+)", c)
        creates[m.group(1)] = c
    check("topics: exactly the five docs/SPEC.md §2 topics and the tree-head topic",
          sorted(creates) == sorted("gpu." + t for t in TOPICS),
          str(sorted(creates)))
    parts = {t: re.search(r"--partitions (\d+)", c).group(1)
             for t, c in creates.items()}
    check("topics: equal partition counts", set(parts.values()) == {"12"},
          str(parts))
    st = creates.get("gpu.job.state", "")
    check("topics: state topic cleanup.policy=compact",
          "cleanup.policy=compact" in st and "retention.ms" not in st, st)
    for t in ("gpu.job.ledger", "gpu.settlement.decisions"):
        c = creates.get(t, "")
        check("topics: %s has a retention and is not compacted" % t,
              "retention.ms=" in c and "compact" not in c, c)
    check("topics: --if-not-exists (idempotent)",
          all("--if-not-exists" in c for c in creates.values()))
    # A mismatch in partition counts must fail the job.
    e["FAKE_N"] = "7"
    r = subprocess.run(["sh", script], env=e, capture_output=True, text=True)
    check("create-topics.sh fails on unequal partition counts",
          r.returncode != 0 and "expected 12" in r.stderr, r.stderr)

# ---- Kubernetes ----------------------------------------------------------
objs = [d for rel, ds in docs.items() if rel.startswith("k8s/") for d in ds
        if "kind" in d and d["kind"] != "Kustomization"]
by_kind = {}
for o in objs:
    by_kind.setdefault(o["kind"], []).append(o)
check("k8s: every object in namespace " + NS,
      all(o["kind"] == "Namespace" or o["metadata"].get("namespace") == NS
          for o in objs))
kust = [d for d in docs.get("k8s/kustomization.yaml", [])]
res = kust[0].get("resources", []) if kust else []
check("k8s: kustomization lists every manifest",
      sorted(res) == sorted(f for f in os.listdir(os.path.join(DEPLOY, "k8s"))
                            if f != "kustomization.yaml"), str(res))
check("k8s: no Deployment (receiptd runs as a StatefulSet)",
      not by_kind.get("Deployment"))
deps = by_kind.get("StatefulSet", [])
ok = check("k8s: one StatefulSet", len(deps) == 1)
if ok:
    svcs_k8s = {o["metadata"]["name"]: o for o in by_kind.get("Service", [])}
    gov = svcs_k8s.get(deps[0]["spec"].get("serviceName"), {})
    check("k8s: the StatefulSet's serviceName is a headless Service that "
          "selects its pods",
          gov.get("spec", {}).get("clusterIP") == "None" and
          gov["spec"].get("selector") ==
          deps[0]["spec"]["selector"]["matchLabels"],
          str(deps[0]["spec"].get("serviceName")))
    check("k8s: pods start in parallel (a consumer group needs no order)",
          deps[0]["spec"].get("podManagementPolicy") == "Parallel")
    spec = deps[0]["spec"]["template"]["spec"]
    c = spec["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    rp = c.get("readinessProbe", {}).get("httpGet", {})
    lp = c.get("livenessProbe", {}).get("httpGet", {})
    check("k8s: readiness probe on /readyz", rp.get("path") == "/readyz"
          and rp.get("port") in ports, str(rp))
    check("k8s: liveness probe on /healthz", lp.get("path") == "/healthz"
          and lp.get("port") in ports, str(lp))
    check("k8s: metrics port matches metrics.listen",
          ports.get("metrics") == 9464)
    # Static membership from the stable pod name; the transactional.id is
    # derived from it (<group.id>-<pod name>), so none may be set.
    check("k8s: group.instance.id is the pod name",
          "group.instance.id=$(POD_NAME)" in c.get("args", []) and
          any(e.get("name") == "POD_NAME" and
              e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
              == "metadata.name" for e in c.get("env", [])))
    check("k8s: no transactional.id set (receiptd derives a stable one)",
          not any("transactional.id" in str(a) for a in c.get("args", [])))
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    cm_names = {o["metadata"]["name"] for o in by_kind.get("ConfigMap", [])}
    sec_names = {o["metadata"]["name"] for o in by_kind.get("Secret", [])}
    check("k8s: config volume is a ConfigMap that exists",
          vols.get("config", {}).get("configMap", {}).get("name") in cm_names
          and mounts.get("config") == "/etc/receiptd")
    check("k8s: processor key volume is a Secret that exists",
          vols.get("processor-key", {}).get("secret", {}).get("secretName")
          in sec_names)
    sc = c.get("securityContext", {})
    check("k8s: read-only root, no privilege escalation, no capabilities",
          sc.get("readOnlyRootFilesystem") is True
          and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"])
cms = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
cfg = cms.get("receiptd-config", {}).get("data", {})
check("k8s: ConfigMap policy.json is deploy/policy.json",
      cfg.get("policy.json") == read("policy.json"))
k8s_keys = conf_keys(cfg.get("receiptd.conf", ""))
file_keys = conf_keys(read("receiptd.conf"))
check("k8s: ConfigMap receiptd.conf has the same keys as deploy/receiptd.conf",
      sorted(k8s_keys) == sorted(file_keys),
      str(set(k8s_keys) ^ set(file_keys)))
scr = cms.get("gpu-receipts-topics-script", {}).get("data", {})
check("k8s: topic Job script is deploy/create-topics.sh verbatim",
      scr.get("create-topics.sh") == read("create-topics.sh"))
jobs = by_kind.get("Job", [])
check("k8s: topic-creation Job", len(jobs) == 1 and "create-topics.sh" in
      " ".join(jobs[0]["spec"]["template"]["spec"]["containers"][0]
               .get("command", [])))
jenv = {e["name"]: e["value"] for e in jobs[0]["spec"]["template"]["spec"]
        ["containers"][0].get("env", [])} if jobs else {}
check("k8s: Job sets one PARTITIONS for all topics",
      jenv.get("PARTITIONS", "").isdigit())

# ---- receiptd.conf loads in the real receiptd ----------------------------
def run_receiptd(conf_text, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "receiptd.conf")
        with open(p, "w") as f:
            f.write(conf_text.replace("/etc/receiptd/policy.json",
                                      os.path.join(DEPLOY, "policy.json")))
        return subprocess.run(
            [RECEIPTD, "--config", p] + list(extra) +
            ["-X", "bootstrap.servers=127.0.0.1:9",
             "-X", "startup.timeout.ms=1500"],
            capture_output=True, text=True, timeout=60)


def pod_args():
    """The StatefulSet's -X arguments as the first pod gets them."""
    sts = by_kind.get("StatefulSet", [])
    if len(sts) != 1:
        return []
    args = sts[0]["spec"]["template"]["spec"]["containers"][0].get("args", [])
    out = []
    for i, a in enumerate(args):
        if a == "-X" and i + 1 < len(args):
            out += ["-X", args[i + 1].replace("$(POD_NAME)", "receiptd-0")]
    return out


if not os.access(RECEIPTD, os.X_OK):
    skip("receiptd.conf loads", "no receiptd binary at " + RECEIPTD)
else:
    text = read("receiptd.conf")
    r = run_receiptd(text)
    if r.returncode == 2 and "metrics.listen" in r.stderr:
        # A receiptd built without the metrics server: check everything
        # else.
        print("note  receiptd does not know metrics.listen yet: " +
              r.stderr.strip())
        text = "\n".join(l for l in text.splitlines()
                         if not l.startswith("metrics.listen"))
        r = run_receiptd(text)
    # 1 = cluster unreachable (config accepted); 2 = config unusable.
    check("receiptd.conf accepted by receiptd (exit 1: no cluster here)",
          r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr.strip()))
    r = run_receiptd(cfg.get("receiptd.conf", ""), pod_args())
    check("the ConfigMap's receiptd.conf with the pod's arguments accepted "
          "(exit 1: no cluster here)",
          r.returncode == 1 and len(pod_args()) > 0,
          "exit %d: %s" % (r.returncode, r.stderr.strip()))

# ---- the policy is the default contract -----------------------------------
if not os.access(RECEIPTCTL, os.X_OK):
    skip("policy.json", "no receiptctl binary at " + RECEIPTCTL)
else:
    data = os.path.join(SRC, "tests", "data", "scenarios.jsonl")
    a = subprocess.run([RECEIPTCTL, "replay", "--emit", "decisions", data],
                       capture_output=True, text=True)
    b = subprocess.run([RECEIPTCTL, "replay", "--policy",
                        os.path.join(DEPLOY, "policy.json"), "--emit",
                        "decisions", data], capture_output=True, text=True)
    check("policy.json loads and gives the default policy's decisions "
          "(same policy_hash)",
          a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout
          and a.stdout.count("policy_hash") > 0, b.stderr)

# ---- Dockerfile -----------------------------------------------------------
df = read("Dockerfile")
stages = re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", df, re.M | re.I)
check("Dockerfile: build and runtime stages on Debian bookworm",
      [s for _, s in stages] == ["build", "runtime"]
      and all(i.startswith("debian:bookworm") for i, _ in stages), str(stages))
build_part, _, runtime_part = df.partition("AS runtime")


def apt_pkgs(part):
    """Package names of the `apt-get install` commands in a stage."""
    out = set()
    for block in re.findall(r"apt-get install((?:[^\n]*\\\n)*[^\n]*)", part):
        cmd = block.replace("\\\n", " ").split("&&")[0]
        out.update(w for w in cmd.split() if not w.startswith("-"))
    return out


bpk, rpk = apt_pkgs(build_part), apt_pkgs(runtime_part)
check("Dockerfile: runtime stage has no -dev packages or compilers",
      not any(p.endswith("-dev") or p in ("build-essential", "cmake", "gcc")
              for p in rpk), str(rpk))
check("Dockerfile: runtime copies the binaries from the build stage",
      "COPY --from=build" in runtime_part and "ENTRYPOINT" in runtime_part)
deps_sh = open(os.path.join(SRC, "tools", "deps.sh")).read()
check("Dockerfile: every build package is in tools/deps.sh",
      all(p in deps_sh.split() for p in bpk), str(bpk - set(deps_sh.split())))
if shutil.which("readelf") and shutil.which("dpkg") and \
        os.access(RECEIPTD, os.X_OK):
    missing = []
    for bin_ in (RECEIPTD, RECEIPTCTL):
        r = subprocess.run(["readelf", "-d", bin_], capture_output=True,
                           text=True)
        for lib in re.findall(r"Shared library: \[(.+?)\]", r.stdout):
            if re.match(r"lib(asan|ubsan|tsan|lsan)\.", lib):
                continue  # a sanitizer build (GR_ASAN), not the image's
            q = subprocess.run(["dpkg", "-S", lib], capture_output=True,
                               text=True)
            owners = {l.split(":")[0] for l in q.stdout.splitlines()
                      if "-dev" not in l.split(":")[0]}
            if not owners & (rpk | {"libc6", "libgcc-s1", "libstdc++6"}):
                missing.append("%s (%s)" % (lib, ",".join(sorted(owners))))
    check("Dockerfile: runtime stage installs every library receiptd and "
          "receiptctl link", not missing, ", ".join(sorted(set(missing))))
else:
    skip("Dockerfile runtime libraries", "readelf/dpkg or binaries missing")

# ---- systemd unit ----------------------------------------------------------
unit = read("receiptd.service")
for key in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
            "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=",
            "KillSignal=SIGTERM"):
    check("unit: " + key, re.search("^" + re.escape(key) + "$", unit, re.M)
          is not None)
sa = shutil.which("systemd-analyze")
if not sa:
    skip("systemd-analyze verify", "systemd-analyze not installed")
else:
    with tempfile.TemporaryDirectory() as tmp:
        # verify wants ExecStart to exist: point it at the built receiptd.
        p = os.path.join(tmp, "receiptd.service")
        with open(p, "w") as f:
            f.write(unit.replace("/usr/local/bin/receiptd",
                                 os.path.abspath(RECEIPTD)))
        r = subprocess.run([sa, "verify", p], capture_output=True, text=True,
                           timeout=60)
        out = (r.stdout + r.stderr).strip()
        if r.returncode == 0 and "receiptd.service" not in out:
            check("systemd-analyze verify deploy/receiptd.service", True)
        elif "receiptd.service" in out:
            check("systemd-analyze verify deploy/receiptd.service", False,
                  out)
        else:
            skip("systemd-analyze verify",
                 "cannot run in this container: " + out[:200])

print("%d passed, %d failed, %d skipped" % (results["passed"],
                                            results["failed"],
                                            results["skipped"]))
sys.exit(1 if results["failed"] else 0)
