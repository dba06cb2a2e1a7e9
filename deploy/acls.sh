#!/bin/sh
# Least-privilege Kafka ACLs for gpu-receipts (docs/OPERATIONS.md §10).
# Used verbatim by the Kubernetes Job in deploy/k8s-acls/acls-job.yaml.
# tests/deploy/acls_check.py checks the exact ACL set (stand-in
# kafka-acls.sh) and that the Job embeds this file; acls_broker_it.py runs
# it on a one-node Kafka 4.1 with SASL/PLAIN and the StandardAuthorizer and
# runs receiptd under those ACLs alone.
# Idempotent: adding an ACL that exists changes nothing.
#
#   BOOTSTRAP       bootstrap servers                        [kafka:9092]
#   COMMAND_CONFIG  admin client properties (SASL/TLS)       [none]
#   PREFIX          topic prefix (receiptd topic.prefix)     [gpu.]
#   GROUP           receiptd group.id                        [gpu-receipts]
#   TXN_PREFIX      receiptd transactional.id prefix         [$GROUP-]
#   RECEIPTD        receiptd's principal                     [User:receiptd]
#   PRODUCERS       event producers' principals (space list) [User:gpu-events]
#   READERS         principals reading decisions, ledger and
#                   tree heads (escrow, auditors); their own
#                   consumer group prefix is READER_GROUP    [none]
#   READER_GROUP    group prefix READERS may use             [gpu-readers]
#   WINDOW_CLOCK    true when the policy sets window_clock:
#                   receiptd then also writes the events
#                   topic (reservation_expired)              [false]
#   DRY_RUN         1: print the commands instead            [0]
set -eu
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
PREFIX="${PREFIX:-gpu.}"
GROUP="${GROUP:-gpu-receipts}"
TXN_PREFIX="${TXN_PREFIX:-$GROUP-}"
RECEIPTD="${RECEIPTD:-User:receiptd}"
PRODUCERS="${PRODUCERS:-User:gpu-events}"
READERS="${READERS:-}"
READER_GROUP="${READER_GROUP:-gpu-readers}"
WINDOW_CLOCK="${WINDOW_CLOCK:-false}"
KA="${KAFKA_ACLS:-/opt/kafka/bin/kafka-acls.sh}"

acl() { # principal, then kafka-acls.sh resource and operation options
        who="$1"
        shift
        set -- --bootstrap-server "$BOOTSTRAP" --add --allow-principal "$who" "$@"
        if [ -n "${COMMAND_CONFIG:-}" ]; then
                set -- --command-config "$COMMAND_CONFIG" "$@"
        fi
        if [ "${DRY_RUN:-0}" = 1 ]; then
                echo "$KA $*"
        else
                "$KA" "$@"
        fi
}

# receiptd: consume the events in its group, and the group id of its
# restore consumer (GROUP.restore), which assigns partitions but never
# joins or commits.
acl "$RECEIPTD" --operation Read --operation Describe \
        --topic "${PREFIX}job.events"
acl "$RECEIPTD" --operation Read --operation Describe --group "$GROUP"
acl "$RECEIPTD" --operation Read --operation Describe --group "$GROUP.restore"
# receiptd: restore from and write the state changelog.
acl "$RECEIPTD" --operation Read --operation Write --operation Describe \
        --topic "${PREFIX}job.state"
# receiptd: the other outputs, written only.
for t in job.ledger settlement.decisions job.events.dlq job.ledger.heads; do
        acl "$RECEIPTD" --operation Write --operation Describe \
                --topic "$PREFIX$t"
done
# receiptd: its transactions (one transactional.id per instance).
acl "$RECEIPTD" --operation Write --operation Describe \
        --transactional-id "$TXN_PREFIX" --resource-pattern-type prefixed
if [ "$WINDOW_CLOCK" = true ]; then
        acl "$RECEIPTD" --operation Write --topic "${PREFIX}job.events"
fi

# Event producers: write the events topic, nothing else.
for p in $PRODUCERS; do
        acl "$p" --operation Write --operation Describe \
                --topic "${PREFIX}job.events"
done

# Readers of the outputs (optional).
for p in $READERS; do
        for t in settlement.decisions job.ledger job.ledger.heads; do
                acl "$p" --operation Read --operation Describe \
                        --topic "$PREFIX$t"
        done
        acl "$p" --operation Read --group "$READER_GROUP" \
                --resource-pattern-type prefixed
done
