/**
 * @file gr_ledger_audit.h
 * @brief Audit an exported ledger: every per-job hash chain,
 *        every signed tree head, the consistency of successive heads, and
 *        the first bad row; plus inclusion proofs a third party can check
 *        with the processor's public key alone.
 *
 * Pure: the caller feeds lines (from a file or a topic); nothing here
 * reads or writes files.
 *
 * ## Exported ledger file (JSON lines, UTF-8, one object per line)
 *
 *   - a ledger row: exactly the message value published to gpu.job.ledger,
 *     that is gr_ledger_row_to_json(row, 1) — job_id, attempt, seq,
 *     transition, event_id, occurred_at, capacity_status, execution_status,
 *     output_status, evaluation_status, settlement, seller_packet,
 *     buyer_packet, decision, prev_hash, row_hash;
 *   - `{"type":"partition","partition":P}`: the rows that follow belong to
 *     partition P (0 until the first such line), so an exporter may
 *     interleave partitions as it consumes them;
 *   - a signed tree head from gpu.job.ledger.heads (see gr_sign.h),
 *     `{"type":"tree_head","partition":P,"tree_size":N,...}`: it commits to
 *     the first N rows of partition P in file order.  Heads may come before
 *     or after the rows they cover; they are checked when the input ends.
 *   - blank lines are ignored.
 *
 * Per partition, the leaves of the Merkle log are the row lines' bytes
 * (without the newline), hashed as SHA-256(0x00 || line).
 *
 * ## Checks
 *   rows:  parses as a ledger row; row_hash = SHA-256 of the row rendered
 *          without row_hash (by gr_ledger_row_to_json itself); the line is
 *          the canonical rendering; per job, seq runs 1, 2, 3 ... and each
 *          prev_hash is the previous row's row_hash (64 zeros for seq 1).
 *   heads: signed by a `processor` key of the registry valid at the head's
 *          timestamp; tree_size never shrinks within a partition and is
 *          covered by the rows present; root_hash equals the recomputed
 *          root; successive valid heads pass an RFC 9162 consistency proof.
 *
 * The first problem is reported by its position: a row problem at its
 * line; a head problem at the first row it leaves unproven (the first row
 * after the last valid head of that partition), with the row range in the
 * detail.  Edits to a job's chain (flip, delete, swap, replace) are named
 * at the exact row; changes that keep every chain intact (swapping rows of
 * different jobs, rewriting a job's whole tail) are caught by the heads and
 * located to the batch between two heads.
 */
#ifndef GR_LEDGER_AUDIT_H
#define GR_LEDGER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_event.h"
#include "gr_fsm.h"
#include "gr_keys.h"

#define GR_AUDIT_PROBLEM_MAP(X)                                                \
        X(NONE, "none")                                                        \
        X(INVALID_LINE, "invalid_line")                                        \
        X(ROW_HASH, "row_hash_mismatch")                                       \
        X(NOT_CANONICAL, "not_canonical")                                      \
        X(SEQ, "seq_break")                                                    \
        X(PREV_HASH, "prev_hash_mismatch")                                     \
        X(HEAD_SIGNATURE, "tree_head_signature")                               \
        X(HEAD_BEYOND_LOG, "tree_head_beyond_log")                             \
        X(HEAD_ROOT, "tree_head_root_mismatch")                                \
        X(HEAD_INCONSISTENT, "tree_head_inconsistent")
#define GR__ENUM_AUDIT(N, S) GR_AUDIT_##N,
GR_DECLARE_ENUM(gr_audit_problem_t, AUDIT, GR_AUDIT_PROBLEM_MAP)

typedef struct gr_audit_report {
        int ok;               /**< 1 when no problem was found */
        uint64_t lines, rows, heads, jobs, partitions;
        uint64_t heads_valid;
        uint64_t unanchored;  /**< rows no valid head covers (the tail of a
                                   partition not yet committed, or all rows
                                   when there are no heads) */
        /* the first problem (problem == GR_AUDIT_NONE when ok) */
        gr_audit_problem_t problem;
        uint64_t line;        /**< 1-based input line of the bad row, or of
                                   the head when it leaves no row unproven */
        uint64_t row_index;   /**< 0-based among row lines, or UINT64_MAX */
        int32_t partition;
        char job_id[GR_ID_MAX]; /**< "" when unknown */
        uint64_t seq;         /**< 0 when unknown */
        char detail[384];
} gr_audit_report;

