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

#include <microhttpd.h>

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
        /* writer side, under m->lock */
        int have_prev;
        gr_stats prev;
} part_metrics;

typedef enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE } req_state_t;

typedef struct job_req {
        char job_id[GR_ID_MAX];
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

        pthread_mutex_t lock; /* parts' writer side and the job queue */
        pthread_cond_t cond;
        gr_metrics_job_cb *job_cb;
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
}

/* ------------------------------------------------------------------ */
/* /jobs/ requests, served on the daemon's thread                      */

void gr_metrics_job_handler_set(gr_metrics *m, gr_metrics_job_cb *cb,
                                void *opaque) {
        if (!m)
                return;
        pthread_mutex_lock(&m->lock);
        m->job_cb = cb;
        m->job_opaque = opaque;
        pthread_mutex_unlock(&m->lock);
}

int gr_metrics_dispatch(gr_metrics *m) {
        job_req *list, *r;
        gr_metrics_job_cb *cb;
        void *opaque;
        int n = 0;

        if (!m || !atomic_load_explicit(&m->pending, memory_order_acquire))
                return 0;
        pthread_mutex_lock(&m->lock);
        list = m->queue;
        m->queue = NULL;
        atomic_store(&m->pending, 0);
        cb = m->job_cb;
        opaque = m->job_opaque;
        for (r = list; r; r = r->next)
                r->state = REQ_RUNNING;
        pthread_mutex_unlock(&m->lock);

        /* The requests stay owned by their HTTP threads, which wait for
         * REQ_DONE and never free a running request. */
        for (r = list; r; r = r->next) {
                r->rc = cb ? cb(opaque, r->job_id, &r->out) : 1;
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
        if (!m->job_cb || m->stopping) {
                pthread_mutex_unlock(&m->lock);
                return m->job_cb ? MHD_HTTP_SERVICE_UNAVAILABLE
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
                                MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (status == MHD_HTTP_OK && r->out.oom)
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return status;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *type, const char *body, size_t len) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(len, (void *)body,
                                               MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
                                  const char *text) {
        return reply(c, status, "text/plain; charset=utf-8", text,
                     strlen(text));
}

static enum MHD_Result serve_job(gr_metrics *m, struct MHD_Connection *c,
                                 const char *job_id) {
        job_req *r;
        unsigned status;
        enum MHD_Result ret;
        size_t n = strlen(job_id);

        if (n == 0 || n >= GR_ID_MAX)
                return reply_text(c, MHD_HTTP_BAD_REQUEST,
                                  "bad job id: 1 to 127 bytes\n");
        if (!(r = calloc(1, sizeof(*r))))
                return MHD_NO;
        memcpy(r->job_id, job_id, n + 1);
        gr_buf_init(&r->out);
        status = job_lookup(m, r);
        if (status == MHD_HTTP_OK) {
                ret = reply(c, status, "text/html; charset=utf-8",
                            r->out.data, r->out.len);
        } else {
                gr_buf page;
                gr_buf_init(&page);
                gr_buf_printf(&page,
                              "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                              "<meta charset=\"utf-8\"><title>%u</title>"
                              "</head><body><p>",
                              status);
                if (status == MHD_HTTP_NOT_FOUND) {
                        gr_buf_puts(&page, "Job <code>");
                        for (const char *p = job_id; *p; p++) {
                                switch (*p) {
                                case '&':
                                        gr_buf_puts(&page, "&amp;");
                                        break;
                                case '<':
                                        gr_buf_puts(&page, "&lt;");
                                        break;
                                case '>':
                                        gr_buf_puts(&page, "&gt;");
                                        break;
                                case '"':
                                        gr_buf_puts(&page, "&quot;");
                                        break;
                                case '\'':
                                        gr_buf_puts(&page, "&#39;");
                                        break;
                                default:
                                        gr_buf_putc(&page, *p);
                                }
                        }
                        gr_buf_puts(&page,
                                    "</code> is not held by this instance: "
                                    "it is unknown, or its partition is "
                                    "owned by another instance of the "
                                    "group.");
                } else if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
                        gr_buf_puts(&page, "The processor did not answer in "
                                           "time; try again.");
                } else {
                        gr_buf_puts(&page, "The receipt could not be "
                                           "rendered.");
                }
                gr_buf_puts(&page, "</p></body></html>\n");
                ret = page.oom ? MHD_NO
                               : reply(c, status, "text/html; charset=utf-8",
                                       page.data, page.len);
                gr_buf_free(&page);
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
    "<li>/jobs/JOB_ID</li></ul></body></html>\n";

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls) {
        gr_metrics *m = cls;
        (void)version;
        (void)upload_data;

        if (strcmp(method, MHD_HTTP_METHOD_GET) &&
            strcmp(method, MHD_HTTP_METHOD_HEAD))
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "GET or HEAD only\n");
        if (*upload_data_size) /* a GET with a body: ignore the body */
                *upload_data_size = 0;
        (void)req_cls;

        if (!strcmp(url, "/metrics")) {
                gr_buf b;
                enum MHD_Result ret;
                gr_buf_init(&b);
                gr_metrics_render(m, &b);
                ret = b.oom ? MHD_NO
                            : reply(c, MHD_HTTP_OK,
                                    "text/plain; version=0.0.4; "
                                    "charset=utf-8",
                                    b.data, b.len);
                gr_buf_free(&b);
                return ret;
        }
        if (!strcmp(url, "/healthz"))
                return reply_text(c, MHD_HTTP_OK, "ok\n");
        if (!strcmp(url, "/readyz"))
                return atomic_load(&m->ready)
                           ? reply_text(c, MHD_HTTP_OK, "ready\n")
                           : reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                        "restoring state\n");
        if (!strncmp(url, "/jobs/", 6))
                return serve_job(m, c, url + 6);
        if (!strcmp(url, "/"))
                return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
                             index_page, sizeof(index_page) - 1);
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
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

gr_metrics *gr_metrics_new(const char *listen_addr, char *errstr,
                           size_t errstr_size) {
        gr_metrics *m = NULL;
        struct sockaddr_storage ss;
        socklen_t sslen;
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
        int locks = 0;

        if (parse_listen(listen_addr, &ss, &sslen, errstr, errstr_size) == -1)
                return NULL;
        if (!(m = calloc(1, sizeof(*m))) ||
            !(m->parts = calloc(GR_METRICS_PARTITIONS_MAX, sizeof(*m->parts)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
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
        m->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, m,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                MHD_OPTION_CONNECTION_LIMIT, 64u,
                                MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                MHD_OPTION_END);
        if (!m->d) {
                snprintf(errstr, errstr_size,
                         "metrics server could not listen on %s (address in "
                         "use or not local?)",
                         listen_addr);
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
        free(m->parts);
        free(m);
}
