/*
 * The per-job state machine (docs/SPEC.md §4): attempts, preconditions, parking,
 * duplicates, invariants I1–I5, and the ledger/decision actions.
 * Rules R1–R11 live in gr_rules.c; role checks (I6) and required fields in
 * gr_event.c (gr_event_validate), which runs before an event gets here.
 *
 * Applying one event:
 *   1. duplicate?                      -> GR_DUPLICATE
 *   2. which attempt?  older: closed; n+1: begins when n has concluded
 *   3. precondition (table below): met -> go on; can never be met -> reject
 *      `impossible_transition`; else park (or reject when the park is full)
 *   4. dry run on a shallow copy: effect + rules + invariants I1–I4; a
 *      violation rejects the event and leaves state unchanged
 *   5. commit: effect, ledger row, decision when the triple changed
 *   6. retry parked events until none moves; expire what can never apply
 */
#include "gr_fsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_amounts.h"
#include "gr_output.h"
#include "gr_rules.h"

/* ---- preconditions (docs/SPEC.md §4 table) ------------------------------------ */

typedef enum { PRE_MET, PRE_WAIT, PRE_NEVER } pre_t;

static pre_t precondition(const gr_attempt *a, gr_event_type_t type,
                          const char **why) {
        switch (type) {
        case GR_EVT_EXECUTION_STARTED:
                if (a->capacity == GR_CAP_FAIL)
                        return *why = "I3: capacity failed, execution can "
                                      "never start",
                               PRE_NEVER;
                if (a->execution != GR_EXEC_NOT_STARTED)
                        return *why = "execution already started", PRE_NEVER;
                if (a->capacity != GR_CAP_PASS)
                        return *why = "needs capacity pass", PRE_WAIT;
                return PRE_MET;
        case GR_EVT_EXECUTION_FAILED:
        case GR_EVT_EXECUTION_COMPLETED:
                if (a->execution == GR_EXEC_PASS ||
                    a->execution == GR_EXEC_FAIL)
                        return *why = "execution already ended", PRE_NEVER;
                if (a->execution != GR_EXEC_RUNNING)
                        return *why = "needs execution running", PRE_WAIT;
                return PRE_MET;
        case GR_EVT_OUTPUT_DELIVERED:
                if (a->execution == GR_EXEC_FAIL)
                        return *why = "I1: execution failed, no output can "
                                      "exist",
                               PRE_NEVER;
                if (a->output == GR_OUT_PRESENT)
                        return *why = "this attempt already has an output",
                               PRE_NEVER;
                if (a->execution != GR_EXEC_PASS)
                        return *why = "needs execution pass", PRE_WAIT;
                return PRE_MET;
        case GR_EVT_EVALUATION_REPORTED:
                if (a->execution == GR_EXEC_FAIL)
                        return *why = "I2: execution failed, nothing to "
                                      "evaluate",
                               PRE_NEVER;
                if (a->evaluation == GR_EVAL_PASS ||
                    a->evaluation == GR_EVAL_FAIL)
                        return *why = "evaluation already reported", PRE_NEVER;
                if (a->output != GR_OUT_PRESENT)
                        return *why = "needs output present", PRE_WAIT;
                return PRE_MET;
        case GR_EVT_QUOTE_ACCEPTED:
        case GR_EVT_CAPACITY_CHECKED:
        case GR_EVT_RESERVATION_ACCEPTED:
        case GR_EVT_SELLER_PACKET:
        case GR_EVT_BUYER_PACKET:
        case GR_EVT_JOB_CANCELLED:
        case GR_EVT_RESERVATION_EXPIRED:
        case GR_EVT_REVIEW_DECIDED:
        case GR_EVT__CNT:
                return PRE_MET;
        }
        return PRE_MET;
}

/* Packets describe the job, not one attempt: accepted from any attempt. */
static int job_level(gr_event_type_t t) {
        return t == GR_EVT_SELLER_PACKET || t == GR_EVT_BUYER_PACKET;
}

