/**
 * @file gr_window_clock.h
 * @brief The policy's `window_clock` (docs/SPEC.md §5): receiptd closes
 *        reservation windows that passed on the wall clock by publishing
 *        `reservation_expired` into the input topic, so the log stays the
 *        whole truth and a replay of it decides the same.
 *
 * The event of a job's attempt always has the same event_id
 * (`window-clock:` + the first 32 hex digits of SHA-256 of
 * `job_id "\n" attempt`), so a second copy — published again after a
 * restart or a rebalance, before the first came back — is a duplicate and
 * changes nothing.  Within one process a job is published at most once
 * until its event has been applied.
 *
 * Events go through a producer of their own (idempotent, not
 * transactional): they are input, not outputs of the batch in hand.
 */
#ifndef GR_WINDOW_CLOCK_H
#define GR_WINDOW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "gr_event.h"
#include "gr_job.h"

typedef struct gr_window_clock gr_window_clock;

/**
 * @param conf producer configuration (taken over, also on failure); must
 *        not carry a transactional.id
 * @param topic the input topic (copied)
 */
gr_window_clock *gr_window_clock_new(rd_kafka_conf_t *conf, const char *topic,
                                     char *errstr, size_t errstr_size);
void gr_window_clock_destroy(gr_window_clock *c);

/** Build the `reservation_expired` event of the job's current attempt at
 *  wall time now_ms.  @returns 0, or -1 with err filled. */
int gr_window_clock_event(const gr_job *job, int64_t now_ms, gr_event *ev,
                          gr_err *err);

/** Start a sweep (forget jobs of the previous sweep that are no longer due). */
void gr_window_clock_sweep_begin(gr_window_clock *c);

/**
 * @brief Publish the event for `job` to `partition` of the input topic
 *        unless this process already did (and the job is still due).
 *        Call only for jobs gr_window_clock_due() says are due.
 * @returns 1 published, 0 already published, -1 failed (errstr).
 */
int gr_window_clock_publish(gr_window_clock *c, const gr_job *job,
                            int32_t partition, int64_t now_ms, char *errstr,
                            size_t errstr_size);

/** End a sweep; serves delivery reports. @returns events published so far. */
uint64_t gr_window_clock_sweep_end(gr_window_clock *c);

#endif
