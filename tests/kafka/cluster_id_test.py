#!/usr/bin/env python3
"""kafka_cluster.new_cluster_id never gives an id that begins with '-'.

Such an id (one draw in 64) made the storage tool take the value for an
option, and the real-Kafka suite failed to start its cluster.  This feeds
the function UUIDs whose first byte encodes to '-' and checks that it
draws again; then that its ordinary ids are 22 characters that decode to
16 bytes.  Needs no broker and no jars."""
import base64
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_cluster  # noqa: E402

FAILS = []


def check(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else "  " + str(detail)))
    if not ok:
        FAILS.append(what)


# 0xF8-0xFB: the first six bits are 62, which URL-safe base64 writes as '-'.
for first in (0xF8, 0xF9, 0xFA, 0xFB):
    draws = [uuid.UUID(bytes=bytes([first]) + bytes(15)),
             uuid.UUID(bytes=bytes([first]) + b"\x01" * 15),
             uuid.UUID(bytes=b"\x12" + bytes(15))]
    calls = []

    def rand(draws=draws, calls=calls):
        calls.append(1)
        return draws[len(calls) - 1]

    plain = base64.urlsafe_b64encode(draws[0].bytes).decode()
    check("0x%02X encodes to a leading '-'" % first, plain.startswith("-"), plain)
    cid = kafka_cluster.new_cluster_id(rand)
    check("0x%02X: drawn again until the id does not begin with '-'" % first,
          cid == base64.urlsafe_b64encode(draws[2].bytes).decode().rstrip("=")
          and len(calls) == 3, (cid, len(calls)))

seen = set()
for _ in range(20000):
    cid = kafka_cluster.new_cluster_id()
    seen.add(cid)
    if cid.startswith("-") or len(cid) != 22 or \
            len(base64.urlsafe_b64decode(cid + "==")) != 16:
        check("a random id is 22 characters, 16 bytes, no leading '-'", False, cid)
        break
else:
    check("20000 random ids: 22 characters, 16 bytes, no leading '-'", True)
check("20000 random ids are distinct", len(seen) == 20000, len(seen))

sys.exit(1 if FAILS else 0)
