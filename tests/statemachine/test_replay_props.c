/*
 * Properties of the whole pipeline over the bundled example data
 * (the .jsonl files in tests/data): the docs/SPEC.md §1 canonical case to the byte, determinism,
 * independence from how jobs interleave, state restore at every point of
 * every job, and the per-job ledger hash chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "gr_engine.h"
#include "gr_policy_json.h"
#include "gr_json_event.h"
#include "gr_output.h"
#include "gr_state_json.h"

#define MAXJOBS 64

typedef struct out_by_job {
        char job[MAXJOBS][GR_ID_MAX];
        gr_buf buf[MAXJOBS];
        int n;
} out_by_job;

static gr_buf *slot(out_by_job *o, const char *job) {
        for (int i = 0; i < o->n; i++)
                if (!strcmp(o->job[i], job))
                        return &o->buf[i];
        assert_true(o->n < MAXJOBS);
        snprintf(o->job[o->n], sizeof(o->job[0]), "%s", job);
        gr_buf_init(&o->buf[o->n]);
        return &o->buf[o->n++];
}

static void on_ledger(void *op, const gr_job *j, const gr_ledger_row *r) {
        gr_buf *b = slot(op, j->job_id);
        gr_ledger_row_to_json(r, 1, b);
        gr_buf_putc(b, '\n');
}

static void on_decision(void *op, const gr_job *j, const gr_decision *d) {
        gr_buf *b = slot(op, j->job_id);
        gr_decision_to_json(d, NULL, NULL, b);
        gr_buf_putc(b, '\n');
}

static void on_reject(void *op, const gr_event *ev, const gr_err *err) {
        gr_buf *b = slot(op, gr_event_has(ev, GR_F_job_id) ? ev->job_id : "?");
        gr_reject_to_json(ev->event_id, ev->job_id, err, b);
        gr_buf_putc(b, '\n');
}

static void out_free(out_by_job *o) {
        for (int i = 0; i < o->n; i++)
                gr_buf_free(&o->buf[i]);
        o->n = 0;
}

static const char *out_get(out_by_job *o, const char *job) {
        for (int i = 0; i < o->n; i++)
                if (!strcmp(o->job[i], job))
                        return o->buf[i].data ? o->buf[i].data : "";
        return "";
}

/* The data file as an array of decoded events. */
static gr_event *load(const char *name, int *n) {
        char path[512], line[70000];
        FILE *fp;
        gr_event *evs = NULL;
        gr_json_decoder *d = gr_json_decoder_new();
        int cap = 0;

        snprintf(path, sizeof(path), "%s/%s", GR_TEST_DATA_DIR, name);
        assert_non_null(fp = fopen(path, "r"));
        *n = 0;
        while (fgets(line, sizeof(line), fp)) {
                gr_err err;
                if (*n == cap) {
                        cap = cap ? cap * 2 : 64;
                        evs = realloc(evs, (size_t)cap * sizeof(*evs));
                }
                /* Keep events that fail validation too (as rejects to be):
                 * the engine must see exactly the file. */
                gr_json_event_decode(d, line, strlen(line), &evs[*n], &err);
                (*n)++;
        }
        fclose(fp);
        gr_json_decoder_destroy(d);
        return evs;
}

static void feed(gr_engine *e, const gr_event *ev) {
        gr_event copy = *ev;
        gr_err err;
        if (gr_event_validate(&copy, &err))
                gr_engine_reject(e, &copy, &err);
        else
                gr_engine_apply(e, &copy);
}

static void run(const gr_event *evs, const int *order, int n, out_by_job *o) {
        gr_policy pol;
        gr_fsm_sink sink = {o, on_ledger, on_decision, on_reject};
        gr_engine *e;

        gr_policy_default(&pol);
        e = gr_engine_new(&pol, &sink);
        for (int i = 0; i < n; i++)
                feed(e, &evs[order ? order[i] : i]);
        gr_engine_destroy(e);
}

static void test_canonical_case(void **state) {
        int n;
        gr_event *evs = load("canonical.jsonl", &n);
        gr_policy pol;
        gr_engine *e;
        gr_job *j;
        gr_buf b;
        json_t *r;
        char line[256], id[65];
        out_by_job o = {0};
        gr_fsm_sink sink = {&o, on_ledger, on_decision, on_reject};
        (void)state;

        gr_policy_default(&pol);
        e = gr_engine_new(&pol, &sink);
        for (int i = 0; i < n; i++)
                feed(e, &evs[i]);
        j = gr_jobtab_get(gr_engine_jobs(e), "run_8841", 0);
        assert_non_null(j);
        assert_string_equal(gr_job_line(j, line, sizeof(line)),
                            "job_id=run_8841 attempt=1 capacity=pass "
                            "execution=fail output=none settlement=hold "
                            "reason=container_oom retry=free");
        /* The seed's receipt fields. */
        gr_buf_init(&b);
        gr_receipt_to_json(j, &b);
        assert_non_null(r = json_loads(b.data, 0, NULL));
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(r, "capacity"), "status")),
                            "pass");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(r, "execution"), "failed_at")),
                            "2026-05-25T08:11:33Z");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(r, "execution"), "started_at")),
                            "2026-05-25T08:09:04Z");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r, "execution"),
                                              "failure_class")),
            "container_oom");
        assert_true(json_is_null(json_object_get(json_object_get(r, "output"),
                                                 "output_hash")));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r, "output"),
                                              "evaluation_status")),
            "not_started");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r, "quote"),
                                              "reservation_window")),
            "2026-05-25T08:00:00Z/2026-05-25T08:30:00Z");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r, "settlement"),
                                              "posture")),
            "hold");
        json_decref(r);
        /* decision_id is SHA-256 of "job_id\nattempt\nseq"; the decision
         * came from the fourth ledger row. */
        gr_sha256_hex("run_8841\n1\n4", 12, id);
        assert_non_null(strstr(out_get(&o, "run_8841"), id));
        assert_non_null(strstr(out_get(&o, "run_8841"),
                               "\"decided_at\":\"2026-05-25T08:11:33Z\""));
        gr_buf_free(&b);
        gr_engine_destroy(e);
        out_free(&o);
        free(evs);
}

