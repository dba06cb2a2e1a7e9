#!/bin/sh
# Creates the six gpu-receipts topics (docs/SPEC.md §2) with equal partition
# counts.  Used by deploy/compose.yaml and, verbatim, by the Kubernetes
# topic Job (deploy/k8s/topics-job.yaml embeds this file; deploy_validate
# checks they match).  Idempotent: existing topics are left alone.
#
#   BOOTSTRAP   bootstrap servers              [kafka:9092]
#   PREFIX      topic prefix                   [gpu.]
#   PARTITIONS  partitions of every topic      [12]
#   REPLICAS    replication factor             [3]
#   MIN_ISR     min.insync.replicas            [2]
set -eu
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
PREFIX="${PREFIX:-gpu.}"
PARTITIONS="${PARTITIONS:-12}"
REPLICAS="${REPLICAS:-3}"
MIN_ISR="${MIN_ISR:-2}"
KT="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"

create() { # name, then --config options
        name="$PREFIX$1"
        shift
        "$KT" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
                --topic "$name" --partitions "$PARTITIONS" \
                --replication-factor "$REPLICAS" \
                --config "min.insync.replicas=$MIN_ISR" "$@"
}

# Input: kept a week, long enough to rebuild after an outage.
create job.events \
        --config cleanup.policy=delete --config retention.ms=604800000
# State changelog: compacted, the latest state per job_id plus one
# checkpoint per partition; never deleted by time.
create job.state \
        --config cleanup.policy=compact --config min.cleanable.dirty.ratio=0.1 \
        --config segment.ms=3600000 --config min.compaction.lag.ms=60000
# Ledger: append-only audit trail, kept forever (retention.ms=-1).
create job.ledger \
        --config cleanup.policy=delete --config retention.ms=-1
# Decisions for escrow, retry schedulers and analytics: 90 days.
create settlement.decisions \
        --config cleanup.policy=delete --config retention.ms=7776000000
# Rejected input with reasons in headers: 30 days.
create job.events.dlq \
        --config cleanup.policy=delete --config retention.ms=2592000000
# Signed Merkle tree heads over the ledger: kept as long as
# the ledger they cover.
create job.ledger.heads \
        --config cleanup.policy=delete --config retention.ms=-1

# receiptd refuses to start when the partition counts differ; say so here.
for t in job.events job.state job.ledger job.ledger.heads settlement.decisions job.events.dlq; do
        n=$("$KT" --bootstrap-server "$BOOTSTRAP" --describe \
                --topic "$PREFIX$t" | grep -c 'Partition: ')
        echo "$PREFIX$t: $n partitions"
        if [ "$n" != "$PARTITIONS" ]; then
                echo "topic $PREFIX$t has $n partitions, expected $PARTITIONS" >&2
                exit 1
        fi
done
