/**
 * @file gr_http_auth.h
 * @brief The request side of receiptd's HTTP server, without any HTTP
 *        library: routing of the raw request path, the signed-request
 *        scheme of `/jobs/`, the nonce cache that refuses replays, who may
 *        read which receipt, and the `/metrics` bearer token.  Pure except
 *        for the nonce cache's mutex; no clock (callers pass `now`), no I/O,
 *        so a fuzzer drives it directly (tests/fuzz/fuzz_http_request.c).
 *
 * ## Signed requests (docs/OPERATIONS.md, "Reading receipts over HTTP")
 *
 *   Authorization: GR-Ed25519 key_id=K, ts=T, nonce=N, sig=S
 *
 *  - K: a key_id of the key registry (`keys.registry`); printable ASCII
 *    without space, `,`, `=`, `"` or `\`;
 *  - T: the request time, decimal seconds since the epoch (at most 12
 *    digits); refused when more than the window (`metrics.auth.window.s`,
 *    300 s by default) away from the server's clock, either way;
 *  - N: 16 to 64 characters of `A-Z a-z 0-9 _ -`, fresh per request; the
 *    same (K, N) is refused for as long as its T is inside the window;
 *  - S: standard base64 (padded) of the 64-byte Ed25519 signature, with
 *    the key, over the bytes
 *
 *        "gr-http-v1\n" METHOD "\n" PATH "\n" T "\n" N "\n" K "\n"
 *
 *    METHOD as sent (`GET`, `HEAD`), PATH the request path exactly as sent
 *    on the request line (still percent-encoded, without `?query`), T, N
 *    and K exactly as in the header.
 *  Parameters may come in any order, each exactly once, separated by `,`
 *  and optional spaces; the scheme name is case-insensitive.
 *
 * ## Who may read a receipt
 *  A key valid now (registry valid_from/valid_to) with role `marketplace`
 *  or `reviewer` reads any job; role `buyer` or `seller` reads the jobs
 *  whose applied events carried its actor id (registry `actor_id`,
 *  default the key_id) as actor.id in that same role (gr_job parties);
 *  every other role (verifier, processor) is refused.
 */
#ifndef GR_HTTP_AUTH_H
#define GR_HTTP_AUTH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_job.h"
#include "gr_keys.h"

/** The scheme name in the Authorization header. */
#define GR_HTTP_AUTH_SCHEME "GR-Ed25519"
/** Nonce length bounds (characters). */
#define GR_HTTP_NONCE_MIN 16
#define GR_HTTP_NONCE_MAX 64
/** Longest Authorization header value considered. */
#define GR_HTTP_AUTH_HDR_MAX 512

/* ---- routing ------------------------------------------------------- */

typedef enum {
        GR_ROUTE_NOT_FOUND, /**< 404 */
        GR_ROUTE_BAD,       /**< 400: a /jobs/ path that cannot be an id */
        GR_ROUTE_INDEX,     /**< "/" */
        GR_ROUTE_METRICS,
        GR_ROUTE_HEALTHZ,
        GR_ROUTE_READYZ,
        GR_ROUTE_JOB, /**< /jobs/ID or /jobs/ID.json */
} gr_route_t;

typedef struct gr_http_route_t {
        gr_route_t route;
        int json;                /**< /jobs/ID.json (or Accept, see below) */
        char job_id[GR_ID_MAX];  /**< decoded; GR_ROUTE_JOB only */
        const char *why;         /**< static; GR_ROUTE_BAD only */
} gr_http_route_t;

/**
 * @brief Route a raw request path (as on the request line, before any
 *        percent-decoding, without the query).
 *
 * `/jobs/REST`: REST must not contain a raw `/` (else not found: no path
 * walking, `/jobs/../metrics` is no route); a REST ending in the raw
 * characters `.json` asks for JSON and the suffix is not part of the id
 * (an id that ends in ".json" is written `%2Ejson`); REST is then
 * percent-decoded (`%2F` gives a `/` inside the id) and must give 1..127
 * bytes without control characters (0x00-0x1f, 0x7f), else bad request.
 * @param accept the Accept header or NULL: containing `application/json`
 *        also asks for JSON.
 * @returns out->route.
 */
gr_route_t gr_http_route(const char *path, const char *accept,
                         gr_http_route_t *out);

/* ---- signed requests ----------------------------------------------- */

