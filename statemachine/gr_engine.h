/**
 * @file gr_engine.h
 * @brief A set of jobs, one policy, one sink, and the accounting that makes
 *        loss visible.  Both receiptd (one engine per assigned partition)
 *        and `receiptctl replay` (one engine) drive the FSM through this.
 *
 * Accounting identity, true after every call:
 *   events_in == applied + duplicates + rejected + parked_now
 * (an event parked and later applied or rejected moves from parked_now to
 * applied or rejected).
 */
#ifndef GR_ENGINE_H
#define GR_ENGINE_H

#include <stdint.h>

#include "gr_fsm.h"
#include "gr_jobtab.h"
#include "gr_policy.h"

typedef struct gr_stats {
        uint64_t events_in;
        uint64_t applied;
        uint64_t duplicates;
        uint64_t rejected;
        uint64_t parked_now;
        uint64_t rejected_by[GR_REJ__CNT];
        uint64_t ledger_rows;
        uint64_t decisions;
        uint64_t decisions_by_rule[GR_RULE__CNT];
        uint64_t evicted; /**< settled jobs that left memory (retention) */
} gr_stats;

typedef struct gr_engine gr_engine;

/** Called for a job about to be evicted (borrowed for the call). */
typedef void (*gr_evict_fn)(void *opaque, const gr_job *job);

/** @param pol, sink borrowed, must outlive the engine. Caller destroys. */
gr_engine *gr_engine_new(const gr_policy *pol, const gr_fsm_sink *sink);
void gr_engine_destroy(gr_engine *e);

/** Apply an event that passed gr_event_validate(). */
gr_outcome_t gr_engine_apply(gr_engine *e, const gr_event *ev);

/** Where actions go from now on (borrowed; NULL: nowhere).  receiptd sets
 *  a sink per input record, so the record in hand travels with it. */
void gr_engine_set_sink(gr_engine *e, const gr_fsm_sink *sink);

/**
 * Count and forward an event rejected before the FSM (decode or
 * validation).  ev may be NULL or partial: its event_id/job_id are used
 * only when their present bits are set.
 */
void gr_engine_reject(gr_engine *e, const gr_event *ev, const gr_err *err);

/**
 * Retention (policy retention_seconds): a settled job — posture final
 * under I5, nothing parked — whose job time is more than the retention
 * behind the engine's watermark (the latest applied occurred_at) leaves
 * memory.  `evict` (may be NULL) is called just before, so receiptd can
 * write a tombstone to the state topic.  Sweeps run from gr_engine_apply()
 * whenever the watermark has moved 1/16 of the retention, so the cost is
 * amortised and the moments depend on event time only.  Each sweep also
 * gives up parked events whose park timeout has passed at the watermark
 * (jobs that see no events of their own would otherwise hold them
 * forever), and removes jobs left with nothing applied and nothing parked.
 * An event that arrives for an evicted job later starts a new job: keep the
 * retention well above the latest lateness you expect.  Jobs that never
 * reach a final posture (hold awaiting a retry, escalate) stay.
 */
void gr_engine_set_evict(gr_engine *e, gr_evict_fn evict, void *opaque);

/** Keep every job regardless of retention (receiptctl replay). */
void gr_engine_keep_all(gr_engine *e);

int64_t gr_engine_watermark(const gr_engine *e); /**< GR_TIME_NONE = none */

gr_jobtab *gr_engine_jobs(gr_engine *e);         /**< borrowed */
const gr_stats *gr_engine_stats(const gr_engine *e); /**< borrowed */
const gr_policy *gr_engine_policy(const gr_engine *e);

#endif
