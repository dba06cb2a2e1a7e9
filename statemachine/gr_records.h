/**
 * @file gr_records.h
 * @brief The records the state machine reports (docs/SPEC.md §6): a ledger
 *        row per accepted event and a settlement decision when the posture
 *        changes.  Shared by the FSM that fills them and the renderings in
 *        gr_output.h, so neither has to include the other.
 *
 * Each record is one field table: X(kind, member, "json key") per field in
 * canonical order (the order of the JSON object and of the Avro record in
 * schemas/).  The table declares the struct members and drives the
 * canonical JSON in gr_output.c; tests/schemas/test_record_tables.c checks
 * it against schemas/decision.avsc and schemas/ledger_row.avsc.
 *
 * Kinds (the member's C type, and how its value is written):
 *   STR      const char *, borrowed; NULL writes null
 *   HEX      char[65], lower-case hex SHA-256, always written
 *   ATTEMPT  uint32_t, a number
 *   SEQ      uint64_t, a number
 *   TIME     int64_t ms since the epoch, RFC 3339 (docs/SPEC.md §3)
 *   EVTYPE, CAPACITY, EXEC, OUTPUT, EVAL, SETTLE, RETRY, REASON
 *            the gr_types.h enum, written as its name
 *   RULE     gr_rule_t, its name; GR_RULE_NONE writes null
 *   AMOUNTS  gr_amounts, an object or null (docs/SPEC.md §6 amounts)
 *   ARG      not a member: a rendering argument of the same name
 *            (gr_decision_to_json's key_id and sig)
 *   ROWHASH  char[65], written only by the non-canonical rendering
 *            (it is the hash of the bytes before it)
 */
#ifndef GR_RECORDS_H
#define GR_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "gr_job.h"
#include "gr_types.h"

/** The ledger row's fields (docs/SPEC.md §6), canonical order. */
#define GR_LEDGER_ROW_FIELDS(X)                                                \
        X(STR, job_id, "job_id")                                               \
        X(ATTEMPT, attempt, "attempt")                                         \
        X(SEQ, seq, "seq")                                                     \
        X(EVTYPE, transition, "transition")                                    \
        X(STR, event_id, "event_id")                                           \
        X(TIME, occurred_at, "occurred_at")                                    \
        X(CAPACITY, capacity, "capacity_status")                               \
        X(EXEC, execution, "execution_status")                                 \
        X(OUTPUT, output, "output_status")                                     \
        X(EVAL, evaluation, "evaluation_status")                               \
        X(SETTLE, settlement, "settlement")                                    \
        X(STR, seller_packet, "seller_packet") /* packet hash or NULL */       \
        X(STR, buyer_packet, "buyer_packet")   /* packet hash or NULL */       \
        X(STR, decision, "decision") /* decision_id issued here, or NULL */   \
        X(HEX, prev_hash, "prev_hash") /* 64 zeros for the first row */       \
        X(ROWHASH, row_hash, "row_hash") /* SHA-256 of the canonical row */

/** The decision's fields (docs/SPEC.md §6), canonical order. */
#define GR_DECISION_FIELDS(X)                                                  \
        X(HEX, decision_id, "decision_id") /* SHA-256("job_id\nattempt\nseq") */ \
        X(STR, job_id, "job_id")                                               \
        X(ATTEMPT, attempt, "attempt")                                         \
        X(SEQ, seq, "seq")                                                     \
        X(SETTLE, settlement, "settlement")                                    \
        X(RETRY, retry, "retry")                                               \
        X(REASON, reason, "reason")                                            \
        X(RULE, rule, "rule")                                                  \
        X(STR, line, "line") /* the summary line */                            \
        X(HEX, receipt_hash, "receipt_hash")                                   \
        X(STR, policy_hash, "policy_hash")                                     \
        X(TIME, decided_at, "decided_at") /* occurred_at of the trigger */    \
        X(AMOUNTS, amounts, "amounts") /* present = 0: null (no price) */     \
        X(ARG, key_id, "key_id")                                               \
        X(ARG, sig, "sig")

/* Member declarations per kind (ARG declares nothing). */
#define GR_REC_DECL_STR(m) const char *m;
#define GR_REC_DECL_HEX(m) char m[65];
#define GR_REC_DECL_ROWHASH(m) char m[65];
#define GR_REC_DECL_ATTEMPT(m) uint32_t m;
#define GR_REC_DECL_SEQ(m) uint64_t m;
#define GR_REC_DECL_TIME(m) int64_t m;
#define GR_REC_DECL_EVTYPE(m) gr_event_type_t m;
#define GR_REC_DECL_CAPACITY(m) gr_capacity_t m;
#define GR_REC_DECL_EXEC(m) gr_exec_t m;
#define GR_REC_DECL_OUTPUT(m) gr_output_t m;
#define GR_REC_DECL_EVAL(m) gr_eval_t m;
#define GR_REC_DECL_SETTLE(m) gr_settlement_t m;
#define GR_REC_DECL_RETRY(m) gr_retry_t m;
#define GR_REC_DECL_REASON(m) gr_reason_t m;
#define GR_REC_DECL_RULE(m) gr_rule_t m;
#define GR_REC_DECL_AMOUNTS(m) gr_amounts m;
#define GR_REC_DECL_ARG(m)
#define GR_REC_DECL(kind, m, key) GR_REC_DECL_##kind(m)

/** One ledger row (docs/SPEC.md §6).  Borrowed for the duration of the callback. */
typedef struct gr_ledger_row {
        GR_LEDGER_ROW_FIELDS(GR_REC_DECL)
        /** The canonical bytes (the row without row_hash) when the FSM has
         *  rendered them already, else NULL; gr_ledger_row_to_json then
         *  appends row_hash to them instead of rendering again.  Whoever
         *  fills a row by hand leaves this NULL (memset). */
        const char *canon;
        size_t canon_len;
} gr_ledger_row;

/** One settlement decision (docs/SPEC.md §6).  Borrowed for the callback. */
typedef struct gr_decision {
        GR_DECISION_FIELDS(GR_REC_DECL)
} gr_decision;

/** Field names (JSON keys) in canonical order, for tests and tools. */
extern const char *const gr_ledger_row_keys[];
extern const size_t gr_ledger_row_nkeys;
extern const char *const gr_decision_keys[];
extern const size_t gr_decision_nkeys;

#endif
