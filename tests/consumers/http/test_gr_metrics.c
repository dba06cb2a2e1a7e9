/*
 * The metrics server (consumers/gr_metrics.h) over real HTTP on loopback:
 * endpoints and status codes, counters kept monotonic across engine
 * snapshots and engine replacement, histogram buckets, per-partition gauges
 * that vanish on reset, /jobs/ served through the daemon-thread dispatch
 * (200 with the receipt, 404 not owned, 503 when nobody dispatches), HTML
 * escaping of the job id, and setters hammered from threads while scraped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gr_html.h"
#include "gr_metrics.h"
#include "ops_fixture.h"

/* The value of one exposition line "name{labels} value", or -1. */
static double metric(const char *text, const char *series) {
        size_t n = strlen(series);
        for (const char *p = text; (p = strstr(p, series)); p += n)
                if ((p == text || p[-1] == '\n') && p[n] == ' ')
                        return strtod(p + n + 1, NULL);
        return -1;
}

static char *scrape(gr_metrics *m) {
        char *body = NULL, ct[128];
        assert_int_equal(ops_http_get(gr_metrics_port(m), "GET", "/metrics",
                                      &body, ct, sizeof(ct)),
                         200);
        assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
        return body;
}

static gr_metrics *start(void) {
        char err[256];
        gr_metrics *m = gr_metrics_new("127.0.0.1:0", err, sizeof(err));
        if (!m)
                fail_msg("gr_metrics_new: %s", err);
        assert_true(gr_metrics_port(m) > 0);
        return m;
}

/* Unsigned /jobs/ only on loopback; TLS halves go together; limits in
 * range. */
static void test_bad_opts(void **state) {
        const char *off_loopback[] = {"0.0.0.0:0", ":0", "[::]:0"};
        gr_metrics_opts o;
        gr_metrics *m;
        char err[256];
        (void)state;

        for (size_t i = 0; i < 3; i++) {
                gr_metrics_opts_default(&o);
                o.listen = off_loopback[i];
                o.jobs_unsigned = 1;
                assert_null(gr_metrics_new_opts(&o, err, sizeof(err)));
                assert_non_null(strstr(err, "loopback"));
        }
        gr_metrics_opts_default(&o);
        o.listen = "[::1]:0";
        o.jobs_unsigned = 1;
        if ((m = gr_metrics_new_opts(&o, err, sizeof(err)))) /* no IPv6: skip */
                gr_metrics_destroy(m);
        gr_metrics_opts_default(&o);
        o.listen = "127.0.0.1:0";
        o.tls_cert_pem = "-----BEGIN CERTIFICATE-----\n";
        assert_null(gr_metrics_new_opts(&o, err, sizeof(err)));
        assert_non_null(strstr(err, "together"));
        gr_metrics_opts_default(&o);
        o.listen = "127.0.0.1:0";
        o.tls_cert_pem = "not a certificate";
        o.tls_key_pem = "not a key";
        assert_null(gr_metrics_new_opts(&o, err, sizeof(err)));
        gr_metrics_opts_default(&o);
        o.listen = "127.0.0.1:0";
        o.max_connections = 0;
        assert_null(gr_metrics_new_opts(&o, err, sizeof(err)));
        gr_metrics_opts_default(&o);
        o.listen = "127.0.0.1:0";
        o.token = "";
        assert_null(gr_metrics_new_opts(&o, err, sizeof(err)));
}

static void test_bad_listen(void **state) {
        const char *bad[] = {"",          "nonsense",       "127.0.0.1",
                             "1.2.3.4:",  "127.0.0.1:99999", "::1:80",
                             "[::1:80",   "127.0.0.1:8x",   "256.1.1.1:80"};
        char err[256], addr[64];
        gr_metrics *a, *b;
        (void)state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                if (gr_metrics_new(bad[i], err, sizeof(err)))
                        fail_msg("'%s' accepted", bad[i]);
                assert_true(strlen(err) > 0);
        }
        /* A port already in use is an error, not a second listener. */
        a = start();
        /* (its own buffer: the address must not alias errstr) */
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", gr_metrics_port(a));
        b = gr_metrics_new(addr, err, sizeof(err));
        assert_null(b);
        assert_non_null(strstr(err, "could not listen"));
        gr_metrics_destroy(a);
        gr_metrics_destroy(NULL);
}

