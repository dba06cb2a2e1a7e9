/* The metrics registry: setters and the Prometheus exposition (see
 * gr_metrics.h; the server is gr_http.c, the shared state
 * gr_metrics_priv.h). */
#include "gr_metrics_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_output.h"

#ifndef GR_METRICS_VERSION
#define GR_METRICS_VERSION "unknown"
#endif

/* Transaction commit latency buckets (seconds): a commit is a few broker
 * round trips, so milliseconds to tens of seconds (transaction.timeout). */
static const double bucket_le[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,  0.1,    0.25,  0.5,  1,
                                           2.5,   5,      10,    30};

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
                                      gr_metrics_http_codes[i]);
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
                              gr_metrics_term_names[i],
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