static void test_deterministic(void **state) {
        int n;
        gr_event *evs = load("scenarios.jsonl", &n);
        out_by_job a = {0}, b = {0};
        (void)state;

        run(evs, NULL, n, &a);
        run(evs, NULL, n, &b);
        assert_int_equal(a.n, b.n);
        for (int i = 0; i < a.n; i++)
                assert_string_equal(out_get(&a, a.job[i]), out_get(&b, a.job[i]));
        out_free(&a);
        out_free(&b);
        free(evs);
}

/* Grouping every job's events together (jobs in reverse order) must not
 * change any job's output: jobs are independent. */
static void test_interleaving(void **state) {
        int n, k = 0;
        gr_event *evs = load("scenarios.jsonl", &n);
        int *order = malloc((size_t)n * sizeof(*order));
        char *done = calloc((size_t)n, 1);
        out_by_job a = {0}, b = {0};
        (void)state;

        for (int i = n - 1; i >= 0; i--) {
                if (done[i])
                        continue;
                /* all events of job i, in their original relative order */
                for (int m = 0; m < n; m++)
                        if (!done[m] && !strcmp(evs[m].job_id, evs[i].job_id)) {
                                order[k++] = m;
                                done[m] = 1;
                        }
        }
        assert_int_equal(k, n);
        run(evs, NULL, n, &a);
        run(evs, order, n, &b);
        assert_true(a.n > 10);
        for (int i = 0; i < a.n; i++)
                assert_string_equal(out_get(&a, a.job[i]), out_get(&b, a.job[i]));
        out_free(&a);
        out_free(&b);
        free(order);
        free(done);
        free(evs);
}

/* Restore at every point: apply k events, encode the job's state, decode
 * it into a fresh job, apply the rest.  The outputs must equal an
 * uninterrupted run, and encode(decode(s)) must equal s. */
static void test_restore_anywhere(void **state) {
        int n;
        gr_event *evs = load("scenarios.jsonl", &n);
        out_by_job whole = {0};
        gr_policy pol;
        (void)state;

        gr_policy_default(&pol);
        run(evs, NULL, n, &whole);
        for (int k = 1; k < n; k++) {
                out_by_job o = {0};
                gr_fsm_sink sink = {&o, on_ledger, on_decision, on_reject};
                gr_engine *e = gr_engine_new(&pol, &sink);
                gr_jobtab *t = gr_engine_jobs(e);
                size_t njobs;
                gr_job **jobs;

                for (int i = 0; i < k; i++)
                        feed(e, &evs[i]);
                /* Snapshot every job, as receiptd would at a batch end. */
                jobs = gr_jobtab_sorted(t, &njobs);
                for (size_t i = 0; i < njobs; i++) {
                        gr_buf s1, s2;
                        char errstr[256];
                        gr_job *back;
                        gr_buf_init(&s1);
                        gr_buf_init(&s2);
                        gr_state_encode(jobs[i], &s1);
                        back = gr_state_decode(s1.data, s1.len, errstr,
                                               sizeof(errstr));
                        if (!back)
                                print_message("decode: %s\n", errstr);
                        assert_non_null(back);
                        gr_state_encode(back, &s2);
                        assert_string_equal(s1.data, s2.data);
                        assert_int_equal(gr_jobtab_put(t, back), 0);
                        gr_buf_free(&s1);
                        gr_buf_free(&s2);
                }
                free(jobs);
                for (int i = k; i < n; i++)
                        feed(e, &evs[i]);
                gr_engine_destroy(e);
                for (int i = 0; i < whole.n; i++)
                        assert_string_equal(out_get(&whole, whole.job[i]),
                                            out_get(&o, whole.job[i]));
                out_free(&o);
        }
        out_free(&whole);
        free(evs);
}

/* Each job's rows chain: prev_hash is the previous row_hash, row_hash is
 * SHA-256 over the row without row_hash, seq counts from 1. */
