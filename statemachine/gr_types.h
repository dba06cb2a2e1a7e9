/**
 * @file gr_types.h
 * @brief Every closed vocabulary of docs/SPEC.md §3–§6, each written once as an
 *        X-macro list so that the enum and its printed names never drift.
 *
 * For each list FOO_MAP there is:
 *   - an enum gr_foo_t whose values carry their meaning (GR_EXEC_FAILED);
 *   - gr_foo_name(v)  -> the SPEC spelling (borrowed static string);
 *   - gr_foo_jname(v) -> the same spelling as a JSON string, quotes
 *     included, with its length (gr_jname): renderers copy it as it is;
 *   - gr_foo_parse(s, len, &v) -> 0 on success, -1 if s is not in the list.
 */
#ifndef GR_TYPES_H
#define GR_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* docs/SPEC.md §3 lifecycle event types. */
#define GR_EVENT_TYPE_MAP(X)                                                   \
        X(QUOTE_ACCEPTED, "quote_accepted")                                    \
        X(CAPACITY_CHECKED, "capacity_checked")                                \
        X(RESERVATION_ACCEPTED, "reservation_accepted")                        \
        X(EXECUTION_STARTED, "execution_started")                              \
        X(EXECUTION_FAILED, "execution_failed")                                \
        X(EXECUTION_COMPLETED, "execution_completed")                          \
        X(OUTPUT_DELIVERED, "output_delivered")                                \
        X(EVALUATION_REPORTED, "evaluation_reported")                          \
        X(SELLER_PACKET, "seller_packet")                                      \
        X(BUYER_PACKET, "buyer_packet")                                        \
        X(JOB_CANCELLED, "job_cancelled")                                      \
        X(RESERVATION_EXPIRED, "reservation_expired")                          \
        X(REVIEW_DECIDED, "review_decided")

/* docs/SPEC.md §3 actor.role. */
#define GR_ROLE_MAP(X)                                                         \
        X(MARKETPLACE, "marketplace")                                          \
        X(SELLER, "seller")                                                    \
        X(BUYER, "buyer")                                                      \
        X(VERIFIER, "verifier")                                                \
        X(REVIEWER, "reviewer")

/* docs/SPEC.md §3 failure_class values; they double as R7/R8 decision reasons. */
#define GR_FAILURE_CLASSES(X)                                                  \
        X(CONTAINER_OOM, "container_oom")                                      \
        X(DRIVER_MISMATCH, "driver_mismatch")                                  \
        X(CONFLICTING_PROCESS, "conflicting_process")                          \
        X(IMAGE_PULL_FAILED, "image_pull_failed")                              \
        X(RUNTIME_ERROR, "runtime_error")                                      \
        X(TIMEOUT, "timeout")                                                  \
        X(WORKER_LOST, "worker_lost")                                          \
        X(NONZERO_EXIT, "nonzero_exit")                                        \
        X(UNKNOWN, "unknown")

/* failure_class as held in events and receipts: NONE is "null = no failure
 * claimed" in packets. */
#define GR_FAILURE_MAP(X) X(NONE, "none") GR_FAILURE_CLASSES(X)

/* pass/fail as reported by capacity checks, evaluations and packets. */
#define GR_RESULT_MAP(X)                                                       \
        X(PASS, "pass")                                                        \
        X(FAIL, "fail")

/* docs/SPEC.md §4 receipt layer statuses. */
#define GR_CAPACITY_MAP(X)                                                     \
        X(UNKNOWN, "unknown")                                                  \
        X(PASS, "pass")                                                        \
        X(FAIL, "fail")

#define GR_EXEC_MAP(X)                                                         \
        X(NOT_STARTED, "not_started")                                          \
        X(RUNNING, "running")                                                  \
        X(PASS, "pass")                                                        \
        X(FAIL, "fail")

#define GR_OUTPUT_MAP(X)                                                       \
        X(NONE, "none")                                                        \
        X(PRESENT, "present")

#define GR_EVAL_MAP(X)                                                         \
        X(NOT_STARTED, "not_started")                                          \
        X(NOT_APPLICABLE, "not_applicable")                                    \
        X(PASS, "pass")                                                        \
        X(FAIL, "fail")

#define GR_SETTLEMENT_MAP(X)                                                   \
        X(PENDING, "pending")                                                  \
        X(REFUND, "refund")                                                    \
        X(HOLD, "hold")                                                        \
        X(RELEASE, "release")                                                  \
        X(PARTIAL_REFUND, "partial_refund")                                    \
        X(ESCALATE, "escalate")

#define GR_RETRY_MAP(X)                                                        \
        X(NONE, "none")                                                        \
        X(FREE, "free")                                                        \
        X(REASSIGN, "reassign")                                                \
        X(QUALITY_REVIEW, "quality_review")                                    \
        X(MANUAL_REVIEW, "manual_review")

/* docs/SPEC.md §6 reject reasons. */
#define GR_REJECT_MAP(X)                                                       \
        X(INVALID_JSON, "invalid_json")                                        \
        X(INVALID_AVRO, "invalid_avro")                                        \
        X(SCHEMA, "schema")                                                    \
        X(UNKNOWN_TYPE, "unknown_type")                                        \
        X(MISSING_FIELD, "missing_field")                                      \
        X(IMPOSSIBLE_TRANSITION, "impossible_transition")                      \
        X(UNAUTHORIZED_ROLE, "unauthorized_role")                              \
        X(BAD_SIGNATURE, "bad_signature")                                      \
        X(UNKNOWN_KEY, "unknown_key")                                          \
        X(PRECONDITION_TIMEOUT, "precondition_timeout")                        \
        X(TOO_LARGE, "too_large")

