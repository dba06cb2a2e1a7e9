/* Shared by the files of receiptd's metrics registry and HTTP server
 * (gr_metrics.c: counters and exposition; gr_http_jobs.c: the /jobs/
 * request queue between the server's threads and the daemon's; gr_http.c:
 * the libmicrohttpd server).  Not part of the interface: gr_metrics.h is.
 *
 * Counters and gauges are relaxed C11 atomics: a scrape may see one batch's
 * counters half-added, which Prometheus tolerates (the next scrape is
 * consistent); what it must never see is a counter going down, and nothing
 * here ever subtracts from one. */
#ifndef GR_METRICS_PRIV_H
#define GR_METRICS_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "gr_http_auth.h"
#include "gr_metrics.h"

#define U64 atomic_uint_fast64_t
#define NBUCKETS 14

typedef struct part_metrics {
        atomic_int used;     /* has a live engine snapshot */
        atomic_int has_lag;
        atomic_int has_restore;
        U64 parked_now;
        U64 open_jobs;
        atomic_int_fast64_t lag;
        U64 restore_last_us;
        atomic_int restored; /* gr_metrics_partition_restored() + 1 */
        /* writer side, under m->lock */
        int have_prev;
        gr_stats prev;
} part_metrics;

/* Status codes counted by gr_http_requests_total{code} (gr_http.c); others
 * count as "other". */
#define NCODES 9
extern const unsigned gr_metrics_http_codes[NCODES];
/* MHD_RequestTerminationCode values 0..5, by gr_http_requests_unanswered
 * reason (gr_http.c). */
#define NTERM 6
extern const char *const gr_metrics_term_names[NTERM];

typedef enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE } req_state_t;

typedef struct job_req {
        char job_id[GR_ID_MAX];
        int json;
        gr_http_principal who;
        gr_buf out;
        int rc;
        req_state_t state;
        struct job_req *next;
} job_req;

struct gr_metrics {
        struct MHD_Daemon *d;
        int port;
        atomic_int ready;

        /* totals */
        U64 events_in[GR_EVT__CNT + 1]; /* [GR_EVT__CNT] = undecodable */
        U64 applied, duplicates, ledger_rows, engine_events;
        U64 rejected_by[GR_REJ__CNT];
        U64 decisions[GR_SETTLE__CNT][GR_RULE__CNT];
        U64 commit_bucket[NBUCKETS + 1]; /* non-cumulative; last = +Inf */
        U64 commit_sum_us;
        U64 aborts;
        U64 restores, restore_us, restore_records, restore_jobs;
        part_metrics *parts; /* [GR_METRICS_PARTITIONS_MAX] */

        /* HTTP */
        U64 http_started;
        U64 http_codes[NCODES + 1]; /* [NCODES] = other */
        U64 http_unanswered[NTERM];
        U64 auth_failures[GR_AUTH__CNT];
        U64 http_conns_total;
        atomic_int_fast64_t http_conns_open;
        const gr_keyring *keyring; /* borrowed */
        gr_nonce_cache *nonces;    /* NULL with jobs_unsigned */
        int jobs_unsigned, auth_window_s;
        char *token; /* /metrics bearer token, or NULL */

        pthread_mutex_t lock; /* parts' writer side and the job queue */
        pthread_cond_t cond;
        gr_metrics_job_find *job_find;
        void *job_opaque;
        job_req *queue;
        atomic_int pending;
        int stopping;
};

static inline void add(U64 *c, uint64_t v) {
        if (v)
                atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t ld(U64 *c) {
        return atomic_load_explicit(c, memory_order_relaxed);
}

/* gr_http_jobs.c: queue a /jobs/ lookup for gr_metrics_dispatch() and wait
 * for it (at most GR_METRICS_JOB_WAIT_MS while it is not picked up).
 * Returns the HTTP status; on 200 r->out holds the page. */
unsigned gr_http_job_lookup(gr_metrics *m, job_req *r);

#endif /* GR_METRICS_PRIV_H */
