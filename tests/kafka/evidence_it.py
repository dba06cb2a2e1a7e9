#!/usr/bin/python3
"""Evidence integration tests for receiptd against the embedded
broker: signed decisions, signed Merkle tree heads per batch, the ledger
export audited end to end, and signature verification on receiptd's pool.

Runs under /usr/bin/python3 like kafka_it.py, whose helpers it uses.

usage: evidence_it.py TEST --receiptctl PATH --receiptd PATH --data FILE
tests:
  ledger  receiptd with a processor key over the scenarios in two runs
          (a restart in between): `receiptctl ledger export` audits clean
          with `ledger verify` (every row under a valid head, heads
          consistent across the restart); a flipped byte fails naming its
          line; `receiptctl verify` accepts every published decision, and
          with the signature stripped each equals replay's byte for byte.
  signed  the policy requires seller signatures; the seller's events are
          signed with `receiptctl sign`, one is altered after signing:
          receiptd (verify.threads=2) and `replay --keys` agree on every
          decision, ledger row and DLQ reason, bad_signature among them.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_it as K  # noqa: E402
from kafka_it import check, Fail  # noqa: E402

HEADS_TOPIC = "gpu.job.ledger.heads"


def run(args, timeout=60, stdout=None):
    return subprocess.run(args, capture_output=stdout is None, stdout=stdout,
                          text=True, timeout=timeout)


def keygen(a, w, role, key_id):
    r = run([a.receiptctl, "keygen", "--role", role, "--id", key_id,
             "--out", w, "--valid-from", "2020-01-01T00:00:00Z"])
    check(r.returncode == 0, "keygen %s: %s" % (key_id, r.stderr))
    return (os.path.join(w, key_id + ".key.json"),
            json.load(open(os.path.join(w, key_id + ".pub.json"))))


def registry(w, entries):
    path = os.path.join(w, "registry.json")
    with open(path, "w") as f:
        json.dump(entries, f)
    return path


SIG_TAIL = re.compile(r',"key_id":"[^"]*","sig":"[^"]*"}$')


def strip_sig(line):
    check(SIG_TAIL.search(line), "decision not signed: %s" % line)
    return SIG_TAIL.sub(',"key_id":null,"sig":null}', line)


def export(a, bootstrap, path):
    with open(path, "w") as f:
        r = run([a.receiptctl, "ledger", "export", "--bootstrap", bootstrap],
                stdout=f)
    check(r.returncode == 0, "ledger export exited %d" % r.returncode)
    return open(path).read().split("\n")[:-1]


def ledger_verify(a, reg, path):
    r = run([a.receiptctl, "ledger", "verify", "--keys", reg, path])
    return r.returncode, r.stdout + r.stderr


def t_ledger(a, w):
    pkey, ppub = keygen(a, w, "processor", "k-receiptd")
    reg = registry(w, [ppub])
    data = os.path.join(w, "input.jsonl")
    n, chunks = K.make_input(a.data, data, 3, 2)
    b = K.Broker(a.receiptctl, w)
    d1 = d2 = None
    extra = ["processor.key=" + pkey, "keys.registry=" + reg]
    try:
        K.emit(a.receiptctl, b.bootstrap, chunks[0])
        d1 = K.Receiptd(a.receiptd, b.bootstrap, w, "A", extra)
        K.wait_processed(b.bootstrap, 40, [d1])
        d1.stop()
        # A second instance goes on from the checkpoints' frontiers.
        K.emit(a.receiptctl, b.bootstrap, chunks[1])
        d2 = K.Receiptd(a.receiptd, b.bootstrap, w, "B", extra)
        K.wait_processed(b.bootstrap, 40, [d2])
        d2.stop()
        check("rebuilt" not in d2.text(),
              "B rebuilt a Merkle log instead of restoring it:\n" + d2.text())

        # Decisions: all signed and accepted; unsigned, equal to replay.
        dec = [v for _, _, _, v, _ in K.read_topic(b.bootstrap,
                                                   K.TOPICS["decisions"])]
        dpath = os.path.join(w, "decisions.jsonl")
        with open(dpath, "w") as f:
            f.write("\n".join(dec) + "\n")
        r = run([a.receiptctl, "verify", "--keys", reg, dpath])
        check(r.returncode == 0, "verify rejected decisions:\n" + r.stdout +
              r.stderr)
        oks = [l for l in r.stdout.split("\n") if l.startswith("ok ")]
        check(len(oks) == len(dec) > 0, "verify: %d ok of %d decisions"
              % (len(oks), len(dec)))
        K.compare_exact([strip_sig(l) for l in dec],
                        K.replay(a.receiptctl, data, "decisions"),
                        "decisions (signature stripped)")
        led = [v for _, _, _, v, _ in K.read_topic(b.bootstrap,
                                                   K.TOPICS["ledger"])]
        K.compare_exact(led, K.replay(a.receiptctl, data, "ledger"),
                        "ledger rows")

        # The export audits clean, every row under a valid head.
        path = os.path.join(w, "ledger.jsonl")
        lines = export(a, b.bootstrap, path)
        heads = [l for l in lines if l.startswith('{"type":"tree_head"')]
        rows = [l for l in lines if not l.startswith('{"type"')]
        check(len(rows) == len(led), "export has %d rows, topic %d"
              % (len(rows), len(led)))
        check(heads, "no tree heads exported")
        rc, out = ledger_verify(a, reg, path)
        check(rc == 0 and "ledger ok" in out, "ledger verify:\n" + out)
        m = re.search(r"(\d+)/(\d+) tree heads valid, (\d+) rows not yet", out)
        check(m and m.group(1) == m.group(2) == str(len(heads)) and
              m.group(3) == "0", "not every head valid / row covered: " + out)

        # One flipped byte in a row is found at its line.
        victim = next(i for i, l in enumerate(lines)
                      if '"transition":' in l and i > len(lines) // 2)
        bad = list(lines)
        pos = bad[victim].index('"event_id":"') + len('"event_id":"')
        bad[victim] = (bad[victim][:pos] + chr(ord(bad[victim][pos]) ^ 1) +
                       bad[victim][pos + 1:])
        bpath = os.path.join(w, "ledger-flipped.jsonl")
        with open(bpath, "w") as f:
            f.write("\n".join(bad) + "\n")
        rc, out = ledger_verify(a, reg, bpath)
        check(rc == 1 and ("line %d " % (victim + 1)) in out,
              "flipped byte at line %d not located:\n%s" % (victim + 1, out))
        # A head signed by a key the registry does not know: rejected.
        _, opub = keygen(a, w, "processor", "k-other")
        rc, out = ledger_verify(a, registry(w, [opub]), path)
        check(rc == 1 and "tree_head_signature" in out,
              "heads verified against a foreign key:\n" + out)
        print("ledger: %d rows, %d heads, %d signed decisions: audit ok, "
              "flip at line %d located" % (len(rows), len(heads), len(dec),
                                           victim + 1))
    finally:
        for d in (d1, d2):
            if d:
                d.close()
        b.stop()


def t_signed(a, w):
    skey, spub = keygen(a, w, "seller", "k-worker-17")
    reg = registry(w, [spub])
    policy = os.path.join(w, "policy.json")
    with open(policy, "w") as f:
        f.write('{"require_signatures":{"roles":["seller"]}}')
    signed = os.path.join(w, "signed.jsonl")
    with open(signed, "w") as f:
        r = run([a.receiptctl, "sign", "--key", skey, "--role", "seller",
                 a.data], stdout=f)
    # The scenarios hold events that do not decode (they test the DLQ):
    # sign copies them unchanged and exits 1.
    check(r.returncode in (0, 1), "sign failed")
    lines = open(signed).read().split("\n")
    check(len([l for l in lines if l.strip()]) ==
          len([l for l in open(a.data) if l.strip()]),
          "sign dropped lines")
    # Alter one signed seller event after signing: bad_signature.
    i = next(i for i, l in enumerate(lines) if '"sig":"' in l and
             '"execution_failed"' in l)
    ev = json.loads(lines[i])
    ev["body"]["resources"]["gpu_seconds"] = 1
    lines[i] = json.dumps(ev, separators=(",", ":"))
    with open(signed, "w") as f:
        f.write("\n".join(lines))

    def rp(what):
        r = run([a.receiptctl, "replay", "--policy", policy, "--keys", reg,
                 "--emit", what, signed])
        check(r.returncode == 0, "replay: " + r.stderr)
        return [l for l in r.stdout.split("\n") if l]

    b = K.Broker(a.receiptctl, w)
    d = None
    try:
        K.emit(a.receiptctl, b.bootstrap, signed)
        d = K.Receiptd(a.receiptd, b.bootstrap, w, "A",
                       ["policy.file=" + policy, "keys.registry=" + reg,
                        "verify.threads=2"])
        K.wait_processed(b.bootstrap, 40, [d])
        d.stop()
        check("verified on 2 thread(s)" in d.text(),
              "no verification pool in the log:\n" + d.text())
        dec = [v for _, _, _, v, _ in K.read_topic(b.bootstrap,
                                                   K.TOPICS["decisions"])]
        led = [v for _, _, _, v, _ in K.read_topic(b.bootstrap,
                                                   K.TOPICS["ledger"])]
        K.compare_exact(dec, rp("decisions"), "decisions")
        K.compare_exact(led, rp("ledger"), "ledger rows")
        got = K.dlq_reasons(b.bootstrap)
        want = sorted(json.loads(l)["reason"] for l in rp("rejects"))
        check(got == want, "DLQ reasons %s, replay %s" % (got, want))
        check("bad_signature" in got, "the altered event was not rejected: "
              "%s" % got)
        print("signed: %d decisions and %d ledger rows equal replay --keys; "
              "DLQ %s" % (len(dec), len(led), got))
    finally:
        if d:
            d.close()
        b.stop()


TESTS = {"ledger": t_ledger, "signed": t_signed}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--receiptctl", required=True)
    ap.add_argument("--receiptd", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--keep", action="store_true")
    K.add_broker_args(ap)
    a = ap.parse_args()
    K.use_broker_args(a)
    w = tempfile.mkdtemp(prefix="evidence-it-%s-" % a.test)
    try:
        TESTS[a.test](a, w)
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (a.test, e))
        for name in sorted(os.listdir(w)):
            if name.endswith(".log"):
                with open(os.path.join(w, name)) as f:
                    print("---- %s (last 40 lines)" % name)
                    print("".join(f.readlines()[-40:]))
        return 1
    finally:
        if not a.keep:
            shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
