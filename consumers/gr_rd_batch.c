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

/* Decode record m into ev with codec.  @returns 0, or -1 with err set. */
static int decode_record(const rd_kafka_message_t *m, gr_codec *codec,
                         gr_event *ev, gr_err *err) {
        gr_event_reset(ev);
        if (!m->payload || m->len == 0) {
                gr_err_set(err, GR_REJ_INVALID_JSON, "empty record value");
                return -1;
        }
        if (gr_codec_decode(codec, m->payload, m->len, ev, err) == -1)
                return -1; /* reason set by the codec */
        if (!m->key || m->key_len != strlen(ev->job_id) ||
            memcmp(m->key, ev->job_id, m->key_len)) {
                /* A job's events must share one partition (docs/SPEC.md §2): an
                 * event keyed otherwise would split the job's state. */
                gr_err_set(err, GR_REJ_SCHEMA,
                           "record key is not the job_id (%s)",
                           m->key ? "key differs" : "no key");
                return -1;
        }
        return 0;
}

/* Signatures to verify: decode record i into r->evs[i] with codec, to be
 * verified with the others on the pool: prc[i] = 0, or -1 with perr[i]
 * set. */
static void pend_decode(gr_receiptd *r, gr_codec *codec, size_t i) {
        r->prc[i] = decode_record(r->pend[i], codec, &r->evs[i], &r->perr[i]);
        r->pevs[i] = r->prc[i] == 0 ? &r->evs[i] : NULL;
}

/* Before the partition's first output of the batch (exactly_once): its
 * checkpoint as it stands, the position and Merkle frontier the batch
 * starts from, equal to the last one written.  It puts the state partition
 * into the transaction together with the outputs.  librdkafka registers a
 * transaction's partitions in rounds (AddPartitionsToTxn), and 2.0.2 spins
 * its main thread for up to a millisecond after each; the state, written
 * only once the outputs are acknowledged, used to need a round of its own.
 * A restore keeps the last checkpoint it reads, so an equal one changes
 * nothing, and it commits or aborts with the batch.
 * Decided at the partition's first record of the batch only: after that,
 * the position and the frontier are mid-batch.  Not for a batch holding
 * fewer than GR_OPEN_MIN_RECORDS of the partition's records: under a
 * trickle of input the round costs little, while the copy (up to ~1.5 KiB
 * with the frontier) would add a third record to a one-event batch's state
 * and checkpoint, until compaction (the embedded broker never compacts).  Not
 * without a position yet (the first batch of a partition that has none). */
static void part_open(gr_receiptd *r, grd_worker *w, gr_part *p) {
        if (!r->eos || p->opened)
                return;
        p->opened = 1; /* also when not written: not later in the batch */
        if (p->next_offset < 0 || p->taken < GR_OPEN_MIN_RECORDS)
                return;
        if (gr_out_checkpoint(&w->out, p->partition,
                              r->topics.name[GR_TOPIC_EVENTS], p->next_offset,
                              &p->merkle) == -1)
                w->failed = 1;
}

/* Apply record i to its partition's engine on worker w, which owns that
 * partition in this flush; the record travels to the sinks with it.
 * Decoded and verified already when there are signatures to verify, else
 * decoded here into the worker's own event. */
static void pend_apply(gr_receiptd *r, grd_worker *w, size_t i) {
        const rd_kafka_message_t *m = r->pend[i];
        const gr_event *ev;
        const gr_err *err;
        int rc;
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
        if (r->need_auth) { /* decoded and verified in pend_flush */
                ev = &r->evs[i];
                err = &r->perr[i];
                rc = r->prc[i];
        } else {
                rc = decode_record(m, w->codec, &w->ev, &w->err);
                ev = &w->ev;
                err = &w->err;
        }
        part_open(r, w, p);
        rec = (grd_record){p, w, m, ev};
        grd_record_sink(&rec, &sink);
        gr_engine_set_sink(p->eng, &sink);
        if (rc == -1) {
                gr_engine_reject(p->eng, ev, err);
                w->st.rejected++;
        } else {
                switch (gr_engine_apply(p->eng, ev)) {
                case GR_APPLIED:
                        w->st.applied++;
                        break;
                case GR_PARKED:
                        w->st.parked++;
                        /* Parking changes state without a ledger row. */
                        job = gr_jobtab_get(gr_engine_jobs(p->eng),
                                            ev->job_id, 0);
                        if (job)
                                grd_part_dirty(p, job);
                        break;
                case GR_DUPLICATE:
                        w->st.duplicates++;
                        break;
                case GR_REJECTED:
                        w->st.rejected++;
                        break;
                }
        }
        gr_engine_set_sink(p->eng, NULL);
        gr_metrics_event_in(r->metrics, gr_event_has(ev, GR_F_type)
                                            ? (int)ev->type
                                            : GR_METRICS_EVT_UNDECODABLE);
        p->next_offset = m->offset + 1;
        p->touched = 1;
        w->st.records++;
}

/* Worker w's share of the decoding: a contiguous slice of the held
 * records (decoding needs no order). */
static void work_decode(void *arg, int w) {
        gr_receiptd *r = arg;
        size_t n = r->npend, nw = (size_t)r->nworkers;

        for (size_t i = n * (size_t)w / nw; i < n * ((size_t)w + 1) / nw; i++)
                pend_decode(r, r->workers[w].codec, i);
}

