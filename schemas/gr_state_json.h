/**
 * @file gr_state_json.h
 * @brief A job's full state as one record: the value of a job record in
 *        the state changelog topic (`gr.job.state`, key = job_id).
 *
 * It carries everything gr_fsm_apply() reads — receipt lanes, attempt
 * history, ledger chain head, duplicate set and parked events — so a job
 * restored from it continues exactly as if it had never left memory.
 * Two forms: the JSON document {"v":2,"job_id":..., ...} (documented in
 * gr_state_json.c) and the compact record (Confluent-framed Avro binary of
 * schemas/state_record.avsc, gr_state_avro.c), which receiptd writes.
 */
#ifndef GR_STATE_JSON_H
#define GR_STATE_JSON_H

#include <stddef.h>

#include "gr_buf.h"
#include "gr_job.h"

/** Append the state document (JSON) of job to out. */
void gr_state_encode(const gr_job *job, gr_buf *out);

/** Confluent schema id of the compact state record (registry.txt). */
#define GR_STATE_SCHEMA_ID 5u
/** Magic byte 0x00 and the 4-byte big-endian schema id. */
#define GR_STATE_COMPACT_HEADER 5

/**
 * @brief Append the compact state record of job to out: 0x00, the schema
 *        id GR_STATE_SCHEMA_ID, then the JobState datum of
 *        schemas/state_record.avsc in the Avro binary encoding (the same
 *        content as the JSON document; gr_state_avro.c).  What receiptd
 *        writes to the state topic.
 */
void gr_state_encode_compact(const gr_job *job, gr_buf *out);

/** The schema of the compact record's datum (schemas/state_record.avsc as
 *  compiled into the library; borrowed). */
const char *gr_state_schema_text(void);

/** Rebuild a job from a compact state record only (see gr_state_decode()). */
gr_job *gr_state_decode_compact(const char *buf, size_t len, char *errstr,
                                size_t errstr_size);

/**
 * @brief Rebuild a job from a state record in either form, told apart by
 *        the first byte: 0x00 is the compact record, anything else a JSON
 *        document (versions 1 and 2).
 * @returns a new job (caller destroys), or NULL with errstr filled when the
 *          bytes are not a state record this version understands.
 */
gr_job *gr_state_decode(const char *buf, size_t len, char *errstr,
                        size_t errstr_size);

#endif