/* A daemon with the server off passes NULL everywhere: all no-ops. */
static void test_null(void **state) {
        gr_stats s;
        gr_buf b;
        (void)state;
        memset(&s, 0, sizeof(s));
        gr_buf_init(&b);
        gr_metrics_set_ready(NULL, 1);
        assert_int_equal(gr_metrics_partition_stats_set(NULL, 0, &s, 1), 0);
        gr_metrics_partition_reset(NULL, 0);
        assert_int_equal(gr_metrics_lag_set(NULL, 0, 5), 0);
        gr_metrics_event_in(NULL, GR_EVT_QUOTE_ACCEPTED);
        gr_metrics_decision_count(NULL, GR_SETTLE_HOLD, GR_RULE_R7);
        gr_metrics_commit_observe(NULL, 0.1);
        gr_metrics_abort_count(NULL);
        assert_int_equal(gr_metrics_restore_observe(NULL, 0, 1, 1, 1), 0);
        gr_metrics_job_finder_set(NULL, NULL, NULL);
        assert_int_equal(gr_metrics_dispatch(NULL), 0);
        assert_int_equal(gr_metrics_port(NULL), 0);
        gr_metrics_render(NULL, &b);
        assert_int_equal(b.len, 0);
        gr_buf_free(&b);
}

static void test_endpoints(void **state) {
        gr_metrics *m = start();
        int port = gr_metrics_port(m);
        char *body;
        (void)state;

        assert_int_equal(ops_http_get(port, "GET", "/healthz", &body, NULL, 0),
                         200);
        assert_string_equal(body, "ok\n");
        free(body);
        assert_int_equal(ops_http_get(port, "GET", "/readyz", NULL, NULL, 0),
                         503);
        body = scrape(m);
        assert_true(metric(body, "gr_ready") == 0);
        free(body);
        gr_metrics_set_ready(m, 1);
        assert_int_equal(ops_http_get(port, "GET", "/readyz", NULL, NULL, 0),
                         200);
        assert_int_equal(ops_http_get(port, "HEAD", "/readyz", NULL, NULL, 0),
                         200);
        body = scrape(m);
        assert_true(metric(body, "gr_ready") == 1);
        free(body);
        gr_metrics_set_ready(m, 0);
        assert_int_equal(ops_http_get(port, "GET", "/readyz", NULL, NULL, 0),
                         503);
        assert_int_equal(ops_http_get(port, "POST", "/metrics", NULL, NULL, 0),
                         405);
        assert_int_equal(ops_http_get(port, "GET", "/nope", NULL, NULL, 0),
                         404);
        /* /jobs/ needs a signed request by default: refused before any
         * lookup (no handler registered either), not a hang. */
        assert_int_equal(ops_http_get(port, "GET", "/jobs/run_8841", NULL,
                                      NULL, 0),
                         401);
        gr_metrics_destroy(m);
}