typedef struct gr_ledger_audit gr_ledger_audit;

/**
 * @param kr registry with the processor key(s) (borrowed; must outlive the
 *        audit).  NULL: head signatures are NOT checked, only their
 *        hashes (for building proofs; gr_inclusion_proof_verify_json()
 *        checks the signature, and for a keyless audit of the chains,
 *        which must then say that signatures were not checked).
 * @param prove_job_id when not NULL, rows of this job are kept so that
 *        gr_ledger_audit_prove() can print their inclusion proofs.
 * @returns a new audit the caller frees with gr_ledger_audit_destroy(), or
 *          NULL with errstr filled.
 */
gr_ledger_audit *gr_ledger_audit_new(const gr_keyring *kr,
                                     const char *prove_job_id, char *errstr,
                                     size_t errstr_size);
/** NULL is a no-op. */
void gr_ledger_audit_destroy(gr_ledger_audit *a);

/**
 * @brief Feed the next input line (with or without its newline).
 * @returns 0; -1 only on ENOMEM (the audit is then unusable).  Problems in
 *          the line are recorded, not returned.
 */
int gr_ledger_audit_line(gr_ledger_audit *a, const char *line, size_t len);

/** Finish: check the heads and fill *rep.  Call once, after the last line. */
void gr_ledger_audit_finish(gr_ledger_audit *a, gr_audit_report *rep);

/**
 * @brief After finish: append one inclusion-proof JSON line per kept row
 *        of prove_job_id, each against the latest valid tree head of its
 *        partition that covers it:
 * @code
 * {"type":"inclusion_proof","job_id":"run_8841","seq":3,"partition":0,
 *  "leaf_index":41,"row":"<the row line, as a JSON string>",
 *  "audit_path":["<hex>",...],"tree_head":{<signed tree head>}}
 * @endcode
 * @param unproven optional: receives the number of kept rows that no valid
 *        head covers (no proof printed for them).
 * @returns the number of proofs written, or -1 on ENOMEM.
 */
long gr_ledger_audit_prove(const gr_ledger_audit *a, gr_buf *out,
                           uint64_t *unproven);

/**
 * @brief Verify one inclusion-proof line with nothing but the key(s): the
 *        tree head's signature, the audit path from the row's leaf hash to
 *        the signed root, and the row's own row_hash.
 * @param job_id_out, seq_out optional: the proven row's job_id and seq.
 * @returns 0 when the row provably belongs to the signed log, -1 with err
 *          filled (`invalid_json`, `schema`, `unknown_key`,
 *          `bad_signature`, `unauthorized_role`).
 */
int gr_inclusion_proof_verify_json(const gr_keyring *kr, const char *json,
                                   size_t len, char job_id_out[GR_ID_MAX],
                                   uint64_t *seq_out, gr_err *err);

/** A parsed ledger row with room for its strings (no allocation). */
typedef struct gr_ledger_row_buf {
        gr_ledger_row row; /**< its pointers point into this struct */
        char job_id[GR_ID_MAX];
        char event_id[GR_ID_MAX];
        char seller_packet[GR_HASH_MAX];
        char buyer_packet[GR_HASH_MAX];
        char decision[GR_ID_MAX];
} gr_ledger_row_buf;

/**
 * @brief Parse one ledger row line and check it (shared by the audit and
 *        the proof verifier).  row_hash is recomputed by rendering the row
 *        with gr_ledger_row_to_json(row, 0), never by a second renderer.
 * @returns 0 ok; 1 parsed but row_hash does not recompute; 2 parsed and
 *          the hash is right, but the line is not the canonical rendering;
 *          -1 not a ledger row.  Whenever it is not 0, errstr says why.
 */
int gr_ledger_row_parse(const char *line, size_t len, gr_ledger_row_buf *rb,
                        char *errstr, size_t errstr_size);

#endif /* GR_LEDGER_AUDIT_H */
