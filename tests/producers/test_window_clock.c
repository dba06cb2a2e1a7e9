/* gr_window_clock: the reservation_expired event of a job's attempt (a
 * stable event_id, docs/SPEC.md §5 window_clock), and publishing it to
 * the embedded broker at most once per process until the job stops being
 * due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gr_json_event.h"
#include "gr_window_clock.h"
#include "mock_fixture.h"

#define TOPIC "gpu.job.events"
#define NOW_MS 1780000000123LL /* 2026-05-28T20:26:40.123Z */

static gr_job *job(const char *id, uint32_t attempt) {
        gr_job *j = gr_job_new(id);

        assert_non_null(j);
        j->attempt = attempt;
        return j;
}

/* The event as JSON, parsed. */
static json_t *event_json(const gr_job *j, int64_t now) {
        gr_event ev;
        gr_err err;
        gr_buf b;
        json_t *root;

        assert_int_equal(gr_window_clock_event(j, now, &ev, &err), 0);
        gr_buf_init(&b);
        gr_json_event_encode(&ev, &b);
        root = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(root);
        gr_buf_free(&b);
        return root;
}

static const char *str_at(json_t *o, const char *a, const char *b) {
        json_t *v = json_object_get(o, a);

        if (b)
                v = json_object_get(v, b);
        assert_true(json_is_string(v));
        return json_string_value(v);
}

static void test_event(void **state) {
        gr_job *j1 = job("job-1", 2), *j2 = job("job-1", 3);
        json_t *e, *f;

        (void)state;
        e = event_json(j1, NOW_MS);
        /* SHA-256("job-1\n2") = 03239569c81d6a2391ce87aeb988d091 0750... */
        assert_string_equal(str_at(e, "event_id", NULL),
                            "window-clock:03239569c81d6a2391ce87aeb988d091");
        assert_string_equal(str_at(e, "job_id", NULL), "job-1");
        assert_int_equal(json_integer_value(json_object_get(e, "attempt")), 2);
        assert_string_equal(str_at(e, "type", NULL), "reservation_expired");
        assert_string_equal(str_at(e, "occurred_at", NULL),
                            "2026-05-28T20:26:40.123Z");
        assert_string_equal(str_at(e, "actor", "role"), "marketplace");
        assert_string_equal(str_at(e, "actor", "id"),
                            "receiptd-window-clock");
        /* the same attempt later: the same event_id (a duplicate) */
        f = event_json(j1, NOW_MS + 60000);
        assert_string_equal(str_at(f, "event_id", NULL),
                            str_at(e, "event_id", NULL));
        assert_string_equal(str_at(f, "occurred_at", NULL),
                            "2026-05-28T20:27:40.123Z");
        json_decref(f);
        /* another attempt: another event */
        f = event_json(j2, NOW_MS);
        assert_string_equal(str_at(f, "event_id", NULL),
                            "window-clock:3fa47c1ec8731b655c85d49512f5e116");
        json_decref(f);
        json_decref(e);
        gr_job_destroy(j1);
        gr_job_destroy(j2);
}

/* A job id that cannot be an event's job_id is refused with a reason,
 * however long (the id hash reads only the bytes it formatted). */
static void test_event_refused(void **state) {
        static const size_t lens[] = {GR_ID_MAX, GR_ID_MAX + 10, 1000};
        char id[1001];
        gr_job *j;
        gr_event ev;
        gr_err err;

        (void)state;
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                memset(id, 'x', lens[i]);
                id[lens[i]] = '\0';
                j = job(id, 1);
                memset(&err, 0, sizeof(err));
                assert_int_equal(gr_window_clock_event(j, NOW_MS, &ev, &err),
                                 -1);
                assert_true(err.detail[0] != '\0');
                gr_job_destroy(j);
        }
        /* a time outside RFC 3339's years */
        j = job("job-1", 1);
        memset(&err, 0, sizeof(err));
        if (gr_window_clock_event(j, GR_TIME_MAX_MS + 1000, &ev, &err) == 0)
                fail_msg("a time past year 9999 was accepted");
        gr_job_destroy(j);
}

static void test_new_refused(void **state) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512] = "";

        (void)state;
        /* idempotence needs acks=all: the producer cannot be made */
        assert_int_equal(rd_kafka_conf_set(conf, "acks", "1", err,
                                           sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_null(gr_window_clock_new(conf, TOPIC, err, sizeof(err)));
        assert_non_null(strstr(err, "window clock producer: "));
        gr_window_clock_destroy(NULL);
}

static gr_window_clock *clock_for(gr_broker *b) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];
        gr_window_clock *c;

        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                           gr_broker_bootstraps(b), err,
                                           sizeof(err)),
                         RD_KAFKA_CONF_OK);
        c = gr_window_clock_new(conf, TOPIC, err, sizeof(err));
        if (!c)
                fail_msg("%s", err);
        return c;
}

