/**
 * @file gr_restore.h
 * @brief Reading a partition of the state changelog back into memory
 *        (the Kafka Streams state-store restore): on assignment receiptd
 *        reads `gpu.job.state` partition p from the start to its high
 *        watermark, keeps the last value per key, and takes the checkpoint
 *        record of p as the input offset to resume from.
 *
 * Records in the state topic, partition p:
 *   key = job_id                 value = a state record (gr_state_json.h: the compact
 *                                        Avro record, or the older JSON document),
 *                                        or null (tombstone: job gone)
 *   key = "__checkpoint__.<p>"   value = {"topic":T,"partition":p,
 *                                         "next_offset":N,
 *                                         "merkle":{"size":S,"nodes":[..]}}
 *
 * `merkle` is the Merkle frontier of partition p of the ledger after the
 * rows committed with this checkpoint (gr_merkle.h), so tree heads go on
 * from where the last instance left them; absent in checkpoints written
 * before tree heads existed.
 */
#ifndef GR_RESTORE_H
#define GR_RESTORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "gr_buf.h"
#include "gr_jobtab.h"
#include "gr_checkpoint.h"
#include "gr_merkle.h"

/** Called for each record of a scanned partition; message borrowed. */
typedef void(gr_scan_cb)(void *opaque, const rd_kafka_message_t *m);

/**
 * @brief Read topic/partition from its low to its high watermark (or to
 *        end of partition under read_committed) through rc, a consumer
 *        handle not subscribed to anything, with enable.partition.eof=true.
 *        The handle's assignment is replaced and cleared again.
 * @returns 0, or -1 with errstr filled (timeout, broker error).
 */
int gr_partition_scan(rd_kafka_t *rc, const char *topic, int32_t partition,
                      int timeout_ms, gr_scan_cb *cb, void *opaque,
                      char *errstr, size_t errstr_size);

/** Scan flag: under read_committed, read until no transaction is open in
 *  the partition (its stable end reaches the high watermark), so the
 *  records of a transaction that commits meanwhile are read too.  A new
 *  owner restoring a partition needs it: the previous owner's last
 *  transaction may still be completing. */
#define GR_SCAN_SETTLED 0x1u

/**
 * @brief gr_partition_scan() that gives up (-1, errstr "... cancelled")
 *        soon after *cancel reads non-zero (checked between polls of at
 *        most 100 ms and watermark queries of at most 500 ms); cancel NULL
 *        and flags 0 is gr_partition_scan().
 * @param flags 0 or GR_SCAN_SETTLED.
 * @param settle_ms NULL, or set to how long the scan waited at the stable
 *        end for an open transaction to end (GR_SCAN_SETTLED).
 */
int gr_partition_scan_cancel(rd_kafka_t *rc, const char *topic,
                             int32_t partition, int timeout_ms, gr_scan_cb *cb,
                             void *opaque, const atomic_int *cancel,
                             unsigned flags, int64_t *settle_ms,
                             char *errstr, size_t errstr_size);

typedef struct gr_restore_result {
        uint64_t records;    /**< state records read */
        uint64_t jobs;       /**< jobs restored (distinct keys kept) */
        uint64_t tombstones;
        uint64_t bad;        /**< records that did not decode (logged) */
        int64_t checkpoint;  /**< next input offset, -1 when none found */
        int has_frontier;    /**< the checkpoint carried a valid `merkle` */
        gr_merkle_frontier frontier; /**< ledger frontier when has_frontier */
        double ms;           /**< wall time of the restore */
        double settle_ms;    /**< part of ms waiting for an open
                                  transaction to end (GR_SCAN_SETTLED) */
} gr_restore_result;

/**
 * @brief Restore partition p of the state topic into jobs (borrowed; jobs
 *        with the same id are replaced) and find its checkpoint.
 * @param jobs NULL to look for the checkpoint only.
 * @returns 0, or -1 with errstr filled.
 */
int gr_restore_partition(rd_kafka_t *rc, const char *state_topic,
                         int32_t partition, gr_jobtab *jobs, int timeout_ms,
                         gr_restore_result *res, char *errstr,
                         size_t errstr_size);

/** gr_restore_partition() that can be cancelled and settled as
 *  gr_partition_scan_cancel(). */
int gr_restore_partition_cancel(rd_kafka_t *rc, const char *state_topic,
                                int32_t partition, gr_jobtab *jobs,
                                int timeout_ms, const atomic_int *cancel,
                                unsigned flags, gr_restore_result *res,
                                char *errstr, size_t errstr_size);

/**
 * @brief How a restore merges the records of state partition p, one at a
 *        time in offset order (what gr_restore_partition() feeds it):
 *        the last value per job_id wins, a null value (tombstone) removes
 *        the job, the checkpoint of p (its key "__checkpoint__.<p>") sets
 *        res->checkpoint and the frontier (a tombstone clears both),
 *        another partition's checkpoint is ignored, a record without key
 *        or whose value does not decode counts in res->bad.
 */
typedef struct gr_restore_merge {
        gr_jobtab *jobs;
        gr_restore_result *res;
        char ckey[64];
        size_t ckeylen;
} gr_restore_merge;

/** Start a merge into jobs (borrowed, NULL: checkpoint only); res is
 *  reset (checkpoint -1). */
void gr_restore_merge_init(gr_restore_merge *c, int32_t partition,
                           gr_jobtab *jobs, gr_restore_result *res);
/** Merge one record (borrowed). */
void gr_restore_merge_record(gr_restore_merge *c,
                             const rd_kafka_message_t *m);

#endif
