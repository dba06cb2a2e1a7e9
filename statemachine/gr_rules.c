/*
 * docs/SPEC.md §5, rule by rule.  Each row below mirrors one line of the
 * SPEC table, in the order they are evaluated: the condition on the current
 * attempt, then settlement, retry and reason.  The first enabled row that
 * matches decides.  Ids are stable names, not positions (R12 sits after R2).
 */
#include "gr_rules.h"

/* Sentinels for "taken from the event" columns. */
#define FROM_REVIEW GR_SETTLE__CNT
#define FROM_FAILURE GR_REASON__CNT

static int r1_review(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.reviewed;
}

static int r2_cancel_before_start(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.cancelled && j->cur.cancelled_exec == GR_EXEC_NOT_STARTED;
}

/* R2 and R12 read the execution status when the (first) cancel came, so
 * what happens after it (the kill, a late start) does not undo them. */
static int r12_cancel_while_running(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.cancelled && j->cur.cancelled_exec == GR_EXEC_RUNNING;
}

static int r3_capacity_fail(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.capacity == GR_CAP_FAIL;
}

int gr_window_over(const gr_job *j, int64_t t) {
        return j->quote.present && t != GR_TIME_NONE && t > GR_JT(j, quote, window_end);
}

static int r4_no_show(const gr_job *j, const gr_policy *p) {
        (void)p;
        if (j->cur.execution != GR_EXEC_NOT_STARTED)
                return 0;
        return j->cur.expired || gr_window_over(j, j->time);
}

int gr_window_clock_due(const gr_job *j, int64_t now) {
        const gr_attempt *a = &j->cur;
        return a->execution == GR_EXEC_NOT_STARTED && !a->expired &&
               !a->cancelled && a->capacity != GR_CAP_FAIL &&
               !j->posture_locked && gr_window_over(j, now);
}

static int failed_without_output(const gr_job *j) {
        return j->cur.execution == GR_EXEC_FAIL && j->cur.output == GR_OUT_NONE;
}

static int r5_budget_over_quote(const gr_job *j, const gr_policy *p) {
        (void)p;
        return failed_without_output(j) && gr_job_buyer(j)->present &&
               j->quote.present &&
               gr_job_buyer(j)->memory_budget_gb > j->quote.vram_gb;
}

static int r6_logs_disagree(const gr_job *j, const gr_policy *p) {
        (void)p;
        return (j->cur.execution == GR_EXEC_FAIL ||
                j->cur.execution == GR_EXEC_PASS) &&
               gr_packets_disagree(j);
}

static int r7_free_retry_left(const gr_job *j, const gr_policy *p) {
        return failed_without_output(j) &&
               j->free_retries_used < p->free_retries_per_job;
}

static int r8_no_free_retry(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.execution == GR_EXEC_FAIL;
}

static int r9_evaluation_failed(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.execution == GR_EXEC_PASS &&
               j->cur.output == GR_OUT_PRESENT &&
               j->cur.evaluation == GR_EVAL_FAIL;
}

static int r10_delivered(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.execution == GR_EXEC_PASS &&
               j->cur.output == GR_OUT_PRESENT;
}

static int r11_output_missing(const gr_job *j, const gr_policy *p) {
        (void)p;
        return j->cur.execution == GR_EXEC_PASS && j->cur.output == GR_OUT_NONE;
}

