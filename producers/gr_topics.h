/**
 * @file gr_topics.h
 * @brief The five topics of docs/SPEC.md §2 behind one configurable prefix, and the
 *        partitioning rule that keeps a job on one partition number in all
 *        of them; plus `gpu.job.ledger.heads`, the signed Merkle tree heads
 *        of the ledger, needed only when receiptd has a
 *        processor.key.
 */
#ifndef GR_TOPICS_H
#define GR_TOPICS_H

#include "gr_checkpoint.h" /* GR_CHECKPOINT_KEY_PREFIX */

#include <stddef.h>
#include <stdint.h>

/** Default prefix: gives the docs/SPEC.md §2 names (`gpu.job.events`, ...). */
#define GR_TOPIC_PREFIX_DEFAULT "gpu."

/** X(ID, suffix after the prefix). */
#define GR_TOPIC_MAP(X)                                                        \
        X(EVENTS, "job.events")                                                \
        X(STATE, "job.state")                                                  \
        X(LEDGER, "job.ledger")                                                \
        X(DECISIONS, "settlement.decisions")                                   \
        X(DLQ, "job.events.dlq")                                               \
        X(LEDGER_HEADS, "job.ledger.heads")

#define GR__ENUM_TOPIC(N, S) GR_TOPIC_##N,
typedef enum { GR_TOPIC_MAP(GR__ENUM_TOPIC) GR_TOPIC__CNT } gr_topic_t;

#define GR_TOPIC_NAME_MAX 256

/** The resolved names of all topics for one prefix. */
typedef struct gr_topics {
        char name[GR_TOPIC__CNT][GR_TOPIC_NAME_MAX];
} gr_topics;

/**
 * @brief Fill t with prefix + suffix for every topic.
 * @param prefix NULL means GR_TOPIC_PREFIX_DEFAULT.
 * @returns 0, or -1 when a name would not fit.
 */
int gr_topics_init(gr_topics *t, const char *prefix);

/** Suffix of a topic (borrowed static string). */
const char *gr_topic_suffix(gr_topic_t id);

/**
 * @brief Partition of a key under the murmur2 partitioner (the Java client
 *        default), which every producer of input should use (docs/SPEC.md §2).
 */
int32_t gr_partition_of(const char *key, size_t keylen, int32_t partition_cnt);

#endif
