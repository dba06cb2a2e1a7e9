/**
 * @file gr_lookup.h
 * @brief Reading one job back from the state topic (`receiptctl receipt`,
 *        the demo) and printing its receipt for a person.
 */
#ifndef GR_LOOKUP_H
#define GR_LOOKUP_H

#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "gr_job.h"

/**
 * @brief Find the latest state of job_id in state_topic.
 * @param rc a consumer handle as for gr_partition_scan().
 * @param partition the job's partition, or -1 to scan all nparts.
 * @returns the job (caller destroys with gr_job_destroy()), or NULL with
 *          errstr filled (not found, timeout, undecodable state).
 */
gr_job *gr_state_lookup(rd_kafka_t *rc, const char *state_topic,
                        int32_t partition, int32_t nparts, const char *job_id,
                        int timeout_ms, char *errstr, size_t errstr_size);

/** The job's receipt (gr_receipt_to_json) pretty-printed, 2-space indent,
 *  key order kept.  @returns 0, -1 on ENOMEM. */
int gr_receipt_print(const gr_job *job, FILE *fp);

/** A consumer for scanning (no group, enable.partition.eof, earliest,
 *  small fetch wait), with extra `key=value` properties.  NULL + errstr. */
rd_kafka_t *gr_scan_consumer_new(const char *bootstrap, char **kv, int n,
                                 char *errstr, size_t errstr_size);

/** Partition count of topic, or -1 with errstr filled. */
int32_t gr_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                            char *errstr, size_t errstr_size);

#endif
