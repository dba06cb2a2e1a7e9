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
                        p->failed = 1; /* redo the batch */
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
                        p->failed = 1;
                        return;
                }
                p->evicted = v;
                p->capevicted = cap;
        }
        if (!(id = strdup(job->job_id))) {
                p->failed = 1;
                return;
        }
        p->evicted[p->nevicted++] = id;
}

/* The sinks run on the worker applying the record: they touch only its
 * partition, its writers and its counters. */
static void sink_ledger(void *opaque, const gr_job *job,
                        const gr_ledger_row *row) {
        const grd_record *rec = opaque;
        gr_part *p = rec->part;
        grd_worker *w = rec->w;
        uint8_t leaf[GR_HASH_LEN];

        if (gr_out_ledger_row(&w->out, p->partition, row, leaf) == -1) {
                w->failed = 1;
                return;
        }
        if (gr_merkle_frontier_append(&p->merkle, leaf) == -1)
                p->failed = 1;
        if (row->occurred_at > p->batch_latest)
                p->batch_latest = row->occurred_at;
        w->st.ledger_rows++;
        grd_part_dirty(p, job);
}

static void sink_decision(void *opaque, const gr_job *job,
                          const gr_decision *d) {
        const grd_record *rec = opaque;
        gr_part *p = rec->part;
        grd_worker *w = rec->w;

        if (gr_out_decision(&w->out, p->partition, d) == -1) {
                w->failed = 1;
                return;
        }
        w->st.decisions++;
        gr_metrics_decision_count(p->r->metrics, d->settlement, d->rule);
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
        grd_worker *w = rec->w;
        const rd_kafka_message_t *m = rec->m;
        const char *src = p->r->topics.name[GR_TOPIC_EVENTS];
        int rc;

        w->st.dlq++;
        if (m && (!ev || same_event(ev, rec->ev)))
                rc = gr_out_dlq_copy(&w->out, p->partition, m, err, src);
        else
                rc = gr_out_dlq_event(&w->out, p->partition, ev, err, src);
        if (rc == -1)
                w->failed = 1;
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
        p->opened = 0;
        p->taken = 0;
        p->failed = 0;
        p->ndirty = 0;
        p->batch_latest = INT64_MIN;
}

void grd_part_destroy(gr_part *p) {
        if (!p)
                return;
        if (p->rt)
                gr_rtq_cancel(p->r->rtq, p->rt);
        gr_metrics_partition_reset(p->r->metrics, p->partition);
        gr_metrics_partition_restored(p->r->metrics, p->partition, -1);
        gr_engine_destroy(p->eng);
        grd_part_batch_clear(p);
        free(p->evicted);
        free(p->dirty);
        free(p);
}

/* ------------------------------------------------------------------ */
/* Restore, on the restore thread                                      */

/* What a restore brings back to the run loop. */
typedef struct grd_restored {
        gr_engine *eng;
        gr_restore_result res;
        gr_merkle_frontier merkle;
        int64_t start; /* checkpoint, else committed offset, else -1 */
        char err[512];
        int wait_ms;          /* restore deadline, with the barrier's */
        unsigned scan_flags;  /* GR_SCAN_SETTLED under exactly_once (the
                                 state partition) */
        int64_t committed;    /* the group's stable offset, -1 if none */
        double barrier_ms;    /* waited for the committed offset to be
                                 stable */
        double run_t0, run_ms; /* when the restore thread took it up, and
                                  for how long it ran */
} grd_restored;

static void merkle_rebuild_row(void *opaque, const rd_kafka_message_t *m) {
        gr_merkle_frontier *f = opaque;
        uint8_t leaf[GR_HASH_LEN];

        gr_merkle_leaf_hash(m->payload ? m->payload : "", m->len, leaf);
        gr_merkle_frontier_append(f, leaf);
}

/* The partition's Merkle frontier: from the checkpoint, or — for a
 * checkpoint written before tree heads existed, or none — rebuilt by
 * reading the ledger partition, so the next head covers every row
 * already there.  Read to its stable end only: a transaction that commits
 * late put its checkpoint, with the frontier, in the state partition,
 * which the restore read settled; and receiptd may lack READ on the
 * ledger (deploy/acls.sh), where an empty partition is never fetched. */
