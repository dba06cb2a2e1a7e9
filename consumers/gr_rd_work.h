/*
 * receiptd's processing workers, without Kafka (unit-tested alone):
 *
 *   grd_split   deals a batch's records to workers by whole partitions,
 *               so each partition's records stay on one worker, in order;
 *   grd_pool    a fork-join pool: the caller and threads-1 threads run
 *               one function each, and the call returns when all did.
 */
#ifndef GR_RD_WORK_H
#define GR_RD_WORK_H

#include <stddef.h>
#include <stdint.h>

/* Most workers a pool takes (processing.threads is checked against
 * the same bound, GR_PROCESSING_THREADS_MAX). */
#define GRD_THREADS_MAX 64

/*
 * Group n records by partition (part[i] of record i) and deal whole
 * partitions to nw workers: the partition with the most records first, to
 * the worker with the fewest so far (ties: lower partition, lower worker),
 * so the split is deterministic.  A partition outside [0, nparts) goes to
 * worker 0.
 *
 * Out: order[start[w] .. start[w+1]) are worker w's record indexes in
 * ascending order (so each partition's records keep their order);
 * start has nw + 1 entries.  @returns 0, -1 out of memory or bad arguments
 * (nw < 1, nparts < 0).
 */
int grd_split(const int32_t *part, size_t n, int32_t nparts, int nw,
              size_t *order, size_t *start);

typedef struct grd_pool grd_pool;
/* One worker's share: w in [0, threads). */
typedef void (*grd_pool_fn)(void *arg, int w);

/* threads in [1, GRD_THREADS_MAX]; threads - 1 threads are started (the
 * caller of grd_pool_run is worker 0).  NULL: bad count or out of
 * resources. */
grd_pool *grd_pool_new(int threads);
int grd_pool_threads(const grd_pool *p);
/* fn(arg, w) for every worker, concurrently; returns when all returned.
 * One caller at a time. */
void grd_pool_run(grd_pool *p, grd_pool_fn fn, void *arg);
/* Stops and joins the threads (each frees its hashing and FSM scratch);
 * NULL is a no-op. */
void grd_pool_destroy(grd_pool *p);

#endif
