#!/usr/bin/python3
"""A real Apache Kafka cluster for the tests, started by the project.

The broker jars come from Maven Central through tests/kafka/cluster/pom.xml
(`mvn dependency:copy-dependencies` into JARS, once; ~/.m2 caches them too).
Each node is a combined KRaft broker+controller on loopback with free ports;
with 3 nodes topics get replication factor 3 and min.insync.replicas=2.

  kafka_cluster.py start --dir DIR [--nodes 1|3] [--jars JARS]
      formats the storage, starts the nodes in the background, waits until
      every node serves metadata and writes DIR/cluster.json
      ({"bootstrap", "nodes": [{"id", "port", "pid", ...}], "external"})
  kafka_cluster.py stop --dir DIR       kill the nodes, remove their data
  kafka_cluster.py fetch --jars JARS    only download the jars

Instead of starting one, an existing Kafka can be used:
  GR_KAFKA_BOOTSTRAP=HOST:PORT  `start` only records that address (the
                                fault tests that kill nodes are skipped)
  KAFKA_HOME=DIR                the jars of that installation (DIR/libs)
                                are used instead of Maven's

The tests import this module for Cluster (kill -9 / restart of a node,
leaders, topics).  Every wait is bounded.  Needs Java 17+ and Maven
(Debian: default-jdk-headless, maven; tools/deps.sh installs them).
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
POM = os.path.join(HERE, "cluster", "pom.xml")
START_TIMEOUT = 120


class ClusterError(Exception):
    pass


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def new_cluster_id(rand=uuid.uuid4):
    """A KRaft cluster id: a random UUID in unpadded URL-safe base64.

    One id in 64 would begin with '-' (0xF8-0xFB in the first byte), and
    the storage tool's parser takes such a value for an option ("argument
    --cluster-id/-t: expected one argument"); Kafka's own random ids are
    drawn again in that case, and so are these."""
    while True:
        cid = base64.urlsafe_b64encode(rand().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def fetch_jars(jars):
    """The broker's jars in `jars` (Maven, once); returns the classpath."""
    home = os.environ.get("KAFKA_HOME")
    if home:
        libs = os.path.join(home, "libs")
        if not os.path.isdir(libs):
            raise ClusterError("KAFKA_HOME=%s has no libs/" % home)
        return os.path.join(libs, "*")
    stamp = os.path.join(jars, ".complete")
    if not os.path.exists(stamp) or \
            os.path.getmtime(stamp) < os.path.getmtime(POM):
        mvn = shutil.which("mvn")
        if not mvn:
            raise ClusterError("mvn not found (Debian package maven; "
                               "tools/deps.sh installs it)")
        if os.path.isdir(jars):
            shutil.rmtree(jars)
        r = subprocess.run([mvn, "-B", "-q", "-f", POM,
                            "dependency:copy-dependencies",
                            "-DoutputDirectory=" + os.path.abspath(jars),
                            "-DincludeScope=runtime"],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise ClusterError("mvn failed:\n" + r.stdout[-3000:] +
                               r.stderr[-3000:])
        open(stamp, "w").close()
    return os.path.join(os.path.abspath(jars), "*")


LOG4J = """\
status = error
appender.f.type = File
appender.f.name = f
appender.f.fileName = ${sys:kafka.logs.dir}/server.log
appender.f.layout.type = PatternLayout
appender.f.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.f.ref = f
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def node_props(node, nodes, ports, cports, data):
    n = len(nodes)
    voters = ",".join("%d@127.0.0.1:%d" % (i, cports[k])
                      for k, i in enumerate(nodes))
    k = nodes.index(node)
    rf = 3 if n >= 3 else 1
    isr = 2 if n >= 3 else 1
    return {
        "process.roles": "broker,controller",
        "node.id": node,
        "controller.quorum.voters": voters,
        "listeners": "PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d"
                     % (ports[k], cports[k]),
        "advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % ports[k],
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map":
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": data,
        "num.partitions": 4,
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": 4,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "transaction.state.log.num.partitions": 4,
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": 0,
        # Small and quick: a test machine, not production.
        "log.cleaner.backoff.ms": 1000,
        "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
        "log.cleaner.threads": 1,
        "num.network.threads": 2,
        "num.io.threads": 2,
        "num.replica.fetchers": 1,
        "background.threads": 2,
        "delete.topic.enable": "true",
        # Take aborted transactions of dead producers back quickly.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": 2000,
        "transaction.max.timeout.ms": 900000,
        "replica.lag.time.max.ms": 10000,
        "group.coordinator.rebalance.protocols": "classic,consumer",
    }


def write_props(path, props):
    with open(path, "w") as f:
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))


class Cluster:
    """A started (or external) cluster described by DIR/cluster.json."""

    def __init__(self, d):
        self.dir = os.path.abspath(d)
        with open(os.path.join(d, "cluster.json")) as f:
            self.info = json.load(f)
        self.bootstrap = self.info["bootstrap"]
        self.external = self.info.get("external", False)
        self.nodes = self.info.get("nodes", [])

    def save(self):
        with open(os.path.join(self.dir, "cluster.json.tmp"), "w") as f:
            json.dump(self.info, f, indent=1)
        os.replace(os.path.join(self.dir, "cluster.json.tmp"),
                   os.path.join(self.dir, "cluster.json"))

    def node(self, node_id):
        for n in self.nodes:
            if n["id"] == node_id:
                return n
        raise ClusterError("no node %s" % node_id)

    def alive(self, node_id):
        pid = self.node(node_id).get("pid")
        if not pid:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # a zombie child of ours counts as dead; a pid reused by another
        # process is not ours
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(") ")[1][0] == "Z":
                    return False
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                props = os.path.join(self.dir, "node%d" % node_id,
                                     "server.properties")
                return props.encode() in f.read()
        except OSError:
            return False

    def kill9(self, node_id):
        n = self.node(node_id)
        if self.alive(node_id):
            os.kill(n["pid"], signal.SIGKILL)
            deadline = time.time() + 20
            while self.alive(node_id) and time.time() < deadline:
                try:
                    os.waitpid(n["pid"], os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.1)
        n["pid"] = None
        self.save()

    def start_node(self, node_id):
        n = self.node(node_id)
        log_dir = os.path.join(self.dir, "node%d" % node_id)
        out = open(os.path.join(log_dir, "stdout.log"), "a")
        heap = self.info.get("heap", "384m")
        p = subprocess.Popen(
            ["java", "-Xms%s" % heap, "-Xmx%s" % heap, "-XX:+UseSerialGC",
             "-XX:TieredStopAtLevel=1", "-Xshare:auto",
             "-Djava.awt.headless=true",
             "-Dkafka.logs.dir=" + log_dir,
             "-Dlog4j2.configurationFile=" +
             os.path.join(self.dir, "log4j2.properties"),
             "-cp", self.info["classpath"], "kafka.Kafka",
             os.path.join(log_dir, "server.properties")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, cwd=log_dir)
        out.close()
        n["pid"] = p.pid
        self.save()

    def restart(self, node_id, timeout=60):
        self.start_node(node_id)
        self.wait_nodes(timeout)

    def admin(self):
        from confluent_kafka.admin import AdminClient
        return AdminClient({"bootstrap.servers": self.bootstrap,
                            "log_level": 2})

    def wait_nodes(self, timeout=START_TIMEOUT, want=None):
        """Until `want` (default: all live) nodes are in the metadata."""
        want = want or len([n for n in self.nodes
                            if self.external or self.alive(n["id"])])
        deadline = time.time() + timeout
        last = None
        a = self.admin()
        while time.time() < deadline:
            for n in self.nodes:
                if not self.external and n.get("pid") and \
                        not self.alive(n["id"]):
                    raise ClusterError("node %d exited; see %s" % (
                        n["id"], os.path.join(self.dir, "node%d" % n["id"],
                                              "server.log")))
            try:
                md = a.list_topics(timeout=3)
                if len(md.brokers) >= want:
                    return md
                last = "%d of %d brokers" % (len(md.brokers), want)
            except Exception as e:  # not up yet
                last = str(e)
            time.sleep(0.5)
        raise ClusterError("cluster not up within %ds: %s" % (timeout, last))

    def leader(self, topic, partition):
        md = self.admin().list_topics(topic, timeout=10)
        return md.topics[topic].partitions[partition].leader

    def isr(self, topic, partition):
        md = self.admin().list_topics(topic, timeout=10)
        return md.topics[topic].partitions[partition].isrs

    def stop(self):
        if self.external:
            return
        for n in self.nodes:
            if n.get("pid") and self.alive(n["id"]):
                try:
                    os.killpg(n["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for n in self.nodes:
            shutil.rmtree(os.path.join(self.dir, "node%d" % n["id"], "data"),
                          ignore_errors=True)
            n["pid"] = None
        self.save()


def start(d, nodes, jars, heap="384m"):
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "cluster.json")):
        Cluster(d).stop()   # a cluster left over from an earlier run
    ext = os.environ.get("GR_KAFKA_BOOTSTRAP")
    if ext:
        c = {"bootstrap": ext, "external": True,
             "nodes": [{"id": 0}]}
        with open(os.path.join(d, "cluster.json"), "w") as f:
            json.dump(c, f)
        cl = Cluster(d)
        cl.wait_nodes(30, want=1)
        return cl
    if not shutil.which("java"):
        raise ClusterError("java not found (Debian package "
                           "default-jdk-headless; tools/deps.sh installs it)")
    cp = fetch_jars(jars)
    ids = list(range(1, nodes + 1))
    ports, cports = free_ports(nodes), free_ports(nodes)
    cluster_id = new_cluster_id()
    with open(os.path.join(d, "log4j2.properties"), "w") as f:
        f.write(LOG4J)
    info = {"bootstrap": ",".join("127.0.0.1:%d" % p for p in ports),
            "external": False, "classpath": cp, "heap": heap,
            "cluster_id": cluster_id, "nodes": []}
    for k, i in enumerate(ids):
        nd = os.path.join(d, "node%d" % i)
        shutil.rmtree(nd, ignore_errors=True)
        os.makedirs(nd)
        props = os.path.join(nd, "server.properties")
        write_props(props, node_props(i, ids, ports, cports,
                                      os.path.join(nd, "data")))
        r = subprocess.run(
            ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1",
             "-Dlog4j2.configurationFile=" +
             os.path.join(d, "log4j2.properties"),
             "-Dkafka.logs.dir=" + nd,
             "-cp", cp, "kafka.tools.StorageTool", "format",
             "-t", cluster_id, "-c", props],
            capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise ClusterError("storage format failed: " + r.stdout +
                               r.stderr)
        info["nodes"].append({"id": i, "port": ports[k],
                              "controller_port": cports[k], "pid": None})
    with open(os.path.join(d, "cluster.json"), "w") as f:
        json.dump(info, f, indent=1)
    cl = Cluster(d)
    for i in ids:
        cl.start_node(i)
    try:
        cl.wait_nodes(START_TIMEOUT, want=nodes)
    except ClusterError:
        for i in ids:
            log = os.path.join(d, "node%d" % i, "server.log")
            if os.path.exists(log):
                with open(log) as f:
                    sys.stderr.write("---- node %d\n%s\n" % (
                        i, "".join(f.readlines()[-30:])))
        cl.stop()
        raise
    return cl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["start", "stop", "fetch"])
    ap.add_argument("--dir")
    ap.add_argument("--nodes", type=int, default=1, choices=[1, 3])
    ap.add_argument("--jars", default=os.path.join("build", "kafka-jars"))
    ap.add_argument("--heap", default="384m")
    a = ap.parse_args()
    try:
        if a.cmd == "fetch":
            print(fetch_jars(a.jars))
            return 0
        if not a.dir:
            ap.error("--dir is required")
        if a.cmd == "start":
            t0 = time.time()
            cl = start(a.dir, a.nodes, a.jars, a.heap)
            print("bootstrap.servers=%s" % cl.bootstrap)
            print("cluster up in %.1fs (%s)" % (
                time.time() - t0,
                "external" if cl.external else "%d nodes" % a.nodes))
        else:
            if os.path.exists(os.path.join(a.dir, "cluster.json")):
                Cluster(a.dir).stop()
            print("stopped")
    except ClusterError as e:
        print("kafka_cluster: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
