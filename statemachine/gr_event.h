/**
 * @file gr_event.h
 * @brief The lifecycle event (docs/SPEC.md §3) as one flat, fixed-size struct, and
 *        the single table of its fields that every codec walks.
 *
 * Codecs (schemas/) only deal with syntax: they find a field by its parent
 * object and key with gr_event_field_find() and hand the raw value to one of
 * the gr_event_set_*() setters, which do all typing, enum spelling and size
 * limits.  gr_event_validate() then checks what the event as a whole needs
 * (required fields per type, allowed roles).  So JSON and Avro input are
 * judged by exactly the same code.
 *
 * Strings are stored inline with hard limits (GR_*_MAX, bytes including the
 * terminating NUL); a longer value is rejected `too_large` naming the field.
 */
#ifndef GR_EVENT_H
#define GR_EVENT_H

#include <stdint.h>
#include <stddef.h>

#include "gr_types.h"

#define GR_ID_MAX 128   /**< ids, key ids, short labels */
#define GR_HASH_MAX 160 /**< hashes and image digests */
#define GR_SIG_MAX 128  /**< base64 Ed25519 signature (88 chars) */
#define GR_TEXT_MAX 1024 /**< commands, paths, notes, details */
#define GR_CUR_MAX 16   /**< currency codes */

/** Largest encoded event any codec accepts (bytes); larger is `too_large`. */
#define GR_EVENT_WIRE_MAX (64 * 1024)

/** Where a field lives in the JSON envelope (Avro mirrors the nesting). */
typedef enum {
        GR_P_TOP,       /**< envelope */
        GR_P_ACTOR,     /**< envelope.actor */
        GR_P_BODY,      /**< envelope.body */
        GR_P_PRICE,     /**< envelope.body.price */
        GR_P_RESOURCES, /**< envelope.body.resources */
        GR_P__CNT
} gr_parent_t;

/** How a field's value is typed. */
typedef enum {
        GR_FK_STR,        /**< char[size] */
        GR_FK_INT,        /**< int64_t */
        GR_FK_NUM,        /**< double (integers accepted) */
        GR_FK_BOOL,       /**< int 0/1 */
        GR_FK_TIME,       /**< int64_t ms since epoch; RFC 3339 UTC string */
        GR_FK_EVTYPE,     /**< gr_event_type_t */
        GR_FK_ROLE,       /**< gr_role_t */
        GR_FK_FAILURE,    /**< gr_failure_t; JSON null = GR_FAIL_NONE */
        GR_FK_RESULT,     /**< gr_result_t */
        GR_FK_SETTLEMENT, /**< gr_settlement_t */
} gr_field_kind_t;

/**
 * Every field of every event type: X(member, parent, key, kind, size).
 * The body of each type uses a subset (see the type table in gr_event.c).
 */
