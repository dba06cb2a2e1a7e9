/**
 * @file gr_policy.h
 * @brief The settlement policy (docs/SPEC.md §5): retry counts, rule switches, park
 *        limits, signature requirements.  Loaded from JSON text; its SHA-256
 *        is stamped into every decision so each names the contract it used.
 *
 * The model and its defaults only; the file is parsed in
 * schemas/gr_policy_json.h.
 *
 * Policy file (every key optional, unknown keys are an error):
 * @code
 * {"free_retries_per_job": 1,        // R7/R8
 *  "park_limit": 16,                 // parked events per job
 *  "park_timeout_seconds": 3600,     // in event time
 *  "require_signatures": false,      // or {"roles":["seller"],"types":["review_decided"]}
 *  "window_clock": false,            // receiptd publishes reservation_expired
 *  "retention_seconds": 604800,      // settled jobs leave memory after this
 *                                    // much event time (0 = never)
 *  "rules": {"R5": true, ...}}       // switch single rules off
 * @endcode
 */
#ifndef GR_POLICY_H
#define GR_POLICY_H

#include <stdint.h>
#include <stddef.h>

#include "gr_types.h"

typedef struct gr_policy {
        int free_retries_per_job;
        int park_limit;
        int64_t park_timeout_ms;
        unsigned require_sig_roles; /**< bit (1 << gr_role_t) */
        unsigned require_sig_types; /**< bit (1 << gr_event_type_t) */
        int window_clock;
        int64_t retention_ms; /**< settled jobs evicted after this (0 = keep) */
        int rule_enabled[GR_RULE__CNT];
        char hash[65]; /**< hex SHA-256 of the policy bytes */
} gr_policy;

/** SPEC defaults; hash is the SHA-256 of gr_policy_default_json(). */
void gr_policy_default(gr_policy *p);

/** The default policy as JSON text (borrowed static string). */
const char *gr_policy_default_json(void);

/** The defaults without a hash (a loader fills it from its bytes). */
void gr_policy_init(gr_policy *p);

/** @returns 1 when the policy requires a signature on this event. */
int gr_policy_requires_sig(const gr_policy *p, gr_event_type_t type,
                           gr_role_t role);

#endif
