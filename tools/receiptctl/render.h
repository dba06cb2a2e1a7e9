/**
 * @file render.h
 * @brief Human-readable forms of the core's outputs, shared by `receiptctl
 *        replay` and `receiptctl demo` so both print the same bytes.  The
 *        canonical (hashed, published) JSON renderings stay in the core
 *        (statemachine/gr_output.h).
 */
#ifndef GR_RECEIPTCTL_RENDER_H
#define GR_RECEIPTCTL_RENDER_H

#include <jansson.h>

#include "gr_buf.h"
#include "gr_fsm.h"

/**
 * @brief Append a ledger row as one key=value line (no newline), fields in
 *        ledger-row order separated by single spaces:
 * @code
 * job_id=run_8841 seq=3 transition=execution_failed capacity_status=pass
 * execution_status=fail output_status=none evaluation_status=none
 * settlement=hold seller_packet=- buyer_packet=- decision=<id>
 * prev_hash=<hex> row_hash=<hex>
 * @endcode
 *        (one line in reality).  A null value is written `-`.
 * @param row borrowed.
 */
void cli_ledger_row_line(const gr_ledger_row *row, gr_buf *out);

/**
 * @brief Append one published decision (its JSON, parsed; borrowed) as the
 *        demo's condensed line (no newline):
 *        `decision R7  settlement=hold retry=free reason=container_oom
 *        (attempt 1, seq 3, decided_at ..., id ...)`.
 */
void cli_decision_line(json_t *decision, gr_buf *out);

#endif