#define GR_EVENT_FIELD_MAP(X)                                                  \
        X(event_id, TOP, "event_id", STR, GR_ID_MAX)                           \
        X(job_id, TOP, "job_id", STR, GR_ID_MAX)                               \
        X(attempt, TOP, "attempt", INT, 0)                                     \
        X(type, TOP, "type", EVTYPE, 0)                                        \
        X(occurred_at, TOP, "occurred_at", TIME, 0)                            \
        X(sig, TOP, "sig", STR, GR_SIG_MAX)                                    \
        X(role, ACTOR, "role", ROLE, 0)                                        \
        X(actor_id, ACTOR, "id", STR, GR_ID_MAX)                               \
        X(key_id, ACTOR, "key_id", STR, GR_ID_MAX)                             \
        X(quote_id, BODY, "quote_id", STR, GR_ID_MAX)                          \
        X(provider_id, BODY, "provider_id", STR, GR_ID_MAX)                    \
        X(gpu, BODY, "gpu", STR, GR_ID_MAX)                                    \
        X(vram_gb, BODY, "vram_gb", NUM, 0)                                    \
        X(region, BODY, "region", STR, GR_ID_MAX)                              \
        X(driver_family, BODY, "driver_family", STR, GR_ID_MAX)                \
        X(window_start, BODY, "window_start", TIME, 0)                         \
        X(window_end, BODY, "window_end", TIME, 0)                             \
        X(price_amount_minor, PRICE, "amount_minor", INT, 0)                   \
        X(price_currency, PRICE, "currency", STR, GR_CUR_MAX)                  \
        X(check, BODY, "check", STR, GR_ID_MAX)                                \
        X(result, BODY, "result", RESULT, 0)                                   \
        X(worker_status, BODY, "worker_status", STR, GR_ID_MAX)                \
        X(vram_declared_gb, BODY, "vram_declared_gb", NUM, 0)                  \
        X(vram_observed_gb, BODY, "vram_observed_gb", NUM, 0)                  \
        X(detail, BODY, "detail", STR, GR_TEXT_MAX)                            \
        X(worker_id, BODY, "worker_id", STR, GR_ID_MAX)                        \
        X(container_image, BODY, "container_image", STR, GR_HASH_MAX)          \
        X(command, BODY, "command", STR, GR_TEXT_MAX)                          \
        X(model_hash, BODY, "model_hash", STR, GR_HASH_MAX)                    \
        X(input_manifest_hash, BODY, "input_manifest_hash", STR, GR_HASH_MAX)  \
        X(failure_class, BODY, "failure_class", FAILURE, 0)                    \
        X(output_written, BODY, "output_written", BOOL, 0)                     \
        X(stderr_class, BODY, "stderr_class", STR, GR_ID_MAX)                  \
        X(peak_vram_mb, RESOURCES, "peak_vram_mb", INT, 0)                     \
        X(gpu_seconds, RESOURCES, "gpu_seconds", NUM, 0)                       \
        X(peak_mem_mb, RESOURCES, "peak_mem_mb", INT, 0)                       \
        X(wall_ms, RESOURCES, "wall_ms", INT, 0)                               \
        X(cpu_ms, RESOURCES, "cpu_ms", INT, 0)                                 \
        X(output_hash, BODY, "output_hash", STR, GR_HASH_MAX)                  \
        X(output_path, BODY, "output_path", STR, GR_TEXT_MAX)                  \
        X(status, BODY, "status", RESULT, 0)                                   \
        X(rule, BODY, "rule", STR, GR_TEXT_MAX)                                \
        X(packet_hash, BODY, "packet_hash", STR, GR_HASH_MAX)                  \
        X(capacity_result, BODY, "capacity_result", RESULT, 0)                 \
        X(memory_budget_gb, BODY, "memory_budget_gb", NUM, 0)                  \
        X(expected_output_path, BODY, "expected_output_path", STR, GR_TEXT_MAX) \
        X(evaluation_rule, BODY, "evaluation_rule", STR, GR_TEXT_MAX)          \
        X(observed_failure_class, BODY, "observed_failure_class", FAILURE, 0)  \
        X(reason, BODY, "reason", STR, GR_TEXT_MAX)                            \
        X(settlement, BODY, "settlement", SETTLEMENT, 0)                       \
        X(note, BODY, "note", STR, GR_TEXT_MAX)

/** Field ids: GR_F_<member>. */
#define GR__FIELD_ID(M, P, K, KIND, SZ) GR_F_##M,
typedef enum { GR_EVENT_FIELD_MAP(GR__FIELD_ID) GR_F__CNT } gr_field_t;

#define GR__MEMBER_STR(M, SZ) char M[SZ];
#define GR__MEMBER_INT(M, SZ) int64_t M;
#define GR__MEMBER_NUM(M, SZ) double M;
#define GR__MEMBER_BOOL(M, SZ) int M;
#define GR__MEMBER_TIME(M, SZ) int64_t M;
#define GR__MEMBER_EVTYPE(M, SZ) gr_event_type_t M;
#define GR__MEMBER_ROLE(M, SZ) gr_role_t M;
#define GR__MEMBER_FAILURE(M, SZ) gr_failure_t M;
#define GR__MEMBER_RESULT(M, SZ) gr_result_t M;
#define GR__MEMBER_SETTLEMENT(M, SZ) gr_settlement_t M;
#define GR__MEMBER(M, P, K, KIND, SZ) GR__MEMBER_##KIND(M, SZ)

