/**
 * @file gr_broker.h
 * @brief The embedded broker: librdkafka's mock cluster with the five
 *        topics of docs/SPEC.md §2 and gpu.job.ledger.heads (signed tree heads)
 *        created at equal partition counts.  For local
 *        development, the demo and the integration tests only; its limits
 *        are in DEVELOPERS.md ("The embedded broker").
 */
#ifndef GR_BROKER_H
#define GR_BROKER_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef struct gr_broker gr_broker;

/**
 * @brief Start a mock cluster of nbrokers brokers on ephemeral ports and
 *        create the topics for prefix (NULL = default) with `partitions`
 *        partitions each.
 * @returns a broker (caller destroys) or NULL with errstr filled.
 */
gr_broker *gr_broker_new(int nbrokers, int partitions, const char *prefix,
                         char *errstr, size_t errstr_size);

/** Stops the cluster; clients still connected see the brokers go away.
 *  NULL is a no-op. */
void gr_broker_destroy(gr_broker *b);

/** `host:port[,host:port...]` (borrowed, valid until destroy). */
const char *gr_broker_bootstraps(const gr_broker *b);

/** The mock cluster, for error injection (borrowed). */
rd_kafka_mock_cluster_t *gr_broker_cluster(gr_broker *b);

/**
 * @brief Run one control command, as read by `receiptctl broker` on stdin:
 *   - `down BROKER_ID` / `up BROKER_ID`   rd_kafka_mock_broker_set_down/up
 *   - `rtt BROKER_ID MS`                  rd_kafka_mock_broker_set_rtt
 *   - `errors API_KEY ERR [COUNT]`        push COUNT (default 1) copies of
 *                                         error code ERR for ApiKey
 *   - `clear API_KEY`                     drop pending injected errors
 *   - `leader TOPIC PARTITION BROKER_ID`  rd_kafka_mock_partition_set_leader
 *                                         (-1: leader-less)
 *   - `coordinator transaction|group KEY BROKER_ID`
 *                                         rd_kafka_mock_coordinator_set
 *   - `topic NAME PARTITIONS`             create a topic
 * @returns 0, or -1 with a message in reply.
 */
int gr_broker_control(gr_broker *b, const char *line, char *reply,
                      size_t reply_size);

#endif
