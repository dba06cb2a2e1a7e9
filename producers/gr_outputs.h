/**
 * @file gr_outputs.h
 * @brief Every record receiptd writes to Kafka, one writer each: ledger
 *        rows, decisions (JSON, signed JSON or Avro), DLQ records, job
 *        state and its tombstones, checkpoints, signed tree heads.  Each
 *        renders its record, produces it to the given partition of its
 *        topic (the job's partition number, docs/SPEC.md §2) on the
 *        caller's producer — inside the caller's transaction — and says
 *        whether that worked.
 *
 * Errors: each writer returns 0, or -1 with the reason in o->errstr (a
 * rendering that ran out of memory, a signature that failed, a produce
 * call the client refused).  Delivery is confirmed later by the caller
 * (flush and delivery reports); a writer only hands the record over.
 */
#ifndef GR_OUTPUTS_H
#define GR_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "gr_buf.h"
#include "gr_codec.h"
#include "gr_event.h"
#include "gr_job.h"
#include "gr_keys.h"
#include "gr_merkle.h"
#include "gr_records.h"
#include "gr_sign.h"
#include "gr_topics.h"

/* What of a rejected record the DLQ copies: key, value and original
 * headers beyond these sizes are cut (the value cap is the largest event
 * the decoder accepts), so a DLQ record always fits a topic's default
 * max.message.bytes and a poison message cannot fail its batch forever. */
#define GR_DLQ_KEY_MAX 1024
#define GR_DLQ_VALUE_MAX GR_EVENT_WIRE_MAX
#define GR_DLQ_HEADERS_MAX (16 * 1024)

typedef struct gr_outputs {
        rd_kafka_t *rk;           /**< the producer (borrowed) */
        const gr_topics *topics;  /**< topic names (borrowed) */
        /** a handle per topic (borrowed, gr_outputs_use_handles()); a NULL
         *  array or entry produces by name */
        rd_kafka_topic_t *const *rkt;
        gr_codec *codec;          /**< Avro decisions (borrowed) */
        int wire;                 /**< gr_wire_t of decisions */
        const gr_keypair *kp;     /**< signs decisions and heads, or NULL */
        int timeout_ms;           /**< bound on a produce call (queue full) */
        gr_buf buf;               /**< rendering scratch */
        char errstr[256];         /**< why the last writer failed */
} gr_outputs;

/** Set up (no allocation until the first record). */
void gr_outputs_init(gr_outputs *o, rd_kafka_t *rk, const gr_topics *topics,
                     gr_codec *codec, int wire, const gr_keypair *kp,
                     int timeout_ms);
void gr_outputs_free(gr_outputs *o);

/** Produce through these handles (GR_TOPIC__CNT of them, made by the
 *  owner of the producer and destroyed by it before the producer), not by
 *  topic name. */
void gr_outputs_use_handles(gr_outputs *o, rd_kafka_topic_t *const *rkt);

/** A ledger row, rendered once; leaf = its Merkle leaf hash (the row
 *  exactly as published, gr_merkle.h). */
int gr_out_ledger_row(gr_outputs *o, int32_t partition,
                      const gr_ledger_row *row, uint8_t leaf[GR_HASH_LEN]);

/** A decision: Avro when o->wire says so, else JSON, signed with o->kp. */
int gr_out_decision(gr_outputs *o, int32_t partition, const gr_decision *d);

/** A rejected record copied to the DLQ with its own key, value and headers
 *  (cut to the GR_DLQ_* limits, marked when cut) and gr.error.* headers
 *  naming reason, detail and where it came from (src_topic, m). */
int gr_out_dlq_copy(gr_outputs *o, int32_t partition,
                    const rd_kafka_message_t *m, const gr_err *err,
                    const char *src_topic);

/** A rejected event no longer in hand (a parked one given up): written
 *  re-encoded as canonical JSON, keyed by its job, and marked so. */
int gr_out_dlq_event(gr_outputs *o, int32_t partition, const gr_event *ev,
                     const gr_err *err, const char *src_topic);

/** The job's state record (key = job_id), or its tombstone. */
int gr_out_state(gr_outputs *o, int32_t partition, const gr_job *job);
int gr_out_tombstone(gr_outputs *o, int32_t partition, const char *job_id);

/** The partition's checkpoint: next input offset of src_topic and the
 *  ledger's Merkle frontier. */
int gr_out_checkpoint(gr_outputs *o, int32_t partition, const char *src_topic,
                      int64_t next_offset, const gr_merkle_frontier *f);

/** A tree head, signed here with o->kp (key = partition number). */
int gr_out_tree_head(gr_outputs *o, int32_t partition, gr_tree_head *th);

#endif