static int merkle_restore(gr_receiptd *r, gr_rtask *t, grd_restored *rs) {
        char err[400];

        gr_merkle_frontier_init(&rs->merkle);
        if (rs->res.has_frontier) {
                rs->merkle = rs->res.frontier;
        } else if (gr_partition_scan_cancel(
                       r->restorer, r->topics.name[GR_TOPIC_LEDGER],
                       t->partition, rs->wait_ms, merkle_rebuild_row,
                       &rs->merkle, &t->cancel, 0, NULL, err,
                       sizeof(err)) == -1) {
                snprintf(rs->err, sizeof(rs->err),
                         "rebuilding the Merkle log: %s", err);
                return -1;
        } else if (rs->merkle.size) {
                rlog(r, 1,
                     "partition %d: Merkle log rebuilt from %llu ledger rows "
                     "(no frontier in the checkpoint)",
                     (int)t->partition, (unsigned long long)rs->merkle.size);
        }
        return 0;
}

/* How long a previous owner's transaction can stay open: the producer's
 * transaction.timeout.ms (librdkafka's default when not set), after
 * which its coordinator aborts it. */
static int txn_timeout_ms(const gr_receiptd *r) {
        const char *v = gr_config_rdkafka_get(r->cfg, GR_SCOPE_PRODUCER,
                                              "transaction.timeout.ms");
        long ms = v ? strtol(v, NULL, 10) : 60000;

        return ms > 0 && ms < 3600 * 1000 ? (int)ms : 60000;
}

/* The group's committed offset of the input partition, asked again
 * until the deadline while the answer times out.  Under
 * exactly_once the consumer is read_committed, so librdkafka asks for
 * stable offsets (KIP-447): while a transaction that already sent this
 * partition's offsets is open — a previous owner stopped between
 * send_offsets_to_transaction and the end of its commit — the answer is
 * "unstable" and we ask again.  That transaction may still commit (its
 * offsets passed the generation check before the partition moved), so
 * restoring before it ends would miss its state records and repeat its
 * outputs.  Returns 0 with *off (-1: none), or -1 on cancel, timeout or
 * error (rs->err). */
static int committed_stable(gr_receiptd *r, gr_rtask *t, grd_restored *rs,
                            int64_t *off) {
        double t0 = now_ms_f(), deadline = t0 + rs->wait_ms;
        int told = 0;

        *off = -1;
        for (;;) {
                rd_kafka_topic_partition_list_t *tp =
                    rd_kafka_topic_partition_list_new(1);
                rd_kafka_resp_err_t e;
                int64_t left = (int64_t)(deadline - now_ms_f());

                rd_kafka_topic_partition_list_add(
                    tp, r->topics.name[GR_TOPIC_EVENTS], t->partition);
                e = rd_kafka_committed(r->consumer, tp,
                                       left > 1000 ? 1000 :
                                       left > 0    ? (int)left :
                                                     1);
                if (!e)
                        e = tp->elems[0].err;
                if (!e)
                        *off = tp->elems[0].offset >= 0 ? tp->elems[0].offset
                                                        : -1;
                rd_kafka_topic_partition_list_destroy(tp);
                if (!e)
                        break;
                if (atomic_load(&t->cancel)) {
                        snprintf(rs->err, sizeof(rs->err), "cancelled");
                        return -1;
                }
                if ((e != RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT &&
                     e != RD_KAFKA_RESP_ERR__TIMED_OUT) ||
                    now_ms_f() >= deadline) {
                        snprintf(rs->err, sizeof(rs->err),
                                 "the group's committed offset: %s (after "
                                 "%.0f ms)",
                                 rd_kafka_err2str(e), now_ms_f() - t0);
                        return -1;
                }
                /* librdkafka retries "unstable" itself until the call's
                 * timeout: a timed-out slice means the same.  Should it
                 * give up sooner, do not ask again at once. */
                if (e == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT) {
                        struct timespec pause = {0, 100 * 1000000L};
                        nanosleep(&pause, NULL);
                }
                if (!told && r->eos && now_ms_f() - t0 >= 1000) {
                        told = 1;
                        rlog(r, 1,
                             "partition %d: the group's offsets are not "
                             "stable (%s): a transaction is still open with "
                             "this partition's offsets, a previous owner's; "
                             "waiting until it ends (at most "
                             "transaction.timeout.ms)",
                             (int)t->partition, rd_kafka_err2name(e));
                }
        }
        rs->barrier_ms = now_ms_f() - t0;
        return 0;
}

static void restore_body(gr_receiptd *r, gr_rtask *t, grd_restored *rs);

/* Rebuild the partition's engine from the state topic and find where its
 * input resumes: the checkpoint, else the group's committed offset, else
 * the beginning (-1).  Runs on the restore thread with its own consumer
 * (r->restorer); reads only what does not change while running (cfg,
 * policy, topics).  Under exactly_once the previous owner's last
 * transaction must have ended first (committed_stable), and the state
 * partition is read until no transaction is open in it
 * (GR_SCAN_SETTLED): what that transaction wrote is then either
 * committed and restored, or aborted and never seen. */
