#!/bin/sh
# Feeds the exposition of a fed gr_metrics instance (metrics_expo) to
# `promtool check metrics` (Debian package `prometheus`).  Exit 77 (skip)
# when promtool is not installed.
set -eu
expo="$1"
if ! command -v promtool >/dev/null 2>&1; then
        echo "promtool not installed (Debian package prometheus): skipped"
        exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$expo" > "$out"
# Sanity: the families we promise are there, so a silently empty
# exposition cannot pass the lint.
for f in gr_events_in_total gr_events_applied_total gr_events_parked \
         gr_events_duplicate_total gr_events_rejected_total \
         gr_decisions_total gr_txn_commit_seconds gr_consumer_lag \
         gr_restore_seconds_total gr_restore_records_total gr_jobs_open \
         gr_ready; do
        grep -q "^# TYPE $f " "$out" || { echo "missing family $f"; exit 1; }
done
# promtool exits non-zero on a parse error and prints lint problems.
problems=$(promtool check metrics < "$out" 2>&1) || {
        echo "promtool check metrics failed:"; echo "$problems"; exit 1; }
if [ -n "$problems" ]; then
        echo "promtool lint problems:"; echo "$problems"; exit 1
fi
echo "promtool check metrics: $(grep -c '^gr_' "$out") samples, no problems"
