#include "gr_receiptd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <sodium.h>

#include "gr_buf.h"
#include "gr_codec.h"
#include "gr_engine.h"
#include "gr_html.h"
#include "gr_metrics.h"
#include "gr_json_event.h"
#include "gr_keys.h"
#include "gr_merkle.h"
#include "gr_output.h"
#include "gr_produce.h"
#include "gr_restore.h"
#include "gr_sign.h"
#include "gr_state_json.h"
#include "gr_topics.h"
#include "gr_verify_pool.h"

/* Bound for every blocking call on the transactional producer; a batch
 * that cannot commit in this time is aborted and redone. */
#define GR_TXN_TIMEOUT_MS 30000
#define GR_TXN_RETRIES 3
#define GR_PRODUCE_TIMEOUT_MS 10000
#define GR_POLICY_MAX (1024 * 1024)
#define GR_PROGRESS_MS 60000
#define GR_JOIN_FINISH_MS 5000
/* Records decoded (and verified by the pool) together before they are
 * applied in order; ~8 KiB of gr_event each. */
#define GR_PEND_MAX 1024
/* What of a rejected record the DLQ copies: key, value and original
 * headers beyond these sizes are cut (the value cap is the largest event
 * the decoder accepts), so a DLQ record always fits a topic's default
 * max.message.bytes and a poison message cannot fail its batch forever. */
#define GR_DLQ_KEY_MAX 1024
#define GR_DLQ_VALUE_MAX GR_EVENT_WIRE_MAX
#define GR_DLQ_HEADERS_MAX (16 * 1024)

/* One assigned input partition: its engine (the jobs whose events live on
 * this partition number) and what the batch in hand did to it. */
typedef struct gr_part {
        gr_receiptd *r;
        int32_t partition;
        gr_engine *eng;
        gr_fsm_sink sink; /* opaque = this part; outlives eng */
        int64_t next_offset; /* next input offset to apply; -1 unknown */
        int touched;         /* in the batch in hand */
        int revoking;
        const gr_job **dirty; /* jobs to write to the state topic */
        size_t ndirty, capdirty;
        char **evicted; /* job_ids to tombstone in the state topic */
        size_t nevicted, capevicted;
        const rd_kafka_message_t *cur; /* record being applied */
        /* The partition's Merkle log over its ledger rows (issue 5): the
         * frontier after every row produced so far, committed with the
         * checkpoint; head_size = tree_size of the last head published
         * (or restored); head_time = that head's timestamp; batch_latest =
         * latest occurred_at among this batch's rows. */
        gr_merkle_frontier merkle;
        uint64_t head_size;
        int64_t head_time;
        int64_t batch_latest;
} gr_part;