/* An attempt has concluded when a retry of it makes sense. */
static int attempt_concluded(const gr_job *j) {
        const gr_attempt *a = &j->cur;
        return a->capacity == GR_CAP_FAIL || a->execution == GR_EXEC_FAIL ||
               a->evaluation == GR_EVAL_FAIL || a->reviewed ||
               (a->execution == GR_EXEC_NOT_STARTED &&
                (a->expired || j->rule == GR_RULE_R4));
}

/* Where `ev` stands against the job's attempts, ignoring preconditions. */
static pre_t attempt_gate(const gr_job *j, const gr_event *ev,
                          const char **why) {
        if ((uint32_t)ev->attempt == j->attempt || job_level(ev->type))
                return PRE_MET;
        if ((uint32_t)ev->attempt < j->attempt)
                return *why = "attempt already closed", PRE_NEVER;
        if ((uint32_t)ev->attempt > j->attempt + 1)
                return *why = "attempt skips ahead of the next one", PRE_NEVER;
        if (!attempt_concluded(j))
                return *why = "needs the previous attempt to conclude",
                       PRE_WAIT;
        return PRE_MET;
}

static pre_t gate(const gr_job *j, const gr_event *ev, const char **why) {
        pre_t g = attempt_gate(j, ev, why);
        if (g != PRE_MET)
                return g;
        /* The first event of attempt n+1 meets a fresh attempt. */
        if ((uint32_t)ev->attempt == j->attempt + 1 && !job_level(ev->type)) {
                gr_attempt fresh;
                memset(&fresh, 0, sizeof(fresh));
                fresh.capacity = GR_CAP_UNKNOWN;
                fresh.execution = GR_EXEC_NOT_STARTED;
                fresh.output = GR_OUT_NONE;
                fresh.evaluation = GR_EVAL_NOT_STARTED;
                return precondition(&fresh, ev->type, why);
        }
        return precondition(&j->cur, ev->type, why);
}

/* ---- effect of an event ------------------------------------------------ */

