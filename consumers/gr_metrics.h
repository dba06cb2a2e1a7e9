/**
 * @file gr_metrics.h
 * @brief receiptd's embedded HTTP server (libmicrohttpd) and its metrics
 *        registry: Prometheus text at `/metrics`, `/healthz`, `/readyz` and
 *        the receipt of an owned job at `/jobs/JOB_ID` (HTML) and
 *        `/jobs/JOB_ID.json`, answered only to a request signed with a
 *        registered key allowed to read that job (gr_http_auth.h).
 *
 * Threads.  The server answers on its own threads.  Every setter below is
 * safe to call from any thread (counters and gauges are C11 atomics; the
 * per-partition snapshot bookkeeping takes a mutex), and cheap enough to
 * call once per record or batch.  The `/jobs/` callback is different: it
 * reads the daemon's job tables, which only the daemon thread may touch, so
 * the server never calls it itself.  It queues the request and the daemon
 * runs it from its own loop with gr_metrics_dispatch(); a request not
 * picked up within GR_METRICS_JOB_WAIT_MS is answered 503.
 *
 * Feeding the registry (see docs/OPERATIONS.md for each metric's meaning):
 *  - after each committed batch, per touched partition:
 *    gr_metrics_partition_stats_set() with gr_engine_stats() and the job
 *    count of that partition's engine — applied, duplicate, rejected by
 *    reason, parked now, ledger rows and open jobs come from there;
 *  - gr_metrics_partition_reset() whenever a partition's engine is
 *    destroyed (revoke, re-restore after an abort);
 *  - per input record: gr_metrics_event_in() with its type;
 *  - per decision: gr_metrics_decision_count();
 *  - per transaction commit: gr_metrics_commit_observe(); per abort:
 *    gr_metrics_abort_count();
 *  - per restore: gr_metrics_restore_observe(); per lag reading:
 *    gr_metrics_lag_set();
 *  - gr_metrics_set_ready(m, 1) once the assigned partitions are restored.
 *
 * Every function taking a gr_metrics accepts NULL and then does nothing
 * (returns 0), so a daemon with the server switched off needs no checks.
 */
#ifndef GR_METRICS_H
#define GR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_engine.h"
#include "gr_keys.h"
#include "gr_types.h"

/** Partitions 0..GR_METRICS_PARTITIONS_MAX-1 are tracked; setters for a
 *  higher partition number return -1 and change nothing. */
#define GR_METRICS_PARTITIONS_MAX 1024

/** How long a `/jobs/` request waits for gr_metrics_dispatch(). */
#define GR_METRICS_JOB_WAIT_MS 5000

/** gr_metrics_event_in() type for a record that did not decode. */
#define GR_METRICS_EVT_UNDECODABLE (-1)

typedef struct gr_metrics gr_metrics;

/** Server settings (receiptd fills them from metrics.* keys, gr_config.h). */
typedef struct gr_metrics_opts {
        /** "HOST:PORT" ("127.0.0.1:9464", "0.0.0.0:9464", "[::]:9464"), or
         *  ":PORT" for every IPv4 interface.  Port 0 binds an ephemeral
         *  port (see gr_metrics_port()).  Borrowed. */
        const char *listen;
        /** PEM text of the certificate chain and its private key: HTTPS
         *  (both or neither).  Copied by libmicrohttpd at start. */
        const char *tls_cert_pem, *tls_key_pem;
        /** `/metrics` answers only "Authorization: Bearer TOKEN"; NULL: open.
         *  Copied. */
        const char *token;
        /** Who may sign `/jobs/` requests (gr_http_auth.h); NULL: nobody.
         *  Borrowed: must outlive the server. */
        const gr_keyring *keyring;
        /** 1: `/jobs/` without signatures; refused unless listen is a
         *  loopback address. */
        int jobs_unsigned;
        int auth_window_s;          /**< signed request ts window, 1..86400 */
        size_t nonces_max;          /**< replay cache entries, >= 1 */
        unsigned max_connections;   /**< open connections at once, >= 1 */
        unsigned per_ip_connections; /**< per client address; 0 = no limit */
        unsigned timeout_s;          /**< idle connection timeout, >= 1 */
        size_t request_max_bytes;    /**< request line + headers, >= 1024 */
} gr_metrics_opts;

/** The defaults: signed /jobs/, window 300 s, 100000 nonces, 64
 *  connections, 16 per address, 10 s timeout, 16 KiB requests, no TLS,
 *  no token, listen unset. */