/* Published once; while still due in the next sweeps it is not sent
 * again; once not due for a sweep it is forgotten (sent again if due
 * again: a duplicate event_id, harmless). */
static void test_publish(void **state) {
        gr_broker *b = mock_start();
        gr_window_clock *c;
        gr_job *a = job("job-a", 1), *a2 = job("job-a", 2), *bj = job("job-b",
                                                                      1);
        static mock_record recs[MOCK_MAX_RECORDS];
        char err[512];
        json_t *v;
        int n;

        (void)state;
        assert_non_null(b);
        c = clock_for(b);
        gr_window_clock_sweep_begin(c);
        assert_int_equal(gr_window_clock_publish(c, a, 1, NOW_MS, err,
                                                 sizeof(err)),
                         1);
        assert_int_equal(gr_window_clock_publish(c, bj, 3, NOW_MS, err,
                                                 sizeof(err)),
                         1);
        assert_int_equal(gr_window_clock_sweep_end(c), 2);

        gr_window_clock_sweep_begin(c); /* both still due */
        assert_int_equal(gr_window_clock_publish(c, a, 1, NOW_MS + 1000, err,
                                                 sizeof(err)),
                         0);
        assert_int_equal(gr_window_clock_publish(c, bj, 3, NOW_MS + 1000, err,
                                                 sizeof(err)),
                         0);
        /* a new attempt of a job is another event */
        assert_int_equal(gr_window_clock_publish(c, a2, 1, NOW_MS + 1000, err,
                                                 sizeof(err)),
                         1);
        assert_int_equal(gr_window_clock_sweep_end(c), 3);

        gr_window_clock_sweep_begin(c); /* only job-b still due */
        assert_int_equal(gr_window_clock_publish(c, bj, 3, NOW_MS + 2000, err,
                                                 sizeof(err)),
                         0);
        assert_int_equal(gr_window_clock_sweep_end(c), 3);
        gr_window_clock_sweep_begin(c); /* job-a attempt 1 forgotten */
        assert_int_equal(gr_window_clock_publish(c, a, 1, NOW_MS + 3000, err,
                                                 sizeof(err)),
                         1);
        assert_int_equal(gr_window_clock_publish(c, bj, 3, NOW_MS + 3000, err,
                                                 sizeof(err)),
                         0);
        assert_int_equal(gr_window_clock_sweep_end(c), 4);
        gr_window_clock_destroy(c); /* flushes */

        /* on the partitions asked for, keyed by job_id */
        n = mock_read(gr_broker_bootstraps(b), TOPIC, 1, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 3);
        for (int i = 0; i < n; i++) {
                assert_string_equal(recs[i].key, "job-a");
                v = json_loadb(recs[i].value, recs[i].value_len, 0, NULL);
                assert_non_null(v);
                assert_string_equal(str_at(v, "type", NULL),
                                    "reservation_expired");
                assert_int_equal(
                    json_integer_value(json_object_get(v, "attempt")),
                    i == 1 ? 2 : 1);
                json_decref(v);
        }
        n = mock_read(gr_broker_bootstraps(b), TOPIC, 3, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 1);
        assert_string_equal(recs[0].key, "job-b");
        n = mock_read(gr_broker_bootstraps(b), TOPIC, 0, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 0);
        gr_job_destroy(a);
        gr_job_destroy(a2);
        gr_job_destroy(bj);
        gr_broker_destroy(b);
}

/* A job whose event cannot be built: -1 with the job and the reason. */
static void test_publish_refused(void **state) {
        gr_broker *b = mock_start();
        gr_window_clock *c;
        char id[1001], err[512] = "";
        gr_job *j;

        (void)state;
        assert_non_null(b);
        c = clock_for(b);
        memset(id, 'y', sizeof(id) - 1);
        id[sizeof(id) - 1] = '\0';
        j = job(id, 1);
        gr_window_clock_sweep_begin(c);
        assert_int_equal(gr_window_clock_publish(c, j, 0, NOW_MS, err,
                                                 sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "window clock event for yyyy"));
        assert_int_equal(gr_window_clock_sweep_end(c), 0);
        gr_job_destroy(j);
        gr_window_clock_destroy(c);
        gr_broker_destroy(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_event),
            cmocka_unit_test(test_event_refused),
            cmocka_unit_test(test_new_refused),
            cmocka_unit_test(test_publish),
            cmocka_unit_test(test_publish_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