static void test_counters(void **state) {
        gr_metrics *m = start();
        gr_stats s;
        char *t;
        (void)state;

        memset(&s, 0, sizeof(s));
        s.events_in = 10;
        s.applied = 6;
        s.duplicates = 1;
        s.rejected = 2;
        s.rejected_by[GR_REJ_SCHEMA] = 2;
        s.parked_now = 1;
        s.ledger_rows = 6;
        assert_int_equal(gr_metrics_partition_stats_set(m, 3, &s, 4), 0);
        s.events_in = 15; /* same engine, five more events */
        s.applied = 10;
        s.rejected_by[GR_REJ_IMPOSSIBLE_TRANSITION] = 1;
        s.rejected = 3;
        s.ledger_rows = 10;
        assert_int_equal(gr_metrics_partition_stats_set(m, 3, &s, 5), 0);
        assert_int_equal(gr_metrics_partition_stats_set(m, 9999, &s, 5), -1);
        for (int i = 0; i < 7; i++)
                gr_metrics_event_in(m, GR_EVT_EXECUTION_FAILED);
        gr_metrics_event_in(m, GR_METRICS_EVT_UNDECODABLE);
        gr_metrics_event_in(m, 12345);
        gr_metrics_decision_count(m, GR_SETTLE_HOLD, GR_RULE_R7);
        gr_metrics_decision_count(m, GR_SETTLE_HOLD, GR_RULE_R7);
        gr_metrics_decision_count(m, GR_SETTLE_REFUND, GR_RULE_R3);
        gr_metrics_commit_observe(m, 0.003);
        gr_metrics_commit_observe(m, 0.2);
        gr_metrics_commit_observe(m, 99);
        gr_metrics_abort_count(m);
        assert_int_equal(gr_metrics_restore_observe(m, 3, 1.5, 1200, 300), 0);
        assert_int_equal(gr_metrics_lag_set(m, 3, 42), 0);

        t = scrape(m);
        assert_true(metric(t, "gr_engine_events_total") == 15);
        assert_true(metric(t, "gr_events_applied_total") == 10);
        assert_true(metric(t, "gr_events_duplicate_total") == 1);
        assert_true(metric(t, "gr_ledger_rows_total") == 10);
        assert_true(metric(t, "gr_events_rejected_total{reason=\"schema\"}") ==
                    2);
        assert_true(metric(t, "gr_events_rejected_total{reason=\"impossible_"
                              "transition\"}") == 1);
        assert_true(metric(t, "gr_events_rejected_total{reason=\"too_large\"}") ==
                    0);
        assert_true(metric(t, "gr_events_parked{partition=\"3\"}") == 1);
        assert_true(metric(t, "gr_jobs_open{partition=\"3\"}") == 5);
        assert_true(metric(t, "gr_partitions_active") == 1);
        assert_true(metric(t, "gr_events_in_total{type=\"execution_failed\"}") ==
                    7);
        assert_true(metric(t, "gr_events_in_total{type=\"undecodable\"}") == 2);
        assert_true(metric(t, "gr_events_in_total{type=\"quote_accepted\"}") ==
                    0);
        assert_true(metric(t, "gr_decisions_total{settlement=\"hold\","
                              "rule=\"R7\"}") == 2);
        assert_true(metric(t, "gr_decisions_total{settlement=\"refund\","
                              "rule=\"R3\"}") == 1);
        assert_true(metric(t, "gr_txn_commit_seconds_bucket{le=\"0.0025\"}") ==
                    0);
        assert_true(metric(t, "gr_txn_commit_seconds_bucket{le=\"0.005\"}") ==
                    1);
        assert_true(metric(t, "gr_txn_commit_seconds_bucket{le=\"0.25\"}") ==
                    2);
        assert_true(metric(t, "gr_txn_commit_seconds_bucket{le=\"30\"}") == 2);
        assert_true(metric(t, "gr_txn_commit_seconds_bucket{le=\"+Inf\"}") ==
                    3);
        assert_true(metric(t, "gr_txn_commit_seconds_count") == 3);
        assert_true(metric(t, "gr_txn_commit_seconds_sum") > 99.2 &&
                    metric(t, "gr_txn_commit_seconds_sum") < 99.21);
        assert_true(metric(t, "gr_txn_aborts_total") == 1);
        assert_true(metric(t, "gr_restores_total") == 1);
        assert_true(metric(t, "gr_restore_seconds_total") == 1.5);
        assert_true(metric(t, "gr_restore_records_total") == 1200);
        assert_true(metric(t, "gr_restore_jobs_total") == 300);
        assert_true(metric(t, "gr_restore_last_seconds{partition=\"3\"}") ==
                    1.5);
        assert_true(metric(t, "gr_consumer_lag{partition=\"3\"}") == 42);
        free(t);

        /* The engine is rebuilt (abort, re-restore): its counters start
         * again at zero; totals must not go back, and the new engine's
         * events add on top. */
        gr_metrics_partition_reset(m, 3);
        t = scrape(m);
        assert_true(metric(t, "gr_events_applied_total") == 10);
        assert_true(metric(t, "gr_jobs_open{partition=\"3\"}") == -1);
        assert_true(metric(t, "gr_consumer_lag{partition=\"3\"}") == -1);
        assert_true(metric(t, "gr_partitions_active") == 0);
        free(t);
        memset(&s, 0, sizeof(s));
        s.events_in = 2;
        s.applied = 2;
        s.ledger_rows = 2;
        gr_metrics_partition_stats_set(m, 3, &s, 1);
        /* Without a reset, a lower snapshot is also a new engine. */
        s.events_in = 1;
        s.applied = 1;
        s.ledger_rows = 1;
        gr_metrics_partition_stats_set(m, 3, &s, 1);
        t = scrape(m);
        assert_true(metric(t, "gr_events_applied_total") == 13);
        assert_true(metric(t, "gr_engine_events_total") == 18);
        free(t);
        gr_metrics_destroy(m);
}

/* ---- /jobs/ ---- */

typedef struct {
        gr_metrics *m;
        atomic_int stop;
        gr_jobtab *jobs;
        pthread_t self;
        int calls;
} daemon_sim;

static const gr_job *job_find(void *opaque, const char *job_id) {
        daemon_sim *d = opaque;
        /* Must run on the "daemon" thread, never an HTTP thread. */
        assert_true(pthread_equal(pthread_self(), d->self));
        d->calls++;
        return gr_jobtab_get(d->jobs, job_id, 0);
}

static void *daemon_loop(void *arg) {
        daemon_sim *d = arg;
        struct timespec ts = {0, 5 * 1000 * 1000};
        while (!atomic_load(&d->stop)) {
                gr_metrics_dispatch(d->m);
                nanosleep(&ts, NULL);
        }
        return NULL;
}

