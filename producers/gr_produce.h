/**
 * @file gr_produce.h
 * @brief Writing receiptd's records: one produce call that copes with a
 *        full local queue, and the DLQ record's headers.
 *
 * Every output goes to an explicit partition (the input record's partition
 * number, docs/SPEC.md §2) and is keyed by job_id.
 */
#ifndef GR_PRODUCE_H
#define GR_PRODUCE_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "gr_event.h"

/** DLQ header names, in the spirit of Kafka Connect's __connect.errors.* */
#define GR_HDR_REASON "gr.error.reason"
#define GR_HDR_DETAIL "gr.error.detail"
#define GR_HDR_TOPIC "gr.error.topic"
#define GR_HDR_PARTITION "gr.error.partition"
#define GR_HDR_OFFSET "gr.error.offset"
/** Present when the value is not the original bytes: "reencoded" for a
 *  parked event given up later, whose original record is long gone;
 *  "truncated" when the original key, value or headers were too large to
 *  copy whole (then GR_HDR_ORIGINAL_SIZE holds the value's full length). */
#define GR_HDR_ORIGINAL "gr.error.original"
#define GR_HDR_ORIGINAL_SIZE "gr.error.original.size"

/**
 * @brief Produce one record (key and value are copied).  When the local
 *        queue is full it serves delivery reports and retries for up to
 *        timeout_ms.
 * @param hdrs ownership taken in every case (NULL for none).
 * @returns RD_KAFKA_RESP_ERR_NO_ERROR, or the error of the last attempt.
 */
rd_kafka_resp_err_t gr_record_produce(rd_kafka_t *rk, const char *topic,
                                      int32_t partition, const void *key,
                                      size_t keylen, const void *value,
                                      size_t valuelen,
                                      rd_kafka_headers_t *hdrs,
                                      int timeout_ms);

/** The same to a topic handle (rd_kafka_topic_new()): what a hot path
 *  uses, since a name is looked up under the client's write lock on every
 *  call and a handle is not. */
rd_kafka_resp_err_t gr_record_produce_rkt(rd_kafka_t *rk,
                                          rd_kafka_topic_t *rkt,
                                          int32_t partition, const void *key,
                                          size_t keylen, const void *value,
                                          size_t valuelen,
                                          rd_kafka_headers_t *hdrs,
                                          int timeout_ms);

/**
 * @brief Headers of a DLQ record: a copy of the original record's headers
 *        (orig may be NULL) followed by gr.error.{reason,detail,topic,
 *        partition,offset}.  offset < 0 is written as "-1" (unknown).
 * @returns new headers (caller owns; gr_record_produce takes them), or NULL
 *          on ENOMEM.
 */
rd_kafka_headers_t *gr_dlq_headers_new(const rd_kafka_headers_t *orig,
                                       const gr_err *err, const char *topic,
                                       int32_t partition, int64_t offset);

/**
 * @brief Apply `-X key=value` strings (borrowed) to a librdkafka config, as
 *        receiptctl's Kafka commands accept them.
 * @returns 0, or -1 with errstr filled (malformed pair or a key librdkafka
 *          rejects).
 */
int gr_conf_set_kvs(rd_kafka_conf_t *conf, char **kv, int n, char *errstr,
                    size_t errstr_size);

#endif
