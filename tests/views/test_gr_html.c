/*
 * The HTML receipt (views/gr_html.h) as markup: the canonical case
 * marks the execution lane as failed with container_oom and names R7;
 * every scenario job gets all six lanes and at most one failure marker in
 * the lane the layer statuses point to; every job string is escaped; the
 * page loads nothing from outside.  test_html_chromium checks the same
 * page as a browser renders it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_html.h"
#include "gr_rules.h"
#include "ops_fixture.h"

static int count(const char *hay, const char *needle) {
        int n = 0;
        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* The markup of one lane: from its <section ...> to </section>. */
static char *lane(const char *page, const char *id) {
        char key[64];
        const char *s, *e;
        char *out;

        snprintf(key, sizeof(key), "id=\"lane-%s\"", id);
        if (!(s = strstr(page, key)))
                return NULL;
        while (s > page && strncmp(s, "<section", 8))
                s--;
        if (!(e = strstr(s, "</section>")))
                return NULL;
        out = strndup(s, (size_t)(e - s));
        return out;
}

static void render(const char *file, const char *job_id, gr_buf *b) {
        ops_run r = {0};
        char path[512];
        gr_job *j;

        snprintf(path, sizeof(path), "%s/%s", GR_TEST_DATA_DIR, file);
        assert_int_equal(ops_run_file(&r, path), 0);
        j = gr_jobtab_get(gr_engine_jobs(r.eng), job_id, 0);
        assert_non_null(j);
        gr_buf_init(b);
        gr_receipt_to_html(j, b);
        assert_int_equal(b->oom, 0);
        ops_run_free(&r);
}

static void test_canonical(void **state) {
        gr_buf b;
        char *ex, *out, *ev, *st;
        (void)state;

        render("canonical.jsonl", "run_8841", &b);
        assert_non_null(strstr(b.data, "<!DOCTYPE html>"));
        assert_non_null(strstr(b.data,
                               "job_id=run_8841 attempt=1 capacity=pass "
                               "execution=fail output=none settlement=hold "
                               "reason=container_oom retry=free"));
        assert_int_equal(count(b.data, "FAILED HERE"), 1);
        assert_int_equal(count(b.data, "class=\"lane failed\""), 1);

        assert_non_null(ex = lane(b.data, "execution"));
        assert_non_null(strstr(ex, "class=\"lane failed\""));
        assert_non_null(strstr(ex, "FAILED HERE: <strong>container_oom"));
        assert_non_null(strstr(ex, "2026-05-25T08:09:04Z"));
        assert_non_null(strstr(ex, "2026-05-25T08:11:33Z"));
        assert_non_null(strstr(ex, "python infer.py --input manifest-42.json"));
        assert_non_null(strstr(ex, "81920 MB"));

        assert_non_null(out = lane(b.data, "output"));
        assert_non_null(strstr(out, "class=\"lane skipped\""));
        assert_non_null(ev = lane(b.data, "evaluation"));
        assert_non_null(strstr(ev, "not reached"));

        assert_non_null(st = lane(b.data, "settlement"));
        assert_non_null(strstr(st, "<span class=\"status\">hold</span>"));
        assert_non_null(strstr(st, "<strong class=\"rule\">R7</strong>"));
        assert_non_null(strstr(st, "<dd>free</dd>"));
        for (const char *const *l = (const char *const[]){
                 "quote", "capacity", NULL};
             *l; l++) {
                char *s = lane(b.data, *l);
                assert_non_null(s);
                assert_non_null(strstr(s, "class=\"lane ok\""));
                free(s);
        }
        free(ex);
        free(out);
        free(ev);
        free(st);
        gr_buf_free(&b);
}

/* Self-contained: no script, no external resource of any kind. */
static void test_self_contained(void **state) {
        gr_buf b;
        (void)state;

        render("canonical.jsonl", "run_8841", &b);
        assert_null(strstr(b.data, "<script"));
        assert_null(strstr(b.data, "src="));
        assert_null(strstr(b.data, "<link"));
        assert_null(strstr(b.data, "http:"));
        assert_null(strstr(b.data, "https:"));
        assert_null(strstr(b.data, "@import"));
        assert_null(strstr(b.data, "url("));
        gr_buf_free(&b);
}

typedef struct {
        const char *job;
        const char *failed_lane; /* NULL: no lane failed */
        const char *rule;
} scenario_case;

/* Expected per the scenario data and docs/SPEC.md §5. */
static const scenario_case scenarios[] = {
    {"run_capfail", "capacity", "R3"},
    {"run_noshow", "execution", "R4"},
    {"run_budget", "execution", "R5"},
    {"run_dispute", "execution", "R6"},
    {"run_evalfail", "evaluation", "R9"},
    {"run_ok", NULL, "R10"},
};

