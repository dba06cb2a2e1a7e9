/**
 * @file gr_receiptd.h
 * @brief The processor behind `receiptd` (docs/SPEC.md §2): a consumer in one
 *        group, one engine per assigned partition restored from the state
 *        changelog, and batches of input turned into decisions, ledger
 *        rows, state updates with checkpoints and DLQ records — under
 *        exactly_once one Kafka transaction per batch.
 *
 * As a library so that `receiptctl demo` and the tests can run it on a
 * thread; `receiptd` itself is a small main() around it.
 *
 * Per batch (up to batch.size records or batch.ms):
 *   1. decode the records, verify the signatures the policy requires on
 *      a pool of verify.threads threads (a failure is a DLQ reject), then
 *      apply them in the order polled to their partitions' engines, each
 *      partition on one processing worker.  When the policy requires
 *      signatures this runs on up to 1024 records at a time; when it
 *      requires none, the whole batch is dealt to the workers at once and
 *      each decodes a record as it applies it; ledger rows,
 *      decisions (signed when processor.key is set) and rejects are
 *      produced as the engine reports them, to the record's partition
 *      number; each ledger row is appended to the partition's Merkle log;
 *      under exactly_once, in a batch holding at least
 *      GR_OPEN_MIN_RECORDS (gr_rd.h) of a partition's records, its first
 *      output is preceded by its checkpoint as it stands (equal to the
 *      last one), so that its state partition joins the transaction with
 *      the outputs rather than in a registration round of its own;
 *   2. wait until those are acknowledged;
 *   3. produce the state of every job the batch touched, with
 *      processor.key a signed tree head per partition that got new ledger
 *      rows (to gpu.job.ledger.heads, key = partition number), and one
 *      checkpoint record per partition (next input offset and the Merkle
 *      frontier, so heads continue across restarts and moves);
 *   4. exactly_once: send the input offsets to the transaction and commit
 *      it; at_least_once: wait for the state and commit the offsets.
 * Writing state only after the outputs are acknowledged means that even
 * where aborted transactions are visible (the embedded broker) state never
 * runs ahead of the outputs it implies.  After an abort or a failed batch
 * the touched partitions are restored again and their input rewound to
 * the checkpoint.
 *
 * Restores run on a background thread with a consumer of their own: a
 * newly assigned partition joins the consumer's assignment (at its
 * restored start) only when its restore is done, while the partitions
 * already owned go on being processed; the rebalance callback only
 * records the event, the run loop handles it (gr_rd_rebalance.c).
 */
#ifndef GR_RECEIPTD_H
#define GR_RECEIPTD_H

#include <signal.h>
#include <stdint.h>

#include "gr_config.h"

typedef struct gr_receiptd gr_receiptd;

/** Counters since start (for logs, tests and the demo). */
typedef struct gr_receiptd_stats {
        uint64_t records;      /**< input records processed */
        uint64_t applied, duplicates, rejected, parked;
        uint64_t decisions, ledger_rows, dlq, state_records;
        uint64_t batches, commits, aborts, rewinds;
        uint64_t restored_jobs, restored_records;
        double restore_ms;
        uint64_t auth_rejected; /**< events whose signature check failed */
        uint64_t verified;      /**< events through the verification pool */
        double verify_ms;       /**< wall time the pool took for them */
        uint64_t heads;         /**< signed tree heads published */
        double heads_ms;        /**< wall time building + signing heads */
        /** Wall time of the batch phases (gr_receiptd_run steps 1-4):
         *  decode+verify+apply, waiting for the outputs' acknowledgements,
         *  producing state/heads/checkpoints, committing. */
        double apply_ms, ack_ms, state_ms, commit_ms;
        double wait_ms; /* batches' time waiting for input records: from
                           the first record to the commit, less the
                           decoding and applying done meanwhile */
        double gap_ms;  /* from a batch's end to the next one's first
                           record (idle time when the input is quiet) */
        uint64_t window_clock_events; /**< reservation_expired published */
} gr_receiptd_stats;

/**
 * @brief Check the configuration, read the policy, connect (bounded by
 *        startup.timeout.ms), check the five topics exist with equal
 *        partition counts, initialise transactions, subscribe.
 * @param cfg borrowed; must outlive the processor.
 * @returns the processor (caller destroys) or NULL with errstr filled.
 */
gr_receiptd *gr_receiptd_new(const gr_config *cfg, char *errstr,
                             size_t errstr_size);

/**
 * @brief Process until *stop becomes non-zero, then commit or abort the
 *        batch in flight and leave the group.
 * @returns 0 after a clean stop, -1 after a fatal error (logged).
 */
int gr_receiptd_run(gr_receiptd *r, volatile sig_atomic_t *stop);

/** Counters (borrowed, valid until destroy). */
const gr_receiptd_stats *gr_receiptd_stats_get(const gr_receiptd *r);

/** Leaves the group if still in it; NULL is a no-op. */
void gr_receiptd_destroy(gr_receiptd *r);

#endif
