/**
 * @file gr_verify_pool.h
 * @brief receiptd's event verification pool: a fixed set of
 *        threads that run gr_event_authenticate() over a decoded batch,
 *        so signature checks (~50 µs each, everything else ~1 µs) scale
 *        with cores while the caller still applies the batch in order.
 *
 * One call verifies a whole batch: the calling thread works too, the
 * workers take chunks of the batch by an atomic cursor, and the call
 * returns when every event has its result.  Results land in the caller's
 * arrays at the event's own index, so applying them in index order keeps
 * each partition's original order.  With threads = 1 there are no worker
 * threads at all and the caller verifies alone.
 *
 * The policy and the keyring are borrowed and only read (gr_sign.h:
 * thread-safe); they must outlive the pool.  One batch at a time: the pool
 * itself is not re-entrant.
 */
#ifndef GR_VERIFY_POOL_H
#define GR_VERIFY_POOL_H

#include <stddef.h>

#include "gr_event.h"
#include "gr_keys.h"
#include "gr_policy.h"

typedef struct gr_verify_pool gr_verify_pool;

/** Largest thread count accepted (verify.threads). */
#define GR_VERIFY_THREADS_MAX 256

/**
 * @brief Start threads - 1 worker threads (the caller is the last one).
 * @param pol, kr borrowed; kr may be NULL (required signatures then fail
 *        `unknown_key`, as gr_event_authenticate() documents).
 * @returns the pool (caller destroys) or NULL with errstr filled (bad
 *          thread count, thread creation failed, ENOMEM).
 */
gr_verify_pool *gr_verify_pool_new(int threads, const gr_policy *pol,
                                   const gr_keyring *kr, char *errstr,
                                   size_t errstr_size);

/** Stop and join the workers.  NULL is a no-op. */
void gr_verify_pool_destroy(gr_verify_pool *vp);

/** Number of threads that verify (workers + the caller). */
int gr_verify_pool_threads(const gr_verify_pool *vp);

/**
 * @brief Authenticate evs[i] for every i < n with evs[i] != NULL (NULL
 *        entries are skipped and their rc left untouched): rc[i] = 0 when
 *        the event may proceed, -1 with errs[i] filled otherwise.
 * @param evs, rc, errs caller's arrays of n entries; the events are only
 *        read.
 */
void gr_verify_pool_run(gr_verify_pool *vp, gr_event *const *evs, int *rc,
                        gr_err *errs, size_t n);

#endif