static void test_scenarios(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]);
             i++) {
                const scenario_case *c = &scenarios[i];
                char rule[64];
                gr_buf b;

                render("scenarios.jsonl", c->job, &b);
                assert_int_equal(count(b.data, "<section class=\"lane "), 6);
                snprintf(rule, sizeof(rule),
                         "<strong class=\"rule\">%s</strong>", c->rule);
                if (!strstr(b.data, rule))
                        fail_msg("%s: no %s in the page", c->job, rule);
                if (!c->failed_lane) {
                        assert_int_equal(count(b.data, "FAILED HERE"), 0);
                } else {
                        char *l = lane(b.data, c->failed_lane);
                        assert_int_equal(count(b.data, "FAILED HERE"), 1);
                        assert_non_null(l);
                        if (!strstr(l, "class=\"lane failed\""))
                                fail_msg("%s: lane %s not marked failed",
                                         c->job, c->failed_lane);
                        free(l);
                }
                gr_buf_free(&b);
        }
}

/* The page marks the lane the core names (gr_failed_layer()), for every
 * job of the test data, and no other. */
static void test_failed_lane_is_the_cores(void **state) {
        static const char *const files[] = {"canonical.jsonl",
                                            "scenarios.jsonl"};
        static const char *const ids[] = {NULL, "capacity", "execution",
                                          "output", "evaluation"};
        size_t seen[GR_LAYER_EVALUATION + 1] = {0};
        (void)state;

        for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
                ops_run r = {0};
                char path[512];
                size_t it = 0;
                gr_job *j;

                snprintf(path, sizeof(path), "%s/%s", GR_TEST_DATA_DIR,
                         files[f]);
                assert_int_equal(ops_run_file(&r, path), 0);
                while ((j = gr_jobtab_next(gr_engine_jobs(r.eng), &it))) {
                        gr_layer_t l = gr_failed_layer(j);
                        char want[128];
                        gr_buf b;

                        assert_true((unsigned)l <= GR_LAYER_EVALUATION);
                        seen[l]++;
                        gr_buf_init(&b);
                        gr_receipt_to_html(j, &b);
                        assert_int_equal(b.oom, 0);
                        if (l == GR_LAYER_NONE) {
                                if (count(b.data, "class=\"lane failed\""))
                                        fail_msg("%s: a lane marked failed",
                                                 j->job_id);
                        } else {
                                snprintf(want, sizeof(want),
                                         "<section class=\"lane failed\" "
                                         "id=\"lane-%s\">",
                                         ids[l]);
                                assert_int_equal(
                                    count(b.data, "class=\"lane failed\""), 1);
                                if (!strstr(b.data, want))
                                        fail_msg("%s: lane %s not the failed "
                                                 "one",
                                                 j->job_id, ids[l]);
                        }
                        gr_buf_free(&b);
                }
                ops_run_free(&r);
        }
        /* The data exercise a failure and a success at least. */
        assert_true(seen[GR_LAYER_NONE] > 0);
        assert_true(seen[GR_LAYER_EXECUTION] > 0);
}

static void test_escaping(void **state) {
        gr_job *j = gr_job_new("<script>alert('x')</script>&\"");
        gr_buf b;
        (void)state;

        assert_non_null(j);
        assert_int_equal(gr_job_str_set(j, &j->cur.command, "rm -rf / <b>&amp;"), 0);
        assert_int_equal(gr_job_str_set(j, &j->cur.container_image, "\"><img>"), 0);
        assert_int_equal(GR_JT_SET(j, cur, started_at, 0), 0);
        j->cur.execution = GR_EXEC_RUNNING;
        gr_buf_init(&b);
        gr_receipt_to_html(j, &b);
        assert_int_equal(b.oom, 0);
        assert_null(strstr(b.data, "<script>"));
        assert_null(strstr(b.data, "<img>"));
        assert_null(strstr(b.data, "<b>&amp;"));
        assert_non_null(strstr(b.data, "&lt;script&gt;alert(&#39;x&#39;)"
                                       "&lt;/script&gt;&amp;&quot;"));
        assert_non_null(strstr(b.data, "rm -rf / &lt;b&gt;&amp;amp;"));
        assert_non_null(strstr(b.data, "&quot;&gt;&lt;img&gt;"));
        /* Nothing decided yet: no rule, no failure. */
        assert_null(strstr(b.data, "FAILED HERE"));
        assert_non_null(strstr(b.data, "no rule has decided yet"));
        gr_buf_free(&b);
        gr_job_destroy(j);
}

static void test_escape_fn(void **state) {
        gr_buf b;
        (void)state;
        gr_buf_init(&b);
        gr_html_escape(&b, "a<b>&\"'z\0x", 10);
        assert_int_equal(b.len, strlen("a&lt;b&gt;&amp;&quot;&#39;z") + 2);
        assert_memory_equal(b.data, "a&lt;b&gt;&amp;&quot;&#39;z\0x", b.len);
        gr_buf_free(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_canonical),
            cmocka_unit_test(test_self_contained),
            cmocka_unit_test(test_scenarios),
            cmocka_unit_test(test_failed_lane_is_the_cores),
            cmocka_unit_test(test_escaping),
            cmocka_unit_test(test_escape_fn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
