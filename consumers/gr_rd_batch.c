/* The batch: records held, decoded together, verified on the pool, applied
 * in order; then state, tree heads and checkpoints, and the commit
 * (gr_rd.h; the steps are listed in gr_receiptd.h). */
#include "gr_rd.h"

static int cmp_ptr(const void *a, const void *b) {
        uintptr_t x = (uintptr_t)*(const gr_job *const *)a;
        uintptr_t y = (uintptr_t)*(const gr_job *const *)b;
        return x < y ? -1 : x > y;
}

/* One signed tree head over every ledger row of the partition so far, in
 * the batch's transaction: one signature per batch, not per row.  Its
 * timestamp is event time (the batch's latest row), never a clock. */
static void part_write_head(gr_receiptd *r, gr_part *p) {
        double t0 = now_ms_f();
        gr_tree_head th;

        memset(&th, 0, sizeof(th));
        th.partition = p->partition;
        th.tree_size = p->merkle.size;
        gr_merkle_frontier_root(&p->merkle, th.root_hash);
        th.timestamp = p->batch_latest > p->head_time ? p->batch_latest :
                                                         p->head_time;
        if (gr_out_tree_head(&r->out, p->partition, &th) == -1) {
                grd_output_failed(r);
                return;
        }
        r->st.heads_ms += now_ms_f() - t0;
        p->head_size = th.tree_size;
        p->head_time = th.timestamp;
        r->st.heads++;
}

/* The state of every job the batch touched (each once), tombstones of the
 * evicted ones, the tree head, then the checkpoint. */
static void part_write_state(gr_receiptd *r, gr_part *p) {
        qsort(p->dirty, p->ndirty, sizeof(*p->dirty), cmp_ptr);
        for (size_t i = 0; i < p->ndirty; i++) {
                const gr_job *job = p->dirty[i];
                if (!job || (i && job == p->dirty[i - 1]))
                        continue;
                if (gr_out_state(&r->out, p->partition, job) == -1) {
                        grd_output_failed(r);
                        return;
                }
                r->st.state_records++;
        }
        for (size_t i = 0; i < p->nevicted; i++) {
                if (gr_out_tombstone(&r->out, p->partition, p->evicted[i]) ==
                    -1) {
                        grd_output_failed(r);
                        return;
                }
                r->st.state_records++;
        }
        if (r->kp && p->merkle.size > p->head_size)
                part_write_head(r, p);
        if (gr_out_checkpoint(&r->out, p->partition,
                              r->topics.name[GR_TOPIC_EVENTS], p->next_offset,
                              &p->merkle) == -1)
                grd_output_failed(r);
}

void grd_pend_drop(gr_receiptd *r) {
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
                /* A job's events must share one partition (docs/SPEC.md §2): an
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

/* Apply record i (decoded and verified) to its partition's engine; the
 * record travels to the sinks with it. */
static void pend_apply(gr_receiptd *r, size_t i) {
        const rd_kafka_message_t *m = r->pend[i];
        const gr_event *ev = &r->evs[i];
        gr_part *p = NULL;
        gr_job *job;
        grd_record rec;
        gr_fsm_sink sink;

        if (m->partition >= 0 && m->partition < r->nparts)
                p = r->parts[m->partition];
        if (!grd_part_live(p))
                return; /* revoked or rewound while in flight */
        if (p->next_offset >= 0 && m->offset < p->next_offset)
                return; /* before the resume point: already applied */
        rec = (grd_record){p, m, ev};
        grd_record_sink(&rec, &sink);
        gr_engine_set_sink(p->eng, &sink);
        if (r->prc[i] == -1) {
                gr_engine_reject(p->eng, ev, &r->perr[i]);
                r->st.rejected++;
        } else {
                switch (gr_engine_apply(p->eng, ev)) {
                case GR_APPLIED:
                        r->st.applied++;
                        break;
                case GR_PARKED:
                        r->st.parked++;
                        /* Parking changes state without a ledger row. */
                        job = gr_jobtab_get(gr_engine_jobs(p->eng),
                                            ev->job_id, 0);
                        if (job)
                                grd_part_dirty(p, job);
                        break;
                case GR_DUPLICATE:
                        r->st.duplicates++;
                        break;
                case GR_REJECTED:
                        r->st.rejected++;
                        break;
                }
        }
        gr_engine_set_sink(p->eng, NULL);
        gr_metrics_event_in(r->metrics, gr_event_has(ev, GR_F_type)
                                            ? (int)ev->type
                                            : GR_METRICS_EVT_UNDECODABLE);
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
        grd_pend_drop(r);
        r->st.apply_ms += now_ms_f() - tf;
}

/* Take a polled record into the batch.  @returns m when it is not kept
 * (the caller destroys it), NULL when the batch owns it now. */
rd_kafka_message_t *grd_pend_add(gr_receiptd *r, rd_kafka_message_t *m) {
        gr_part *p = NULL;

        if (m->partition >= 0 && m->partition < r->nparts)
                p = r->parts[m->partition];
        if (!grd_part_live(p))
                return m; /* not owned, or its restore is not done */
        if (p->next_offset >= 0 && m->offset < p->next_offset)
                return m; /* before the resume point: already applied */
        if (grd_txn_begin(r) == -1)
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
        grd_pend_drop(r);
        for (int32_t i = 0; i < r->nparts; i++)
                if (r->parts[i])
                        grd_part_batch_clear(r->parts[i]);
        r->batch_records = 0;
        r->produce_failed = 0;
        r->delivery_failed = 0;
}

/* Abandon the batch in hand: abort (exactly_once), rebuild the touched
 * partitions from the state topic and rewind their input. */
void grd_batch_fail(gr_receiptd *r) {
        gr_metrics_abort_count(r->metrics);
        if (r->eos)
                grd_txn_abort(r);
        else
                rd_kafka_flush(r->producer, GR_TXN_TIMEOUT_MS);
        if (!r->fatal)
                grd_rewind_touched(r);
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
int grd_batch_commit(gr_receiptd *r) {
        rd_kafka_topic_partition_list_t *offs;
        double t0, t1;
        int rc = -1;
        const double tstart = now_ms_f();

        if (!r->batch_records)
                return 0;
        if (r->fatal) {
                grd_batch_fail(r);
                return -1;
        }
        pend_flush(r);
        r->st.batches++;
        t1 = now_ms_f();
        if (grd_outputs_wait(r, "outputs") == -1) {
                grd_batch_fail(r);
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
                if (r->produce_failed || grd_txn_commit(r, offs) == -1)
                        goto fail;
                r->st.commit_ms += now_ms_f() - t1;
        } else {
                rd_kafka_resp_err_t e;
                if (grd_outputs_wait(r, "state and checkpoints") == -1)
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
        grd_batch_fail(r);
out:
        rd_kafka_topic_partition_list_destroy(offs);
        return rc;
}
