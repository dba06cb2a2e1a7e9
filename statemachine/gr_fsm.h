/**
 * @file gr_fsm.h
 * @brief The per-job finite state machine (docs/SPEC.md §4–§5): event in, new
 *        state and actions out, no I/O.
 *
 * gr_fsm_apply() is the only function that changes a gr_job.  Its actions
 * are reported synchronously through a gr_fsm_sink, in this order per
 * accepted event: the ledger row, then the decision (if the
 * (settlement, retry, reason) triple changed).  Parked events that become
 * applicable are applied in the same call, each with its own row and
 * decision; parked events that can never apply are reported to `reject`.
 *
 * The same input in the same order gives byte-identical actions; nothing
 * here reads a clock.
 */
#ifndef GR_FSM_H
#define GR_FSM_H

#include "gr_event.h"
#include "gr_job.h"
#include "gr_policy.h"
#include "gr_records.h"

/** Outcome of one input event. */
typedef enum {
        GR_APPLIED,
        GR_PARKED,
        GR_DUPLICATE,
        GR_REJECTED,
} gr_outcome_t;

/** Where actions go.  Any callback may be NULL. */
typedef struct gr_fsm_sink {
        void *opaque;
        void (*ledger)(void *opaque, const gr_job *job, const gr_ledger_row *row);
        void (*decision)(void *opaque, const gr_job *job, const gr_decision *d);
        /** A rejected event: the input itself, or a parked one given up. */
        void (*reject)(void *opaque, const gr_event *ev, const gr_err *err);
} gr_fsm_sink;

/**
 * @brief Apply one validated event (gr_event_validate() passed) to its job.
 * @param ev borrowed; copied if parked.  ev->job_id must equal job->job_id.
 * @returns what happened to `ev` itself; for GR_REJECTED the sink's reject
 *          callback has been called with the reason.
 */
gr_outcome_t gr_fsm_apply(const gr_policy *pol, gr_job *job,
                          const gr_event *ev, const gr_fsm_sink *sink);

/**
 * @brief Give up parked events whose park timeout has passed at event time
 *        `now` (the engine's watermark), for jobs that see no new events of
 *        their own.  Each is reported to `reject` (precondition_timeout).
 */
void gr_fsm_expire(const gr_policy *pol, gr_job *job, int64_t now,
                   const gr_fsm_sink *sink);

/** Free the calling thread's scratch state (the rendering buffer and the
 *  hashing context); for a thread that ran the FSM and ends before the
 *  process does, e.g. receiptd on a thread of `receiptctl demo`. */
void gr_fsm_thread_done(void);

#endif