void grd_restore_run(void *opaque, gr_rtask *t) {
        gr_receiptd *r = opaque;
        grd_restored *rs = calloc(1, sizeof(*rs));

        t->rc = -1;
        if (!(t->result = rs))
                return;
        rs->run_t0 = now_ms_f();
        restore_body(r, t, rs);
        rs->run_ms = now_ms_f() - rs->run_t0;
}

static void restore_body(gr_receiptd *r, gr_rtask *t, grd_restored *rs) {
        rs->committed = -1;
        rs->wait_ms = r->cfg->restore_timeout_ms;
        if (r->eos) {
                rs->wait_ms += txn_timeout_ms(r);
                rs->scan_flags = GR_SCAN_SETTLED;
                if (committed_stable(r, t, rs, &rs->committed) == -1)
                        return;
        }
        if (!(rs->eng = gr_engine_new(&r->policy, NULL))) {
                snprintf(rs->err, sizeof(rs->err), "out of memory");
                return;
        }
        if (gr_restore_partition_cancel(r->restorer,
                                        r->topics.name[GR_TOPIC_STATE],
                                        t->partition, gr_engine_jobs(rs->eng),
                                        rs->wait_ms, &t->cancel,
                                        rs->scan_flags, &rs->res, rs->err,
                                        sizeof(rs->err)) == -1 ||
            merkle_restore(r, t, rs) == -1)
                return;
        rs->start = rs->res.checkpoint;
        if (rs->start < 0) {
                /* at_least_once asks only now, when there is no
                 * checkpoint (exactly_once asked above) */
                if (!r->eos &&
                    committed_stable(r, t, rs, &rs->committed) == -1)
                        return;
                rs->start = rs->committed;
        }
        t->rc = 0;
}

void grd_restore_free(void *opaque, gr_rtask *t) {
        grd_restored *rs = t->result;

        (void)opaque;
        if (rs) {
                gr_engine_destroy(rs->eng);
                free(rs);
        }
        t->result = NULL;
}

void grd_restore_wake(void *opaque) {
        gr_receiptd *r = opaque;

        /* consumer_poll returns now, so the run loop installs it. */
        if (r->cq)
                rd_kafka_queue_yield(r->cq);
}

/* ------------------------------------------------------------------ */
/* Restore, on the run loop                                            */

