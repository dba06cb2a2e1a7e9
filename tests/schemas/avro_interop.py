#!/usr/bin/python3
"""
Avro interop between the C codec and the Apache reference implementation
(Debian's python3-avro, importable only under /usr/bin/python3), offline:

  1. fingerprints: CRC-64-AVRO of python-avro's canonical form of each
     schema file equals the C fingerprint (our own PCF implementation);
  2. C -> Python: events the C codec writes (Confluent and single-object)
     are read by python-avro field for field, body branch included;
  3. Python -> C: python-avro writes every event from the project's .avsc
     files (both framings, its own fingerprint); the C codec decodes each
     to the identical canonical JSON;
  4. decisions: the C engine's decisions, Avro-encoded by the C codec, are
     read back by python-avro and match their JSON form;
  5. decision schema evolution, both ways: a reader of the previous
     decision schema (decision_v1.avsc, no `amounts`) reads the C codec's
     new records (amounts skipped), and python-avro records written with
     the previous schema are read with the current one (amounts = null).

usage: avro_interop.py TOOL SCHEMAS_DIR EVENTS.jsonl...
"""
import datetime
import io
import json
import subprocess
import sys

import avro.io
import avro.schema

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
TIME_KEYS = {"occurred_at", "window_start", "window_end", "decided_at"}
EVENT_ID, DECISION_ID = 7, 6  # schemas/registry.txt: the current event and decision schemas


def crc64_avro(data):
    empty = 0xC15D213AA4D7A795
    fp = empty
    for byte in data:
        fp ^= byte
        for _ in range(8):
            fp = (fp >> 1) ^ (empty if fp & 1 else 0)
    return fp


PRIMITIVE_TYPES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def spec_canonical(schema):
    """python-avro 1.11 keeps {"type":"long"} for a primitive that had a
    logicalType; the specification ([STRIP] then [PRIMITIVES]) and Java
    give "long".  Apply [PRIMITIVES] to python's form (AVRO-4004 is the
    same divergence in Rust)."""
    def fix(v):
        if isinstance(v, dict):
            if set(v) == {"type"} and v["type"] in PRIMITIVE_TYPES:
                return v["type"]
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v
    return json.dumps(fix(json.loads(schema.canonical_form)), separators=(",", ":"))


