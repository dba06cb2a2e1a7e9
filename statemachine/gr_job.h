/**
 * @file gr_job.h
 * @brief One job's state: the receipt (one field group per layer, docs/SPEC.md §4),
 *        the ledger chain head, duplicate set and parked events.
 *
 * Only gr_fsm.c changes a job (through gr_fsm_apply()); everything else
 * reads it.  Strings are owned by the job (NULL = absent) and read as plain
 * `char *`; they are written only through gr_job_str_set() (or, for a job
 * being restored, gr_str_set()).  gr_job_str_set() keeps them in one
 * per-job block (the string arena) instead of one allocation each; every
 * job string is preceded by a hidden tag byte saying which kind it is, so
 * never free() one or point a field at a string the job does not own.
 */
#ifndef GR_JOB_H
#define GR_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "gr_event.h"
#include "gr_types.h"

#define GR_TIME_NONE INT64_MIN

typedef struct gr_quote {
        int present;
        uint32_t attempt; /**< attempt that brought it */
        char *quote_id, *provider_id, *gpu, *region, *driver_family;
        double vram_gb;
        int64_t window_start, window_end;
        int has_price;
        int64_t price_amount_minor;
        char *price_currency;
} gr_quote;

typedef struct gr_seller_packet {
        int present;
        char *packet_hash, *quote_id, *worker_id;
        int has_capacity_result;
        gr_result_t capacity_result;
        gr_failure_t failure_class; /**< GR_FAIL_NONE: no failure claimed */
} gr_seller_packet;

typedef struct gr_buyer_packet {
        int present;
        char *packet_hash, *container_image, *command, *model_hash,
            *input_manifest_hash, *expected_output_path, *evaluation_rule;
        double memory_budget_gb;
        gr_failure_t observed_failure_class; /**< GR_FAIL_NONE: none seen */
} gr_buyer_packet;

/** Per-attempt layers; reset when attempt n+1 begins. */
typedef struct gr_attempt {
        gr_capacity_t capacity;
        gr_exec_t execution;
        gr_output_t output;
        gr_eval_t evaluation;
        /* capacity lane */
        char *check, *worker_status, *capacity_detail;
        int has_vram_declared, has_vram_observed;
        double vram_declared_gb, vram_observed_gb;
        int64_t capacity_at;
        /* reservation */
        char *worker_id;
        /* execution lane */
        char *container_image, *command, *model_hash, *input_manifest_hash;
        int64_t started_at, failed_at, completed_at;
        gr_failure_t failure_class;
        char *stderr_class;
        int output_written; /**< -1 unknown */
        int has_peak_vram, has_gpu_seconds;
        int64_t peak_vram_mb;
        double gpu_seconds;
        /* output and evaluation lanes */
        char *output_hash, *output_path, *evaluation_rule;
        int64_t delivered_at, evaluated_at;
        /* flags read by the rules */
        int cancelled, expired, reviewed;
        gr_exec_t cancelled_exec; /**< execution when the cancel came (R2, R12) */
        int64_t cancelled_at, reviewed_at;
        gr_settlement_t review_settlement;
        char *review_note;
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
        gr_capacity_t capacity;
        gr_exec_t execution;
        gr_output_t output;
        gr_eval_t evaluation;
        gr_failure_t failure_class;
        gr_settlement_t settlement;
        gr_retry_t retry;
        gr_reason_t reason;
        gr_rule_t rule;
        gr_amounts amounts;
} gr_attempt_summary;

/** Most parties (buyer or seller actor ids) a job remembers; later new
 *  ones are not recorded (the receipt page then refuses them). */
#define GR_JOB_PARTIES_MAX 16

/** A buyer or seller whose event was applied to the job: who may read its
 *  receipt over HTTP (consumers/gr_http_auth.h).  Not part of any
 *  canonical output or hash. */
typedef struct gr_party {
        gr_role_t role; /**< GR_ROLE_BUYER or GR_ROLE_SELLER */
        char *id;       /**< actor.id, a job string (gr_job_str_set) */
} gr_party;

typedef struct gr_job {
        char *job_id;
        uint32_t attempt;  /**< current attempt, >= 1 */
        int64_t time;      /**< job time: latest applied occurred_at */
        uint64_t seq;      /**< ledger seq of the last row (0 = none) */
        uint8_t chain[32]; /**< row_hash of the last row (zeros = none) */
        int free_retries_used;

        /* settlement lane: the last decision (pending/none/in_progress
         * before any) */
        gr_settlement_t settlement;
        gr_retry_t retry;
        gr_reason_t reason;
        gr_rule_t rule;
        int posture_locked; /**< I5: refund/release/partial_refund decided
                                 in the current attempt */
        gr_amounts amounts; /**< of the current posture; kept while locked */
        uint64_t decisions; /**< decisions published so far */

        gr_quote quote;           /**< inherited by later attempts */
        /* The packets (inherited by later attempts) are rare: each is its
         * own piece, allocated by the first packet of its kind.  Read them
         * through gr_job_seller()/gr_job_buyer(), which never return NULL. */
        gr_seller_packet *seller_pkt; /**< NULL: no seller packet */
        gr_buyer_packet *buyer_pkt;   /**< NULL: no buyer packet */
        gr_attempt cur;           /**< the current attempt */

        gr_attempt_summary *history; /**< finished attempts, oldest first */
        size_t nhistory;

        /* duplicate detection: open-addressed set of 64-bit SipHash values
         * of event_id (0 marks an empty slot) */
        uint64_t *seen;
        size_t nseen, seen_cap;

        gr_event **parked; /**< owned copies, in arrival order */
        int nparked;

        gr_party *parties; /**< buyer/seller actor ids seen, first first */
        int nparties;

        /* the string arena: tagged strings of this job, bump-allocated and
         * compacted when full (gr_job.c) */
        char *arena;
        uint32_t arena_len, arena_cap;
} gr_job;

/** The absent packets (present = 0, no strings, no failure claimed). */
extern const gr_seller_packet gr_seller_packet_none;
extern const gr_buyer_packet gr_buyer_packet_none;

/** @returns the job's seller packet, or gr_seller_packet_none. */
static inline const gr_seller_packet *gr_job_seller(const gr_job *job) {
        return job->seller_pkt ? job->seller_pkt : &gr_seller_packet_none;
}
/** @returns the job's buyer packet, or gr_buyer_packet_none. */
static inline const gr_buyer_packet *gr_job_buyer(const gr_job *job) {
        return job->buyer_pkt ? job->buyer_pkt : &gr_buyer_packet_none;
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
 * @brief Replace the job string field *dst (a `char *` member of job or of
 *        its quote, seller/buyer packet or cur) with a copy of src (NULL clears),
 *        kept in the job's string arena.
 * @returns 0, or -1 on ENOMEM (*dst unchanged).
 */
int gr_job_str_set(gr_job *job, char **dst, const char *src);

/** Replace the job string field *dst with its own heap copy of src (NULL
 *  clears): for code that fills a job without the job at hand (state
 *  restore, tests).  gr_job_str_set() is the faster way in.
 *  @returns -1 on ENOMEM. */
int gr_str_set(char **dst, const char *src);

/** Release the strings of an attempt and reset it to its initial statuses. */
void gr_attempt_reset(gr_attempt *a);

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

/** Approximate heap bytes held by this job (for benchmarks). */
size_t gr_job_footprint(const gr_job *job);

#endif
