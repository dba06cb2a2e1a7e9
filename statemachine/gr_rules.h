/**
 * @file gr_rules.h
 * @brief docs/SPEC.md §5 settlement rules R1–R12 and the packet-disagreement test.
 *        The table in gr_rules.c is the one place these rules live.
 */
#ifndef GR_RULES_H
#define GR_RULES_H

#include "gr_job.h"
#include "gr_policy.h"

/** A rule's verdict: what the job's settlement lane should say. */
typedef struct gr_verdict {
        gr_settlement_t settlement;
        gr_retry_t retry;
        gr_reason_t reason;
        gr_rule_t rule; /**< GR_RULE_NONE = "otherwise" */
} gr_verdict;

/**
 * @brief Run the rules in SPEC order on the job's current attempt; the
 *        first enabled rule that matches decides.  Applies I5 (a decided
 *        refund/release/partial_refund posture is changed only by R1).
 */
gr_verdict gr_rules_decide(const gr_job *job, const gr_policy *pol);

/** @returns 1 when the seller and buyer packets disagree (docs/SPEC.md §5). */
int gr_packets_disagree(const gr_job *job);

/** @returns 1 when the job's quote window has passed at time t (R4). */
int gr_window_over(const gr_job *job, int64_t t);

/**
 * @brief The policy's window_clock (docs/SPEC.md §5): 1 when the current
 *        attempt is owed a `reservation_expired` at wall time `now` — its
 *        window has passed, execution never started, and nothing has
 *        decided the attempt yet.  The caller supplies the clock; the core
 *        never reads one.
 */
int gr_window_clock_due(const gr_job *job, int64_t now);

/** @returns 1 when the posture is final under I5. */
int gr_settlement_is_final(gr_settlement_t s);

/** A layer of the receipt (docs/SPEC.md §4), in the order an attempt
 *  passes through them. */
typedef enum gr_layer_t {
        GR_LAYER_NONE,       /**< no layer has failed (yet) */
        GR_LAYER_CAPACITY,
        GR_LAYER_EXECUTION,
        GR_LAYER_OUTPUT,
        GR_LAYER_EVALUATION,
} gr_layer_t;

/**
 * @brief Where the current attempt failed: the first layer, in layer
 *        order, that failed.  A layer fails by its status (capacity,
 *        execution or evaluation `fail`, as R3, R5–R8 and R9 read them) or,
 *        for a failure that is an absence, by the rule that said so: a
 *        start that never came (expired, or R4's provider_no_show) is the
 *        execution layer's, an output that never came (R11's
 *        output_missing) the output layer's.
 */
gr_layer_t gr_failed_layer(const gr_job *job);

#endif
