/**
 * @file gr_html.h
 * @brief A job's receipt as a page a person can read: the six
 *        lanes — quote, capacity, execution, output, evaluation,
 *        settlement — as a timeline, the failure marked in the lane where
 *        it happened, and the rule that decided.
 *
 * Pure like the rest of the core: the same job gives the same bytes, no
 * clock is read.  The page is self-contained (inline CSS, no script, no
 * external resource) so it can be saved, mailed or attached to a dispute.
 * Every string taken from the job is HTML-escaped.
 *
 * Used by `receiptctl receipt JOB_ID --html` and by the metrics server's
 * `/jobs/JOB_ID` page (consumers/gr_metrics.h).
 */
#ifndef GR_HTML_H
#define GR_HTML_H

#include <stddef.h>

#include "gr_buf.h"
#include "gr_job.h"

/**
 * @brief Append the receipt page of job (borrowed) to out (borrowed,
 *        appended, not reset).  Check out->oom afterwards.
 *
 * The page marks at most one lane `class="lane failed"` with the text
 * "FAILED HERE": capacity when the capacity check failed, execution when
 * the container failed or never started within the window (no-show),
 * output when execution passed without an output, evaluation when the
 * evaluation failed.  Lanes after it read "not reached".
 */
void gr_receipt_to_html(const gr_job *job, gr_buf *out);

/** Append s (n bytes) to out with & < > " ' escaped as entities. */
void gr_html_escape(gr_buf *out, const char *s, size_t n);

#endif /* GR_HTML_H */