static const struct {
        gr_rule_t id;
        int (*when)(const gr_job *, const gr_policy *);
        gr_settlement_t settlement;
        gr_retry_t retry;
        gr_reason_t reason;
} rules[] = {
    {GR_RULE_R1, r1_review, FROM_REVIEW, GR_RETRY_NONE, GR_REASON_MANUAL_REVIEW},
    {GR_RULE_R2, r2_cancel_before_start, GR_SETTLE_REFUND, GR_RETRY_NONE,
     GR_REASON_BUYER_CANCELLED},
    {GR_RULE_R12, r12_cancel_while_running, GR_SETTLE_PARTIAL_REFUND,
     GR_RETRY_NONE, GR_REASON_BUYER_CANCELLED},
    {GR_RULE_R3, r3_capacity_fail, GR_SETTLE_REFUND, GR_RETRY_REASSIGN,
     GR_REASON_CAPACITY_FAIL},
    {GR_RULE_R4, r4_no_show, GR_SETTLE_REFUND, GR_RETRY_REASSIGN,
     GR_REASON_PROVIDER_NO_SHOW},
    {GR_RULE_R5, r5_budget_over_quote, GR_SETTLE_PARTIAL_REFUND, GR_RETRY_NONE,
     GR_REASON_MEMORY_BUDGET_EXCEEDS_QUOTE},
    {GR_RULE_R6, r6_logs_disagree, GR_SETTLE_ESCALATE, GR_RETRY_MANUAL_REVIEW,
     GR_REASON_LOGS_DISAGREE},
    {GR_RULE_R7, r7_free_retry_left, GR_SETTLE_HOLD, GR_RETRY_FREE, FROM_FAILURE},
    {GR_RULE_R8, r8_no_free_retry, GR_SETTLE_HOLD, GR_RETRY_NONE, FROM_FAILURE},
    {GR_RULE_R9, r9_evaluation_failed, GR_SETTLE_RELEASE,
     GR_RETRY_QUALITY_REVIEW, GR_REASON_EVALUATION_FAILED},
    {GR_RULE_R10, r10_delivered, GR_SETTLE_RELEASE, GR_RETRY_NONE,
     GR_REASON_DELIVERED},
    {GR_RULE_R11, r11_output_missing, GR_SETTLE_HOLD, GR_RETRY_NONE,
     GR_REASON_OUTPUT_MISSING},
};

int gr_packets_disagree(const gr_job *j) {
        const gr_seller_packet *sp = gr_job_seller(j);
        const gr_buyer_packet *bp = gr_job_buyer(j);
        const gr_failure_t s = sp->failure_class;
        const gr_failure_t b = bp->observed_failure_class;

        if (sp->present && bp->present && s != GR_FAIL_NONE &&
            b != GR_FAIL_NONE && s != b)
                return 1; /* both name a failure class, and they differ */
        if (sp->present && s == GR_FAIL_NONE &&
            j->cur.execution == GR_EXEC_FAIL)
                return 1; /* seller claims no failure; execution failed */
        if (bp->present && b != GR_FAIL_NONE &&
            j->cur.execution == GR_EXEC_PASS)
                return 1; /* buyer reports a failure; execution passed */
        return 0;
}

int gr_settlement_is_final(gr_settlement_t s) {
        return s == GR_SETTLE_REFUND || s == GR_SETTLE_RELEASE ||
               s == GR_SETTLE_PARTIAL_REFUND;
}

gr_verdict gr_rules_decide(const gr_job *j, const gr_policy *p) {
        gr_verdict v = {GR_SETTLE_PENDING, GR_RETRY_NONE, GR_REASON_IN_PROGRESS,
                        GR_RULE_NONE};

        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                if (!p->rule_enabled[rules[i].id] || !rules[i].when(j, p))
                        continue;
                v.rule = rules[i].id;
                v.settlement = rules[i].settlement == FROM_REVIEW
                                   ? j->cur.review_settlement
                                   : rules[i].settlement;
                v.retry = rules[i].retry;
                v.reason = rules[i].reason == FROM_FAILURE
                               ? gr_reason_from_failure(j->cur.failure_class)
                               : rules[i].reason;
                break;
        }
        /* I5: once refund, release or partial_refund is decided for the
         * attempt, only a review moves its posture; retry and reason still
         * follow.  The lock is per attempt (lifted when n+1 begins). */
        if (j->posture_locked && v.rule != GR_RULE_R1)
                v.settlement = j->settlement;
        return v;
}

gr_layer_t gr_failed_layer(const gr_job *j) {
        const gr_attempt *a = &j->cur;

        /* The rows' conditions read no policy. */
        if (r3_capacity_fail(j, NULL))
                return GR_LAYER_CAPACITY;
        if (r8_no_free_retry(j, NULL))
                return GR_LAYER_EXECUTION;
        if (a->execution == GR_EXEC_NOT_STARTED &&
            (a->expired || j->reason == GR_REASON_PROVIDER_NO_SHOW))
                return GR_LAYER_EXECUTION;
        if (r11_output_missing(j, NULL) &&
            j->reason == GR_REASON_OUTPUT_MISSING)
                return GR_LAYER_OUTPUT;
        if (a->evaluation == GR_EVAL_FAIL)
                return GR_LAYER_EVALUATION;
        return GR_LAYER_NONE;
}
