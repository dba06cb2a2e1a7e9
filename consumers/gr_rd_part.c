/* One assigned partition: its engine, restore and rewind, and the FSM
 * sinks that turn its actions into output records (gr_rd.h). */
#include "gr_rd.h"

void grd_part_dirty(gr_part *p, const gr_job *job) {
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
        gr_part *p = ((grd_record *)opaque)->part;
        gr_receiptd *r = p->r;
        uint8_t leaf[GR_HASH_LEN];

        if (gr_out_ledger_row(&r->out, p->partition, row, leaf) == -1) {
                grd_output_failed(r);
                return;
        }
        if (gr_merkle_frontier_append(&p->merkle, leaf) == -1)
                r->produce_failed = 1;
        if (row->occurred_at > p->batch_latest)
                p->batch_latest = row->occurred_at;
        r->st.ledger_rows++;
        grd_part_dirty(p, job);
}

static void sink_decision(void *opaque, const gr_job *job,
                          const gr_decision *d) {
        gr_part *p = ((grd_record *)opaque)->part;
        gr_receiptd *r = p->r;

        if (gr_out_decision(&r->out, p->partition, d) == -1) {
                grd_output_failed(r);
                return;
        }
        r->st.decisions++;
        gr_metrics_decision_count(r->metrics, d->settlement, d->rule);
        grd_part_dirty(p, job);
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
        const grd_record *rec = opaque;
        gr_part *p = rec->part;
        gr_receiptd *r = p->r;
        const rd_kafka_message_t *m = rec->m;
        const char *src = r->topics.name[GR_TOPIC_EVENTS];
        int rc;

        r->st.dlq++;
        if (m && (!ev || same_event(ev, rec->ev)))
                rc = gr_out_dlq_copy(&r->out, p->partition, m, err, src);
        else
                rc = gr_out_dlq_event(&r->out, p->partition, ev, err, src);
        if (rc == -1)
                grd_output_failed(r);
}

void grd_record_sink(grd_record *rec, gr_fsm_sink *sink) {
        *sink = (gr_fsm_sink){rec, sink_ledger, sink_decision, sink_reject};
}

gr_part *grd_part_new(gr_receiptd *r, int32_t partition) {
        gr_part *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->r = r;
        p->partition = partition;
        p->next_offset = -1;
        p->head_time = INT64_MIN;
        p->batch_latest = INT64_MIN;
        return p;
}

void grd_part_batch_clear(gr_part *p) {
        for (size_t i = 0; i < p->nevicted; i++)
                free(p->evicted[i]);
        p->nevicted = 0;
        p->touched = 0;
        p->ndirty = 0;
        p->batch_latest = INT64_MIN;
}

void grd_part_destroy(gr_part *p) {
        if (!p)
                return;
        gr_metrics_partition_reset(p->r->metrics, p->partition);
        gr_engine_destroy(p->eng);
        grd_part_batch_clear(p);
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
 * checkpoint written before tree heads existed, or none — rebuilt by reading the
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
int grd_part_restore(gr_receiptd *r, gr_part *p, int64_t *start) {
        gr_restore_result res;
        char err[512], where[64];

        gr_metrics_partition_reset(r->metrics, p->partition);
        gr_engine_destroy(p->eng);
        grd_part_batch_clear(p);
        if (!(p->eng = gr_engine_new(&r->policy, NULL))) {
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
void grd_rewind_touched(gr_receiptd *r) {
        rd_kafka_topic_partition_list_t *tp =
            rd_kafka_topic_partition_list_new(4);
        rd_kafka_error_t *e;

        for (int32_t i = 0; i < r->nparts; i++) {
                gr_part *p = r->parts[i];
                int64_t start;

                if (!p || !p->touched)
                        continue;
                if (p->revoking) {
                        grd_part_batch_clear(p);
                        continue;
                }
                if (grd_part_restore(r, p, &start) == -1) {
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