void gr_metrics_opts_default(gr_metrics_opts *o);

/**
 * @brief Start the server.
 * @returns the server (caller destroys), or NULL with errstr filled (bad
 *          address, port in use, unsigned access off loopback, TLS asked
 *          without TLS support or with a certificate that does not load,
 *          out of memory).
 */
gr_metrics *gr_metrics_new_opts(const gr_metrics_opts *o, char *errstr,
                                size_t errstr_size);

/** gr_metrics_new_opts() with the defaults and this listen address. */
gr_metrics *gr_metrics_new(const char *listen_addr, char *errstr,
                           size_t errstr_size);

/** Stop the server and free everything; NULL is a no-op.  Call it from
 *  the thread that calls gr_metrics_dispatch(), or after that stopped. */
void gr_metrics_destroy(gr_metrics *m);

/** @returns the TCP port actually bound. */
int gr_metrics_port(const gr_metrics *m);

/** `/readyz` answers 200 while ready != 0, else 503. Starts at 0. */
void gr_metrics_set_ready(gr_metrics *m, int ready);

/**
 * @brief The latest engine counters of one partition (s borrowed) and the
 *        number of jobs its engine holds.  Counters are kept monotonic:
 *        the increase since the previous snapshot of that partition is
 *        added; a snapshot lower than the previous one is taken as a new
 *        engine counting from zero.
 * @returns 0, or -1 when partition is out of range.
 */
int gr_metrics_partition_stats_set(gr_metrics *m, int32_t partition,
                                   const gr_stats *s, uint64_t open_jobs);

/** The partition's engine is gone (revoked or about to be rebuilt): its
 *  gauges (parked, open jobs, lag) vanish and its next snapshot counts
 *  from zero.  Totals so far are kept.  Out of range is a no-op. */
void gr_metrics_partition_reset(gr_metrics *m, int32_t partition);

/** Consumer lag of an input partition (high watermark - next offset). */
int gr_metrics_lag_set(gr_metrics *m, int32_t partition, int64_t lag);

/** One input record read: type is a gr_event_type_t, or
 *  GR_METRICS_EVT_UNDECODABLE.  Other values count as undecodable. */
void gr_metrics_event_in(gr_metrics *m, int type);

/** One decision published. */
void gr_metrics_decision_count(gr_metrics *m, gr_settlement_t s,
                               gr_rule_t rule);

/** One committed transaction (or, under at_least_once, one committed
 *  batch) and the seconds its commit took. */
void gr_metrics_commit_observe(gr_metrics *m, double seconds);

/** One aborted transaction / failed batch. */
void gr_metrics_abort_count(gr_metrics *m);

/** One partition restored from the state topic. */
int gr_metrics_restore_observe(gr_metrics *m, int32_t partition,
                               double seconds, uint64_t records,
                               uint64_t jobs);

/**
 * @brief `/jobs/JOB_ID` lookup, run by gr_metrics_dispatch() on the
 *        caller's thread.  The server then checks who may read the job
 *        (gr_http_may_read()) and renders it (HTML, or the receipt JSON
 *        of gr_receipt_to_json()) on that same thread, while the job is
 *        valid.
 * @param job_id NUL-terminated, URL-decoded, borrowed.
 * @returns the job (borrowed until the callback's caller returns), or NULL
 *          when this instance does not own it (404).
 */
typedef const gr_job *(gr_metrics_job_find)(void *opaque, const char *job_id);

/** Register the `/jobs/` lookup (NULL: `/jobs/` answers 404). */
void gr_metrics_job_finder_set(gr_metrics *m, gr_metrics_job_find *find,
                               void *opaque);

/**
 * @brief Run the pending `/jobs/` requests' callback on this thread.
 *        Cheap when nothing is pending (one atomic load); call it from the
 *        daemon's poll loop.
 * @returns the number of requests served.
 */
int gr_metrics_dispatch(gr_metrics *m);

/** The Prometheus text exposition (what `/metrics` serves), appended to
 *  out (borrowed). */
void gr_metrics_render(gr_metrics *m, gr_buf *out);

/** Restore state of an input partition, gr_partition_restored{partition}:
 *  1 restored (its input flows), 0 restoring, -1 not owned (the series
 *  vanishes).  Out of range is a no-op. */
void gr_metrics_partition_restored(gr_metrics *m, int32_t partition,
                                   int state);

#endif /* GR_METRICS_H */
