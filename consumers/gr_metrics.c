/* The metrics registry and its HTTP server (see gr_metrics.h).
 *
 * Counters and gauges are relaxed C11 atomics: a scrape may see one batch's
 * counters half-added, which Prometheus tolerates (the next scrape is
 * consistent); what it must never see is a counter going down, and nothing
 * here ever subtracts from one. */
#include "gr_metrics.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <sodium.h>

#include "gr_html.h"
#include "gr_http_auth.h"
#include "gr_output.h"

#ifndef GR_METRICS_VERSION
#define GR_METRICS_VERSION "unknown"
#endif

#define U64 atomic_uint_fast64_t
#define NBUCKETS 14

/* Transaction commit latency buckets (seconds): a commit is a few broker
 * round trips, so milliseconds to tens of seconds (transaction.timeout). */
static const double bucket_le[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,  0.1,    0.25,  0.5,  1,
                                           2.5,   5,      10,    30};

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

/* Status codes counted by gr_http_requests_total{code}; others count as
 * "other". */
static const unsigned http_codes[] = {200, 400, 401, 403, 404,
                                      405, 413, 500, 503};
#define NCODES ((int)(sizeof(http_codes) / sizeof(http_codes[0])))
/* MHD_RequestTerminationCode values 0..5, by gr_http_requests_unanswered
 * reason. */
#define NTERM 6
static const char *const term_names[NTERM] = {
    "server_reply", "error", "timeout", "shutdown", "read_error",
    "client_abort"};

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

