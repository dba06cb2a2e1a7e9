/**
 * @file gr_keys.h
 * @brief Ed25519 role keys (libsodium), their file formats and the key
 *        registry that says who may sign what.
 *
 * Pure: callers read files and pass bytes; nothing here touches the disk.
 *
 * ## Key files (written by `receiptctl keygen`)
 *
 * Public file `<key_id>.pub.json` — one registry entry, so a registry is
 * just a JSON array of these objects:
 * @code
 * {"key_id":"k-worker-17","role":"seller",
 *  "public_key":"<base64, 32 bytes>",
 *  "valid_from":"2026-05-25T00:00:00Z","valid_to":null}
 * @endcode
 *
 * Secret file `<key_id>.key.json` (mode 0600, never shared):
 * @code
 * {"key_id":"k-worker-17","role":"seller",
 *  "public_key":"<base64, 32 bytes>",
 *  "secret_key":"<base64, 64 bytes: libsodium Ed25519 seed || public key>"}
 * @endcode
 *
 * ## Registry (JSON text; an array of entries, or a single entry object)
 * @code
 * [{"key_id":"k-worker-17","role":"seller","public_key":"<base64>",
 *   "valid_from":"2026-01-01T00:00:00Z","valid_to":null,
 *   "types":["execution_started","execution_failed"]}]
 * @endcode
 *  - key_id: unique within the registry; role: an actor role or
 *    `processor` (receiptd's key, which signs decisions and tree heads);
 *  - valid_from (optional, absent = always) and valid_to (optional, null or
 *    absent = never expires) bound the key in event time: a key is valid
 *    at t when valid_from <= t < valid_to;
 *  - types (optional): the event types this key may sign; absent = every
 *    type its role may send;
 *  - actor_id (optional): the actor.id this key speaks for (a buyer's or
 *    seller's id in events); absent = the key_id.  receiptd's /jobs/ pages
 *    let a buyer or seller key read the jobs whose events name its actor
 *    id in that role.
 *  Unknown members are an error, so a misspelt "valid_to" cannot silently
 *  make a key immortal.
 *
 * Secret key material lives only in gr_keypair.sk; wipe it with
 * gr_keypair_wipe() (sodium_memzero) as soon as it is not needed.
 */
#ifndef GR_KEYS_H
#define GR_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_event.h"
#include "gr_types.h"

#define GR_PK_LEN 32
#define GR_SK_LEN 64
#define GR_SIGBIN_LEN 64

/** Key roles: the docs/SPEC.md §3 actor roles (same values as gr_role_t), then
 *  the processor, which signs decisions and tree heads. */
#define GR_KEY_ROLE_MAP(X) GR_ROLE_MAP(X) X(PROCESSOR, "processor")
#define GR__ENUM_KROLE(N, S) GR_KROLE_##N,
GR_DECLARE_ENUM(gr_key_role_t, KROLE, GR_KEY_ROLE_MAP)

/**
 * @brief Initialise libsodium once per process (idempotent, thread-safe
 *        after the first call returns).
 * @returns 0, or -1 when sodium_init() fails (no crypto may be used).
 */
int gr_crypto_init(void);

/** A key pair.  Plain value; sk is secret: gr_keypair_wipe() it. */
typedef struct gr_keypair {
        char key_id[GR_ID_MAX];
        gr_key_role_t role;
        uint8_t pk[GR_PK_LEN];
        uint8_t sk[GR_SK_LEN]; /**< seed || pk, libsodium layout */
} gr_keypair;

/**
 * @brief Fresh random Ed25519 key pair into *kp.
 * @returns 0, or -1 with errstr filled (bad key_id).
 */
int gr_keypair_generate(gr_keypair *kp, gr_key_role_t role,
                        const char *key_id, char *errstr, size_t errstr_size);

/** sodium_memzero the whole struct (secret key included). NULL is a no-op. */
void gr_keypair_wipe(gr_keypair *kp);

/** Append the public file / registry entry (see above) to out; valid_from
 *  in ms since the epoch. */
void gr_keypair_public_to_json(const gr_keypair *kp, int64_t valid_from,
                               gr_buf *out);

/** Append the secret file to out.  The buffer then holds the secret:
 *  wipe it with gr_buf_wipe() before freeing. */
void gr_keypair_secret_to_json(const gr_keypair *kp, gr_buf *out);

/**
 * @brief Load a secret key file.  Checks that secret and public key belong
 *        together.  Wipes the decoded secret text it parsed; the caller
 *        still owns (and should wipe) `json`.
 * @returns 0, or -1 with errstr filled (*kp wiped).
 */
int gr_keypair_from_json(gr_keypair *kp, const char *json, size_t len,
                         char *errstr, size_t errstr_size);

/** sodium_memzero a buffer's whole storage, then free it. NULL is a no-op. */
void gr_buf_wipe(gr_buf *b);

/** One registry entry (public only). */
typedef struct gr_key_entry {
        char key_id[GR_ID_MAX];
        gr_key_role_t role;
        uint8_t pk[GR_PK_LEN];
        int64_t valid_from; /**< ms, inclusive; INT64_MIN when absent */
        int64_t valid_to;   /**< ms, exclusive; INT64_MAX when null/absent */
        uint32_t types;     /**< bit per gr_event_type_t; 0 = all of role */
        char actor_id[GR_ID_MAX]; /**< "actor_id", or key_id when absent */
} gr_key_entry;

/** The registry: read-only after construction, so any number of threads
 *  may look keys up and verify concurrently. */
typedef struct gr_keyring gr_keyring;

/**
 * @brief Parse a registry (JSON array of entries, or one entry object).
 * @returns a keyring the caller frees with gr_keyring_destroy(), or NULL
 *          with errstr naming the entry and what is wrong.
 */
gr_keyring *gr_keyring_new(const char *json, size_t len, char *errstr,
                           size_t errstr_size);
/** NULL is a no-op. */
void gr_keyring_destroy(gr_keyring *kr);

/** @returns the entry (borrowed, lives as long as kr), or NULL. O(log n). */
const gr_key_entry *gr_keyring_find(const gr_keyring *kr, const char *key_id);

size_t gr_keyring_count(const gr_keyring *kr);

/** @returns 1 when the key is valid at event time t (ms). */
int gr_key_valid_at(const gr_key_entry *e, int64_t t);

/**
 * Base64 (RFC 4648 standard alphabet, padded) helpers over libsodium.
 * gr_b64_encode writes a NUL-terminated string into out (size >=
 * 4*ceil(n/3)+1).  gr_b64_decode accepts exactly `want` bytes of output
 * and no trailing garbage.  @returns 0 or -1.
 */
int gr_b64_encode(const uint8_t *bin, size_t n, char *out, size_t size);
int gr_b64_decode(const char *s, size_t len, uint8_t *bin, size_t want);

/** Hex (lower or upper case) to exactly `want` bytes. @returns 0 or -1. */
int gr_hex_decode(const char *s, size_t len, uint8_t *bin, size_t want);

#endif /* GR_KEYS_H */