#define STR(dst, f)                                                            \
        do {                                                                   \
                if (strings && gr_event_has(ev, GR_F_##f))                     \
                        gr_job_str_set(j, &(dst), ev->f);                      \
        } while (0)

/* Start attempt n+1.  `strings` = 0 is the dry run on a shallow copy: it
 * must not allocate anything (the history piece is the real job's). */
static void begin_attempt(gr_job *j, uint32_t attempt, int strings) {
        if (strings) {
                gr_attempt_summary h = {
                    j->attempt,        j->cur.capacity,   j->cur.execution,
                    j->cur.output,     j->cur.evaluation, j->cur.failure_class,
                    j->settlement,     j->retry,          j->reason,
                    j->rule,           gr_job_amounts(j)};
                (void)gr_job_history_push(j, &h); /* ENOMEM: not recorded */
        }
        gr_attempt_reset(&j->cur);
        /* The free retry is consumed when attempt n+1 begins after a `free`
         * posture; a reassignment consumes nothing. */
        if (j->retry == GR_RETRY_FREE && j->free_retries_used < UINT8_MAX)
                j->free_retries_used++;
        /* I5 holds per attempt: n+1 begins `pending`, its own to decide. */
        j->posture_locked = 0;
        j->attempt = attempt;
}

/* Setting a job time (GR_JT_SET) cannot fail here: the dry run has wide
 * slots of its own, and commit() reserved the job's before its run. */
static void effect(gr_job *j, const gr_event *ev, int strings) {
        gr_attempt *a = &j->cur;

        if ((uint32_t)ev->attempt == j->attempt + 1 && !job_level(ev->type))
                begin_attempt(j, (uint32_t)ev->attempt, strings);
        if (j->time == GR_TIME_NONE || ev->occurred_at > j->time)
                j->time = ev->occurred_at;

        switch (ev->type) {
        case GR_EVT_QUOTE_ACCEPTED:
                /* An attempt keeps the quote it started with unless it
                 * brings its own; a repeat in one attempt is only recorded. */
                if (j->quote.present && j->quote.attempt >= (uint32_t)ev->attempt)
                        break;
                j->quote.present = 1;
                j->quote.attempt = (uint32_t)ev->attempt;
                j->quote.vram_gb = ev->vram_gb;
                (void)GR_JT_SET(j, quote, window_start, ev->window_start);
                (void)GR_JT_SET(j, quote, window_end, ev->window_end);
                j->quote.has_price = gr_event_has(ev, GR_F_price_amount_minor);
                j->quote.price_amount_minor =
                    j->quote.has_price ? ev->price_amount_minor : 0;
                if (strings) {
                        gr_job_str_set(j, &j->quote.quote_id, ev->quote_id);
                        gr_job_str_set(j, &j->quote.provider_id, ev->provider_id);
                        gr_job_str_set(j, &j->quote.gpu, ev->gpu);
                        gr_job_str_set(j, &j->quote.region,
                                   gr_event_has(ev, GR_F_region) ? ev->region
                                                                 : NULL);
                        gr_job_str_set(j, &j->quote.driver_family,
                                   gr_event_has(ev, GR_F_driver_family)
                                       ? ev->driver_family
                                       : NULL);
                        gr_job_str_set(j, &j->quote.price_currency,
                                   gr_event_has(ev, GR_F_price_currency)
                                       ? ev->price_currency
                                       : NULL);
                }
                break;
        case GR_EVT_CAPACITY_CHECKED:
                /* The first capacity result of an attempt stands. */
                if (a->capacity != GR_CAP_UNKNOWN)
                        break;
                a->capacity = ev->result == GR_RESULT_PASS ? GR_CAP_PASS
                                                           : GR_CAP_FAIL;
                (void)GR_JT_SET(j, cur, capacity_at, ev->occurred_at);
                a->has_vram_declared = gr_event_has(ev, GR_F_vram_declared_gb);
                a->vram_declared_gb = ev->vram_declared_gb;
                a->has_vram_observed = gr_event_has(ev, GR_F_vram_observed_gb);
                a->vram_observed_gb = ev->vram_observed_gb;
                STR(a->check, check);
                STR(a->worker_status, worker_status);
                STR(a->capacity_detail, detail);
                break;
        case GR_EVT_RESERVATION_ACCEPTED:
                STR(a->worker_id, worker_id);
                break;
        case GR_EVT_EXECUTION_STARTED:
                a->execution = GR_EXEC_RUNNING;
                (void)GR_JT_SET(j, cur, started_at, ev->occurred_at);
                STR(a->container_image, container_image);
                STR(a->command, command);
                STR(a->model_hash, model_hash);
                STR(a->input_manifest_hash, input_manifest_hash);
                break;
        case GR_EVT_EXECUTION_FAILED:
        case GR_EVT_EXECUTION_COMPLETED:
                if (ev->type == GR_EVT_EXECUTION_FAILED) {
                        a->execution = GR_EXEC_FAIL;
                        (void)GR_JT_SET(j, cur, failed_at, ev->occurred_at);
                        a->failure_class = ev->failure_class;
                        if (gr_event_has(ev, GR_F_output_written))
                                a->output_written = ev->output_written;
                        STR(a->stderr_class, stderr_class);
                } else {
                        a->execution = GR_EXEC_PASS;
                        (void)GR_JT_SET(j, cur, completed_at, ev->occurred_at);
                }
                if (gr_event_has(ev, GR_F_peak_vram_mb)) {
                        a->has_peak_vram = 1;
                        a->peak_vram_mb = ev->peak_vram_mb;
                }
                if (gr_event_has(ev, GR_F_gpu_seconds)) {
                        a->has_gpu_seconds = 1;
                        a->gpu_seconds = ev->gpu_seconds;
                }
                break;
        case GR_EVT_OUTPUT_DELIVERED:
                a->output = GR_OUT_PRESENT;
                (void)GR_JT_SET(j, cur, delivered_at, ev->occurred_at);
                STR(a->output_hash, output_hash);
                STR(a->output_path, output_path);
                break;
        case GR_EVT_EVALUATION_REPORTED:
                a->evaluation = ev->status == GR_RESULT_PASS ? GR_EVAL_PASS
                                                             : GR_EVAL_FAIL;
                (void)GR_JT_SET(j, cur, evaluated_at, ev->occurred_at);
                STR(a->evaluation_rule, rule);
                break;
        case GR_EVT_SELLER_PACKET: {
                /* The dry run's copy points at a packet of its own. */
                gr_seller_packet *sp = strings ? gr_job_seller_mut(j) : j->more->seller;
                if (!sp) /* ENOMEM: the packet is not recorded */
                        break;
                sp->present = 1;
                sp->failure_class = gr_event_has(ev, GR_F_failure_class)
                                        ? ev->failure_class
                                        : GR_FAIL_NONE;
                sp->has_capacity_result = gr_event_has(ev, GR_F_capacity_result);
                sp->capacity_result = ev->capacity_result;
                STR(sp->packet_hash, packet_hash);
                STR(sp->quote_id, quote_id);
                STR(sp->worker_id, worker_id);
                break;
        }
        case GR_EVT_BUYER_PACKET: {
                gr_buyer_packet *bp = strings ? gr_job_buyer_mut(j) : j->more->buyer;
                if (!bp)
                        break;
                bp->present = 1;
                bp->memory_budget_gb = ev->memory_budget_gb;
                bp->observed_failure_class =
                    gr_event_has(ev, GR_F_observed_failure_class)
                        ? ev->observed_failure_class
                        : GR_FAIL_NONE;
                STR(bp->packet_hash, packet_hash);
                STR(bp->container_image, container_image);
                STR(bp->command, command);
                STR(bp->model_hash, model_hash);
                STR(bp->input_manifest_hash, input_manifest_hash);
                STR(bp->expected_output_path, expected_output_path);
                STR(bp->evaluation_rule, evaluation_rule);
                break;
        }
        case GR_EVT_JOB_CANCELLED:
                /* The first cancel of an attempt stands (R2 vs R12). */
                if (a->cancelled)
                        break;
                a->cancelled = 1;
                (void)GR_JT_SET(j, cur, cancelled_at, ev->occurred_at);
                a->cancelled_exec = a->execution;
                break;
        case GR_EVT_RESERVATION_EXPIRED:
                a->expired = 1;
                break;
        case GR_EVT_REVIEW_DECIDED:
                a->reviewed = 1;
                (void)GR_JT_SET(j, cur, reviewed_at, ev->occurred_at);
                a->review_settlement = ev->settlement;
                STR(a->review_note, note);
                break;
        case GR_EVT__CNT:
                break;
        }
}
#undef STR

/* ---- invariants (docs/SPEC.md §4) --------------------------------------------- */

/* @returns NULL when the state is possible, else which invariant breaks. */
static const char *impossible(const gr_job *j, const gr_verdict *v) {
        const gr_attempt *a = &j->cur;
        if (a->output == GR_OUT_PRESENT && a->execution != GR_EXEC_PASS)
                return "I1: output present requires execution pass";
        if (a->output == GR_OUT_NONE && a->evaluation != GR_EVAL_NOT_STARTED &&
            a->evaluation != GR_EVAL_NOT_APPLICABLE)
                return "I2: no output, so no evaluation";
        if (a->capacity == GR_CAP_FAIL && a->execution != GR_EXEC_NOT_STARTED)
                return "I3: capacity failed, execution never runs";
        if (a->execution == GR_EXEC_FAIL && v->settlement == GR_SETTLE_RELEASE)
                return "I4: execution failed, settlement can never be release";
        return NULL;
}

/* ---- actions ---------------------------------------------------------- */

static size_t put_u64(char *p, uint64_t v) {
        char tmp[24];
        size_t n = 0, k = 0;
        do
                tmp[n++] = (char)('0' + v % 10);
        while ((v /= 10));
        while (n)
                p[k++] = tmp[--n];
        return k;
}

static void decision_id(const gr_job *j, uint64_t seq, char out[65]) {
        char tmp[GR_ID_MAX + 48];
        size_t n = strlen(j->job_id);

        if (n > GR_ID_MAX) /* job ids are bounded by the event setters */
                n = GR_ID_MAX;
        memcpy(tmp, j->job_id, n);
        tmp[n++] = '\n';
        n += put_u64(tmp + n, j->attempt);
        tmp[n++] = '\n';
        n += put_u64(tmp + n, seq);
        gr_sha256_hex(tmp, n, out);
}

static void reject(const gr_fsm_sink *sink, const gr_event *ev,
                   gr_reject_t reason, const char *fmt, const char *arg) {
        gr_err err;
        gr_err_set(&err, reason, fmt, gr_event_type_t_name(ev->type),
                   (unsigned)ev->attempt, arg);
        if (sink && sink->reject)
                sink->reject(sink->opaque, ev, &err);
}

/* @returns 1 when a job time of j is kept whole (GR_JT_WIDE). */
static int far_times(const gr_job *j) {
#define FAR(m) j->cur.m == GR_JT_WIDE ||
        return GR_ATTEMPT_TIMES(FAR) j->quote.window_start == GR_JT_WIDE ||
               j->quote.window_end == GR_JT_WIDE;
#undef FAR
}

/* Canonical bytes of rows and receipts are rendered here to be hashed;
 * one buffer per thread keeps that free of malloc on the hot path. */
static _Thread_local gr_buf scratch;

/* Apply an event whose gate is met: dry run, then commit and report.
 * @returns GR_APPLIED or GR_REJECTED. */
static gr_outcome_t commit(const gr_policy *pol, gr_job *j, const gr_event *ev,
                           const gr_fsm_sink *sink, uint64_t idh) {
        gr_job dry = *j; /* shallow: effect(..., 0) touches scalars only */
        gr_job_more dry_more = {0};
        int64_t dry_wide[GR_JT__CNT];
        gr_seller_packet dry_seller;
        gr_buyer_packet dry_buyer;
        gr_verdict v;
        const char *broken;
        int changed;
        gr_ledger_row row;
        gr_decision d;
        gr_amounts amounts, kept;
        char line[GR_ID_MAX + 200];
        gr_buf *b = &scratch;

        /* A packet event writes its packet's scalars: the dry run gets a
         * copy of the rare parts and of that packet, so the real ones stay
         * as they are. */
        if (j->more)
                dry_more = *j->more;
        if (dry_more.wide)
                memcpy(dry_wide, dry_more.wide, sizeof(dry_wide));
        dry_more.wide = dry_wide; /* a far time of the dry run lands here */
        dry.more = &dry_more;
        if (ev->type == GR_EVT_SELLER_PACKET) {
                dry_seller = *gr_job_seller(j);
                dry_more.seller = &dry_seller;
        } else if (ev->type == GR_EVT_BUYER_PACKET) {
                dry_buyer = *gr_job_buyer(j);
                dry_more.buyer = &dry_buyer;
        }
        effect(&dry, ev, 0);
        v = gr_rules_decide(&dry, pol);
        if ((broken = impossible(&dry, &v))) {
                reject(sink, ev, GR_REJ_IMPOSSIBLE_TRANSITION,
                       "%s (attempt %u): %s", broken);
                return GR_REJECTED;
        }
        /* A time far from the job's first (gr_jtime) is kept whole in the
         * job's wide slots: have them before anything changes, or refuse
         * the event rather than lose the time. */
        if (far_times(&dry) && gr_job_wide_reserve(j) == -1) {
                reject(sink, ev, GR_REJ_TOO_LARGE, "%s (attempt %u): %s",
                       "out of memory for a far time");
                return GR_REJECTED;
        }

        effect(j, ev, 1);
        /* Who may read this job's receipt (receiptd's /jobs/): an ENOMEM
         * here only leaves the party out, which refuses rather than
         * grants. */
        if (gr_event_has(ev, GR_F_actor_id) && gr_event_has(ev, GR_F_role))
                (void)gr_job_party_add(j, ev->role, ev->actor_id);
        /* While I5 keeps a posture its amounts stay as decided; a review
         * decides them anew. */
        kept = gr_job_amounts(j);
        if (j->posture_locked && ev->type != GR_EVT_REVIEW_DECIDED)
                amounts = kept;
        else
                amounts = gr_amounts_of(j, &v, ev->occurred_at);
        changed = v.settlement != j->settlement || v.retry != j->retry ||
                  v.reason != j->reason || !gr_amounts_equal(&amounts, &kept);
        /* ENOMEM (an odd currency of its own): the decision still says
         * these amounts; the job keeps those before. */
        (void)gr_job_amounts_set(j, &amounts);
        j->settlement = v.settlement;
        j->retry = v.retry;
        j->reason = v.reason;
        j->rule = v.rule;
        if (gr_settlement_is_final(v.settlement))
                j->posture_locked = 1;
        if (idh) /* 0: recorded when it was parked */
                gr_job_seen_add_hash(j, idh);

        memset(&row, 0, sizeof(row));
        row.job_id = j->job_id;
        row.attempt = j->attempt;
        row.seq = j->seq + 1;
        row.transition = ev->type;
        row.event_id = ev->event_id;
        row.occurred_at = ev->occurred_at;
        row.capacity = j->cur.capacity;
        row.execution = j->cur.execution;
        row.output = j->cur.output;
        row.evaluation = j->cur.evaluation;
        row.settlement = j->settlement;
        row.seller_packet = GR_JS(j, gr_job_seller(j)->packet_hash);
        row.buyer_packet = GR_JS(j, gr_job_buyer(j)->packet_hash);
        gr_hex(j->chain, sizeof(j->chain), row.prev_hash);
        if (changed) {
                decision_id(j, row.seq, d.decision_id);
                row.decision = d.decision_id;
        }

        gr_buf_reset(b);
        gr_ledger_row_to_json(&row, 0, b);
        gr_sha256(b->data, b->len, j->chain);
        gr_hex(j->chain, sizeof(j->chain), row.row_hash);
        if (!b->oom) { /* sinks append row_hash to these bytes */
                row.canon = b->data;
                row.canon_len = b->len;
        }
        j->seq = row.seq;
        if (sink && sink->ledger)
                sink->ledger(sink->opaque, j, &row);

        if (changed) {
                d.job_id = j->job_id;
                d.attempt = j->attempt;
                d.seq = row.seq;
                d.settlement = v.settlement;
                d.retry = v.retry;
                d.reason = v.reason;
                d.rule = v.rule;
                d.line = gr_job_line(j, line, sizeof(line));
                gr_buf_reset(b);
                gr_receipt_to_json_line(j, d.line, b);
                gr_sha256_hex(b->data, b->len, d.receipt_hash);
                d.policy_hash = pol->hash;
                d.decided_at = ev->occurred_at;
                d.amounts = amounts;
                if (j->decisions < UINT32_MAX)
                        j->decisions++;
                if (sink && sink->decision)
                        sink->decision(sink->opaque, j, &d);
        }
        if (b->cap > 64 * 1024) /* one huge receipt: do not keep it */
                gr_buf_free(b);
        return GR_APPLIED;
}

static void expire_parked(const gr_policy *pol, gr_job *j, int64_t now,
                          const gr_fsm_sink *sink);

/* Drop parked event i (the caller took it out: its slot is NULL). */
static void unpark(gr_job *j, int i) {
        gr_job_more *m = j->more;
        free(m->parked[i]);
        memmove(&m->parked[i], &m->parked[i + 1],
                (size_t)(m->nparked - i - 1) * sizeof(*m->parked));
        m->nparked--;
}

/* After a commit: apply parked events that became applicable (in arrival
 * order, until nothing moves), then give up on those that never can. */
static void drain_parked(const gr_policy *pol, gr_job *j,
                         const gr_fsm_sink *sink) {
        int moved = 1;
        const char *why;

        while (moved) {
                moved = 0;
                for (int i = 0; i < gr_job_nparked(j); i++) {
                        gr_event *p = j->more->parked[i];
                        pre_t g = gate(j, p, &why);
                        if (g == PRE_WAIT)
                                continue;
                        j->more->parked[i] = NULL;
                        unpark(j, i);
                        if (g == PRE_NEVER)
                                reject(sink, p, GR_REJ_IMPOSSIBLE_TRANSITION,
                                       "%s (attempt %u): %s", why);
                        else
                                commit(pol, j, p, sink, 0);
                        free(p);
                        moved = 1;
                        break;
                }
        }
        expire_parked(pol, j, j->time, sink);
}

/* Waiting events of a settled attempt, or older than the park timeout at
 * event time `now`, will not be waited for any longer. */
static void expire_parked(const gr_policy *pol, gr_job *j, int64_t now,
                          const gr_fsm_sink *sink) {
        const char *why = "";

        for (int i = 0; i < gr_job_nparked(j);) {
                gr_event *p = j->more->parked[i];
                const char *reason = NULL;
                gr_err err;

                if (j->posture_locked && (uint32_t)p->attempt <= j->attempt)
                        reason = "job settled";
                else if (now != GR_TIME_NONE &&
                         now - p->occurred_at > pol->park_timeout_ms)
                        reason = "park timeout passed in event time";
                if (!reason) {
                        i++;
                        continue;
                }
                gate(j, p, &why);
                gr_err_set(&err, GR_REJ_PRECONDITION_TIMEOUT,
                           "%s (attempt %u) %s: %s",
                           gr_event_type_t_name(p->type), (unsigned)p->attempt,
                           why, reason);
                if (sink && sink->reject)
                        sink->reject(sink->opaque, p, &err);
                j->more->parked[i] = NULL;
                unpark(j, i);
                free(p);
        }
}

void gr_fsm_expire(const gr_policy *pol, gr_job *j, int64_t now,
                   const gr_fsm_sink *sink) {
        expire_parked(pol, j, now, sink);
}

gr_outcome_t gr_fsm_apply(const gr_policy *pol, gr_job *j, const gr_event *ev,
                          const gr_fsm_sink *sink) {
        const char *why = "";
        gr_event *copy;
        const uint64_t idh = gr_event_id_hash(ev->event_id);

        if (gr_job_seen_hash(j, idh))
                return GR_DUPLICATE;

        switch (gate(j, ev, &why)) {
        case PRE_NEVER:
                reject(sink, ev, GR_REJ_IMPOSSIBLE_TRANSITION,
                       "%s (attempt %u): %s", why);
                return GR_REJECTED;
        case PRE_WAIT:
                if (gr_job_nparked(j) >= pol->park_limit) {
                        reject(sink, ev, GR_REJ_PRECONDITION_TIMEOUT,
                               "%s (attempt %u) %s: park limit reached", why);
                        return GR_REJECTED;
                }
                if ((copy = malloc(sizeof(*copy))))
                        *copy = *ev;
                if (!copy || gr_job_park(j, copy) == -1) {
                        free(copy);
                        reject(sink, ev, GR_REJ_PRECONDITION_TIMEOUT,
                               "%s (attempt %u) %s: out of memory to park", why);
                        return GR_REJECTED;
                }
                gr_job_seen_add_hash(j, idh);
                return GR_PARKED;
        case PRE_MET:
                break;
        }
        if (commit(pol, j, ev, sink, idh) == GR_REJECTED)
                return GR_REJECTED;
        drain_parked(pol, j, sink);
        return GR_APPLIED;
}

void gr_fsm_thread_done(void) {
        gr_buf_free(&scratch);
        gr_hash_thread_done();
}
