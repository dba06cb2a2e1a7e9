/**
 * @file gr_job.h
 * @brief One job's state: the receipt (one field group per layer, docs/SPEC.md §4),
 *        the ledger chain head, duplicate set and parked events.
 *
 * Only gr_fsm.c changes a job (through gr_fsm_apply()); everything else
 * reads it.  A job string member is a gr_jstr, a 32-bit handle (0 =
 * absent), not a pointer: read it with gr_jstr_get() (or GR_JS(job, m)),
 * write it only through gr_job_str_set().  The bytes live in one per-job
 * block (the string arena) or, for values that repeat across jobs, in the
 * process-wide shared table (gr_intern.h); a handle is 4 bytes where a
 * pointer was 8, for 19 members of every job.  A pointer from
 * gr_jstr_get() stays valid until the job's next gr_job_str_set(),
 * gr_job_party_add() or gr_job_seen_add_hash() (the block may move).
 */
#ifndef GR_JOB_H
#define GR_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "gr_event.h"
#include "gr_intern.h"
#include "gr_types.h"

#define GR_TIME_NONE INT64_MIN

/* Sizes: a job is held for every open job, so its scalars are kept small.
 * Enum-valued members are uint8_t (every vocabulary of gr_types.h has
 * fewer than 256 values; the comment names the enum) and flags are uint8_t
 * 0/1; read them like the enum or int they stand for. */

/* The job's strings and times, one table per group, in the order the
 * state records keep them (docs/OPERATIONS.md, state topic).  Each string
 * is a gr_jstr handle of the job.  These tables declare the members below;
 * gr_job.c walks them to compact the strings, and both state
 * codecs (schemas/gr_state_json.c, schemas/gr_state_avro.c) to write and
 * read them, so a new string is one line here. */
#define GR_QUOTE_STRINGS(X)                                                    \
        X(quote_id) X(provider_id) X(gpu) X(region) X(driver_family)           \
        X(price_currency)
#define GR_SELLER_STRINGS(X) X(packet_hash) X(quote_id) X(worker_id)
#define GR_BUYER_STRINGS(X)                                                    \
        X(packet_hash) X(container_image) X(command) X(model_hash)             \
        X(input_manifest_hash) X(expected_output_path) X(evaluation_rule)
/* capacity lane (check..capacity_detail), reservation (worker_id),
 * execution lane (container_image..stderr_class), output and evaluation
 * lanes (output_hash..evaluation_rule), review */
#define GR_ATTEMPT_STRINGS(X)                                                  \
        X(check) X(worker_status) X(capacity_detail) X(worker_id)              \
        X(container_image) X(command) X(model_hash) X(input_manifest_hash)     \
        X(stderr_class) X(output_hash) X(output_path) X(evaluation_rule)       \
        X(review_note)
/* event times of the attempt's lanes (GR_TIME_NONE: not yet) */
#define GR_ATTEMPT_TIMES(X)                                                    \
        X(capacity_at) X(started_at) X(failed_at) X(completed_at)              \
        X(delivered_at) X(evaluated_at) X(cancelled_at) X(reviewed_at)
/** A job time (an attempt's lane times, the quote's window): the
 *  milliseconds from the job's time base (gr_job.t_base, its first time
 *  kept), GR_JT_NONE when absent, or GR_JT_WIDE when it lies too far from
 *  the base and the full value is kept in the job's rare parts.  Read it
 *  with GR_JT(), write it only through gr_jtime_set(): 4 bytes where an
 *  int64_t was 8, for 10 members of every job. */
typedef int32_t gr_jtime;
#define GR_JT_NONE INT32_MIN
#define GR_JT_WIDE (INT32_MIN + 1)
/* Each job time's slot among the wide values (gr_job_more.wide). */
#define GR_JT_ENUM(m) GR_JT_##m,
enum { GR_ATTEMPT_TIMES(GR_JT_ENUM) GR_JT_window_start, GR_JT_window_end,
       GR_JT__CNT };
#undef GR_JT_ENUM

/** A job string: 0 = absent; GR_JSTR_SHARED | i = entry i of the shared
 *  table; otherwise the offset of the string's first byte in the job's
 *  arena (never 0: a tag byte precedes every arena string). */
typedef uint32_t gr_jstr;
#define GR_JSTR_SHARED GR_INTERN_REF
#define GR_JOB_DECL_STR(m) gr_jstr m;
#define GR_JOB_DECL_TIME(m) gr_jtime m;