/** A name as a JSON string value: `"name"`, quotes included, and its
 *  length.  The names are plain identifiers: nothing in them to escape. */
typedef struct gr_jname {
        const char *json;
        size_t len;
} gr_jname;

#define GR__ENUM(PFX, N, S) GR_##PFX##_##N,
#define GR_DECLARE_ENUM(TYPE, PFX, MAP)                                        \
        typedef enum {                                                         \
                MAP(GR__ENUM_##PFX) GR_##PFX##__CNT                            \
        } TYPE;                                                                \
        const char *TYPE##_name(TYPE v);                                       \
        const gr_jname *TYPE##_jname(TYPE v);                                  \
        int TYPE##_parse(const char *s, size_t len, TYPE *out);

#define GR__ENUM_EVT(N, S) GR_EVT_##N,
#define GR__ENUM_ROLE(N, S) GR_ROLE_##N,
#define GR__ENUM_FAIL(N, S) GR_FAIL_##N,
#define GR__ENUM_RESULT(N, S) GR_RESULT_##N,
#define GR__ENUM_CAP(N, S) GR_CAP_##N,
#define GR__ENUM_EXEC(N, S) GR_EXEC_##N,
#define GR__ENUM_OUT(N, S) GR_OUT_##N,
#define GR__ENUM_EVAL(N, S) GR_EVAL_##N,
#define GR__ENUM_SETTLE(N, S) GR_SETTLE_##N,
#define GR__ENUM_RETRY(N, S) GR_RETRY_##N,
#define GR__ENUM_REJ(N, S) GR_REJ_##N,

GR_DECLARE_ENUM(gr_event_type_t, EVT, GR_EVENT_TYPE_MAP)
GR_DECLARE_ENUM(gr_role_t, ROLE, GR_ROLE_MAP)
GR_DECLARE_ENUM(gr_failure_t, FAIL, GR_FAILURE_MAP)
GR_DECLARE_ENUM(gr_result_t, RESULT, GR_RESULT_MAP)
GR_DECLARE_ENUM(gr_capacity_t, CAP, GR_CAPACITY_MAP)
GR_DECLARE_ENUM(gr_exec_t, EXEC, GR_EXEC_MAP)
GR_DECLARE_ENUM(gr_output_t, OUT, GR_OUTPUT_MAP)
GR_DECLARE_ENUM(gr_eval_t, EVAL, GR_EVAL_MAP)
GR_DECLARE_ENUM(gr_settlement_t, SETTLE, GR_SETTLEMENT_MAP)
GR_DECLARE_ENUM(gr_retry_t, RETRY, GR_RETRY_MAP)
GR_DECLARE_ENUM(gr_reject_t, REJ, GR_REJECT_MAP)

/* Settlement rule that decided (docs/SPEC.md §5); GR_RULE_NONE is "otherwise".
 * Ids are stable names: a rule added later takes the next free id, however
 * early it is evaluated (the order lives in the table of gr_rules.c). */
#define GR_RULE_MAP(X)                                                         \
        X(NONE, "none")                                                        \
        X(R1, "R1")                                                            \
        X(R2, "R2")                                                            \
        X(R3, "R3")                                                            \
        X(R4, "R4")                                                            \
        X(R5, "R5")                                                            \
        X(R6, "R6")                                                            \
        X(R7, "R7")                                                            \
        X(R8, "R8")                                                            \
        X(R9, "R9")                                                            \
        X(R10, "R10")                                                          \
        X(R11, "R11")                                                          \
        X(R12, "R12")
#define GR__ENUM_RULE(N, S) GR_RULE_##N,
GR_DECLARE_ENUM(gr_rule_t, RULE, GR_RULE_MAP)

/* Decision reasons (docs/SPEC.md §5): the fixed ones, then every failure class, so
 * R7/R8 can name the failure_class itself. */
#define GR_REASON_MAP(X)                                                       \
        X(IN_PROGRESS, "in_progress")                                          \
        X(MANUAL_REVIEW, "manual_review")                                      \
        X(BUYER_CANCELLED, "buyer_cancelled")                                  \
        X(CAPACITY_FAIL, "capacity_fail")                                      \
        X(PROVIDER_NO_SHOW, "provider_no_show")                                \
        X(MEMORY_BUDGET_EXCEEDS_QUOTE, "memory_budget_exceeds_quote")          \
        X(LOGS_DISAGREE, "logs_disagree")                                      \
        X(EVALUATION_FAILED, "evaluation_failed")                              \
        X(DELIVERED, "delivered")                                              \
        X(OUTPUT_MISSING, "output_missing")                                    \
        GR_FAILURE_CLASSES(X)

#define GR__ENUM_REASON(N, S) GR_REASON_##N,
GR_DECLARE_ENUM(gr_reason_t, REASON, GR_REASON_MAP)

/** The reason that names a failure class (R7/R8). */
gr_reason_t gr_reason_from_failure(gr_failure_t f);

#endif /* GR_TYPES_H */
