/**
 * @file gr_output.h
 * @brief Canonical JSON renderings of the core's outputs (docs/SPEC.md §6).
 *
 * Key order is fixed here and is part of the contract: ledger row hashes
 * and receipt hashes are computed over exactly these bytes.  Each function
 * appends one compact JSON object (no newline) to `out` (borrowed).
 */
#ifndef GR_OUTPUT_H
#define GR_OUTPUT_H

#include <stddef.h>

#include "gr_buf.h"
#include "gr_hash.h"
#include "gr_job.h"
#include "gr_records.h"

/** The summary line (docs/SPEC.md §6) of the job's current state into buf.
 *  @returns buf. */
char *gr_job_line(const gr_job *job, char *buf, size_t size);

/** Ledger row; with_row_hash = 0 gives the canonical bytes that are hashed.
 *  When row->canon holds those bytes already (the FSM's rows) they are
 *  reused, with row_hash appended, instead of rendered again. */
void gr_ledger_row_to_json(const gr_ledger_row *row, int with_row_hash,
                           gr_buf *out);

/**
 * Decision. sig/key_id: the processor's Ed25519 signature (base64) over the
 * decision rendered with sig = NULL (evidence/gr_sign.h); NULL writes null.
 */
void gr_decision_to_json(const gr_decision *d, const char *sig,
                         const char *key_id, gr_buf *out);

/** Receipt in the seed layout: quote, capacity, execution, output,
 *  settlement, packets, attempts. */
void gr_receipt_to_json(const gr_job *job, gr_buf *out);
/** The same with the job's summary line already made by gr_job_line(). */
void gr_receipt_to_json_line(const gr_job *job, const char *line,
                             gr_buf *out);

/** `"key":{currency, price_minor, charge_minor, refund_minor, held_minor}`,
 *  or `"key":null` when m->present is 0 (docs/SPEC.md §6 amounts). */
void gr_jw_kamounts(gr_jw *w, const char *key, const gr_amounts *m);

/** Reject: event_id and job_id may be NULL (unknown), reason and detail. */
void gr_reject_to_json(const char *event_id, const char *job_id,
                       const gr_err *err, gr_buf *out);


#endif