static void add(U64 *c, uint64_t v) {
        if (v)
                atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static uint64_t ld(U64 *c) {
        return atomic_load_explicit(c, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Setters                                                             */

void gr_metrics_set_ready(gr_metrics *m, int ready) {
        if (!m)
                return;
        atomic_store(&m->ready, ready ? 1 : 0);
}

/* Every counter of b is >= its counterpart in a. */
static int stats_monotone(const gr_stats *a, const gr_stats *b) {
        if (b->events_in < a->events_in || b->applied < a->applied ||
            b->duplicates < a->duplicates || b->rejected < a->rejected ||
            b->ledger_rows < a->ledger_rows || b->decisions < a->decisions)
                return 0;
        for (int i = 0; i < GR_REJ__CNT; i++)
                if (b->rejected_by[i] < a->rejected_by[i])
                        return 0;
        return 1;
}

int gr_metrics_partition_stats_set(gr_metrics *m, int32_t partition,
                                   const gr_stats *s, uint64_t open_jobs) {
        static const gr_stats zero;
        part_metrics *p;
        const gr_stats *base;

        if (!m)
                return 0;
        if (partition < 0 || partition >= GR_METRICS_PARTITIONS_MAX)
                return -1;
        p = &m->parts[partition];
        pthread_mutex_lock(&m->lock);
        base = p->have_prev && stats_monotone(&p->prev, s) ? &p->prev : &zero;
        add(&m->engine_events, s->events_in - base->events_in);
        add(&m->applied, s->applied - base->applied);
        add(&m->duplicates, s->duplicates - base->duplicates);
        add(&m->ledger_rows, s->ledger_rows - base->ledger_rows);
        for (int i = 0; i < GR_REJ__CNT; i++)
                add(&m->rejected_by[i],
                    s->rejected_by[i] - base->rejected_by[i]);
        p->prev = *s;
        p->have_prev = 1;
        atomic_store_explicit(&p->parked_now, s->parked_now,
                              memory_order_relaxed);
        atomic_store_explicit(&p->open_jobs, open_jobs, memory_order_relaxed);
        atomic_store(&p->used, 1);
        pthread_mutex_unlock(&m->lock);
        return 0;
}

void gr_metrics_partition_reset(gr_metrics *m, int32_t partition) {
        part_metrics *p;

        if (!m)
                return;
        if (partition < 0 || partition >= GR_METRICS_PARTITIONS_MAX)
                return;
        p = &m->parts[partition];
        pthread_mutex_lock(&m->lock);
        p->have_prev = 0;
        atomic_store(&p->used, 0);
        atomic_store(&p->has_lag, 0);
        atomic_store(&p->parked_now, 0);
        atomic_store(&p->open_jobs, 0);
        pthread_mutex_unlock(&m->lock);
}

int gr_metrics_lag_set(gr_metrics *m, int32_t partition, int64_t lag) {
        part_metrics *p;

        if (!m)
                return 0;
        if (partition < 0 || partition >= GR_METRICS_PARTITIONS_MAX)
                return -1;
        p = &m->parts[partition];
        atomic_store_explicit(&p->lag, lag < 0 ? 0 : lag,
                              memory_order_relaxed);
        atomic_store(&p->has_lag, 1);
        return 0;
}

void gr_metrics_event_in(gr_metrics *m, int type) {
        if (!m)
                return;
        if (type < 0 || type >= GR_EVT__CNT)
                type = GR_EVT__CNT;
        add(&m->events_in[type], 1);
}

void gr_metrics_decision_count(gr_metrics *m, gr_settlement_t s,
                               gr_rule_t rule) {
        if (!m)
                return;
        if ((int)s < 0 || s >= GR_SETTLE__CNT || (int)rule < 0 ||
            rule >= GR_RULE__CNT)
                return;
        add(&m->decisions[s][rule], 1);
}

void gr_metrics_commit_observe(gr_metrics *m, double seconds) {
        int b = 0;

        if (!m)
                return;
        if (!(seconds >= 0)) /* NaN or negative: a clock went backwards */
                seconds = 0;
        while (b < NBUCKETS && seconds > bucket_le[b])
                b++;
        add(&m->commit_bucket[b], 1);
        add(&m->commit_sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

void gr_metrics_abort_count(gr_metrics *m) {
        if (!m)
                return;
        add(&m->aborts, 1);
}

int gr_metrics_restore_observe(gr_metrics *m, int32_t partition,
                               double seconds, uint64_t records,
                               uint64_t jobs) {
        uint64_t us;

        if (!m)
                return 0;
        if (partition < 0 || partition >= GR_METRICS_PARTITIONS_MAX)
                return -1;
        if (!(seconds >= 0))
                seconds = 0;
        us = (uint64_t)(seconds * 1e6 + 0.5);
        add(&m->restores, 1);
        add(&m->restore_us, us);
        add(&m->restore_records, records);
        add(&m->restore_jobs, jobs);
        atomic_store(&m->parts[partition].restore_last_us, us);
        atomic_store(&m->parts[partition].has_restore, 1);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Exposition                                                          */

static void head(gr_buf *o, const char *name, const char *type,
                 const char *help) {
        gr_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                      type);
}

static void secs(gr_buf *o, uint64_t us) {
        gr_buf_printf(o, "%llu.%06llu", (unsigned long long)(us / 1000000),
                      (unsigned long long)(us % 1000000));
}

static void render_restored(gr_metrics *m, gr_buf *o);

void gr_metrics_render(gr_metrics *m, gr_buf *o) {
        uint64_t cum = 0, assigned = 0;

        if (!m)
                return;
        head(o, "gr_build_info", "gauge",
             "Always 1; the version label names the receiptd build.");
        gr_buf_puts(o, "gr_build_info{version=\"" GR_METRICS_VERSION "\"} 1\n");
        head(o, "gr_ready", "gauge",
             "1 once the assigned partitions' state is restored (/readyz).");
        gr_buf_printf(o, "gr_ready %d\n", atomic_load(&m->ready));

        head(o, "gr_events_in_total", "counter",
             "Input records read, by event type (undecodable: did not "
             "decode).");
        for (int i = 0; i <= GR_EVT__CNT; i++)
                gr_buf_printf(o, "gr_events_in_total{type=\"%s\"} %llu\n",
                              i == GR_EVT__CNT
                                  ? "undecodable"
                                  : gr_event_type_t_name((gr_event_type_t)i),
                              (unsigned long long)ld(&m->events_in[i]));
        head(o, "gr_events_applied_total", "counter",
             "Events applied to a job (including parked events applied "
             "later).");
        gr_buf_printf(o, "gr_events_applied_total %llu\n",
                      (unsigned long long)ld(&m->applied));
        head(o, "gr_events_duplicate_total", "counter",
             "Events whose event_id was already seen (counted, not "
             "rejected).");
        gr_buf_printf(o, "gr_events_duplicate_total %llu\n",
                      (unsigned long long)ld(&m->duplicates));
        head(o, "gr_events_rejected_total", "counter",
             "Events rejected to the DLQ, by SPEC reason.");
        for (int i = 0; i < GR_REJ__CNT; i++)
                gr_buf_printf(o,
                              "gr_events_rejected_total{reason=\"%s\"} %llu\n",
                              gr_reject_t_name((gr_reject_t)i),
                              (unsigned long long)ld(&m->rejected_by[i]));
        head(o, "gr_events_parked", "gauge",
             "Events parked now, waiting for their precondition, by input "
             "partition.");
        for (int i = 0; i < GR_METRICS_PARTITIONS_MAX; i++)
                if (atomic_load(&m->parts[i].used))
                        gr_buf_printf(o,
                                      "gr_events_parked{partition=\"%d\"} "
                                      "%llu\n",
                                      i,
                                      (unsigned long long)ld(
                                          &m->parts[i].parked_now));
        head(o, "gr_engine_events_total", "counter",
             "Events the engines accounted for (applied + duplicate + "
             "rejected + parked).");
        gr_buf_printf(o, "gr_engine_events_total %llu\n",
                      (unsigned long long)ld(&m->engine_events));
        head(o, "gr_ledger_rows_total", "counter",
             "Ledger rows produced (one per accepted transition).");
        gr_buf_printf(o, "gr_ledger_rows_total %llu\n",
                      (unsigned long long)ld(&m->ledger_rows));

        head(o, "gr_decisions_total", "counter",
             "Settlement decisions published, by settlement and deciding "
             "rule.");
        for (int s = 0; s < GR_SETTLE__CNT; s++)
                for (int r = 0; r < GR_RULE__CNT; r++) {
                        uint64_t v = ld(&m->decisions[s][r]);
                        if (v)
                                gr_buf_printf(
                                    o,
                                    "gr_decisions_total{settlement=\"%s\","
                                    "rule=\"%s\"} %llu\n",
                                    gr_settlement_t_name((gr_settlement_t)s),
                                    gr_rule_t_name((gr_rule_t)r),
                                    (unsigned long long)v);
                }

        head(o, "gr_txn_commit_seconds", "histogram",
             "Time to commit one batch (its Kafka transaction under "
             "exactly_once).");
        {
                uint64_t b[NBUCKETS + 1];
                for (int i = 0; i <= NBUCKETS; i++)
                        b[i] = ld(&m->commit_bucket[i]);
                for (int i = 0; i < NBUCKETS; i++) {
                        cum += b[i];
                        gr_buf_printf(o,
                                      "gr_txn_commit_seconds_bucket{le=\"%g\"}"
                                      " %llu\n",
                                      bucket_le[i], (unsigned long long)cum);
                }
                cum += b[NBUCKETS];
                gr_buf_printf(o,
                              "gr_txn_commit_seconds_bucket{le=\"+Inf\"} "
                              "%llu\n",
                              (unsigned long long)cum);
                gr_buf_puts(o, "gr_txn_commit_seconds_sum ");
                secs(o, ld(&m->commit_sum_us));
                gr_buf_printf(o, "\ngr_txn_commit_seconds_count %llu\n",
                              (unsigned long long)cum);
        }
        head(o, "gr_txn_aborts_total", "counter",
             "Aborted transactions / failed batches (input rewound and "
             "redone).");
        gr_buf_printf(o, "gr_txn_aborts_total %llu\n",
                      (unsigned long long)ld(&m->aborts));

        head(o, "gr_consumer_lag", "gauge",
             "Input records not yet processed, by owned input partition.");
        for (int i = 0; i < GR_METRICS_PARTITIONS_MAX; i++)
                if (atomic_load(&m->parts[i].has_lag))
                        gr_buf_printf(o,
                                      "gr_consumer_lag{partition=\"%d\"} "
                                      "%lld\n",
                                      i,
                                      (long long)atomic_load(
                                          &m->parts[i].lag));

        head(o, "gr_restores_total", "counter",
             "Partitions restored from the state topic.");
        gr_buf_printf(o, "gr_restores_total %llu\n",
                      (unsigned long long)ld(&m->restores));
        head(o, "gr_restore_seconds_total", "counter",
             "Wall time spent restoring partitions.");
        gr_buf_puts(o, "gr_restore_seconds_total ");
        secs(o, ld(&m->restore_us));
        gr_buf_putc(o, '\n');
        head(o, "gr_restore_records_total", "counter",
             "State records read while restoring.");
        gr_buf_printf(o, "gr_restore_records_total %llu\n",
                      (unsigned long long)ld(&m->restore_records));
        head(o, "gr_restore_jobs_total", "counter",
             "Jobs brought back into memory by restores.");
        gr_buf_printf(o, "gr_restore_jobs_total %llu\n",
                      (unsigned long long)ld(&m->restore_jobs));
        head(o, "gr_restore_last_seconds", "gauge",
             "Duration of the latest restore, by partition.");
        for (int i = 0; i < GR_METRICS_PARTITIONS_MAX; i++)
                if (atomic_load(&m->parts[i].has_restore)) {
                        gr_buf_printf(o,
                                      "gr_restore_last_seconds{partition="
                                      "\"%d\"} ",
                                      i);
                        secs(o, ld(&m->parts[i].restore_last_us));
                        gr_buf_putc(o, '\n');
                }

        render_restored(m, o);

        head(o, "gr_jobs_open", "gauge",
             "Jobs held in memory, by owned input partition.");
        for (int i = 0; i < GR_METRICS_PARTITIONS_MAX; i++)
                if (atomic_load(&m->parts[i].used)) {
                        assigned++;
                        gr_buf_printf(o, "gr_jobs_open{partition=\"%d\"} "
                                         "%llu\n",
                                      i,
                                      (unsigned long long)ld(
                                          &m->parts[i].open_jobs));
                }
        head(o, "gr_partitions_active", "gauge",
             "Input partitions with a live engine in this instance.");
        gr_buf_printf(o, "gr_partitions_active %llu\n",
                      (unsigned long long)assigned);

        head(o, "gr_http_requests_started_total", "counter",
             "HTTP requests whose request line was read.");
        gr_buf_printf(o, "gr_http_requests_started_total %llu\n",
                      (unsigned long long)ld(&m->http_started));
        head(o, "gr_http_requests_total", "counter",
             "HTTP requests answered by receiptd, by status code.");
        for (int i = 0; i <= NCODES; i++) {
                if (i < NCODES)
                        gr_buf_printf(o,
                                      "gr_http_requests_total{code=\"%u\"} ",
                                      http_codes[i]);
                else
                        gr_buf_puts(o,
                                    "gr_http_requests_total{code=\"other\"} ");
                gr_buf_printf(o, "%llu\n",
                              (unsigned long long)ld(&m->http_codes[i]));
        }
        head(o, "gr_http_requests_unanswered_total", "counter",
             "HTTP requests receiptd did not answer, by how they ended "
             "(server_reply: refused by the HTTP layer itself, e.g. headers "
             "too large or malformed).");
        for (int i = 0; i < NTERM; i++)
                gr_buf_printf(o,
                              "gr_http_requests_unanswered_total{reason=\"%s\"}"
                              " %llu\n",
                              term_names[i],
                              (unsigned long long)ld(&m->http_unanswered[i]));
        head(o, "gr_http_auth_failures_total", "counter",
             "Refused /jobs/ and /metrics requests, by reason.");
        for (int i = 1; i < GR_AUTH__CNT; i++)
                gr_buf_printf(o,
                              "gr_http_auth_failures_total{reason=\"%s\"} "
                              "%llu\n",
                              gr_auth_result_name((gr_auth_result)i),
                              (unsigned long long)ld(&m->auth_failures[i]));
        head(o, "gr_http_connections_total", "counter",
             "HTTP connections accepted.");
        gr_buf_printf(o, "gr_http_connections_total %llu\n",
                      (unsigned long long)ld(&m->http_conns_total));
        head(o, "gr_http_connections_open", "gauge",
             "HTTP connections open now.");
        gr_buf_printf(o, "gr_http_connections_open %lld\n",
                      (long long)atomic_load(&m->http_conns_open));
}

/* ------------------------------------------------------------------ */
/* /jobs/ requests, served on the daemon's thread                      */

void gr_metrics_job_finder_set(gr_metrics *m, gr_metrics_job_find *find,
                               void *opaque) {
        if (!m)
                return;
        pthread_mutex_lock(&m->lock);
        m->job_find = find;
        m->job_opaque = opaque;
        pthread_mutex_unlock(&m->lock);
}

/* On the daemon thread: find, authorize, render.  rc as job_req.rc. */
static int job_run(gr_metrics_job_find *find, void *opaque, job_req *r) {
        const gr_job *j = find ? find(opaque, r->job_id) : NULL;

        if (!j)
                return 1;
        if (!gr_http_may_read(&r->who, j))
                return 2;
        if (r->json)
                gr_receipt_to_json(j, &r->out);
        else
                gr_receipt_to_html(j, &r->out);
        return r->out.oom ? -1 : 0;
}

int gr_metrics_dispatch(gr_metrics *m) {
        job_req *list, *r;
        gr_metrics_job_find *find;
        void *opaque;
        int n = 0;

        if (!m || !atomic_load_explicit(&m->pending, memory_order_acquire))
                return 0;
        pthread_mutex_lock(&m->lock);
        list = m->queue;
        m->queue = NULL;
        atomic_store(&m->pending, 0);
        find = m->job_find;
        opaque = m->job_opaque;
        for (r = list; r; r = r->next)
                r->state = REQ_RUNNING;
        pthread_mutex_unlock(&m->lock);

        /* The requests stay owned by their HTTP threads, which wait for
         * REQ_DONE and never free a running request. */
        for (r = list; r; r = r->next) {
                r->rc = job_run(find, opaque, r);
                n++;
        }
        pthread_mutex_lock(&m->lock);
        while (list) {
                r = list;
                list = r->next;
                r->state = REQ_DONE;
        }
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        return n;
}

/* Queue a lookup and wait for the daemon.  Returns the HTTP status. */
static unsigned job_lookup(gr_metrics *m, job_req *r) {
        struct timespec until;
        unsigned status;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += GR_METRICS_JOB_WAIT_MS / 1000;
        until.tv_nsec += (GR_METRICS_JOB_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&m->lock);
        if (!m->job_find || m->stopping) {
                pthread_mutex_unlock(&m->lock);
                return m->job_find ? MHD_HTTP_SERVICE_UNAVAILABLE
                                   : MHD_HTTP_NOT_FOUND;
        }
        r->state = REQ_QUEUED;
        r->next = m->queue;
        m->queue = r;
        atomic_store_explicit(&m->pending, 1, memory_order_release);
        while (r->state != REQ_DONE) {
                int e = 0;
                if (r->state == REQ_RUNNING)
                        /* The callback is running on the daemon thread
                         * and writes into r: wait for it, however long. */
                        pthread_cond_wait(&m->cond, &m->lock);
                else if (m->stopping)
                        e = ETIMEDOUT;
                else
                        e = pthread_cond_timedwait(&m->cond, &m->lock,
                                                   &until);
                if (e == ETIMEDOUT && r->state == REQ_QUEUED) {
                        /* Not picked up: take it back out of the queue. */
                        job_req **pp = &m->queue;
                        while (*pp && *pp != r)
                                pp = &(*pp)->next;
                        if (*pp)
                                *pp = r->next;
                        pthread_mutex_unlock(&m->lock);
                        return MHD_HTTP_SERVICE_UNAVAILABLE;
                }
        }
        pthread_mutex_unlock(&m->lock);
        status = r->rc == 0   ? MHD_HTTP_OK :
                 r->rc == 1   ? MHD_HTTP_NOT_FOUND :
                 r->rc == 2   ? MHD_HTTP_FORBIDDEN :
                                MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (status == MHD_HTTP_OK && r->out.oom)
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return status;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

/* Per request: what the handler answered (0: nothing yet). */
typedef struct req_ctx {
        unsigned status;
} req_ctx;

static int code_index(unsigned status) {
        for (int i = 0; i < NCODES; i++)
                if (http_codes[i] == status)
                        return i;
        return NCODES; /* "other" */
}

static const char csp[] =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* One request being answered. */
typedef struct call {
        gr_metrics *m;
        struct MHD_Connection *c;
        req_ctx *ctx;
} call;

static enum MHD_Result reply_h(call *k, unsigned status, const char *type,
                               const char *body, size_t len,
                               const char *www_auth) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(len, (void *)body,
                                               MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        if (www_auth)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        www_auth);
        ret = MHD_queue_response(k->c, status, resp);
        MHD_destroy_response(resp);
        if (ret == MHD_YES && k->ctx && !k->ctx->status) {
                k->ctx->status = status;
                add(&k->m->http_codes[code_index(status)], 1);
        }
        return ret;
}

static enum MHD_Result reply(call *k, unsigned status, const char *type,
                             const char *body, size_t len) {
        return reply_h(k, status, type, body, len, NULL);
}

static enum MHD_Result reply_text(call *k, unsigned status,
                                  const char *text) {
        return reply(k, status, "text/plain; charset=utf-8", text,
                     strlen(text));
}

static void auth_fail(gr_metrics *m, gr_auth_result why) {
        if ((unsigned)why < GR_AUTH__CNT && why != GR_AUTH_OK)
                add(&m->auth_failures[why], 1);
}

/* An error page for /jobs/: HTML, or a small JSON object for JSON. */
static enum MHD_Result job_error(call *k, unsigned status, int json,
                                 const char *job_id, const char *msg,
                                 const char *www_auth) {
        gr_buf page;
        enum MHD_Result ret;

        gr_buf_init(&page);
        if (json) {
                gr_jw w;
                gr_jw_init(&w, &page);
                gr_jw_obj_begin(&w);
                gr_jw_kint(&w, "status", status);
                gr_jw_kstr(&w, "error", msg);
                gr_jw_obj_end(&w);
                gr_buf_putc(&page, '\n');
        } else {
                gr_buf_printf(&page,
                              "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                              "<meta charset=\"utf-8\"><title>%u</title>"
                              "</head><body><p>",
                              status);
                if (job_id) {
                        gr_buf_puts(&page, "Job <code>");
                        gr_html_escape(&page, job_id, strlen(job_id));
                        gr_buf_puts(&page, "</code>: ");
                }
                gr_html_escape(&page, msg, strlen(msg));
                gr_buf_puts(&page, "</p></body></html>\n");
        }
        ret = page.oom ? MHD_NO
                       : reply_h(k, status,
                                 json ? "application/json"
                                      : "text/html; charset=utf-8",
                                 page.data, page.len, www_auth);
        gr_buf_free(&page);
        return ret;
}

static enum MHD_Result serve_job(call *k, const char *method,
                                 const char *path,
                                 const gr_http_route_t *rt) {
        gr_metrics *m = k->m;
        job_req *r;
        unsigned status;
        enum MHD_Result ret;
        gr_http_principal who;
        gr_auth_result ar;

        memset(&who, 0, sizeof(who));
        if (m->jobs_unsigned) {
                who.anonymous = 1;
        } else {
                ar = gr_http_auth_check(
                    m->keyring, m->nonces, m->auth_window_s, method, path,
                    MHD_lookup_connection_value(k->c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION),
                    (int64_t)time(NULL), &who);
                if (ar != GR_AUTH_OK) {
                        auth_fail(m, ar);
                        if (ar == GR_AUTH_BUSY)
                                return job_error(k,
                                                 MHD_HTTP_SERVICE_UNAVAILABLE,
                                                 rt->json, NULL,
                                                 "too many signed requests "
                                                 "in the window; try again",
                                                 NULL);
                        return job_error(k, MHD_HTTP_UNAUTHORIZED, rt->json,
                                         NULL,
                                         "a request signed with a "
                                         "registered key is required "
                                         "(docs/OPERATIONS.md)",
                                         GR_HTTP_AUTH_SCHEME);
                }
        }
        if (!(r = calloc(1, sizeof(*r))))
                return MHD_NO;
        memcpy(r->job_id, rt->job_id, sizeof(r->job_id));
        r->json = rt->json;
        r->who = who;
        gr_buf_init(&r->out);
        status = job_lookup(m, r);
        if (status == MHD_HTTP_OK) {
                ret = rt->json ? reply(k, status, "application/json",
                                       r->out.data, r->out.len)
                               : reply(k, status, "text/html; charset=utf-8",
                                       r->out.data, r->out.len);
        } else if (status == MHD_HTTP_NOT_FOUND) {
                ret = job_error(k, status, rt->json, rt->job_id,
                                "not held by this instance: it is unknown, "
                                "or its partition is owned by another "
                                "instance of the group.",
                                NULL);
        } else if (status == MHD_HTTP_FORBIDDEN) {
                auth_fail(m, GR_AUTH_FORBIDDEN);
                ret = job_error(k, status, rt->json, NULL,
                                "this key may not read that job", NULL);
        } else if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
                ret = job_error(k, status, rt->json, NULL,
                                "the processor did not answer in time; try "
                                "again.",
                                NULL);
        } else {
                ret = job_error(k, status, rt->json, NULL,
                                "the receipt could not be rendered.", NULL);
        }
        gr_buf_free(&r->out);
        free(r);
        return ret;
}

static const char index_page[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>receiptd</title></head><body><h1>receiptd</h1><ul>"
    "<li><a href=\"/metrics\">/metrics</a></li>"
    "<li><a href=\"/healthz\">/healthz</a></li>"
    "<li><a href=\"/readyz\">/readyz</a></li>"
    "<li>/jobs/JOB_ID (signed requests)</li></ul></body></html>\n";

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls) {
        call k = {cls, c, *req_cls};
        gr_metrics *m = cls;
        gr_http_route_t rt;
        const char *te, *cl;
        (void)version;
        (void)upload_data;

        if (k.ctx && k.ctx->status) {
                /* Already answered (a body is arriving): drop it. */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) &&
            strcmp(method, MHD_HTTP_METHOD_HEAD))
                return reply_text(&k, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "GET or HEAD only\n");
        te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_TRANSFER_ENCODING);
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (te || (cl && strspn(cl, "0") != strlen(cl)) || *upload_data_size)
                return reply_text(&k, MHD_HTTP_CONTENT_TOO_LARGE,
                                  "no request body expected\n");

        switch (gr_http_route(url,
                              MHD_lookup_connection_value(
                                  c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
                              &rt)) {
        case GR_ROUTE_METRICS: {
                gr_buf b;
                enum MHD_Result ret;
                if (m->token &&
                    !gr_http_bearer_ok(
                        MHD_lookup_connection_value(
                            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                        m->token)) {
                        auth_fail(m, GR_AUTH_BAD_TOKEN);
                        return reply_h(&k, MHD_HTTP_UNAUTHORIZED,
                                       "text/plain; charset=utf-8",
                                       "bearer token required\n", 22,
                                       "Bearer");
                }
                gr_buf_init(&b);
                gr_metrics_render(m, &b);
                ret = b.oom ? MHD_NO
                            : reply(&k, MHD_HTTP_OK,
                                    "text/plain; version=0.0.4; "
                                    "charset=utf-8",
                                    b.data, b.len);
                gr_buf_free(&b);
                return ret;
        }
        case GR_ROUTE_HEALTHZ:
                return reply_text(&k, MHD_HTTP_OK, "ok\n");
        case GR_ROUTE_READYZ:
                return atomic_load(&m->ready)
                           ? reply_text(&k, MHD_HTTP_OK, "ready\n")
                           : reply_text(&k, MHD_HTTP_SERVICE_UNAVAILABLE,
                                        "restoring state\n");
        case GR_ROUTE_JOB:
                return serve_job(&k, method, url, &rt);
        case GR_ROUTE_BAD:
                return job_error(&k, MHD_HTTP_BAD_REQUEST, rt.json, NULL,
                                 rt.why, NULL);
        case GR_ROUTE_INDEX:
                return reply(&k, MHD_HTTP_OK, "text/html; charset=utf-8",
                             index_page, sizeof(index_page) - 1);
        case GR_ROUTE_NOT_FOUND:
        default:
                return reply_text(&k, MHD_HTTP_NOT_FOUND, "not found\n");
        }
}

/* Every request that got as far as its request line: counted, and given
 * a context that records what the handler answered. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
        gr_metrics *m = cls;
        (void)uri;
        (void)c;
        add(&m->http_started, 1);
        return calloc(1, sizeof(req_ctx));
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe) {
        gr_metrics *m = cls;
        req_ctx *ctx = *req_cls;
        (void)c;

        if (ctx && !ctx->status)
                add(&m->http_unanswered[(unsigned)toe < NTERM ? toe : 0], 1);
        if (!ctx) /* calloc failed in uri_log: still account for it */
                add(&m->http_unanswered[(unsigned)toe < NTERM ? toe : 0], 1);
        free(ctx);
        *req_cls = NULL;
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                        enum MHD_ConnectionNotificationCode toe) {
        gr_metrics *m = cls;
        (void)c;
        (void)socket_ctx;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                add(&m->http_conns_total, 1);
                atomic_fetch_add(&m->http_conns_open, 1);
        } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
                atomic_fetch_sub(&m->http_conns_open, 1);
        }
}

/* The path stays as sent: gr_http_route() decodes it, and a signature
 * covers the bytes on the request line. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
        (void)cls;
        (void)c;
        return strlen(s);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" into ss. */
static int parse_listen(const char *addr, struct sockaddr_storage *ss,
                        socklen_t *sslen, char *errstr, size_t errstr_size) {
        char host[256];
        const char *colon, *port;
        struct addrinfo hints, *res = NULL;
        int e;

        if (!addr || !*addr)
                goto bad;
        if (addr[0] == '[') {
                const char *close = strchr(addr, ']');
                if (!close || close[1] != ':' ||
                    (size_t)(close - addr - 1) >= sizeof(host))
                        goto bad;
                memcpy(host, addr + 1, (size_t)(close - addr - 1));
                host[close - addr - 1] = '\0';
                port = close + 2;
        } else {
                if (!(colon = strrchr(addr, ':')) ||
                    (size_t)(colon - addr) >= sizeof(host))
                        goto bad;
                memcpy(host, addr, (size_t)(colon - addr));
                host[colon - addr] = '\0';
                port = colon + 1;
                if (strchr(host, ':'))
                        goto bad; /* bare IPv6 needs brackets */
        }
        if (!*port || strspn(port, "0123456789") != strlen(port) ||
            strlen(port) > 5 || atoi(port) > 65535)
                goto bad;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        if ((e = getaddrinfo(*host ? host : NULL, port, &hints, &res))) {
                snprintf(errstr, errstr_size, "metrics listen address %s: %s",
                         addr, gai_strerror(e));
                return -1;
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *sslen = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
bad:
        snprintf(errstr, errstr_size,
                 "metrics listen address '%s': expected HOST:PORT, "
                 "[IPv6]:PORT or :PORT",
                 addr ? addr : "");
        return -1;
}

static int is_loopback(const struct sockaddr_storage *ss) {
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
                return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
        }
        if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *a =
                    (const struct sockaddr_in6 *)ss;
                if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
                        return 1;
                return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
                       a->sin6_addr.s6_addr[12] == 127;
        }
        return 0;
}

