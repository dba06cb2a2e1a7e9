/**
 * @file gr_emit.h
 * @brief Publishing JSON-lines events into the input topic, keyed by
 *        job_id with the murmur2 partitioner (docs/SPEC.md §2), as `receiptctl
 *        emit` and `receiptctl demo` do.
 */
#ifndef GR_EMIT_H
#define GR_EMIT_H

#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "gr_codec.h"

typedef struct gr_emit_result {
        uint64_t lines;     /**< non-blank lines read */
        uint64_t unkeyed;   /**< lines without a job_id (sent without key) */
        uint64_t delivered; /**< acknowledged by the broker */
        uint64_t failed;    /**< produce or delivery failed */
} gr_emit_result;

/** Told about each line that is not sent (line number from 1 among the
 *  non-blank lines, and why); the library itself never prints. */
typedef void gr_emit_skip_cb(uint64_t line, const char *why, void *opaque);

/**
 * @brief A producer for emitting: partitioner=murmur2_random, acks=all,
 *        idempotent, then the caller's `key=value` properties (kv, n).
 * @returns the producer (caller destroys) or NULL with errstr filled.
 */
rd_kafka_t *gr_emit_producer_new(const char *bootstrap, char **kv, int n,
                                 char *errstr, size_t errstr_size);

/**
 * @brief Produce every non-blank line of fp to topic, keyed by its
 *        `job_id` (lines that are not JSON objects with a string job_id
 *        are sent without a key: receiptd rejects them into the DLQ), and
 *        wait for all deliveries up to timeout_ms.
 * @param rk a producer from gr_emit_producer_new().
 * @returns 0 when every line was delivered, -1 otherwise (res tells).
 */
int gr_emit_lines(rd_kafka_t *rk, const char *topic, FILE *fp, int timeout_ms,
                  gr_emit_result *res);

/**
 * @brief As gr_emit_lines(), but each line is decoded (and validated) as a
 *        JSON event and re-encoded with `codec` in `wire` framing before it
 *        is produced.  A line that does not decode, or that the client
 *        refuses to queue, is not sent: it counts as failed and on_skip
 *        (when not NULL) is told its line number and why.
 * @param codec borrowed; NULL (or GR_WIRE_JSON) sends lines unchanged.
 */
int gr_emit_lines_as(rd_kafka_t *rk, const char *topic, FILE *fp,
                     int timeout_ms, gr_codec *codec, gr_wire_t wire,
                     gr_emit_result *res, gr_emit_skip_cb *on_skip,
                     void *opaque);

#endif