/** Why a request was refused; the label of gr_http_auth_failures_total. */
#define GR_AUTH_RESULT_MAP(X)                                                  \
        X(OK, "ok")                                                            \
        X(MISSING, "missing")             /* no Authorization header */       \
        X(MALFORMED, "malformed")         /* not the scheme's syntax */       \
        X(STALE, "stale")                 /* ts outside the window */         \
        X(UNKNOWN_KEY, "unknown_key")     /* not in the registry */           \
        X(EXPIRED_KEY, "expired_key")     /* not valid now */                 \
        X(BAD_SIGNATURE, "bad_signature") /* does not verify */               \
        X(REPLAY, "replay")               /* nonce already used */            \
        X(BUSY, "busy")                   /* nonce cache full (503) */        \
        X(FORBIDDEN, "forbidden")         /* signed, but not this job (403) */ \
        X(BAD_TOKEN, "bad_token")         /* /metrics bearer token */

#define GR__AUTH_ENUM(N, S) GR_AUTH_##N,
typedef enum { GR_AUTH_RESULT_MAP(GR__AUTH_ENUM) GR_AUTH__CNT } gr_auth_result;
#undef GR__AUTH_ENUM

/** The SPEC-style name of a result ("bad_signature"). */
const char *gr_auth_result_name(gr_auth_result r);

/** A parsed Authorization header (pointers into nothing: copies). */
typedef struct gr_http_sig_hdr {
        char key_id[GR_ID_MAX];
        char ts[16];
        int64_t ts_s;
        char nonce[GR_HTTP_NONCE_MAX + 1];
        uint8_t sig[GR_SIGBIN_LEN];
} gr_http_sig_hdr;

/** Parse an Authorization value.  @returns 0, or -1 (malformed). */
int gr_http_sig_parse(const char *value, gr_http_sig_hdr *out);

/** Append the signed bytes (see above) to out.  @returns 0 or -1 (oom). */
int gr_http_signing_bytes(const char *method, const char *path,
                          const char *ts, const char *nonce,
                          const char *key_id, gr_buf *out);

/**
 * @brief Build an Authorization value for a request (client side; used
 *        by `receiptctl receipt --server`).
 * @param nonce NULL: 24 random characters.
 * @returns 0, or -1 (key_id or nonce not allowed in the header, oom).
 */
int gr_http_sign_request(const gr_keypair *kp, const char *method,
                         const char *path, int64_t now_s, const char *nonce,
                         gr_buf *out);

/** Who a request speaks for. */
typedef struct gr_http_principal {
        int anonymous; /**< unsigned access (metrics.jobs.unsigned) */
        char key_id[GR_ID_MAX];
        char actor_id[GR_ID_MAX];
        gr_key_role_t role;
} gr_http_principal;

/** Replay protection: (key_id, nonce) pairs seen within the window. */
typedef struct gr_nonce_cache gr_nonce_cache;

/** @param max most live entries; more at once answers GR_AUTH_BUSY.
 *  @returns the cache or NULL (ENOMEM, max 0). */
gr_nonce_cache *gr_nonce_cache_new(size_t max);
void gr_nonce_cache_destroy(gr_nonce_cache *nc);
/** Live entries now (for tests and the gauge). */
size_t gr_nonce_cache_count(gr_nonce_cache *nc);

/**
 * @brief Check a request's signature.  Thread-safe.
 *
 * Order: MISSING (value NULL or empty), MALFORMED, STALE (|now - ts| >
 * window_s), UNKNOWN_KEY (not in kr; kr may be NULL), EXPIRED_KEY (not
 * valid at now), BAD_SIGNATURE, then the nonce: REPLAY, or BUSY when the
 * cache holds `max` live entries.  Only a request whose signature verified
 * takes a place in the cache.
 * @param who filled on GR_AUTH_OK.
 */
gr_auth_result gr_http_auth_check(const gr_keyring *kr, gr_nonce_cache *nc,
                                  int window_s, const char *method,
                                  const char *path, const char *value,
                                  int64_t now_s, gr_http_principal *who);

/** @returns 1 when who may read job (see the file comment), else 0. */
int gr_http_may_read(const gr_http_principal *who, const gr_job *job);

/**
 * @brief `/metrics` bearer token: value must be exactly "Bearer TOKEN"
 *        (scheme case-insensitive).  Constant time in the token.
 * @returns 1 when it matches.
 */
int gr_http_bearer_ok(const char *value, const char *token);

#endif /* GR_HTTP_AUTH_H */