void gr_metrics_opts_default(gr_metrics_opts *o) {
        memset(o, 0, sizeof(*o));
        o->auth_window_s = 300;
        o->nonces_max = 100000;
        o->max_connections = 64;
        o->per_ip_connections = 16;
        o->timeout_s = 10;
        o->request_max_bytes = 16384;
}

gr_metrics *gr_metrics_new(const char *listen_addr, char *errstr,
                           size_t errstr_size) {
        gr_metrics_opts o;

        gr_metrics_opts_default(&o);
        o.listen = listen_addr;
        return gr_metrics_new_opts(&o, errstr, errstr_size);
}

gr_metrics *gr_metrics_new_opts(const gr_metrics_opts *o, char *errstr,
                                size_t errstr_size) {
        gr_metrics *m = NULL;
        struct sockaddr_storage ss;
        socklen_t sslen;
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
        struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL},
                                        {MHD_OPTION_END, 0, NULL},
                                        {MHD_OPTION_END, 0, NULL}};
        int locks = 0;

        if (parse_listen(o->listen, &ss, &sslen, errstr, errstr_size) == -1)
                return NULL;
        if (o->jobs_unsigned && !is_loopback(&ss)) {
                snprintf(errstr, errstr_size,
                         "metrics.jobs.unsigned=true needs a loopback "
                         "metrics.listen (127.0.0.1 or [::1]), not %s",
                         o->listen);
                return NULL;
        }
        if (!o->tls_cert_pem != !o->tls_key_pem) {
                snprintf(errstr, errstr_size,
                         "metrics.tls.cert and metrics.tls.key go together");
                return NULL;
        }
        if (o->tls_cert_pem &&
            MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
                snprintf(errstr, errstr_size,
                         "metrics.tls.cert: this libmicrohttpd was built "
                         "without TLS support");
                return NULL;
        }
        if (o->auth_window_s < 1 || o->auth_window_s > 86400 ||
            o->nonces_max < 1 || o->max_connections < 1 ||
            o->timeout_s < 1 || o->request_max_bytes < 1024) {
                snprintf(errstr, errstr_size,
                         "metrics server limits out of range");
                return NULL;
        }
        if (o->token && !*o->token) {
                snprintf(errstr, errstr_size, "metrics token is empty");
                return NULL;
        }
        if (!(m = calloc(1, sizeof(*m))) ||
            !(m->parts = calloc(GR_METRICS_PARTITIONS_MAX, sizeof(*m->parts))) ||
            (o->token && !(m->token = strdup(o->token))) ||
            (!o->jobs_unsigned &&
             !(m->nonces = gr_nonce_cache_new(o->nonces_max)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        m->keyring = o->keyring;
        m->jobs_unsigned = o->jobs_unsigned;
        m->auth_window_s = o->auth_window_s;
        if (pthread_mutex_init(&m->lock, NULL)) {
                snprintf(errstr, errstr_size, "pthread_mutex_init failed");
                goto err;
        }
        if (pthread_cond_init(&m->cond, NULL)) {
                pthread_mutex_destroy(&m->lock);
                snprintf(errstr, errstr_size, "pthread_cond_init failed");
                goto err;
        }
        locks = 1;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (o->tls_cert_pem) {
                flags |= MHD_USE_TLS;
                tls[0].option = MHD_OPTION_HTTPS_MEM_KEY;
                tls[0].ptr_value = (void *)o->tls_key_pem;
                tls[1].option = MHD_OPTION_HTTPS_MEM_CERT;
                tls[1].ptr_value = (void *)o->tls_cert_pem;
        }
        m->d = MHD_start_daemon(
            flags, 0, NULL, NULL, handler, m, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
            o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            o->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->request_max_bytes,
            MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_URI_LOG_CALLBACK,
            uri_log, m, MHD_OPTION_NOTIFY_COMPLETED, completed, m,
            MHD_OPTION_NOTIFY_CONNECTION, conn_notify, m,
            MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_ARRAY,
            tls, MHD_OPTION_END);
        if (!m->d) {
                snprintf(errstr, errstr_size,
                         "metrics server could not listen on %s (address in "
                         "use or not local?%s)",
                         o->listen,
                         o->tls_cert_pem ? " or a TLS certificate/key that "
                                           "does not load"
                                         : "");
                goto err;
        }
        info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
        m->port = info ? info->port : 0;
        (void)sslen;
        return m;
err:
        if (m) {
                if (locks) {
                        pthread_cond_destroy(&m->cond);
                        pthread_mutex_destroy(&m->lock);
                }
                gr_nonce_cache_destroy(m->nonces);
                free(m->token);
                free(m->parts);
                free(m);
        }
        return NULL;
}

int gr_metrics_port(const gr_metrics *m) {
        return m ? m->port : 0;
}

void gr_metrics_destroy(gr_metrics *m) {
        if (!m)
                return;
        /* Queued /jobs/ requests give up at once instead of waiting out
         * their timeout, so stopping the server does not hang. */
        pthread_mutex_lock(&m->lock);
        m->stopping = 1;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        MHD_stop_daemon(m->d);
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        gr_nonce_cache_destroy(m->nonces);
        if (m->token) {
                sodium_memzero(m->token, strlen(m->token));
                free(m->token);
        }
        free(m->parts);
        free(m);
}

void gr_metrics_partition_restored(gr_metrics *m, int32_t partition,
                                   int state) {
        if (!m || partition < 0 || partition >= GR_METRICS_PARTITIONS_MAX)
                return;
        atomic_store(&m->parts[partition].restored,
                     state < 0 ? 0 : state ? 2 : 1);
}

static void render_restored(gr_metrics *m, gr_buf *o) {
        head(o, "gr_partition_restored", "gauge",
             "By owned input partition: 1 once its state is restored and "
             "its input flows, 0 while restoring (/readyz waits for all).");
        for (int i = 0; i < GR_METRICS_PARTITIONS_MAX; i++) {
                int st = atomic_load(&m->parts[i].restored);
                if (st)
                        gr_buf_printf(o,
                                      "gr_partition_restored{partition=\"%d\"}"
                                      " %d\n",
                                      i, st - 1);
        }
}