typedef struct gr_quote {
        uint32_t attempt; /**< attempt that brought it */
        uint8_t present;
        uint8_t has_price;
        GR_QUOTE_STRINGS(GR_JOB_DECL_STR)
        double vram_gb;
        gr_jtime window_start, window_end;
        int64_t price_amount_minor;
} gr_quote;

typedef struct gr_seller_packet {
        uint8_t present;
        uint8_t has_capacity_result;
        uint8_t capacity_result; /**< gr_result_t */
        uint8_t failure_class;   /**< gr_failure_t; GR_FAIL_NONE: no failure claimed */
        GR_SELLER_STRINGS(GR_JOB_DECL_STR)
} gr_seller_packet;

typedef struct gr_buyer_packet {
        uint8_t present;
        uint8_t observed_failure_class; /**< gr_failure_t; GR_FAIL_NONE: none seen */
        GR_BUYER_STRINGS(GR_JOB_DECL_STR)
        double memory_budget_gb;
} gr_buyer_packet;

/** Per-attempt layers; reset when attempt n+1 begins. */
typedef struct gr_attempt {
        uint8_t capacity;   /**< gr_capacity_t */
        uint8_t execution;  /**< gr_exec_t */
        uint8_t output;     /**< gr_output_t */
        uint8_t evaluation; /**< gr_eval_t */
        uint8_t failure_class;     /**< gr_failure_t (execution lane) */
        int8_t output_written;     /**< -1 unknown */
        uint8_t cancelled_exec;    /**< gr_exec_t when the cancel came (R2, R12) */
        uint8_t review_settlement; /**< gr_settlement_t */
        /* flags (bits): capacity and execution lanes, then those read by
         * the rules */
        unsigned has_vram_declared : 1, has_vram_observed : 1,
            has_peak_vram : 1, has_gpu_seconds : 1;
        unsigned cancelled : 1, expired : 1, reviewed : 1;
        GR_ATTEMPT_STRINGS(GR_JOB_DECL_STR)
        GR_ATTEMPT_TIMES(GR_JOB_DECL_TIME)
        double vram_declared_gb, vram_observed_gb; /* capacity lane */
        int64_t peak_vram_mb;                      /* execution lane */
        double gpu_seconds;
} gr_attempt;

/** What a posture means for the attempt's money (docs/SPEC.md §6 amounts). */
typedef struct gr_amounts {
        int present; /**< 0: the attempt's quote has no price (null) */
        int64_t price_minor, charge_minor, refund_minor, held_minor;
        char currency[GR_CUR_MAX]; /**< the quote's, as decided */
} gr_amounts;

/** What is kept of a finished attempt (receipt `attempts[]`). */
typedef struct gr_attempt_summary {
        uint32_t attempt;
        uint8_t capacity;      /**< gr_capacity_t */
        uint8_t execution;     /**< gr_exec_t */
        uint8_t output;        /**< gr_output_t */
        uint8_t evaluation;    /**< gr_eval_t */
        uint8_t failure_class; /**< gr_failure_t */
        uint8_t settlement;    /**< gr_settlement_t */
        uint8_t retry;         /**< gr_retry_t */
        uint8_t reason;        /**< gr_reason_t */
        uint8_t rule;          /**< gr_rule_t */
        gr_amounts amounts;
} gr_attempt_summary;

/** gr_amounts as a job keeps them: the currency a job string (gr_jstr,
 *  0 for none) instead of a 16-byte buffer. */
typedef struct gr_kept_amounts {
        int64_t price_minor, charge_minor, refund_minor, held_minor;
        gr_jstr currency;
        uint8_t present;
} gr_kept_amounts;

/** Most parties (buyer or seller actor ids) a job remembers; later new
 *  ones are not recorded (the receipt page then refuses them). */
#define GR_JOB_PARTIES_MAX 16