static void part_pause(gr_receiptd *r, gr_part *p, int pause) {
        rd_kafka_topic_partition_list_t *tp =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_resp_err_t e;

        rd_kafka_topic_partition_list_add(tp, r->topics.name[GR_TOPIC_EVENTS],
                                          p->partition);
        e = pause ? rd_kafka_pause_partitions(r->consumer, tp) :
                    rd_kafka_resume_partitions(r->consumer, tp);
        if (!e)
                e = tp->elems[0].err;
        /* Not fatal: records of a partition not live are never taken. */
        if (e)
                rlog(r, 2, "partition %d: %s: %s", (int)p->partition,
                     pause ? "pause" : "resume", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(tp);
}

int grd_part_restore_begin(gr_receiptd *r, gr_part *p) {
        gr_metrics_partition_reset(r->metrics, p->partition);
        gr_engine_destroy(p->eng);
        p->eng = NULL;
        grd_part_batch_clear(p);
        if (p->rt)
                gr_rtq_cancel(r->rtq, p->rt);
        p->restoring = 1;
        p->seek_pending = 0;
        if (r->assigned[p->partition])
                part_pause(r, p, 1); /* rewound: sought when restored */
        if (!(p->rt = gr_rtq_submit(r->rtq, p->partition))) {
                rlog(r, 0, "partition %d: out of memory", (int)p->partition);
                return -1;
        }
        p->restore_t0 = now_ms_f();
        gr_metrics_partition_restored(r->metrics, p->partition, 0);
        gr_metrics_set_ready(r->metrics, 0);
        return 0;
}

/* Take over what the restore thread brought back. */
static void part_install(gr_receiptd *r, gr_part *p, grd_restored *rs) {
        char where[64];
        double ms = now_ms_f() - p->restore_t0;

        p->eng = rs->eng;
        rs->eng = NULL;
        gr_engine_set_evict(p->eng, part_evict, p);
        p->merkle = rs->merkle;
        p->head_size = p->merkle.size;
        p->head_time = INT64_MIN;
        p->next_offset = rs->start;
        r->st.restored_jobs += rs->res.jobs;
        r->st.restored_records += rs->res.records;
        r->st.restore_ms += ms;
        gr_metrics_restore_observe(r->metrics, p->partition, ms / 1000.0,
                                   rs->res.records, rs->res.jobs);
        if (rs->res.bad)
                rlog(r, 1,
                     "partition %d: %llu state records did not decode "
                     "(skipped)",
                     (int)p->partition, (unsigned long long)rs->res.bad);
        if (rs->start < 0)
                snprintf(where, sizeof(where), "the beginning");
        else
                snprintf(where, sizeof(where), "%s %lld",
                         rs->res.checkpoint >= 0 ? "checkpoint" :
                                                   "committed offset",
                         (long long)rs->start);
        /* Restores run one after another: the time from assignment to
         * readiness is the queue's wait plus this partition's own. */
        rlog(r, 1,
             "partition %d: restored %llu jobs from %llu state records in "
             "%.0f ms (%.0f ms its own, %.0f ms queued behind other "
             "partitions); input resumes at %s",
             (int)p->partition, (unsigned long long)rs->res.jobs,
             (unsigned long long)rs->res.records, ms, rs->run_ms,
             rs->run_t0 > p->restore_t0 ? rs->run_t0 - p->restore_t0 : 0.0,
             where);
        if (rs->barrier_ms >= 500 || rs->res.settle_ms > 0)
                rlog(r, 1,
                     "partition %d: of that, %.0f ms waiting for the group's "
                     "offsets to be stable and %.0f ms for a transaction "
                     "open in the state topic to end",
                     (int)p->partition, rs->barrier_ms, rs->res.settle_ms);
        if (r->assigned[p->partition]) {
                p->seek_pending = 1;
                p->seek_deadline = now_ms() + r->cfg->restore_timeout_ms;
        } else {
                grd_part_input_start(r, p);
        }
}

/* Seek the rewound partition's input back to its restored start and
 * resume it; a seek that fails is tried again on the next turn until
 * restore.timeout.ms.  (A new partition is never sought: it is assigned
 * at its start, since a seek while the fetcher still resolves a logical
 * start offset is undone by librdkafka's retry of that query.) */
static void part_seek(gr_receiptd *r, gr_part *p) {
        rd_kafka_topic_partition_list_t *tp =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_error_t *e;
        rd_kafka_resp_err_t err;

        rd_kafka_topic_partition_list_add(tp, r->topics.name[GR_TOPIC_EVENTS],
                                          p->partition)
            ->offset = p->next_offset >= 0 ? p->next_offset :
                                             RD_KAFKA_OFFSET_BEGINNING;
        e = rd_kafka_seek_partitions(r->consumer, tp, GR_TXN_TIMEOUT_MS);
        err = e ? rd_kafka_error_code(e) : tp->elems[0].err;
        if (e)
                rd_kafka_error_destroy(e);
        rd_kafka_topic_partition_list_destroy(tp);
        if (err) {
                if (now_ms() < p->seek_deadline)
                        return;
                rlog(r, 0, "partition %d: seek to the restored start: %s",
                     (int)p->partition, rd_kafka_err2str(err));
                r->fatal = 1;
                return;
        }
        part_pause(r, p, 0);
        p->seek_pending = 0;
        p->restoring = 0;
        gr_metrics_partition_restored(r->metrics, p->partition, 1);
}

void grd_restores_finish(gr_receiptd *r) {
        gr_rtask *t;
        int changed = 0;

        while ((t = gr_rtq_take(r->rtq))) {
                gr_part *p = t->partition >= 0 && t->partition < r->nparts ?
                                 r->parts[t->partition] :
                                 NULL;
                grd_restored *rs = t->result;

                if (p && p->rt == t) {
                        p->rt = NULL;
                        if (t->rc == 0) {
                                part_install(r, p, rs);
                        } else {
                                rlog(r, 0, "partition %d: restore failed: %s",
                                     (int)t->partition,
                                     rs ? rs->err : "out of memory");
                                r->fatal = 1;
                        }
                }
                gr_rtq_task_free(r->rtq, t);
                changed = 1;
        }
        for (int32_t i = 0; i < r->nparts && !r->fatal; i++)
                if (r->parts[i] && r->parts[i]->seek_pending) {
                        part_seek(r, r->parts[i]);
                        changed = 1;
                }
        if (changed)
                grd_ready_update(r);
}

/* After an abort or a failed batch: restore the touched partitions again
 * (on the restore thread) and seek their input back to the checkpoint
 * when that is done; the other partitions go on meanwhile. */
void grd_rewind_touched(gr_receiptd *r) {
        for (int32_t i = 0; i < r->nparts; i++) {
                gr_part *p = r->parts[i];

                if (!p || !p->touched)
                        continue;
                if (p->revoking) {
                        grd_part_batch_clear(p);
                        continue;
                }
                if (grd_part_restore_begin(r, p) == -1) {
                        r->fatal = 1;
                        continue;
                }
                r->st.rewinds++;
        }
}