static void test_ledger_chain(void **state) {
        int n;
        gr_event *evs = load("scenarios.jsonl", &n);
        out_by_job o = {0};
        (void)state;

        run(evs, NULL, n, &o);
        for (int i = 0; i < o.n; i++) {
                char *text = strdup(out_get(&o, o.job[i])), *save, *ln;
                char prev[65];
                long long seq = 0;
                memset(prev, '0', 64);
                prev[64] = 0;
                for (ln = strtok_r(text, "\n", &save); ln;
                     ln = strtok_r(NULL, "\n", &save)) {
                        json_t *r = json_loads(ln, 0, NULL);
                        const char *rh;
                        char *cut, want[65];
                        assert_non_null(r);
                        if (!json_object_get(r, "row_hash")) {
                                json_decref(r);
                                continue; /* decision or reject line */
                        }
                        assert_int_equal(json_integer_value(
                                             json_object_get(r, "seq")),
                                         ++seq);
                        assert_string_equal(json_string_value(json_object_get(
                                                r, "prev_hash")),
                                            prev);
                        rh = json_string_value(json_object_get(r, "row_hash"));
                        /* canonical bytes = the line up to ,"row_hash" + } */
                        cut = strstr(ln, ",\"row_hash\"");
                        assert_non_null(cut);
                        cut[0] = '}';
                        gr_sha256_hex(ln, (size_t)(cut - ln) + 1, want);
                        assert_string_equal(rh, want);
                        memcpy(prev, rh, 65);
                        json_decref(r);
                }
                free(text);
        }
        out_free(&o);
        free(evs);
}

static void test_policy_file(void **state) {
        gr_policy p, d;
        char errstr[256];
        const char *good = "{\"free_retries_per_job\":2,\"rules\":{\"R6\":false}}";
        (void)state;

        gr_policy_default(&d);
        assert_int_equal(d.free_retries_per_job, 1);
        assert_int_equal(d.park_limit, 16);
        assert_int_equal(strlen(d.hash), 64);
        assert_int_equal(gr_policy_load(&p, good, strlen(good), errstr,
                                        sizeof(errstr)),
                         0);
        assert_int_equal(p.free_retries_per_job, 2);
        assert_false(p.rule_enabled[GR_RULE_R6]);
        assert_true(p.rule_enabled[GR_RULE_R7]);
        assert_string_not_equal(p.hash, d.hash);
        assert_int_equal(gr_policy_load(&p, "{\"frobnicate\":1}", 16, errstr,
                                        sizeof(errstr)),
                         -1);
        assert_non_null(strstr(errstr, "frobnicate"));
        assert_int_equal(gr_policy_load(&p, "{\"rules\":{\"R13\":true}}", 22,
                                        errstr, sizeof(errstr)),
                         -1);
        assert_int_equal(gr_policy_load(&p, "[", 1, errstr, sizeof(errstr)),
                         -1);
}

static void test_time(void **state) {
        int64_t ms;
        char buf[40];
        (void)state;
        assert_int_equal(gr_time_parse("2026-05-25T08:11:33Z", 20, &ms), 0);
        assert_string_equal(gr_time_format(ms, buf, sizeof(buf)),
                            "2026-05-25T08:11:33Z");
        assert_int_equal(gr_time_parse("2026-05-25T10:11:33.5+02:00", 27, &ms),
                         0);
        assert_string_equal(gr_time_format(ms, buf, sizeof(buf)),
                            "2026-05-25T08:11:33.500Z");
        assert_int_equal(gr_time_parse("1970-01-01T00:00:00Z", 20, &ms), 0);
        assert_int_equal(ms, 0);
        assert_int_equal(gr_time_parse("2026-02-29T00:00:00Z", 20, &ms), -1);
        assert_int_equal(gr_time_parse("2024-02-29T00:00:00Z", 20, &ms), 0);
        assert_int_equal(gr_time_parse("2026-13-01T00:00:00Z", 20, &ms), -1);
        assert_int_equal(gr_time_parse("2026-05-25 08:11:33", 19, &ms), -1);
        assert_int_equal(gr_time_parse("2026-05-25T08:11:33Zjunk", 24, &ms), -1);
        /* offsets may not leave years 0000..9999 */
        assert_int_equal(gr_time_parse("0000-01-01T00:00:00+01:00", 25, &ms),
                         -1);
        assert_int_equal(gr_time_parse("0000-01-01T00:00:00-01:00", 25, &ms),
                         0);
        assert_int_equal(gr_time_parse("9999-12-31T23:59:59-00:01", 25, &ms),
                         -1);
        assert_string_equal(gr_time_format(GR_TIME_MAX_MS, buf, sizeof(buf)),
                            "9999-12-31T23:59:59.999Z");
        assert_string_equal(gr_time_format(GR_TIME_MIN_MS, buf, sizeof(buf)),
                            "0000-01-01T00:00:00Z");
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_canonical_case),
            cmocka_unit_test(test_deterministic),
            cmocka_unit_test(test_interleaving),
            cmocka_unit_test(test_restore_anywhere),
            cmocka_unit_test(test_ledger_chain),
            cmocka_unit_test(test_policy_file),
            cmocka_unit_test(test_time),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