struct gr_receiptd {
        const gr_config *cfg;
        gr_topics topics;
        gr_policy policy;
        rd_kafka_t *consumer, *producer, *restorer;
        int eos;
        int closed;
        int assigned_once; /* a rebalance has assigned partitions */
        int join_unfinished; /* see join_unfinished() */
        int32_t nparts;
        gr_part **parts; /* [nparts], NULL when not assigned */
        int in_txn;
        int batch_records;
        int produce_failed;  /* a produce call failed in this batch */
        int delivery_failed; /* a delivery report failed in this batch */
        rd_kafka_resp_err_t delivery_err;
        rd_kafka_resp_err_t last_consume_err;
        int fatal;
        gr_codec *codec; /* JSON or Avro, by each record's framing */
        gr_event *ev;    /* the event in hand: points into evs */
        /* Records polled but not yet applied (owned), with their decoded
         * events and decode/verify results, [cappend] each. */
        rd_kafka_message_t **pend;
        gr_event *evs;
        gr_event **pevs; /* events the pool verifies (NULL: skip) */
        int *prc;
        gr_err *perr;
        size_t npend, cappend;
        int need_auth;             /* the policy requires some signature */
        gr_verify_pool *vpool;     /* NULL when need_auth is 0 */
        const gr_keypair *kp;      /* processor key (cfg's), or NULL */
        gr_buf buf;
        gr_receiptd_stats st;
        gr_metrics *metrics; /* NULL when metrics.listen is unset */
};

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_ms_f(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void rlog(const gr_receiptd *r, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void rlog(const gr_receiptd *r, int level, const char *fmt, ...) {
        va_list ap;

        if (r->cfg->log_level < level)
                return;
        va_start(ap, fmt);
        fputs("receiptd: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Outputs                                                             */

static void out_produce(gr_receiptd *r, gr_topic_t t, int32_t partition,
                        const void *key, size_t keylen, const void *val,
                        size_t vallen, rd_kafka_headers_t *hdrs) {
        rd_kafka_resp_err_t e;

        e = gr_record_produce(r->producer, r->topics.name[t], partition, key,
                              keylen, val, vallen, hdrs,
                              GR_PRODUCE_TIMEOUT_MS);
        if (e) {
                if (!r->produce_failed)
                        rlog(r, 1, "produce to %s [%d] failed: %s",
                             r->topics.name[t], (int)partition,
                             rd_kafka_err2str(e));
                r->produce_failed = 1;
        }
}

static void part_dirty(gr_part *p, const gr_job *job) {
        if (p->ndirty && p->dirty[p->ndirty - 1] == job)
                return; /* the common case: several rows for one job */
        if (p->ndirty == p->capdirty) {
                size_t cap = p->capdirty ? p->capdirty * 2 : 64;
                const gr_job **d = realloc(p->dirty, cap * sizeof(*d));
                if (!d) {
                        p->r->produce_failed = 1; /* redo the batch */
                        return;
                }
                p->dirty = d;
                p->capdirty = cap;
        }
        p->dirty[p->ndirty++] = job;
}

/* Retention evicts a settled job: forget it in this batch's dirty list
 * (the pointer is about to dangle) and tombstone it with the state. */
static void part_evict(void *opaque, const gr_job *job) {
        gr_part *p = opaque;
        char *id;

        for (size_t i = 0; i < p->ndirty; i++)
                if (p->dirty[i] == job)
                        p->dirty[i] = NULL;
        if (p->nevicted == p->capevicted) {
                size_t cap = p->capevicted ? p->capevicted * 2 : 16;
                char **v = realloc(p->evicted, cap * sizeof(*v));
                if (!v) {
                        p->r->produce_failed = 1;
                        return;
                }
                p->evicted = v;
                p->capevicted = cap;
        }
        if (!(id = strdup(job->job_id))) {
                p->r->produce_failed = 1;
                return;
        }
        p->evicted[p->nevicted++] = id;
}

static void sink_ledger(void *opaque, const gr_job *job,
                        const gr_ledger_row *row) {
        gr_part *p = opaque;
        gr_receiptd *r = p->r;

        uint8_t leaf[GR_HASH_LEN];

        gr_buf_reset(&r->buf);
        gr_ledger_row_to_json(row, 1, &r->buf);
        if (r->buf.oom) {
                r->produce_failed = 1;
                return;
        }
        /* The leaf is the row exactly as published (gr_merkle.h). */
        gr_merkle_leaf_hash(r->buf.data, r->buf.len, leaf);
        if (gr_merkle_frontier_append(&p->merkle, leaf) == -1)
                r->produce_failed = 1;
        if (row->occurred_at > p->batch_latest)
                p->batch_latest = row->occurred_at;
        out_produce(r, GR_TOPIC_LEDGER, p->partition, row->job_id,
                    strlen(row->job_id), r->buf.data, r->buf.len, NULL);
        r->st.ledger_rows++;
        part_dirty(p, job);
}

static void sink_decision(void *opaque, const gr_job *job,
                          const gr_decision *d) {
        gr_part *p = opaque;
        gr_receiptd *r = p->r;

        gr_buf_reset(&r->buf);
        if (r->cfg->output_wire != GR_WIRE_JSON) {
                if (gr_codec_encode_decision(r->codec,
                                             (gr_wire_t)r->cfg->output_wire, d,
                                             NULL, NULL, &r->buf) == -1)
                        r->buf.oom = 1;
        } else if (r->kp) {
                if (gr_decision_sign(r->kp, d, &r->buf) == -1)
                        r->buf.oom = 1;
        } else {
                gr_decision_to_json(d, NULL, NULL, &r->buf);
        }
        if (r->buf.oom) {
                r->produce_failed = 1;
                return;
        }
        out_produce(r, GR_TOPIC_DECISIONS, p->partition, d->job_id,
                    strlen(d->job_id), r->buf.data, r->buf.len, NULL);
        r->st.decisions++;
        gr_metrics_decision_count(r->metrics, d->settlement, d->rule);
        part_dirty(p, job);
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

static int same_event(const gr_event *a, const gr_event *b) {
        return a == b ||
               (gr_event_has(a, GR_F_event_id) &&
                gr_event_has(b, GR_F_event_id) &&
                !strcmp(a->event_id, b->event_id));
}

/* A rejected event goes to the DLQ with its original key, value and
 * headers.  A parked event given up later is no longer in hand: it is
 * written re-encoded, keyed by its job, and says so in a header. */
static void sink_reject(void *opaque, const gr_event *ev, const gr_err *err) {
        gr_part *p = opaque;
        gr_receiptd *r = p->r;
        const rd_kafka_message_t *m = p->cur;
        rd_kafka_headers_t *orig = NULL, *h;

        r->st.dlq++;
        if (m && (!ev || same_event(ev, r->ev))) {
                size_t klen = m->key_len, vlen = m->len;
                int cut = klen > GR_DLQ_KEY_MAX || vlen > GR_DLQ_VALUE_MAX;

                if (rd_kafka_message_headers(m, &orig) ||
                    headers_size(orig) > GR_DLQ_HEADERS_MAX) {
                        cut |= orig != NULL;
                        orig = NULL;
                }
                h = gr_dlq_headers_new(orig, err, r->topics.name[GR_TOPIC_EVENTS],
                                       m->partition, m->offset);
                if (!h) {
                        r->produce_failed = 1;
                        return;
                }
                if (cut) {
                        /* A DLQ record must always be writable, or the
                         * poison message would fail its batch forever. */
                        char num[32];
                        snprintf(num, sizeof(num), "%zu", vlen);
                        rd_kafka_header_add(h, GR_HDR_ORIGINAL, -1,
                                            "truncated", -1);
                        rd_kafka_header_add(h, GR_HDR_ORIGINAL_SIZE, -1, num,
                                            -1);
                        if (klen > GR_DLQ_KEY_MAX)
                                klen = GR_DLQ_KEY_MAX;
                        if (vlen > GR_DLQ_VALUE_MAX)
                                vlen = GR_DLQ_VALUE_MAX;
                }
                out_produce(r, GR_TOPIC_DLQ, p->partition, m->key, klen,
                            m->payload, vlen, h);
                return;
        }
        gr_buf_reset(&r->buf);
        gr_json_event_encode(ev, &r->buf);
        h = gr_dlq_headers_new(NULL, err, r->topics.name[GR_TOPIC_EVENTS],
                               p->partition, -1);
        if (!h || r->buf.oom) {
                if (h)
                        rd_kafka_headers_destroy(h);
                r->produce_failed = 1;
                return;
        }
        rd_kafka_header_add(h, GR_HDR_ORIGINAL, -1, "reencoded", -1);
        out_produce(r, GR_TOPIC_DLQ, p->partition, ev->job_id,
                    strlen(ev->job_id), r->buf.data, r->buf.len, h);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                      void *opaque) {
        gr_receiptd *r = opaque;

        (void)rk;
        if (m->err && !r->delivery_failed) {
                r->delivery_failed = 1;
                r->delivery_err = m->err;
        }
}

/* ------------------------------------------------------------------ */
/* Partitions: restore and rewind                                      */

static gr_part *part_new(gr_receiptd *r, int32_t partition) {
        gr_part *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->r = r;
        p->partition = partition;
        p->next_offset = -1;
        p->sink.opaque = p;
        p->sink.ledger = sink_ledger;
        p->sink.decision = sink_decision;
        p->sink.reject = sink_reject;
        p->head_time = INT64_MIN;
        p->batch_latest = INT64_MIN;
        return p;
}

static void part_batch_clear(gr_part *p) {
        for (size_t i = 0; i < p->nevicted; i++)
                free(p->evicted[i]);
        p->nevicted = 0;
        p->touched = 0;
        p->ndirty = 0;
        p->cur = NULL;
        p->batch_latest = INT64_MIN;
}

static void part_destroy(gr_part *p) {
        if (!p)
                return;
        gr_metrics_partition_reset(p->r->metrics, p->partition);
        gr_engine_destroy(p->eng);
        part_batch_clear(p);
        free(p->evicted);
        free(p->dirty);
        free(p);
}

static void merkle_rebuild_row(void *opaque, const rd_kafka_message_t *m) {
        gr_part *p = opaque;
        uint8_t leaf[GR_HASH_LEN];

        gr_merkle_leaf_hash(m->payload ? m->payload : "", m->len, leaf);
        gr_merkle_frontier_append(&p->merkle, leaf);
}

/* The partition's Merkle frontier: from the checkpoint, or — for a
 * checkpoint written before issue 5, or none — rebuilt by reading the
 * ledger partition, so the next head covers every row already there. */
static int part_merkle_restore(gr_receiptd *r, gr_part *p,
                               const gr_restore_result *res) {
        char err[512];

        gr_merkle_frontier_init(&p->merkle);
        if (res->has_frontier) {
                p->merkle = res->frontier;
        } else if (gr_partition_scan(r->restorer,
                                     r->topics.name[GR_TOPIC_LEDGER],
                                     p->partition, r->cfg->restore_timeout_ms,
                                     merkle_rebuild_row, p, err,
                                     sizeof(err)) == -1) {
                rlog(r, 0, "partition %d: rebuilding the Merkle log: %s",
                     (int)p->partition, err);
                return -1;
        } else if (p->merkle.size) {
                rlog(r, 1,
                     "partition %d: Merkle log rebuilt from %llu ledger rows "
                     "(no frontier in the checkpoint)",
                     (int)p->partition, (unsigned long long)p->merkle.size);
        }
        p->head_size = p->merkle.size;
        p->head_time = INT64_MIN;
        return 0;
}

/* Rebuild the partition's engine from the state topic and find where its
 * input resumes: the checkpoint, else the group's committed offset, else
 * the beginning.  Returns the offset to start from (possibly logical). */
static int part_restore(gr_receiptd *r, gr_part *p, int64_t *start) {
        gr_restore_result res;
        char err[512], where[64];

        gr_metrics_partition_reset(r->metrics, p->partition);
        gr_engine_destroy(p->eng);
        part_batch_clear(p);
        if (!(p->eng = gr_engine_new(&r->policy, &p->sink))) {
                rlog(r, 0, "partition %d: out of memory", (int)p->partition);
                return -1;
        }
        gr_engine_set_evict(p->eng, part_evict, p);
        if (gr_restore_partition(r->restorer, r->topics.name[GR_TOPIC_STATE],
                                 p->partition, gr_engine_jobs(p->eng),
                                 r->cfg->restore_timeout_ms, &res, err,
                                 sizeof(err)) == -1) {
                rlog(r, 0, "partition %d: restore failed: %s",
                     (int)p->partition, err);
                return -1;
        }
        if (part_merkle_restore(r, p, &res) == -1)
                return -1;
        r->st.restored_jobs += res.jobs;
        r->st.restored_records += res.records;
        r->st.restore_ms += res.ms;
        gr_metrics_restore_observe(r->metrics, p->partition, res.ms / 1000.0,
                                   res.records, res.jobs);
        if (res.bad)
                rlog(r, 1,
                     "partition %d: %llu state records did not decode "
                     "(skipped)",
                     (int)p->partition, (unsigned long long)res.bad);

        *start = res.checkpoint;
        if (*start < 0) {
                rd_kafka_topic_partition_list_t *tp =
                    rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(
                    tp, r->topics.name[GR_TOPIC_EVENTS], p->partition);
                if (!rd_kafka_committed(r->consumer, tp,
                                        r->cfg->startup_timeout_ms) &&
                    tp->elems[0].offset >= 0)
                        *start = tp->elems[0].offset;
                rd_kafka_topic_partition_list_destroy(tp);
        }
        p->next_offset = *start;
        if (*start < 0)
                snprintf(where, sizeof(where), "the beginning");
        else
                snprintf(where, sizeof(where), "%s %lld",
                         res.checkpoint >= 0 ? "checkpoint" :
                                               "committed offset",
                         (long long)*start);
        rlog(r, 1,
             "partition %d: restored %llu jobs from %llu state records in "
             "%.0f ms; input resumes at %s",
             (int)p->partition, (unsigned long long)res.jobs,
             (unsigned long long)res.records, res.ms, where);
        if (*start < 0)
                *start = RD_KAFKA_OFFSET_BEGINNING;
        return 0;
}

/* After an abort or a failed batch: restore the touched partitions again
 * and seek their input back to the checkpoint. */
static void rewind_touched(gr_receiptd *r) {
        rd_kafka_topic_partition_list_t *tp =
            rd_kafka_topic_partition_list_new(4);
        rd_kafka_error_t *e;

        for (int32_t i = 0; i < r->nparts; i++) {
                gr_part *p = r->parts[i];
                int64_t start;

                if (!p || !p->touched)
                        continue;
                if (p->revoking) {
                        part_batch_clear(p);
                        continue;
                }
                if (part_restore(r, p, &start) == -1) {
                        r->fatal = 1;
                        continue;
                }
                rd_kafka_topic_partition_list_add(
                    tp, r->topics.name[GR_TOPIC_EVENTS], i)->offset = start;
                r->st.rewinds++;
        }
        if (tp->cnt > 0 &&
            (e = rd_kafka_seek_partitions(r->consumer, tp,
                                          GR_TXN_TIMEOUT_MS))) {
                rlog(r, 0, "rewind: seek failed: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
        }
        rd_kafka_topic_partition_list_destroy(tp);
}

/* ------------------------------------------------------------------ */
/* Batches and transactions                                            */

static int txn_begin(gr_receiptd *r) {
        rd_kafka_error_t *e;

        if (!r->eos || r->in_txn)
                return 0;
        if ((e = rd_kafka_begin_transaction(r->producer))) {
                rlog(r, 0, "begin_transaction: %s: %s", rd_kafka_error_name(e),
                     rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
                return -1;
        }
        r->in_txn = 1;
        return 0;
}

static void txn_abort(gr_receiptd *r) {
        rd_kafka_error_t *e;

        if (!r->in_txn)
                return;
        for (int tries = 0;; tries++) {
                if (!(e = rd_kafka_abort_transaction(r->producer,
                                                     GR_TXN_TIMEOUT_MS)))
                        break;
                if (rd_kafka_error_is_retriable(e) && tries < GR_TXN_RETRIES) {
                        rd_kafka_error_destroy(e);
                        continue;
                }
                rlog(r, 0, "abort_transaction: %s: %s",
                     rd_kafka_error_name(e), rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
                break;
        }
        r->in_txn = 0;
        r->st.aborts++;
}

/* Report a failed transactional call; fatal errors stop the processor,
 * everything else is aborted and redone by the caller. */
static void txn_failed(gr_receiptd *r, const char *what, rd_kafka_error_t *e) {
        /* FENCED_INSTANCE_ID: this static member was replaced (after a
         * group coordinator moved, librdkafka 2.0 can fence itself); the
         * consumer cannot go on, a restart with the same identity can. */
        int fenced = rd_kafka_error_code(e) ==
                     RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID;

        rlog(r, 0, "%s failed: %s: %s (%s)", what, rd_kafka_error_name(e),
             rd_kafka_error_string(e),
             rd_kafka_error_is_fatal(e) || fenced    ? "fatal" :
             rd_kafka_error_txn_requires_abort(e)    ? "aborting the batch" :
                                                       "aborting the batch");
        if (rd_kafka_error_is_fatal(e) || fenced)
                r->fatal = 1;
        rd_kafka_error_destroy(e);
}

static int txn_commit(gr_receiptd *r, rd_kafka_topic_partition_list_t *offs) {
        rd_kafka_consumer_group_metadata_t *md;
        rd_kafka_error_t *e;
        int tries;

        if (!(md = rd_kafka_consumer_group_metadata(r->consumer))) {
                rlog(r, 0, "no consumer group metadata: aborting the batch");
                return -1;
        }
        for (tries = 0;; tries++) {
                e = rd_kafka_send_offsets_to_transaction(r->producer, offs, md,
                                                         GR_TXN_TIMEOUT_MS);
                if (!e)
                        break;
                if (rd_kafka_error_is_retriable(e) && tries < GR_TXN_RETRIES) {
                        rd_kafka_error_destroy(e);
                        continue;
                }
                rd_kafka_consumer_group_metadata_destroy(md);
                txn_failed(r, "send_offsets_to_transaction", e);
                return -1;
        }
        rd_kafka_consumer_group_metadata_destroy(md);
        for (tries = 0;; tries++) {
                e = rd_kafka_commit_transaction(r->producer, GR_TXN_TIMEOUT_MS);
                if (!e)
                        break;
                if (rd_kafka_error_is_retriable(e) && tries < GR_TXN_RETRIES) {
                        rd_kafka_error_destroy(e);
                        continue;
                }
                txn_failed(r, "commit_transaction", e);
                return -1;
        }
        r->in_txn = 0;
        return 0;
}

/* Wait until everything produced so far is acknowledged. */
static int outputs_wait(gr_receiptd *r, const char *what) {
        rd_kafka_resp_err_t e = rd_kafka_flush(r->producer, GR_TXN_TIMEOUT_MS);

        if (e || r->delivery_failed || r->produce_failed) {
                rlog(r, 0, "%s not acknowledged: %s", what,
                     rd_kafka_err2str(e ? e : r->delivery_failed ?
                                      r->delivery_err :
                                      RD_KAFKA_RESP_ERR__FAIL));
                return -1;
        }
        return 0;
}

static int cmp_ptr(const void *a, const void *b) {
        uintptr_t x = (uintptr_t)*(const gr_job *const *)a;
        uintptr_t y = (uintptr_t)*(const gr_job *const *)b;
        return x < y ? -1 : x > y;
}

/* One signed tree head over every ledger row of the partition so far, in
 * the batch's transaction (issue 5): one signature per batch, not per row.
 * Its timestamp is event time (the batch's latest row), never a clock. */
static void part_write_head(gr_receiptd *r, gr_part *p) {
        double t0 = now_ms_f();
        gr_tree_head th;
        char key[16];

        memset(&th, 0, sizeof(th));
        th.partition = p->partition;
        th.tree_size = p->merkle.size;
        gr_merkle_frontier_root(&p->merkle, th.root_hash);
        th.timestamp = p->batch_latest > p->head_time ? p->batch_latest :
                                                         p->head_time;
        if (gr_tree_head_sign(&th, r->kp) == -1) {
                r->produce_failed = 1;
                return;
        }
        gr_buf_reset(&r->buf);
        gr_tree_head_to_json(&th, &r->buf);
        if (r->buf.oom) {
                r->produce_failed = 1;
                return;
        }
        r->st.heads_ms += now_ms_f() - t0; /* the produce is not counted */
        snprintf(key, sizeof(key), "%d", (int)p->partition);
        out_produce(r, GR_TOPIC_LEDGER_HEADS, p->partition, key, strlen(key),
                    r->buf.data, r->buf.len, NULL);
        p->head_size = th.tree_size;
        p->head_time = th.timestamp;
        r->st.heads++;
}

static void part_write_state(gr_receiptd *r, gr_part *p) {
        char key[64];

        qsort(p->dirty, p->ndirty, sizeof(*p->dirty), cmp_ptr);
        for (size_t i = 0; i < p->ndirty; i++) {
                const gr_job *job = p->dirty[i];
                if (!job || (i && job == p->dirty[i - 1]))
                        continue;
                gr_buf_reset(&r->buf);
                gr_state_encode(job, &r->buf);
                if (r->buf.oom) {
                        r->produce_failed = 1;
                        return;
                }
                out_produce(r, GR_TOPIC_STATE, p->partition, job->job_id,
                            strlen(job->job_id), r->buf.data, r->buf.len,
                            NULL);
                r->st.state_records++;
        }
        for (size_t i = 0; i < p->nevicted; i++) {
                out_produce(r, GR_TOPIC_STATE, p->partition, p->evicted[i],
                            strlen(p->evicted[i]), NULL, 0, NULL);
                r->st.state_records++;
        }
        if (r->kp && p->merkle.size > p->head_size)
                part_write_head(r, p);
        gr_checkpoint_key(p->partition, key, sizeof(key));
        gr_buf_reset(&r->buf);
        gr_checkpoint_frontier_encode(r->topics.name[GR_TOPIC_EVENTS],
                                      p->partition, p->next_offset,
                                      &p->merkle, &r->buf);
        if (r->buf.oom) {
                r->produce_failed = 1;
                return;
        }
        out_produce(r, GR_TOPIC_STATE, p->partition, key, strlen(key),
                    r->buf.data, r->buf.len, NULL);
}

/* ------------------------------------------------------------------ */
/* Input: records are held, decoded together, verified by the pool and */
/* then applied in their original order                                */

static void pend_drop(gr_receiptd *r) {
        for (size_t i = 0; i < r->npend; i++)
                rd_kafka_message_destroy(r->pend[i]);
        r->npend = 0;
}

/* Decode record i into r->evs[i]: prc[i] = 0, or -1 with perr[i] set. */
static void pend_decode(gr_receiptd *r, size_t i) {
        const rd_kafka_message_t *m = r->pend[i];
        gr_event *ev = &r->evs[i];
        gr_err *err = &r->perr[i];

        gr_event_reset(ev);
        r->pevs[i] = NULL;
        r->prc[i] = -1;
        if (!m->payload || m->len == 0) {
                gr_err_set(err, GR_REJ_INVALID_JSON, "empty record value");
        } else if (gr_codec_decode(r->codec, m->payload, m->len, ev, err) ==
                   -1) {
                /* reason set by the codec */
        } else if (!m->key || m->key_len != strlen(ev->job_id) ||
                   memcmp(m->key, ev->job_id, m->key_len)) {
                /* A job's events must share one partition (SPEC §2): an
                 * event keyed otherwise would split the job's state. */
                gr_err_set(err, GR_REJ_SCHEMA,
                           "record key is not the job_id (%s)",
                           m->key ? "key differs" : "no key");
        } else {
                r->prc[i] = 0;
                if (r->need_auth)
                        r->pevs[i] = ev;
        }
}

/* Apply record i (decoded and verified) to its partition's engine. */
static void pend_apply(gr_receiptd *r, size_t i) {
        const rd_kafka_message_t *m = r->pend[i];
        gr_part *p = NULL;
        gr_job *job;

        if (m->partition >= 0 && m->partition < r->nparts)
                p = r->parts[m->partition];
        if (!p || !p->eng)
                return; /* revoked while in flight */
        if (p->next_offset >= 0 && m->offset < p->next_offset)
                return; /* before the resume point: already applied */
        p->cur = m;
        r->ev = &r->evs[i];
        if (r->prc[i] == -1) {
                gr_engine_reject(p->eng, r->ev, &r->perr[i]);
                r->st.rejected++;
        } else {
                switch (gr_engine_apply(p->eng, r->ev)) {
                case GR_APPLIED:
                        r->st.applied++;
                        break;
                case GR_PARKED:
                        r->st.parked++;
                        /* Parking changes state without a ledger row. */
                        job = gr_jobtab_get(gr_engine_jobs(p->eng),
                                            r->ev->job_id, 0);
                        if (job)
                                part_dirty(p, job);
                        break;
                case GR_DUPLICATE:
                        r->st.duplicates++;
                        break;
                case GR_REJECTED:
                        r->st.rejected++;
                        break;
                }
        }
        gr_metrics_event_in(r->metrics, gr_event_has(r->ev, GR_F_type)
                                            ? (int)r->ev->type
                                            : GR_METRICS_EVT_UNDECODABLE);
        p->cur = NULL;
        p->next_offset = m->offset + 1;
        p->touched = 1;
        r->st.records++;
}

/* Decode every held record, verify the signatures the policy requires on
 * the pool (skipped entirely when it requires none), then apply them in
 * the order they were polled, which keeps each partition's order. */
static void pend_flush(gr_receiptd *r) {
        size_t n = r->npend;
        double tf = now_ms_f();

        if (!n)
                return;
        for (size_t i = 0; i < n; i++)
                pend_decode(r, i);
        if (r->need_auth) {
                double t0 = now_ms_f();
                gr_verify_pool_run(r->vpool, r->pevs, r->prc, r->perr, n);
                r->st.verify_ms += now_ms_f() - t0;
                for (size_t i = 0; i < n; i++) {
                        if (!r->pevs[i])
                                continue;
                        r->st.verified++;
                        if (r->prc[i] == -1)
                                r->st.auth_rejected++;
                }
        }
        for (size_t i = 0; i < n; i++)
                pend_apply(r, i);
        r->ev = NULL;
        pend_drop(r);
        r->st.apply_ms += now_ms_f() - tf;
}

/* Take a polled record into the batch.  @returns m when it is not kept
 * (the caller destroys it), NULL when the batch owns it now. */
static rd_kafka_message_t *pend_add(gr_receiptd *r, rd_kafka_message_t *m) {
        gr_part *p = NULL;

        if (m->partition >= 0 && m->partition < r->nparts)
                p = r->parts[m->partition];
        if (!p || !p->eng)
                return m; /* revoked while in flight */
        if (p->next_offset >= 0 && m->offset < p->next_offset)
                return m; /* before the resume point: already applied */
        if (txn_begin(r) == -1)
                return m;
        /* Touched from now on: a failed batch rewinds this partition even
         * when the record was never applied. */
        p->touched = 1;
        r->pend[r->npend++] = m;
        r->batch_records++;
        if (r->npend == r->cappend)
                pend_flush(r);
        return NULL;
}

static void batch_reset(gr_receiptd *r) {
        pend_drop(r);
        for (int32_t i = 0; i < r->nparts; i++)
                if (r->parts[i])
                        part_batch_clear(r->parts[i]);
        r->batch_records = 0;
        r->produce_failed = 0;
        r->delivery_failed = 0;
}

/* Abandon the batch in hand: abort (exactly_once), rebuild the touched
 * partitions from the state topic and rewind their input. */
static void batch_fail(gr_receiptd *r) {
        gr_metrics_abort_count(r->metrics);
        if (r->eos)
                txn_abort(r);
        else
                rd_kafka_flush(r->producer, GR_TXN_TIMEOUT_MS);
        if (!r->fatal)
                rewind_touched(r);
        batch_reset(r);
}

/* Engine counters, open jobs and lag of the partitions this batch touched
 * (lag from the cached high watermark: no broker round trip). */
static void metrics_after_commit(gr_receiptd *r) {
        if (!r->metrics)
                return;
        for (int32_t i = 0; i < r->nparts; i++) {
                gr_part *p = r->parts[i];
                int64_t lo, hi;
                if (!p || !p->touched || !p->eng)
                        continue;
                gr_metrics_partition_stats_set(
                    r->metrics, i, gr_engine_stats(p->eng),
                    gr_jobtab_count(gr_engine_jobs(p->eng)));
                if (!rd_kafka_get_watermark_offsets(
                        r->consumer, r->topics.name[GR_TOPIC_EVENTS], i, &lo,
                        &hi) &&
                    hi >= 0 && p->next_offset >= 0)
                        gr_metrics_lag_set(r->metrics, i,
                                           hi - p->next_offset);
        }
}

/* Steps 2-4 of a batch (see gr_receiptd.h).  Returns 0 when committed. */
static int batch_commit(gr_receiptd *r) {
        rd_kafka_topic_partition_list_t *offs;
        double t0, t1;
        int rc = -1;
        const double tstart = now_ms_f();

        if (!r->batch_records)
                return 0;
        if (r->fatal) {
                batch_fail(r);
                return -1;
        }
        pend_flush(r);
        r->st.batches++;
        t1 = now_ms_f();
        if (outputs_wait(r, "outputs") == -1) {
                batch_fail(r);
                return -1;
        }
        t0 = now_ms_f();
        r->st.ack_ms += t0 - t1;
        offs = rd_kafka_topic_partition_list_new(4);
        for (int32_t i = 0; i < r->nparts; i++) {
                gr_part *p = r->parts[i];
                if (!p || !p->touched)
                        continue;
                part_write_state(r, p);
                rd_kafka_topic_partition_list_add(
                    offs, r->topics.name[GR_TOPIC_EVENTS], i)->offset =
                    p->next_offset;
        }
        t1 = now_ms_f();
        r->st.state_ms += t1 - t0;
        if (r->eos) {
                if (r->produce_failed || txn_commit(r, offs) == -1)
                        goto fail;
                r->st.commit_ms += now_ms_f() - t1;
        } else {
                rd_kafka_resp_err_t e;
                if (outputs_wait(r, "state and checkpoints") == -1)
                        goto fail;
                /* The checkpoints already hold the position; the group
                 * offsets are the fallback, so a failure here is logged,
                 * not redone. */
                if ((e = rd_kafka_commit(r->consumer, offs, 0)))
                        rlog(r, 1, "offset commit failed: %s (checkpoints "
                                   "hold the position)",
                             rd_kafka_err2str(e));
        }
        r->st.commits++;
        gr_metrics_commit_observe(r->metrics, (now_ms_f() - tstart) / 1000.0);
        metrics_after_commit(r);
        batch_reset(r);
        rc = 0;
        goto out;
fail:
        batch_fail(r);
out:
        rd_kafka_topic_partition_list_destroy(offs);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *tps, void *opaque) {
        gr_receiptd *r = opaque;
        int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        rd_kafka_error_t *e = NULL;
        char list[512];
        size_t off = 0;

        list[0] = '\0';
        for (int i = 0; i < tps->cnt && off < sizeof(list) - 16; i++)
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d",
                                        i ? "," : "",
                                        (int)tps->elems[i].partition);

        switch (err) {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                r->assigned_once = 1;
                gr_metrics_set_ready(r->metrics, 0);
                rlog(r, 1, "assigned partition(s) [%s] of %s", list,
                     r->topics.name[GR_TOPIC_EVENTS]);
                for (int i = 0; i < tps->cnt; i++) {
                        int32_t pn = tps->elems[i].partition;
                        int64_t start;
                        if (pn < 0 || pn >= r->nparts)
                                continue;
                        if (!r->parts[pn] && !(r->parts[pn] = part_new(r, pn))) {
                                r->fatal = 1;
                                break;
                        }
                        /* State first, then input: nothing of this
                         * partition is applied before its jobs are back. */
                        if (part_restore(r, r->parts[pn], &start) == -1) {
                                r->fatal = 1;
                                break;
                        }
                        tps->elems[i].offset = start;
                }
                if (coop)
                        e = rd_kafka_incremental_assign(rk, tps);
                else
                        rd_kafka_assign(rk, tps);
                gr_metrics_set_ready(r->metrics, !r->fatal);
                break;

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                for (int i = 0; i < tps->cnt; i++) {
                        int32_t pn = tps->elems[i].partition;
                        if (pn >= 0 && pn < r->nparts && r->parts[pn])
                                r->parts[pn]->revoking = 1;
                }
                if (rd_kafka_assignment_lost(rk)) {
                        rlog(r, 1, "assignment of [%s] lost: abandoning the "
                                   "batch in hand",
                             list);
                        if (r->batch_records)
                                batch_fail(r);
                } else {
                        rlog(r, 1, "revoking [%s]: committing the batch in "
                                   "hand first",
                             list);
                        batch_commit(r);
                }
                for (int i = 0; i < tps->cnt; i++) {
                        int32_t pn = tps->elems[i].partition;
                        if (pn >= 0 && pn < r->nparts) {
                                part_destroy(r->parts[pn]);
                                r->parts[pn] = NULL;
                        }
                }
                if (coop)
                        e = rd_kafka_incremental_unassign(rk, tps);
                else
                        rd_kafka_assign(rk, NULL);
                break;

        default:
                rlog(r, 0, "rebalance error: %s", rd_kafka_err2str(err));
                rd_kafka_assign(rk, NULL);
                break;
        }
        if (e) {
                rlog(r, 0, "incremental (un)assign: %s",
                     rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
        }
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                    char *errstr, size_t errstr_size) {
        char err[256];

        if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "%s: %s", k, err);
                return -1;
        }
        return 0;
}

static int load_policy(gr_receiptd *r, char *errstr, size_t errstr_size) {
        FILE *fp;
        char *buf = NULL, err[256];
        size_t n;
        int rc = -1;

        gr_policy_default(&r->policy);
        if (!r->cfg->policy_file)
                return 0;
        if (!(fp = fopen(r->cfg->policy_file, "rb"))) {
                snprintf(errstr, errstr_size, "policy.file %s: cannot open",
                         r->cfg->policy_file);
                return -1;
        }
        if (!(buf = malloc(GR_POLICY_MAX + 1))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        n = fread(buf, 1, GR_POLICY_MAX + 1, fp);
        if (n > GR_POLICY_MAX || ferror(fp)) {
                snprintf(errstr, errstr_size,
                         "policy.file %s: unreadable or larger than %d bytes",
                         r->cfg->policy_file, GR_POLICY_MAX);
                goto out;
        }
        if (gr_policy_load(&r->policy, buf, n, err, sizeof(err)) == -1) {
                snprintf(errstr, errstr_size, "policy.file %s: %s",
                         r->cfg->policy_file, err);
                goto out;
        }
        rc = 0;
out:
        free(buf);
        fclose(fp);
        return rc;
}

static rd_kafka_t *client_new(gr_receiptd *r, rd_kafka_type_t type,
                              int restorer, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        gr_scope_t scope =
            type == RD_KAFKA_PRODUCER ? GR_SCOPE_PRODUCER : GR_SCOPE_CONSUMER;
        char txnid[256], err[512];
        rd_kafka_t *rk;

        /* Our defaults, then the operator's keys, then what correctness
         * needs and the operator may not change. */
        if (type == RD_KAFKA_CONSUMER) {
                if (conf_set(conf, "auto.offset.reset", "earliest", errstr,
                             errstr_size) ||
                    (!restorer &&
                     conf_set(conf, "partition.assignment.strategy",
                              "cooperative-sticky", errstr, errstr_size)))
                        goto err;
        } else if (!r->eos) {
                if (conf_set(conf, "enable.idempotence", "true", errstr,
                             errstr_size))
                        goto err;
        }
        if (gr_config_rdkafka_apply(r->cfg, scope, conf, err, sizeof(err)) ==
            -1) {
                snprintf(errstr, errstr_size, "%s", err);
                goto err;
        }
        if (type == RD_KAFKA_CONSUMER) {
                if (conf_set(conf, "enable.auto.commit", "false", errstr,
                             errstr_size) ||
                    conf_set(conf, "enable.auto.offset.store", "false", errstr,
                             errstr_size) ||
                    (r->eos && conf_set(conf, "isolation.level",
                                        "read_committed", errstr,
                                        errstr_size)))
                        goto err;
                if (restorer) {
                        /* assign() needs a group.id; this one never joins
                         * or commits. */
                        snprintf(txnid, sizeof(txnid), "%s.restore",
                                 r->cfg->group_id);
                        if (conf_set(conf, "enable.partition.eof", "true",
                                     errstr, errstr_size) ||
                            conf_set(conf, "group.id", txnid, errstr,
                                     errstr_size))
                                goto err;
                } else {
                        if (conf_set(conf, "group.id", r->cfg->group_id,
                                     errstr, errstr_size) ||
                            (r->cfg->group_instance_id &&
                             conf_set(conf, "group.instance.id",
                                      r->cfg->group_instance_id, errstr,
                                      errstr_size)))
                                goto err;
                        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
                }
        } else {
                if (r->eos &&
                    !gr_config_rdkafka_get(r->cfg, GR_SCOPE_PRODUCER,
                                           "transactional.id")) {
                        /* Stable with static membership (gr_config.h). */
                        if (gr_config_transactional_id(r->cfg, txnid,
                                                       sizeof(txnid))) {
                                snprintf(errstr, errstr_size,
                                         "transactional.id: group.id and "
                                         "group.instance.id too long");
                                goto err;
                        }
                        if (conf_set(conf, "transactional.id", txnid, errstr,
                                     errstr_size))
                                goto err;
                }
                rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        }
        rd_kafka_conf_set_opaque(conf, r);
        if (!(rk = rd_kafka_new(type, conf, err, sizeof(err)))) {
                snprintf(errstr, errstr_size, "%s", err);
                goto err;
        }
        return rk;
err:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

/* Keys, the verification pool and the batch's record arrays (issue 5). */
static int evidence_init(gr_receiptd *r, char *errstr, size_t errstr_size) {
        const gr_config *cfg = r->cfg;
        size_t cap = cfg->batch_size < GR_PEND_MAX ? (size_t)cfg->batch_size :
                                                     GR_PEND_MAX;

        if (gr_crypto_init() == -1) {
                snprintf(errstr, errstr_size, "libsodium init failed");
                return -1;
        }
        r->kp = cfg->processor_kp;
        r->need_auth = r->policy.require_sig_roles != 0 ||
                       r->policy.require_sig_types != 0;
        if (r->need_auth && !cfg->keyring) {
                snprintf(errstr, errstr_size,
                         "the policy requires signatures but keys.registry "
                         "is not set: every signed event would be rejected");
                return -1;
        }
        if (r->kp && cfg->keyring) {
                const gr_key_entry *e =
                    gr_keyring_find(cfg->keyring, r->kp->key_id);
                if (e && (e->role != GR_KROLE_PROCESSOR ||
                          sodium_memcmp(e->pk, r->kp->pk, GR_PK_LEN))) {
                        snprintf(errstr, errstr_size,
                                 "processor.key %s does not match the entry "
                                 "of that key_id in keys.registry",
                                 r->kp->key_id);
                        return -1;
                }
        }
        if (r->kp && !r->eos)
                rlog(r, 1, "warning: processor.key under at_least_once: a "
                           "crash can repeat ledger rows that the tree heads "
                           "do not count, and an export then fails the "
                           "audit; use exactly_once for an auditable "
                           "ledger");
        if (r->need_auth &&
            !(r->vpool = gr_verify_pool_new(cfg->verify_threads, &r->policy,
                                            cfg->keyring, errstr,
                                            errstr_size)))
                return -1;
        r->cappend = cap;
        if (!(r->pend = calloc(cap, sizeof(*r->pend))) ||
            !(r->evs = calloc(cap, sizeof(*r->evs))) ||
            !(r->pevs = calloc(cap, sizeof(*r->pevs))) ||
            !(r->prc = calloc(cap, sizeof(*r->prc))) ||
            !(r->perr = calloc(cap, sizeof(*r->perr)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

/* The cluster is reachable and the topics exist, co-partitioned (the
 * tree-head topic only when there is a processor key to sign heads). */
static int check_topics(gr_receiptd *r, char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata *md = NULL;
        const char *bs = gr_config_rdkafka_get(r->cfg, GR_SCOPE_CONSUMER,
                                               "bootstrap.servers");
        rd_kafka_resp_err_t e;
        int cnt[GR_TOPIC__CNT];

        e = rd_kafka_metadata(r->consumer, 1, NULL, &md,
                              r->cfg->startup_timeout_ms);
        if (e) {
                snprintf(errstr, errstr_size,
                         "cannot reach the Kafka cluster at %s within %d ms: "
                         "%s",
                         bs ? bs : "(bootstrap.servers not set)",
                         r->cfg->startup_timeout_ms, rd_kafka_err2str(e));
                return -1;
        }
        for (int t = 0; t < GR_TOPIC__CNT; t++) {
                cnt[t] = -1;
                if (t == GR_TOPIC_LEDGER_HEADS && !r->kp) {
                        cnt[t] = cnt[0];
                        continue;
                }
                for (int i = 0; i < md->topic_cnt; i++)
                        if (!strcmp(md->topics[i].topic, r->topics.name[t]) &&
                            !md->topics[i].err)
                                cnt[t] = md->topics[i].partition_cnt;
                if (cnt[t] <= 0) {
                        snprintf(errstr, errstr_size,
                                 "topic %s does not exist: create the "
                                 "topics of prefix \"%s\" with equal "
                                 "partition counts%s",
                                 r->topics.name[t], r->cfg->topic_prefix,
                                 t == GR_TOPIC_LEDGER_HEADS ?
                                     " (the tree-head topic is needed "
                                     "because processor.key is set)" :
                                     "");
                        goto err;
                }
                if (cnt[t] != cnt[0]) {
                        snprintf(errstr, errstr_size,
                                 "topic %s has %d partitions but %s has %d: "
                                 "outputs must be co-partitioned with the "
                                 "input",
                                 r->topics.name[t], cnt[t], r->topics.name[0],
                                 cnt[0]);
                        goto err;
                }
        }
        r->nparts = cnt[0];
        rd_kafka_metadata_destroy(md);
        return 0;
err:
        rd_kafka_metadata_destroy(md);
        return -1;
}

/* Give the producer the output topics' metadata now: a topic it first
 * meets in a produce call waits for the next periodic topic scan (up to
 * a second) before anything is sent, which would stall the first batch
 * after every start.  A failure only costs that stall, so it is ignored. */
static void producer_warm(gr_receiptd *r) {
        for (int t = 0; t < GR_TOPIC__CNT; t++) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_topic_t *rkt;

                if (t == GR_TOPIC_EVENTS ||
                    (t == GR_TOPIC_LEDGER_HEADS && !r->kp))
                        continue;
                if (!(rkt = rd_kafka_topic_new(r->producer, r->topics.name[t],
                                               NULL)))
                        continue;
                if (!rd_kafka_metadata(r->producer, 0, rkt, &md,
                                       r->cfg->startup_timeout_ms))
                        rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
        }
}

/* /jobs/JOB_ID: runs on the daemon thread (gr_metrics_dispatch), so the
 * partitions' job tables are read without a lock. */
static int metrics_job_cb(void *opaque, const char *job_id, gr_buf *out) {
        gr_receiptd *r = opaque;
        for (int32_t i = 0; i < r->nparts; i++) {
                gr_job *j;
                if (!r->parts[i] || !r->parts[i]->eng)
                        continue;
                if ((j = gr_jobtab_get(gr_engine_jobs(r->parts[i]->eng),
                                       job_id, 0))) {
                        gr_receipt_to_html(j, out);
                        return out->oom ? -1 : 0;
                }
        }
        return 1;
}

gr_receiptd *gr_receiptd_new(const gr_config *cfg, char *errstr,
                             size_t errstr_size) {
        gr_receiptd *r = calloc(1, sizeof(*r));
        rd_kafka_topic_partition_list_t *sub;
        rd_kafka_error_t *e;
        rd_kafka_resp_err_t err;

        if (!r) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->cfg = cfg;
        r->eos = cfg->guarantee == GR_GUARANTEE_EXACTLY_ONCE;
        gr_buf_init(&r->buf);
        if (gr_topics_init(&r->topics, cfg->topic_prefix) == -1) {
                snprintf(errstr, errstr_size, "topic.prefix too long");
                goto err;
        }
        if (load_policy(r, errstr, errstr_size) == -1)
                goto err;
        if (cfg->metrics_listen) {
                if (!(r->metrics = gr_metrics_new(cfg->metrics_listen, errstr,
                                                  errstr_size)))
                        goto err;
                gr_metrics_job_handler_set(r->metrics, metrics_job_cb, r);
        }
        if (!gr_config_rdkafka_get(cfg, GR_SCOPE_CONSUMER, "bootstrap.servers")) {
                snprintf(errstr, errstr_size,
                         "bootstrap.servers is not set (config file or -X)");
                goto err;
        }
        if (!(r->codec = gr_codec_new(cfg->schema_dir, errstr,
                                      errstr_size)))
                goto err;
        if (evidence_init(r, errstr, errstr_size) == -1)
                goto err;
        if (cfg->output_wire != GR_WIRE_JSON && r->kp) {
                /* The Avro decision has sig/key_id fields, but the signed
                 * bytes are the JSON rendering: not mixed until the Avro
                 * form has a signing definition of its own. */
                snprintf(errstr, errstr_size,
                         "output.format %s with processor.key: signed "
                         "decisions are published as JSON only",
                         gr_wire_name((gr_wire_t)cfg->output_wire));
                goto err;
        }
        if (!(r->consumer = client_new(r, RD_KAFKA_CONSUMER, 0, errstr,
                                       errstr_size)))
                goto err;
        rd_kafka_poll_set_consumer(r->consumer);
        if (!(r->restorer = client_new(r, RD_KAFKA_CONSUMER, 1, errstr,
                                       errstr_size)) ||
            !(r->producer = client_new(r, RD_KAFKA_PRODUCER, 0, errstr,
                                       errstr_size)))
                goto err;
        if (check_topics(r, errstr, errstr_size) == -1)
                goto err;
        producer_warm(r);
        if (!(r->parts = calloc((size_t)r->nparts, sizeof(*r->parts)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        if (r->eos &&
            (e = rd_kafka_init_transactions(r->producer,
                                            cfg->startup_timeout_ms))) {
                snprintf(errstr, errstr_size, "init_transactions: %s: %s",
                         rd_kafka_error_name(e), rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                goto err;
        }
        sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, r->topics.name[GR_TOPIC_EVENTS],
                                          RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(r->consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe: %s",
                         rd_kafka_err2str(err));
                goto err;
        }
        rlog(r, 1,
             "group %s, %s, input %s (%d partitions), batch %d records / %d "
             "ms, policy %.12s",
             cfg->group_id, r->eos ? "exactly_once" : "at_least_once",
             r->topics.name[GR_TOPIC_EVENTS], (int)r->nparts, cfg->batch_size,
             cfg->batch_ms, r->policy.hash);
        if (r->need_auth)
                rlog(r, 1, "event signatures: required by the policy, "
                           "verified on %d thread(s) against %zu registry "
                           "key(s)",
                     gr_verify_pool_threads(r->vpool),
                     gr_keyring_count(cfg->keyring));
        if (r->kp)
                rlog(r, 1, "decisions and tree heads signed with %s; heads "
                           "to %s",
                     r->kp->key_id, r->topics.name[GR_TOPIC_LEDGER_HEADS]);
        return r;
err:
        gr_receiptd_destroy(r);
        return NULL;
}

static void log_progress(gr_receiptd *r, const char *when) {
        rlog(r, 1,
             "%s: %llu records (%llu applied, %llu parked, %llu duplicates, "
             "%llu rejected), %llu decisions, %llu ledger rows, %llu state "
             "records, %llu batches committed, %llu aborted, %llu rewinds, "
             "%llu DLQ records",
             when, (unsigned long long)r->st.records,
             (unsigned long long)r->st.applied,
             (unsigned long long)r->st.parked,
             (unsigned long long)r->st.duplicates,
             (unsigned long long)r->st.rejected,
             (unsigned long long)r->st.decisions,
             (unsigned long long)r->st.ledger_rows,
             (unsigned long long)r->st.state_records,
             (unsigned long long)r->st.commits,
             (unsigned long long)r->st.aborts,
             (unsigned long long)r->st.rewinds,
             (unsigned long long)r->st.dlq);
        if (r->st.batches)
                rlog(r, 1,
                     "%s: per batch (%llu): %.2f ms decode and apply, %.2f "
                     "ms waiting for the outputs' acks, %.2f ms writing "
                     "state, %.2f ms committing",
                     when, (unsigned long long)r->st.batches,
                     r->st.apply_ms / (double)r->st.batches,
                     r->st.ack_ms / (double)r->st.batches,
                     r->st.state_ms / (double)r->st.batches,
                     r->st.commit_ms / (double)r->st.batches);
        if (r->need_auth)
                rlog(r, 1,
                     "%s: %llu events through the verification pool (%d "
                     "threads) in %.1f ms, %llu failed",
                     when, (unsigned long long)r->st.verified,
                     gr_verify_pool_threads(r->vpool), r->st.verify_ms,
                     (unsigned long long)r->st.auth_rejected);
        if (r->kp)
                rlog(r, 1, "%s: %llu tree heads signed in %.1f ms", when,
                     (unsigned long long)r->st.heads, r->st.heads_ms);
}

/* librdkafka before 2.3.0 asserts when a cooperative-sticky consumer is
 * destroyed after its JoinGroup but before its first assignment
 * (confluentinc/librdkafka#4312, rdkafka_sticky_assignor.c): a SIGTERM in
 * that window would abort the process.  So when stopping in the middle of
 * the first join (a member id but no assignment yet) the join gets a
 * moment to finish (records it brings are not processed: the rebalance
 * on close hands them on untouched); if it still has not, destroy leaves
 * the consumer handle alone (the process is about to exit). */
static int join_unfinished(gr_receiptd *r) {
        char *member;
        int joined;

        if (r->assigned_once || rd_kafka_version() >= 0x020300ff)
                return 0;
        member = rd_kafka_memberid(r->consumer);
        joined = member && *member;
        if (member)
                rd_kafka_mem_free(r->consumer, member);
        return joined;
}

static void join_finish(gr_receiptd *r) {
        int64_t deadline = now_ms() + GR_JOIN_FINISH_MS;

        if (!join_unfinished(r))
                return;
        rlog(r, 1, "stopping during the first group join: letting it finish "
                   "(up to %d ms)", GR_JOIN_FINISH_MS);
        while (!r->assigned_once && !r->fatal && now_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer,
                                                               100);
                if (m)
                        rd_kafka_message_destroy(m);
        }
        if ((r->join_unfinished = join_unfinished(r)))
                rlog(r, 1, "the first group join did not finish: the "
                           "consumer handle is not destroyed "
                           "(librdkafka#4312)");
}

int gr_receiptd_run(gr_receiptd *r, volatile sig_atomic_t *stop) {
        int64_t batch_deadline = 0, next_progress = now_ms() + GR_PROGRESS_MS;
        rd_kafka_resp_err_t e;

        while (!*stop && !r->fatal) {
                int timeout = 200;
                int64_t t = now_ms();
                rd_kafka_message_t *m;

                if (r->batch_records) {
                        if (r->batch_records >= r->cfg->batch_size ||
                            t >= batch_deadline) {
                                batch_commit(r);
                                continue;
                        }
                        timeout = (int)(batch_deadline - t);
                }
                if (t >= next_progress) {
                        log_progress(r, "progress");
                        next_progress = t + GR_PROGRESS_MS;
                }
                m = rd_kafka_consumer_poll(r->consumer, timeout);
                gr_metrics_dispatch(r->metrics); /* /jobs/ pages */
                if (!m) {
                        /* Delivery reports are served by each batch's
                         * flush; between batches only when idle. */
                        rd_kafka_poll(r->producer, 0);
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        /* not an error */
                } else if (m->err) {
                        char fe[256];
                        if (rd_kafka_fatal_error(r->consumer, fe, sizeof(fe))) {
                                rlog(r, 0, "fatal consumer error: %s", fe);
                                r->fatal = 1;
                        } else if (m->err != r->last_consume_err) {
                                rlog(r, 1, "consumer: %s",
                                     rd_kafka_message_errstr(m));
                        }
                        r->last_consume_err = m->err;
                } else {
                        r->last_consume_err = 0;
                        if (!r->batch_records)
                                batch_deadline = now_ms() + r->cfg->batch_ms;
                        m = pend_add(r, m);
                }
                if (m)
                        rd_kafka_message_destroy(m);
        }

        /* Finish (or, after a fatal error, abort) the batch in flight, then
         * leave the group; the revoke callback commits nothing more. */
        if (r->fatal)
                batch_fail(r);
        else
                batch_commit(r);
        join_finish(r);
        if ((e = rd_kafka_consumer_close(r->consumer)))
                rlog(r, 1, "consumer close: %s", rd_kafka_err2str(e));
        r->closed = 1;
        if (r->eos && r->in_txn)
                txn_abort(r);
        rd_kafka_flush(r->producer, GR_TXN_TIMEOUT_MS);
        log_progress(r, r->fatal ? "stopped after a fatal error" : "stopped");
        return r->fatal ? -1 : 0;
}

const gr_receiptd_stats *gr_receiptd_stats_get(const gr_receiptd *r) {
        return &r->st;
}

void gr_receiptd_destroy(gr_receiptd *r) {
        if (!r)
                return;
        /* First: the server's /jobs/ pages read the partitions. */
        gr_metrics_destroy(r->metrics);
        r->metrics = NULL;
        if (r->consumer) {
                if (!r->closed)
                        r->join_unfinished = join_unfinished(r);
                if (!r->closed)
                        rd_kafka_consumer_close(r->consumer);
                if (!r->join_unfinished)
                        rd_kafka_destroy(r->consumer);
        }
        if (r->parts)
                for (int32_t i = 0; i < r->nparts; i++)
                        part_destroy(r->parts[i]);
        free(r->parts);
        if (r->restorer)
                rd_kafka_destroy(r->restorer);
        if (r->producer)
                rd_kafka_destroy(r->producer);
        gr_codec_destroy(r->codec);
        if (r->pend)
                pend_drop(r);
        gr_verify_pool_destroy(r->vpool);
        free(r->pend);
        free(r->evs);
        free(r->pevs);
        free(r->prc);
        free(r->perr);
        gr_buf_free(&r->buf);
        free(r);
}