/**
 * One lifecycle event.  A member is meaningful only when its bit is set in
 * `present` (gr_event_has()); gr_event_reset() clears just the header so a
 * decoder can reuse one struct per message without zeroing ~8 KiB.
 */
typedef struct gr_event {
        uint64_t present; /**< bit (1 << gr_field_t) per field seen */
        GR_EVENT_FIELD_MAP(GR__MEMBER)
} gr_event;

/** Static description of one field (borrowed, from gr_event_fields[]). */
typedef struct gr_field_desc {
        gr_parent_t parent;
        const char *key; /**< JSON/Avro name inside its parent */
        const char *name; /**< C member name, used in reject details */
        gr_field_kind_t kind;
        size_t offset; /**< offsetof(gr_event, member) */
        size_t size;   /**< capacity for STR, else 0 */
} gr_field_desc;

extern const gr_field_desc gr_event_fields[GR_F__CNT];

/** Parent object names as they appear on the wire ("actor", "body", ...). */
const char *gr_parent_name(gr_parent_t p);

/** Error detail shared by codecs and the FSM. */
typedef struct gr_err {
        gr_reject_t reason;
        char detail[256];
} gr_err;

/** Fill err (printf-style detail); returns -1 so callers can `return gr_err_set(...)`. */
int gr_err_set(gr_err *err, gr_reject_t reason, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/** Clear presence so the struct can be refilled; does not touch payload. */
void gr_event_reset(gr_event *ev);

static inline int gr_event_has(const gr_event *ev, gr_field_t f) {
        return (ev->present >> f) & 1;
}

/**
 * @brief Look a field up by parent and key (as found on the wire).
 * @returns the field id, or -1 when the key is unknown (codecs ignore it).
 */
int gr_event_field_find(gr_parent_t parent, const char *key, size_t keylen);

/**
 * Setters: each checks the value against the field's kind and limits.
 * @returns 0 on success, -1 with err filled (reason `schema`, `too_large`
 *          or `unknown_type`) otherwise.  `s` need not be NUL-terminated.
 */
int gr_event_set_str(gr_event *ev, gr_field_t f, const char *s, size_t len,
                     gr_err *err);
int gr_event_set_int(gr_event *ev, gr_field_t f, int64_t v, gr_err *err);
int gr_event_set_num(gr_event *ev, gr_field_t f, double v, gr_err *err);
int gr_event_set_bool(gr_event *ev, gr_field_t f, int v, gr_err *err);
/** JSON null / Avro null branch: GR_FAIL_NONE for failure fields, else the
 *  field is treated as absent. */
int gr_event_set_null(gr_event *ev, gr_field_t f, gr_err *err);

/**
 * @brief Whole-event checks after decoding: required envelope and body
 *        fields per type (`missing_field`), allowed roles (I6,
 *        `unauthorized_role`), cross-field sanity (`schema`).
 *        Defaults `attempt` to 1 when absent.
 * @returns 0 when the event may enter the FSM, -1 with err filled.
 */
int gr_event_validate(gr_event *ev, gr_err *err);

/** @returns 1 when `role` may send events of `type` (docs/SPEC.md §3 table). */
int gr_event_role_allowed(gr_event_type_t type, gr_role_t role);

/** Times must lie in 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z. */
#define GR_TIME_MIN_MS (-62167219200000LL)
#define GR_TIME_MAX_MS (253402300799999LL)

/**
 * RFC 3339 UTC time <-> ms since the epoch.  Accepts `Z` or a numeric
 * offset and up to 9 fractional digits (truncated to ms).
 * @returns 0 on success, -1 when the text is not a valid time.
 */
int gr_time_parse(const char *s, size_t len, int64_t *ms_out);
/** Formats as `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` only when ms != 0.
 *  buf needs 32 bytes.  @returns buf. */
char *gr_time_format(int64_t ms, char *buf, size_t size);
/** Room gr_time_format_n() needs, the NUL included (a year outside
 *  0000..9999, which no parsed time has, is written whole). */
#define GR_TIME_TEXT_MAX 48
/** The same text into out, NUL-terminated.  @returns its length. */
size_t gr_time_format_n(int64_t ms, char out[GR_TIME_TEXT_MAX]);

#endif /* GR_EVENT_H */
