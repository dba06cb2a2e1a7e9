/**
 * @file gr_state_json.h
 * @brief A job's full state as one JSON document: the value of a record in
 *        the state changelog topic (`gr.job.state`, key = job_id).
 *
 * It carries everything gr_fsm_apply() reads — receipt lanes, attempt
 * history, ledger chain head, duplicate set and parked events — so a job
 * restored from it continues exactly as if it had never left memory.
 * Format: {"v":1,"job_id":..., ...}; documented in gr_state_json.c.
 */
#ifndef GR_STATE_JSON_H
#define GR_STATE_JSON_H

#include <stddef.h>

#include "gr_buf.h"
#include "gr_job.h"

/** Append the state document of job to out. */
void gr_state_encode(const gr_job *job, gr_buf *out);

/**
 * @brief Rebuild a job from a state document.
 * @returns a new job (caller destroys), or NULL with errstr filled when the
 *          bytes are not a state document this version understands.
 */
gr_job *gr_state_decode(const char *buf, size_t len, char *errstr,
                        size_t errstr_size);

#endif