/* Worker w's partitions, each record in the order it was polled. */
static void work_apply(void *arg, int w) {
        gr_receiptd *r = arg;

        for (size_t k = r->wstart[w]; k < r->wstart[w + 1]; k++)
                pend_apply(r, &r->workers[w], r->order[k]);
}

/* Deal the held records to the workers by partition (gr_rd_work.h); when
 * that cannot allocate, worker 0 takes them all. */
static void pend_split(gr_receiptd *r) {
        size_t n = r->npend;

        for (size_t i = 0; i < n; i++)
                r->ppart[i] = r->pend[i]->partition;
        if (grd_split(r->ppart, n, r->nparts, r->nworkers, r->order,
                      r->wstart) == 0)
                return;
        for (size_t i = 0; i < n; i++)
                r->order[i] = i;
        r->wstart[0] = 0;
        for (int w = 1; w <= r->nworkers; w++)
                r->wstart[w] = n;
}

/* After the workers joined: their counts into r->st, a writer's failure
 * (said once per batch) or a partition out of memory fails the batch. */
static void workers_merge(gr_receiptd *r) {
        for (int k = 0; k < r->nworkers; k++) {
                grd_worker *w = &r->workers[k];
                r->st.records += w->st.records;
                r->st.applied += w->st.applied;
                r->st.parked += w->st.parked;
                r->st.duplicates += w->st.duplicates;
                r->st.rejected += w->st.rejected;
                r->st.decisions += w->st.decisions;
                r->st.ledger_rows += w->st.ledger_rows;
                r->st.dlq += w->st.dlq;
                memset(&w->st, 0, sizeof(w->st));
                if (w->failed) {
                        if (!r->produce_failed)
                                rlog(r, 1, "%s", w->out.errstr);
                        r->produce_failed = 1;
                        w->failed = 0;
                }
        }
        for (int32_t i = 0; i < r->nparts; i++)
                if (r->parts[i] && r->parts[i]->failed)
                        r->produce_failed = 1;
}

/* Apply the held records on the workers, each partition on one worker in
 * the order its records were polled.  When the policy requires signatures
 * they are first decoded (on the workers) and verified (on the pool);
 * otherwise each worker decodes a record as it applies it. */
static void pend_flush(gr_receiptd *r) {
        size_t n = r->npend;
        double tf = now_ms_f();

        if (!n)
                return;
        if (r->need_auth) {
                double t0;
                grd_pool_run(r->pool, work_decode, r);
                t0 = now_ms_f();
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
        pend_split(r);
        grd_pool_run(r->pool, work_apply, r);
        workers_merge(r);
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
        p->taken++;
        if (!r->batch_records) { /* the batch's first record */
                r->batch_t0 = now_ms_f();
                r->batch_apply0 = r->st.apply_ms;
                if (r->batch_end > 0)
                        r->st.gap_ms += r->batch_t0 - r->batch_end;
        }
        r->pend[r->npend++] = m;
        r->batch_records++;
        if (r->npend == r->cappend)
                pend_flush(r);
        return NULL;
}

static void batch_reset(gr_receiptd *r) {
        r->batch_end = now_ms_f();
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
        {
                double filled = now_ms_f() - r->batch_t0 -
                                (r->st.apply_ms - r->batch_apply0);
                r->st.wait_ms += filled > 0 ? filled : 0;
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

int grd_workers_init(gr_receiptd *r, char *errstr, size_t errstr_size) {
        const gr_config *cfg = r->cfg;
        int n = cfg->processing_threads;

        if (n < 1 || n > GRD_THREADS_MAX) {
                snprintf(errstr, errstr_size,
                         "processing.threads: expected 1..%d, got %d",
                         GRD_THREADS_MAX, n);
                return -1;
        }
        if (!(r->workers = calloc((size_t)n, sizeof(*r->workers))) ||
            !(r->order = calloc(r->cappend, sizeof(*r->order))) ||
            !(r->ppart = calloc(r->cappend, sizeof(*r->ppart))) ||
            !(r->wstart = calloc((size_t)n + 1, sizeof(*r->wstart)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (int k = 0; k < n; k++) {
                grd_worker *w = &r->workers[k];
                w->r = r;
                w->codec = k ? gr_codec_new(cfg->schema_dir, errstr,
                                            errstr_size) :
                               r->codec;
                if (!w->codec)
                        return -1;
                r->nworkers = k + 1;
                gr_outputs_init(&w->out, r->producer, &r->topics, w->codec,
                                cfg->output_wire, r->kp,
                                GR_PRODUCE_TIMEOUT_MS);
                gr_outputs_use_handles(&w->out, r->rkt);
        }
        if (!(r->pool = grd_pool_new(n))) {
                snprintf(errstr, errstr_size,
                         "cannot start %d processing threads", n - 1);
                return -1;
        }
        return 0;
}

void grd_workers_free(gr_receiptd *r) {
        grd_pool_destroy(r->pool);
        r->pool = NULL;
        for (int k = 0; k < r->nworkers; k++) {
                gr_outputs_free(&r->workers[k].out);
                if (k)
                        gr_codec_destroy(r->workers[k].codec);
        }
        free(r->workers);
        free(r->order);
        free(r->ppart);
        free(r->wstart);
        r->workers = NULL;
        r->nworkers = 0;
}