static void test_jobs(void **state) {
        ops_run r = {0};
        daemon_sim d = {0};
        char path[512], ct[128], *body;
        int port;
        struct timespec t0, t1;
        (void)state;

        snprintf(path, sizeof(path), "%s/canonical.jsonl", GR_TEST_DATA_DIR);
        assert_int_equal(ops_run_file(&r, path), 0);
        {
                /* Unsigned access (loopback only); signatures have their
                 * own tests (test_http_auth, http_hostile). */
                gr_metrics_opts o;
                char err[256];
                gr_metrics_opts_default(&o);
                o.listen = "127.0.0.1:0";
                o.jobs_unsigned = 1;
                if (!(d.m = gr_metrics_new_opts(&o, err, sizeof(err))))
                        fail_msg("gr_metrics_new_opts: %s", err);
        }
        d.jobs = gr_engine_jobs(r.eng);
        port = gr_metrics_port(d.m);
        gr_metrics_job_finder_set(d.m, job_find, &d);
        assert_int_equal(pthread_create(&d.self, NULL, daemon_loop, &d), 0);

        assert_int_equal(ops_http_get(port, "GET", "/jobs/run_8841", &body, ct,
                                      sizeof(ct)),
                         200);
        assert_string_equal(ct, "text/html; charset=utf-8");
        assert_non_null(strstr(body, "<strong class=\"rule\">R7</strong>"));
        assert_non_null(strstr(body, "FAILED HERE: <strong>container_oom"));
        free(body);
        assert_int_equal(ops_http_get(port, "GET", "/jobs/run_other", &body,
                                      NULL, 0),
                         404);
        assert_non_null(strstr(body, "not held by this instance"));
        free(body);
        /* The id is URL-decoded and escaped in the page. */
        assert_int_equal(ops_http_get(port, "GET",
                                      "/jobs/%3Cscript%3Ex%3C%2Fscript%3E",
                                      &body, NULL, 0),
                         404);
        assert_null(strstr(body, "<script>"));
        assert_non_null(strstr(body, "&lt;script&gt;x&lt;/script&gt;"));
        free(body);
        assert_int_equal(ops_http_get(port, "GET", "/jobs/", NULL, NULL, 0),
                         400);
        assert_int_equal(d.calls, 3);

        /* Nobody dispatching: 503 after the bounded wait, not a hang. */
        atomic_store(&d.stop, 1);
        pthread_join(d.self, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(ops_http_get(port, "GET", "/jobs/run_8841", NULL, NULL,
                                      0),
                         503);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(t1.tv_sec - t0.tv_sec >= GR_METRICS_JOB_WAIT_MS / 1000 - 1);
        /* The timed-out request left the queue: a later dispatch runs
         * nothing. */
        assert_int_equal(gr_metrics_dispatch(d.m), 0);
        gr_metrics_destroy(d.m);
        ops_run_free(&r);
}

/* ---- setters from threads while scraping ---- */

#define WRITERS 4
#define ROUNDS 20000

static void *writer(void *arg) {
        gr_metrics *m = arg;
        for (int i = 0; i < ROUNDS; i++) {
                gr_metrics_event_in(m, GR_EVT_QUOTE_ACCEPTED);
                gr_metrics_decision_count(m, GR_SETTLE_RELEASE, GR_RULE_R10);
                gr_metrics_commit_observe(m, 0.001 * (i % 50));
        }
        return NULL;
}

static void test_concurrent(void **state) {
        gr_metrics *m = start();
        pthread_t th[WRITERS];
        double last = 0;
        char *t;
        (void)state;

        for (int i = 0; i < WRITERS; i++)
                assert_int_equal(pthread_create(&th[i], NULL, writer, m), 0);
        for (int k = 0; k < 20; k++) {
                double v, c, inf;
                t = scrape(m);
                v = metric(t, "gr_events_in_total{type=\"quote_accepted\"}");
                c = metric(t, "gr_txn_commit_seconds_count");
                inf = metric(t, "gr_txn_commit_seconds_bucket{le=\"+Inf\"}");
                assert_true(v >= last);
                assert_true(c == inf); /* count and +Inf never disagree */
                last = v;
                free(t);
        }
        for (int i = 0; i < WRITERS; i++)
                pthread_join(th[i], NULL);
        t = scrape(m);
        assert_true(metric(t, "gr_events_in_total{type=\"quote_accepted\"}") ==
                    WRITERS * ROUNDS);
        assert_true(metric(t, "gr_decisions_total{settlement=\"release\","
                              "rule=\"R10\"}") == WRITERS * ROUNDS);
        assert_true(metric(t, "gr_txn_commit_seconds_count") ==
                    WRITERS * ROUNDS);
        free(t);
        gr_metrics_destroy(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bad_listen),
            cmocka_unit_test(test_bad_opts),
            cmocka_unit_test(test_null),
            cmocka_unit_test(test_endpoints),
            cmocka_unit_test(test_counters),
            cmocka_unit_test(test_jobs),
            cmocka_unit_test(test_concurrent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