def to_ms(v):
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(v, str):
        return to_ms(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")))
    return v


def from_ms(ms):
    return EPOCH + datetime.timedelta(milliseconds=ms)


def norm(v, key=None):
    """Comparable form: no nulls or empty objects, times in ms, numbers float."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            n = norm(x, k)
            if n is not None and n != {}:
                out[k] = n
        return out
    if v is None:
        return None
    if key in TIME_KEYS:
        return to_ms(v)
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return v


def is_timestamp(schema):
    return getattr(schema, "get_prop", lambda k: None)("logicalType") == "timestamp-millis"


def conv(schema, v):
    """SPEC JSON value -> what python-avro's DatumWriter expects."""
    if isinstance(schema, avro.schema.UnionSchema):
        if v is None:
            return None
        for b in schema.schemas:
            if b.type != "null":
                return conv(b, v)
    if v is None:
        return None
    if isinstance(schema, avro.schema.RecordSchema):
        return {f.name: conv(f.type, v.get(f.name)) for f in schema.fields}
    if is_timestamp(schema):
        return from_ms(to_ms(v))
    if schema.type in ("double", "float"):
        return float(v)
    return v


def body_branch_name(evtype):
    return "".join(p.capitalize() for p in evtype.split("_")) + "Body"


def write_event(schema, ev):
    """Envelope field by field so the body branch is the event's type
    (python-avro would otherwise pick the first record that validates)."""
    buf = io.BytesIO()
    enc = avro.io.BinaryEncoder(buf)
    for f in schema.fields:
        if f.name == "body":
            names = [b.name for b in f.type.schemas]
            idx = names.index(body_branch_name(ev["type"]))
            branch = f.type.schemas[idx]
            enc.write_long(idx)
            avro.io.DatumWriter(branch).write(conv(branch, ev.get("body", {})), enc)
        elif f.name == "attempt":
            avro.io.DatumWriter(f.type).write(ev.get("attempt", 1), enc)
        else:
            avro.io.DatumWriter(f.type).write(conv(f.type, ev.get(f.name)), enc)
    return buf.getvalue()


def read_event(schema, data):
    dec = avro.io.BinaryDecoder(io.BytesIO(data))
    out = {}
    branch_name = None
    for f in schema.fields:
        if f.name == "body":
            idx = dec.read_long()
            branch = f.type.schemas[idx]
            branch_name = branch.name
            out["body"] = avro.io.DatumReader(branch, branch).read(dec)
        else:
            out[f.name] = avro.io.DatumReader(f.type, f.type).read(dec)
    rest = dec.reader.read()
    if rest:
        raise ValueError("%d trailing bytes" % len(rest))
    if branch_name != body_branch_name(out["type"]):
        raise ValueError("body branch %s for type %s" % (branch_name, out["type"]))
    return out


def run(tool, mode, lines):
    p = subprocess.run([tool, mode], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit("%s %s failed: %s" % (tool, mode, p.stderr))
    return [l for l in p.stdout.split("\n") if l]


def main():
    tool, schemas_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    names = ["lifecycle_event.avsc", "decision.avsc", "state_record.avsc"]
    schemas = {n: avro.schema.parse(open("%s/%s" % (schemas_dir, n)).read()) for n in names}
    ev_schema, dec_schema = schemas[names[0]], schemas[names[1]]
    failures = 0

    # 1. fingerprints
    p = subprocess.run([tool, "fingerprint"] + ["%s/%s" % (schemas_dir, n) for n in names],
                       capture_output=True, text=True, timeout=60)
    c_fps = p.stdout.split()
    for n, cfp in zip(names, c_fps):
        pfp = "%016x" % crc64_avro(spec_canonical(schemas[n]).encode())
        if pfp != cfp:
            print("FAIL fingerprint %s: C %s python %s" % (n, cfp, pfp))
            failures += 1
    if len(c_fps) != len(names):
        print("FAIL fingerprint: C printed %d" % len(c_fps))
        failures += 1
    ev_fp = crc64_avro(spec_canonical(ev_schema).encode())
    # what a python-avro producer would put after C3 01 (accepted as alias)
    ev_fp_python = crc64_avro(ev_schema.canonical_form.encode())

    lines = []
    for fn in files:
        with open(fn) as f:
            lines += [l.strip() for l in f if l.strip()]

    # 2. C -> Python
    encoded = run(tool, "encode", lines)
    canon = []
    for row in encoded:
        js, conf_hex, single_hex = row.split("\t")
        want = json.loads(js)
        canon.append(js)
        conf, single = bytes.fromhex(conf_hex), bytes.fromhex(single_hex)
        try:
            assert conf[0] == 0 and int.from_bytes(conf[1:5], "big") == EVENT_ID, "Confluent header"
            assert single[:2] == b"\xc3\x01", "single-object marker"
            assert int.from_bytes(single[2:10], "little") == ev_fp, "single-object fingerprint"
            for got in (read_event(ev_schema, conf[5:]), read_event(ev_schema, single[10:])):
                if norm(got) != norm(want):
                    raise ValueError("python read %s\n want %s" % (norm(got), norm(want)))
        except Exception as e:  # noqa: BLE001 - report and count
            print("FAIL C->python %s: %s" % (want.get("event_id"), e))
            failures += 1

    # 3. Python -> C
    msgs = []
    for js in canon:
        ev = json.loads(js)
        datum = write_event(ev_schema, ev)
        msgs.append((b"\x00" + EVENT_ID.to_bytes(4, "big") + datum).hex())
        msgs.append((b"\xc3\x01" + ev_fp.to_bytes(8, "little") + datum).hex())
        msgs.append((b"\xc3\x01" + ev_fp_python.to_bytes(8, "little") + datum).hex())
    decoded = run(tool, "decode", msgs)
    if len(decoded) != len(msgs):
        print("FAIL python->C: %d answers for %d messages" % (len(decoded), len(msgs)))
        failures += 1
    for i, got in enumerate(decoded):
        want = canon[i // 3]
        if got != want:
            print("FAIL python->C (%s):\n got  %s\n want %s" %
                  (["confluent", "single", "single/python-fp"][i % 3], got, want))
            failures += 1

    # 4. decisions
    decisions = run(tool, "decisions", lines)
    for row in decisions:
        js, hx = row.split("\t")
        data = bytes.fromhex(hx)
        want = json.loads(js)
        try:
            assert data[0] == 0 and int.from_bytes(data[1:5], "big") == DECISION_ID, "header"
            dec = avro.io.BinaryDecoder(io.BytesIO(data[5:]))
            got = avro.io.DatumReader(dec_schema, dec_schema).read(dec)
            if norm(got) != norm(want):
                raise ValueError("python read %s\n want %s" % (norm(got), norm(want)))
        except Exception as e:  # noqa: BLE001
            print("FAIL decision %s: %s" % (want.get("decision_id"), e))
            failures += 1

    # 5. decision schema evolution, both directions
    old_schema = avro.schema.parse(open("%s/decision_v1.avsc" % schemas_dir).read())
    old_rules = set(old_schema.fields_dict["rule"].type.schemas[1].symbols)
    with_amounts = evolved = 0
    for row in decisions:
        js, hx = row.split("\t")
        want = json.loads(js)
        if want.get("rule") not in old_rules | {None}:
            continue  # a rule the old enum cannot spell (R12)
        body = bytes.fromhex(hx)[5:]
        try:
            # new writer, old reader: amounts is skipped
            got = avro.io.DatumReader(dec_schema, old_schema).read(
                avro.io.BinaryDecoder(io.BytesIO(body)))
            assert "amounts" not in got, "old reader saw amounts"
            old_view = dict(want)
            old_view.pop("amounts", None)
            if norm(got) != norm(old_view):
                raise ValueError("old reader read %s" % norm(got))
            with_amounts += want.get("amounts") is not None
            # old writer, new reader: amounts takes its default, null
            rec = avro.io.DatumReader(dec_schema, dec_schema).read(
                avro.io.BinaryDecoder(io.BytesIO(body)))
            rec.pop("amounts")
            buf = io.BytesIO()
            avro.io.DatumWriter(old_schema).write(rec, avro.io.BinaryEncoder(buf))
            back = avro.io.DatumReader(old_schema, dec_schema).read(
                avro.io.BinaryDecoder(io.BytesIO(buf.getvalue())))
            assert back["amounts"] is None, "amounts default"
            if norm(back) != norm(old_view):
                raise ValueError("new reader read %s" % norm(back))
            evolved += 1
        except Exception as e:  # noqa: BLE001
            print("FAIL evolution %s: %s" % (want.get("decision_id"), e))
            failures += 1
    print("evolution: %d decisions both ways (%d with amounts)" % (evolved, with_amounts))
    if evolved < 5 or with_amounts < 1:
        print("FAIL: evolution exercised too little")
        failures += 1

    print("interop: %d events C->python, %d messages python->C, %d decisions, "
          "%d fingerprints; %d failures" %
          (len(encoded), len(msgs), len(decisions), len(names), failures))
    if len(encoded) < 20 or len(decisions) < 5:
        print("FAIL: too little data exercised")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