typedef struct gr_job {
        uint32_t attempt;  /**< current attempt, >= 1 */
        uint8_t free_retries_used; /**< <= the policy's free_retries_per_job
                                        (at most 100) */

        /* settlement lane: the last decision (pending/none/in_progress
         * before any) */
        uint8_t settlement; /**< gr_settlement_t */
        uint8_t retry;      /**< gr_retry_t */
        uint8_t reason;     /**< gr_reason_t */
        uint8_t rule;       /**< gr_rule_t */
        uint8_t posture_locked; /**< I5: refund/release/partial_refund
                                     decided in the current attempt */
        uint8_t nparties;   /**< <= GR_JOB_PARTIES_MAX */
        uint32_t decisions; /**< decisions published so far (saturates) */

        int64_t time;      /**< job time: latest applied occurred_at */
        int64_t t_base;    /**< base of the job times (gr_jtime) */
        uint64_t seq;      /**< ledger seq of the last row (0 = none) */
        uint8_t chain[32]; /**< row_hash of the last row (zeros = none) */
        /** of the current posture (kept while locked): read with
         *  gr_job_amounts(), write with gr_job_amounts_set() */
        gr_kept_amounts amounts;

        gr_quote quote;           /**< inherited by later attempts */
        gr_attempt cur;           /**< the current attempt */

        /* The rare parts — finished attempts, parked events and the two
         * packets — hang off one piece, allocated by the first of any.
         * Read them through gr_job_history()/gr_job_nhistory(),
         * gr_job_parked()/gr_job_nparked() and gr_job_seller()/
         * gr_job_buyer(); write through gr_job_more_mut(),
         * gr_job_seller_mut() and gr_job_buyer_mut(). */
        struct gr_job_more *more; /**< NULL: none of them */

        /* One block holds the string arena, then the duplicate set.
         *
         * The arena, arena[0..arena_cap): tagged strings of this job,
         * bump-allocated and compacted when full (gr_job.c).  The parties
         * live there too: a buyer or seller whose event was applied to the
         * job, i.e. who may read its receipt over HTTP
         * (consumers/gr_http_auth.h); not part of any canonical output or
         * hash.  Read them with gr_job_party().
         *
         * The duplicate set, seen_cap 64-bit slots right after the arena
         * (gr_job_seen_slots()): the SipHash values of event_id, 0 marking
         * an empty slot.  A small set is a plain array filled from the
         * front, a larger one an open-addressed hash set (gr_job.c). */
        char *arena;
        uint32_t arena_len, arena_cap;
        uint32_t nseen, seen_cap;
        char job_id[]; /**< in the job's own allocation (gr_job_new) */
} gr_job;

/** A job's rare parts (gr_job.more). */
typedef struct gr_job_more {
        gr_attempt_summary *history; /**< finished attempts, oldest first */
        gr_event **parked;           /**< owned copies, in arrival order */
        uint32_t nhistory;
        int nparked;
        /* The packets (inherited by later attempts), each its own piece
         * allocated by the first packet of its kind. */
        gr_seller_packet *seller; /**< NULL: no seller packet */
        gr_buyer_packet *buyer;   /**< NULL: no buyer packet */
        /* job times too far from the base, by GR_JT_ slot (GR_JT__CNT of
         * them, allocated by the first); a slot counts only while its
         * member is GR_JT_WIDE */
        int64_t *wide;
} gr_job_more;

/** @returns the job's rare parts to write, allocated (empty) by the first
 *  call, or NULL on ENOMEM. */
gr_job_more *gr_job_more_mut(gr_job *job);

/** Append a finished attempt to the job's history.  @returns 0, or -1 on
 *  ENOMEM (nothing changed). */
int gr_job_history_push(gr_job *job, const gr_attempt_summary *s);

/** Park ev (a malloc'd event the job then owns, freed with the job).
 *  @returns 0, or -1 on ENOMEM (nothing changed; ev stays the caller's). */
int gr_job_park(gr_job *job, gr_event *ev);

static inline uint32_t gr_job_nhistory(const gr_job *job) {
        return job->more ? job->more->nhistory : 0;
}
/** Finished attempts, oldest first (gr_job_nhistory() of them). */
static inline const gr_attempt_summary *gr_job_history(const gr_job *job) {
        return job->more ? job->more->history : NULL;
}
static inline int gr_job_nparked(const gr_job *job) {
        return job->more ? job->more->nparked : 0;
}
/** Parked events, in arrival order (gr_job_nparked() of them). */
static inline gr_event *const *gr_job_parked(const gr_job *job) {
        return job->more ? job->more->parked : NULL;
}

/** The absent packets (present = 0, no strings, no failure claimed). */
extern const gr_seller_packet gr_seller_packet_none;
extern const gr_buyer_packet gr_buyer_packet_none;

/** @returns the job's seller packet, or gr_seller_packet_none. */
static inline const gr_seller_packet *gr_job_seller(const gr_job *job) {
        return job->more && job->more->seller ? job->more->seller
                                              : &gr_seller_packet_none;
}
/** @returns the job's buyer packet, or gr_buyer_packet_none. */
static inline const gr_buyer_packet *gr_job_buyer(const gr_job *job) {
        return job->more && job->more->buyer ? job->more->buyer
                                             : &gr_buyer_packet_none;
}
/** @returns the job's seller packet to write, allocated (as
 *  gr_seller_packet_none) on first use; NULL on ENOMEM. */
gr_seller_packet *gr_job_seller_mut(gr_job *job);
/** @returns the job's buyer packet to write, allocated (as
 *  gr_buyer_packet_none) on first use; NULL on ENOMEM. */
