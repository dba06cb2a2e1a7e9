/* Every Kafka output of receiptd, one writer each (gr_outputs.h). */
#include "gr_outputs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gr_checkpoint.h"
#include "gr_json_event.h"
#include "gr_output.h"
#include "gr_produce.h"
#include "gr_state_json.h"

void gr_outputs_init(gr_outputs *o, rd_kafka_t *rk, const gr_topics *topics,
                     gr_codec *codec, int wire, const gr_keypair *kp,
                     int timeout_ms) {
        memset(o, 0, sizeof(*o));
        o->rk = rk;
        o->topics = topics;
        o->codec = codec;
        o->wire = wire;
        o->kp = kp;
        o->timeout_ms = timeout_ms;
        gr_buf_init(&o->buf);
}

void gr_outputs_free(gr_outputs *o) {
        gr_buf_free(&o->buf);
}

void gr_outputs_use_handles(gr_outputs *o, rd_kafka_topic_t *const *rkt) {
        o->rkt = rkt;
}

static int fail(gr_outputs *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int fail(gr_outputs *o, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(o->errstr, sizeof(o->errstr), fmt, ap);
        va_end(ap);
        return -1;
}

/* Hand one record to the producer; hdrs (may be NULL) are taken over. */
static int produce(gr_outputs *o, gr_topic_t t, int32_t partition,
                   const void *key, size_t keylen, const void *val,
                   size_t vallen, rd_kafka_headers_t *hdrs) {
        rd_kafka_resp_err_t e =
            o->rkt && o->rkt[t]
                ? gr_record_produce_rkt(o->rk, o->rkt[t], partition, key,
                                        keylen, val, vallen, hdrs,
                                        o->timeout_ms)
                : gr_record_produce(o->rk, o->topics->name[t], partition,
                                    key, keylen, val, vallen, hdrs,
                                    o->timeout_ms);
        if (e)
                return fail(o, "produce to %s [%d] failed: %s",
                            o->topics->name[t], (int)partition,
                            rd_kafka_err2str(e));
        return 0;
}

/* The rendering in o->buf, or a failure when it ran out of memory. */
static int rendered(gr_outputs *o, const char *what) {
        if (o->buf.oom) {
                gr_buf_free(&o->buf);
                return fail(o, "%s: out of memory", what);
        }
        return 0;
}

int gr_out_ledger_row(gr_outputs *o, int32_t partition,
                      const gr_ledger_row *row, uint8_t leaf[GR_HASH_LEN]) {
        gr_buf_reset(&o->buf);
        gr_ledger_row_to_json(row, 1, &o->buf);
        if (rendered(o, "ledger row"))
                return -1;
        gr_merkle_leaf_hash(o->buf.data, o->buf.len, leaf);
        return produce(o, GR_TOPIC_LEDGER, partition, row->job_id,
                       strlen(row->job_id), o->buf.data, o->buf.len, NULL);
}

int gr_out_decision(gr_outputs *o, int32_t partition, const gr_decision *d) {
        gr_err err;
        gr_buf_reset(&o->buf);
        if (o->wire != GR_WIRE_JSON) {
                if (gr_codec_encode_decision(o->codec, (gr_wire_t)o->wire, d,
                                             NULL, NULL, &o->buf, &err) == -1)
                        return fail(o, "decision %s: %s", d->decision_id,
                                    err.detail);
        } else if (o->kp) {
                if (gr_decision_sign(o->kp, d, &o->buf) == -1)
                        o->buf.oom = 1;
        } else {
                gr_decision_to_json(d, NULL, NULL, &o->buf);
        }
        if (rendered(o, "decision"))
                return -1;
        return produce(o, GR_TOPIC_DECISIONS, partition, d->job_id,
                       strlen(d->job_id), o->buf.data, o->buf.len, NULL);
}

/* Bytes of a record's headers (names and values); 0 for NULL. */
static size_t headers_size(const rd_kafka_headers_t *h) {
        const char *name;
        const void *val;
        size_t n = 0, sz;

        for (size_t i = 0;
             h && !rd_kafka_header_get_all(h, i, &name, &val, &sz); i++)
                n += strlen(name) + sz;
        return n;
}

int gr_out_dlq_copy(gr_outputs *o, int32_t partition,
                    const rd_kafka_message_t *m, const gr_err *err,
                    const char *src_topic) {
        rd_kafka_headers_t *orig = NULL, *h;
        size_t klen = m->key_len, vlen = m->len;
        int cut = klen > GR_DLQ_KEY_MAX || vlen > GR_DLQ_VALUE_MAX;

        if (rd_kafka_message_headers(m, &orig) ||
            headers_size(orig) > GR_DLQ_HEADERS_MAX) {
                cut |= orig != NULL;
                orig = NULL;
        }
        h = gr_dlq_headers_new(orig, err, src_topic, m->partition, m->offset);
        if (!h)
                return fail(o, "DLQ headers: out of memory");
        if (cut) {
                /* A DLQ record must always be writable, or the poison
                 * message would fail its batch forever. */
                char num[32];
                snprintf(num, sizeof(num), "%zu", vlen);
                rd_kafka_header_add(h, GR_HDR_ORIGINAL, -1, "truncated", -1);
                rd_kafka_header_add(h, GR_HDR_ORIGINAL_SIZE, -1, num, -1);
                if (klen > GR_DLQ_KEY_MAX)
                        klen = GR_DLQ_KEY_MAX;
                if (vlen > GR_DLQ_VALUE_MAX)
                        vlen = GR_DLQ_VALUE_MAX;
        }
        return produce(o, GR_TOPIC_DLQ, partition, m->key, klen, m->payload,
                       vlen, h);
}

int gr_out_dlq_event(gr_outputs *o, int32_t partition, const gr_event *ev,
                     const gr_err *err, const char *src_topic) {
        rd_kafka_headers_t *h;

        gr_buf_reset(&o->buf);
        gr_json_event_encode(ev, &o->buf);
        if (rendered(o, "DLQ event"))
                return -1;
        if (!(h = gr_dlq_headers_new(NULL, err, src_topic, partition, -1)))
                return fail(o, "DLQ headers: out of memory");
        rd_kafka_header_add(h, GR_HDR_ORIGINAL, -1, "reencoded", -1);
        return produce(o, GR_TOPIC_DLQ, partition, ev->job_id,
                       strlen(ev->job_id), o->buf.data, o->buf.len, h);
}

int gr_out_state(gr_outputs *o, int32_t partition, const gr_job *job) {
        gr_buf_reset(&o->buf);
        gr_state_encode_compact(job, &o->buf);
        if (rendered(o, "state record"))
                return -1;
        return produce(o, GR_TOPIC_STATE, partition, job->job_id,
                       strlen(job->job_id), o->buf.data, o->buf.len, NULL);
}

int gr_out_tombstone(gr_outputs *o, int32_t partition, const char *job_id) {
        return produce(o, GR_TOPIC_STATE, partition, job_id, strlen(job_id),
                       NULL, 0, NULL);
}

int gr_out_checkpoint(gr_outputs *o, int32_t partition, const char *src_topic,
                      int64_t next_offset, const gr_merkle_frontier *f) {
        char key[64];

        gr_checkpoint_key(partition, key, sizeof(key));
        gr_buf_reset(&o->buf);
        gr_checkpoint_frontier_encode(src_topic, partition, next_offset, f,
                                      &o->buf);
        if (rendered(o, "checkpoint"))
                return -1;
        return produce(o, GR_TOPIC_STATE, partition, key, strlen(key),
                       o->buf.data, o->buf.len, NULL);
}

int gr_out_tree_head(gr_outputs *o, int32_t partition, gr_tree_head *th) {
        char key[16];

        if (!o->kp)
                return fail(o, "tree head: no processor key to sign it");
        if (gr_tree_head_sign(th, o->kp) == -1)
                return fail(o, "tree head: signing failed");
        gr_buf_reset(&o->buf);
        gr_tree_head_to_json(th, &o->buf);
        if (rendered(o, "tree head"))
                return -1;
        snprintf(key, sizeof(key), "%d", (int)partition);
        return produce(o, GR_TOPIC_LEDGER_HEADS, partition, key, strlen(key),
                       o->buf.data, o->buf.len, NULL);
}
