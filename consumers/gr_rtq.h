/**
 * @file gr_rtq.h
 * @brief A queue of partition restores run one after another on one
 *        background thread, so that restoring a newly assigned partition
 *        never blocks the partitions already being processed.
 *
 * The owner (receiptd's run loop) submits a task per partition, takes the
 * finished ones back and cancels the ones it no longer wants (the
 * partition was revoked).  What a task does is the run function's: it
 * runs on the worker thread, reads t->partition, fills t->rc and
 * t->result, and should give up soon after t->cancel reads non-zero.
 *
 * Ownership: a submitted task belongs to the queue until gr_rtq_take()
 * returns it (the caller then frees it with gr_rtq_task_free()) or
 * gr_rtq_cancel() hands it back for good.  A cancelled task is never
 * returned by gr_rtq_take(); if it was running, the worker frees it when
 * its run function returns.  The free function releases t->result of
 * every task freed (it may be NULL).
 */
#ifndef GR_RTQ_H
#define GR_RTQ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_rtq gr_rtq;

typedef struct gr_rtask {
        int32_t partition;
        atomic_int cancel; /**< non-zero: give up (set by gr_rtq_cancel) */
        int rc;            /**< the run function's result */
        void *result;      /**< the run function's product, or NULL */
        /* the queue's */
        int state, orphan;
        struct gr_rtask *next;
} gr_rtask;

/** Runs on the worker thread. */
typedef void(gr_rtq_run_fn)(void *opaque, gr_rtask *t);
/** Frees t->result (any thread). */
typedef void(gr_rtq_free_fn)(void *opaque, gr_rtask *t);
/** Called on the worker thread after a task finished (may be NULL): the
 *  owner's cue to call gr_rtq_take(). */
typedef void(gr_rtq_wake_fn)(void *opaque);

/** @returns the queue with its thread started, or NULL (errno-style
 *  failure: out of memory or no thread). */
gr_rtq *gr_rtq_new(gr_rtq_run_fn *run, gr_rtq_free_fn *free_result,
                   gr_rtq_wake_fn *wake, void *opaque);

/** Queue a restore of partition (FIFO).  @returns the task, or NULL when
 *  out of memory. */
gr_rtask *gr_rtq_submit(gr_rtq *q, int32_t partition);

/** The owner no longer wants t: a queued or finished task is freed now, a
 *  running one is told to stop and freed by the worker. */
void gr_rtq_cancel(gr_rtq *q, gr_rtask *t);

/** @returns the oldest finished task not cancelled (the caller's now), or
 *  NULL.  Cheap: one uncontended lock. */
gr_rtask *gr_rtq_take(gr_rtq *q);

/** Free a task returned by gr_rtq_take() and its result. */
void gr_rtq_task_free(gr_rtq *q, gr_rtask *t);

/** Tasks not yet taken or cancelled (queued, running, finished). */
size_t gr_rtq_count(gr_rtq *q);

/** Cancel everything, stop and join the thread, free; NULL is a no-op. */
void gr_rtq_destroy(gr_rtq *q);

#endif