gr_buyer_packet *gr_job_buyer_mut(gr_job *job);

/** @returns a new job in its initial state; caller frees with gr_job_destroy(). */
gr_job *gr_job_new(const char *job_id);
void gr_job_destroy(gr_job *job);

/**
 * @brief Replace the job string *dst (a gr_jstr member of job or of its
 *        quote, seller/buyer packet or cur) with a copy of src (NULL clears).
 *        src may be one of this job's own strings.
 * @returns 0, or -1 on ENOMEM (*dst unchanged).
 */
int gr_job_str_set(gr_job *job, gr_jstr *dst, const char *src);

/** @returns the string behind h in job (NULL when h is 0). */
static inline const char *gr_jstr_get(const gr_job *job, gr_jstr h) {
        if (!h)
                return NULL;
        if (h & GR_JSTR_SHARED)
                return gr_intern_at(h);
        return job->arena + h;
}
/** Shorthand: the string member m of job j, e.g. GR_JS(j, j->cur.command). */
#define GR_JS(j, m) gr_jstr_get((j), (m))

/** @returns the job time t (a member of job, in GR_JT_ slot k) in
 *  milliseconds, GR_TIME_NONE when absent. */
static inline int64_t gr_jtime_get(const gr_job *job, gr_jtime t, int k) {
        if (t == GR_JT_NONE)
                return GR_TIME_NONE;
        if (t == GR_JT_WIDE)
                return job->more->wide[k];
        return job->t_base + t;
}
/** Shorthand: the time member m of group g (cur or quote) of job j, e.g.
 *  GR_JT(j, cur, started_at). */
#define GR_JT(j, g, m) gr_jtime_get((j), (j)->g.m, GR_JT_##m)

/**
 * @brief Set the job time *dst (member of job, in GR_JT_ slot k) to v
 *        (GR_TIME_NONE clears it).
 * @returns 0, or -1 on ENOMEM (*dst unchanged).
 */
int gr_jtime_set(gr_job *job, gr_jtime *dst, int k, int64_t v);
/** Shorthand: set the time member m of group g of job j to v. */
#define GR_JT_SET(j, g, m, v) gr_jtime_set((j), &(j)->g.m, GR_JT_##m, (v))
/** Allocate the job's slots for far times now (gr_jtime_set then cannot
 *  fail).  @returns 0, or -1 on ENOMEM. */
int gr_job_wide_reserve(gr_job *job);

/** @returns the amounts of the job's current posture (job->amounts). */
gr_amounts gr_job_amounts(const gr_job *job);
/** Keep m as the amounts of the job's current posture.
 *  @returns 0, or -1 on ENOMEM (amounts unchanged). */
int gr_job_amounts_set(gr_job *job, const gr_amounts *m);

/** Reset an attempt to its initial statuses, without strings (their arena
 *  bytes come back at the next compaction). */
void gr_attempt_reset(gr_attempt *a);

/** The duplicate set's seen_cap slots (0: empty), NULL when it has none. */
static inline const uint64_t *gr_job_seen_slots(const gr_job *job) {
        return job->seen_cap ? (const uint64_t *)(const void *)(job->arena +
                                                                job->arena_cap)
                             : NULL;
}

/** Duplicate set: @returns 1 when gr_event_id_hash(event_id) == h was
 *  already seen. */
int gr_job_seen_hash(const gr_job *job, uint64_t h);
/** @returns 0, or -1 on ENOMEM. Also used by state restore. */
int gr_job_seen_add_hash(gr_job *job, uint64_t h);
uint64_t gr_event_id_hash(const char *event_id);

/**
 * @brief Remember that `id` acted as `role` on this job (only
 *        GR_ROLE_BUYER and GR_ROLE_SELLER are kept; others, an empty id,
 *        a party already known, or a full list are ignored).
 * @returns 0, or -1 on ENOMEM (nothing recorded).
 */
int gr_job_party_add(gr_job *job, gr_role_t role, const char *id);

/** @returns 1 when `id` acted as `role` on this job, else 0. */
int gr_job_is_party(const gr_job *job, gr_role_t role, const char *id);

/** @returns party i (0 <= i < job->nparties, first recorded first): its
 *  actor id (borrowed from the job), *role set to GR_ROLE_BUYER or
 *  GR_ROLE_SELLER; NULL when there is no party i. */
const char *gr_job_party(const gr_job *job, int i, gr_role_t *role);

/** Approximate heap bytes held by this job (for benchmarks). */
size_t gr_job_footprint(const gr_job *job);

#endif
