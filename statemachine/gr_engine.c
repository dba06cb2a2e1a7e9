/* Jobs + policy + sink + accounting; see gr_engine.h. */
#include "gr_engine.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gr_engine {
        const gr_policy *pol;
        const gr_fsm_sink *user;
        gr_fsm_sink sink; /* counts, then forwards to user */
        gr_jobtab *jobs;
        gr_stats stats;
        int64_t watermark;  /* latest applied occurred_at */
        int64_t last_sweep; /* watermark at the last retention sweep */
        int keep_all;
        gr_evict_fn evict;
        void *evict_opaque;
};

static void on_ledger(void *op, const gr_job *j, const gr_ledger_row *r) {
        gr_engine *e = op;
        e->stats.applied++;
        e->stats.ledger_rows++;
        if (e->user->ledger)
                e->user->ledger(e->user->opaque, j, r);
}

static void on_decision(void *op, const gr_job *j, const gr_decision *d) {
        gr_engine *e = op;
        e->stats.decisions++;
        e->stats.decisions_by_rule[d->rule]++;
        if (e->user->decision)
                e->user->decision(e->user->opaque, j, d);
}

static void on_reject(void *op, const gr_event *ev, const gr_err *err) {
        gr_engine *e = op;
        e->stats.rejected++;
        e->stats.rejected_by[err->reason]++;
        if (e->user->reject)
                e->user->reject(e->user->opaque, ev, err);
}

static const gr_fsm_sink no_sink;

void gr_engine_set_sink(gr_engine *e, const gr_fsm_sink *sink) {
        e->user = sink ? sink : &no_sink;
}

gr_engine *gr_engine_new(const gr_policy *pol, const gr_fsm_sink *sink) {
        gr_engine *e;

        if (sodium_init() < 0)
                return NULL;
        if (!(e = calloc(1, sizeof(*e))))
                return NULL;
        e->pol = pol;
        e->watermark = e->last_sweep = GR_TIME_NONE;
        e->user = sink ? sink : &no_sink;
        e->sink = (gr_fsm_sink){e, on_ledger, on_decision, on_reject};
        if (!(e->jobs = gr_jobtab_new())) {
                free(e);
                return NULL;
        }
        return e;
}

void gr_engine_destroy(gr_engine *e) {
        if (!e)
                return;
        gr_jobtab_destroy(e->jobs);
        free(e);
}

void gr_engine_set_evict(gr_engine *e, gr_evict_fn evict, void *opaque) {
        e->evict = evict;
        e->evict_opaque = opaque;
}

void gr_engine_keep_all(gr_engine *e) {
        e->keep_all = 1;
}

int64_t gr_engine_watermark(const gr_engine *e) {
        return e->watermark;
}

static int evictable(const gr_engine *e, const gr_job *j) {
        if (gr_job_nparked(j))
                return 0;
        /* A job of only given-up parked events (say a late duplicate that
         * arrived after its job left) holds nothing worth keeping. */
        if (j->seq == 0)
                return 1;
        return j->posture_locked && j->time != GR_TIME_NONE &&
               j->time < e->watermark - e->pol->retention_ms;
}

static void sweep(gr_engine *e) {
        size_t it = 0, n = 0, cap = 0;
        char **ids = NULL;
        gr_job *j;

        e->last_sweep = e->watermark;
        while ((j = gr_jobtab_next(e->jobs, &it))) {
                if (gr_job_nparked(j)) {
                        int before = gr_job_nparked(j);
                        gr_fsm_expire(e->pol, j, e->watermark, &e->sink);
                        e->stats.parked_now -=
                            (uint64_t)(before - gr_job_nparked(j));
                }
                if (!evictable(e, j))
                        continue;
                if (n == cap) {
                        char **g = realloc(ids, (cap ? cap * 2 : 64) * sizeof(*g));
                        if (!g)
                                break; /* try again at the next sweep */
                        ids = g;
                        cap = cap ? cap * 2 : 64;
                }
                ids[n++] = j->job_id;
        }
        /* Removal frees job_id: hand each to the callback first. */
        for (size_t i = 0; i < n; i++) {
                j = gr_jobtab_get(e->jobs, ids[i], 0);
                if (e->evict)
                        e->evict(e->evict_opaque, j);
                gr_jobtab_remove(e->jobs, j->job_id);
                e->stats.evicted++;
        }
        free(ids);
}

static void maybe_sweep(gr_engine *e, const gr_event *ev) {
        int64_t step;

        if (e->watermark == GR_TIME_NONE || ev->occurred_at > e->watermark)
                e->watermark = ev->occurred_at;
        if (e->keep_all || e->pol->retention_ms <= 0)
                return;
        if (e->last_sweep == GR_TIME_NONE) {
                e->last_sweep = e->watermark;
                return;
        }
        step = e->pol->retention_ms / 16 > 1000 ? e->pol->retention_ms / 16
                                                : 1000;
        if (e->watermark - e->last_sweep >= step)
                sweep(e);
}

gr_outcome_t gr_engine_apply(gr_engine *e, const gr_event *ev) {
        gr_job *j;
        int before;
        gr_outcome_t o;

        e->stats.events_in++;
        if (!(j = gr_jobtab_get(e->jobs, ev->job_id, 1))) {
                gr_err err;
                gr_err_set(&err, GR_REJ_TOO_LARGE,
                           "out of memory for a new job");
                on_reject(e, ev, &err);
                return GR_REJECTED;
        }
        before = gr_job_nparked(j);
        o = gr_fsm_apply(e->pol, j, ev, &e->sink);
        if (o == GR_DUPLICATE)
                e->stats.duplicates++;
        /* Parked events leave the park as applied rows or rejects, which the
         * sink has counted; this keeps the identity in gr_engine.h exact. */
        e->stats.parked_now +=
            (uint64_t)((int64_t)gr_job_nparked(j) - before);
        if (o == GR_APPLIED)
                maybe_sweep(e, ev);
        return o;
}

void gr_engine_reject(gr_engine *e, const gr_event *ev, const gr_err *err) {
        e->stats.events_in++;
        on_reject(e, ev, err);
}

gr_jobtab *gr_engine_jobs(gr_engine *e) { return e->jobs; }
const gr_stats *gr_engine_stats(const gr_engine *e) { return &e->stats; }
const gr_policy *gr_engine_policy(const gr_engine *e) { return e->pol; }
