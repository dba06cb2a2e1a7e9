/**
 * @file gr_sign.h
 * @brief Ed25519 signatures over events, decisions and Merkle tree heads
 *       , each over a documented canonical byte form.
 *
 * Pure and thread-safe: every function works only on its arguments, and a
 * gr_keyring is read-only, so receiptd may verify from a pool of threads.
 *
 * ## Canonical signing bytes of an event (version 1)
 *
 * Built from the gr_event_fields[] table, so an event signs and verifies
 * the same whether it travelled as JSON or as Avro (both decode to the
 * same gr_event).  It is the concatenation of:
 *
 *   "gr-event-v1\n"                                   (12 bytes)
 *   for every field of gr_event_fields[] in table order, except `sig`,
 *   that is present (attempt counts as present with value 1 when absent,
 *   since gr_event_validate() defaults it):
 *       u8  path length, path       path = wire name: "event_id",
 *                                   "actor.key_id", "body.check",
 *                                   "body.price.amount_minor",
 *                                   "body.resources.gpu_seconds", ...
 *       u8  tag, then the value:
 *         's' u32 length, bytes     strings, and every enumeration as its
 *                                   SPEC spelling ("execution_failed",
 *                                   "seller", "container_oom", "pass")
 *         'i' i64                   integers
 *         't' i64                   times, in ms since the epoch (so
 *                                   "08:11:33Z" and "08:11:33.000Z" agree)
 *         'd' 8 bytes               numbers: IEEE-754 binary64 bits
 *                                   (-0 written as +0)
 *         'b' u8 0/1                booleans
 *         'n'                       a null failure class ("no failure")
 *   All integers are big-endian.
 *
 * Because job_id, event_id, attempt, type, occurred_at and the actor are
 * all in it, a signed event replayed under another job_id or event_id no
 * longer verifies.  Members a codec does not know are not part of the
 * event and are not signed.
 *
 * ## Decisions
 * The signature covers gr_decision_to_json(d, NULL, key_id, ...): the
 * canonical decision JSON with "sig":null and the signer's key_id in it.
 *
 * ## Tree heads
 *   "gr-tree-head-v1\n" (16 bytes), u32 partition, u64 tree_size,
 *   32 bytes root_hash, i64 timestamp (ms, event time), u8 key_id length,
 *   key_id.  Big-endian.  JSON rendering (one line of the ledger export):
 * @code
 * {"type":"tree_head","partition":0,"tree_size":1000,
 *  "root_hash":"<hex>","timestamp":"2026-05-25T08:15:02Z",
 *  "key_id":"k-receiptd","sig":"<base64>"}
 * @endcode
 */
#ifndef GR_SIGN_H
#define GR_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_event.h"
#include "gr_fsm.h"
#include "gr_keys.h"
#include "gr_merkle.h"
#include "gr_policy.h"

/** Base64 of a 64-byte signature: 88 characters and the NUL. */
#define GR_SIG_B64_LEN 89

/** Sign arbitrary bytes; base64 signature into out. @returns 0 or -1. */
int gr_sign_b64(const gr_keypair *kp, const void *msg, size_t len,
                char out[GR_SIG_B64_LEN]);

/* ---- events ------------------------------------------------------------ */

/** Append the canonical signing bytes of ev (see above) to out.
 *  @returns 0, or -1 on ENOMEM (out->oom). */
int gr_event_signing_bytes(const gr_event *ev, gr_buf *out);

/**
 * @brief Sign an event: sets actor.key_id to kp->key_id, then fills
 *        ev->sig with the base64 signature over the canonical bytes.
 * @returns 0, or -1 with err filled (ENOMEM).
 */
int gr_event_sign(const gr_keypair *kp, gr_event *ev, gr_err *err);

/**
 * @brief Verify an event's signature against the registry.
 *
 * Reasons, in the order they are checked:
 *   - `bad_signature`: no sig;
 *   - `unknown_key`: no actor.key_id, key not in the registry, or the key
 *     is not valid at the event's occurred_at;
 *   - `bad_signature`: sig is not base64 of 64 bytes, or does not verify
 *     over the canonical bytes (forged, altered or replayed);
 *   - `unauthorized_role`: the signature is good but the key's role is not
 *     actor.role, or the key may not sign this event type.
 * @returns 0 when the event is authentic, -1 with err filled.
 */
int gr_event_verify(const gr_keyring *kr, const gr_event *ev, gr_err *err);

/**
 * @brief The per-event check receiptd's verify pool and replay run: when
 *        the policy requires a signature for this event's type or role
 *        (gr_policy_requires_sig()), gr_event_verify(); otherwise nothing
 *        (a signature the policy does not ask for is not checked).
 *        Thread-safe.
 * @param kr may be NULL when no registry is loaded: then every required
 *        signature fails `unknown_key`.
 * @returns 0 when the event may proceed, -1 with err filled.
 */
int gr_event_authenticate(const gr_policy *pol, const gr_keyring *kr,
                          const gr_event *ev, gr_err *err);

/* ---- decisions --------------------------------------------------------- */

/**
 * @brief Render a signed decision: appends
 *        gr_decision_to_json(d, sig, kp->key_id) to out.
 * @returns 0, or -1 on ENOMEM.
 */
int gr_decision_sign(const gr_keypair *kp, const gr_decision *d, gr_buf *out);

/**
 * @brief Verify one decision JSON line (trailing newline allowed): parses
 *        it, re-renders the canonical bytes and checks the signature with
 *        a `processor` key valid at decided_at.
 * @param job_id_out optional: receives the decision's job_id (or "").
 * @returns 0 when authentic, -1 with err filled: `invalid_json`,
 *          `schema`, `missing_field`, `unknown_key`, `bad_signature`,
 *          `unauthorized_role` (a valid key that is not the processor's).
 */
int gr_decision_verify_json(const gr_keyring *kr, const char *json,
                            size_t len, char job_id_out[GR_ID_MAX],
                            gr_err *err);

/* ---- signed tree heads ------------------------------------------------- */

typedef struct gr_tree_head {
        int32_t partition;
        uint64_t tree_size;
        uint8_t root_hash[GR_HASH_LEN];
        int64_t timestamp; /**< ms; event time of the batch, never a clock */
        char key_id[GR_ID_MAX];
        uint8_t sig[GR_SIGBIN_LEN];
} gr_tree_head;

/** Append the canonical signing bytes (see above). @returns 0 or -1. */
int gr_tree_head_signing_bytes(const gr_tree_head *th, gr_buf *out);

/** Set th->key_id from kp and sign.  @returns 0 or -1 (ENOMEM). */
int gr_tree_head_sign(gr_tree_head *th, const gr_keypair *kp);

/**
 * @brief Check a tree head's signature: `unknown_key` (not in kr, or not
 *        valid at th->timestamp), `unauthorized_role` (not a processor
 *        key), `bad_signature`.
 * @returns 0 or -1 with err filled.
 */
int gr_tree_head_verify(const gr_tree_head *th, const gr_keyring *kr,
                        gr_err *err);

/** Append the JSON rendering (see above, no newline). */
void gr_tree_head_to_json(const gr_tree_head *th, gr_buf *out);

/** Parse the JSON rendering.  @returns 0, or -1 with errstr filled. */
int gr_tree_head_from_json(gr_tree_head *th, const char *json, size_t len,
                           char *errstr, size_t errstr_size);

#endif /* GR_SIGN_H */
