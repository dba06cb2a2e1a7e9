/**
 * @file gr_records.h
 * @brief The records the state machine reports (docs/SPEC.md §6): a ledger
 *        row per accepted event and a settlement decision when the posture
 *        changes.  Shared by the FSM that fills them and the renderings in
 *        gr_output.h, so neither has to include the other.
 */
#ifndef GR_RECORDS_H
#define GR_RECORDS_H

#include <stdint.h>

#include "gr_job.h"
#include "gr_types.h"

/** One ledger row (docs/SPEC.md §6).  Borrowed for the duration of the callback. */
typedef struct gr_ledger_row {
        const char *job_id;
        uint32_t attempt;
        uint64_t seq;
        gr_event_type_t transition;
        const char *event_id;
        int64_t occurred_at;
        gr_capacity_t capacity;
        gr_exec_t execution;
        gr_output_t output;
        gr_eval_t evaluation;
        gr_settlement_t settlement;
        const char *seller_packet; /**< packet hash or NULL */
        const char *buyer_packet;  /**< packet hash or NULL */
        const char *decision;      /**< decision_id issued by this row, or NULL */
        char prev_hash[65];        /**< hex; 64 zeros for the first row */
        char row_hash[65];         /**< hex SHA-256 of the canonical row */
} gr_ledger_row;

/** One settlement decision (docs/SPEC.md §6).  Borrowed for the callback. */
typedef struct gr_decision {
        char decision_id[65]; /**< hex SHA-256("job_id\nattempt\nseq") */
        const char *job_id;
        uint32_t attempt;
        uint64_t seq;
        gr_settlement_t settlement;
        gr_retry_t retry;
        gr_reason_t reason;
        gr_rule_t rule;
        const char *line;     /**< the summary line */
        char receipt_hash[65];
        const char *policy_hash;
        int64_t decided_at;   /**< occurred_at of the triggering event */
        gr_amounts amounts;   /**< present = 0: null (no quoted price) */
} gr_decision;

#endif
