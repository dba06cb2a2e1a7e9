/**
 * @file gr_amounts.h
 * @brief What a settlement posture means for the attempt's money
 *        (docs/SPEC.md §6 "Amounts"): the one place that table lives.
 *
 * Integer minor units only; partial refunds are prorated in exact integer
 * milliseconds with a 128-bit intermediate, so every implementation gets
 * the same number for any int64 price.
 */
#ifndef GR_AMOUNTS_H
#define GR_AMOUNTS_H

#include <stdint.h>

#include "gr_job.h"
#include "gr_rules.h"

/**
 * @brief floor(a * b / c) for 0 <= a, 0 <= b <= c, c > 0, exact (no
 *        overflow: the result is at most a).  @returns 0 when c <= 0.
 */
int64_t gr_muldiv_floor(int64_t a, int64_t b, int64_t c);

/**
 * @brief The milliseconds the buyer held the machine in the current
 *        attempt for a partial_refund decided by `rule` at event time
 *        `now`, clamped to [0, window].
 */
int64_t gr_amounts_used_ms(const gr_job *job, gr_rule_t rule, int64_t now);

/**
 * @brief Amounts of the posture `v` for the job's current attempt, decided
 *        at event time `now`.  present = 0 when the quote has no price.
 */
gr_amounts gr_amounts_of(const gr_job *job, const gr_verdict *v, int64_t now);

/** @returns 1 when a and b say the same (both null, or the same currency
 *  and numbers). */
int gr_amounts_equal(const gr_amounts *a, const gr_amounts *b);

#endif
