/*
 * gr_failed_layer() (statemachine/gr_rules.h): which layer of the receipt
 * an attempt failed in, one table row per way a layer fails or does not.
 * Each row runs a script (fsm_script.h) through an engine with the default
 * policy, or with one rule switched off or no free retry, and checks the layer and
 * the rule that decided, so a row shows the layer and the rule agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fsm_script.h"
#include "gr_engine.h"
#include "gr_rules.h"

#define MAXEV 32

struct row {
        const char *name;
        const char *script;
        gr_rule_t off;      /* a rule switched off, or GR_RULE_NONE */
        int no_free_retry;  /* free_retries_per_job 0 instead of 1 */
        gr_rule_t rule;     /* the job's deciding rule afterwards */
        gr_layer_t layer;
};

static const struct row rows[] = {
    {"nothing yet", "Q", GR_RULE_NONE, 0, GR_RULE_NONE, GR_LAYER_NONE},
    {"running", "Q C+ RA S", GR_RULE_NONE, 0, GR_RULE_NONE, GR_LAYER_NONE},
    {"capacity check failed (R3)", "Q C-", GR_RULE_NONE, 0, GR_RULE_R3,
     GR_LAYER_CAPACITY},
    {"execution failed, free retry (R7)", "Q C+ RA S F:container_oom",
     GR_RULE_NONE, 0, GR_RULE_R7, GR_LAYER_EXECUTION},
    {"execution failed, no free retry (R8)", "Q C+ RA S F:timeout",
     GR_RULE_NONE, 1, GR_RULE_R8, GR_LAYER_EXECUTION},
    {"reservation expired (R4)", "Q C+ RA EXP", GR_RULE_NONE, 0, GR_RULE_R4,
     GR_LAYER_EXECUTION},
    {"window passed before the start (R4)", "Q C+ T:08:40 RA",
     GR_RULE_NONE, 0, GR_RULE_R4, GR_LAYER_EXECUTION},
    {"window passed, R4 off: no failure named", "Q C+ T:08:40 RA",
     GR_RULE_R4, 0, GR_RULE_NONE, GR_LAYER_NONE},
    {"output missing (R11)", "Q C+ RA S D", GR_RULE_NONE, 0, GR_RULE_R11,
     GR_LAYER_OUTPUT},
    {"output missing, R11 off: no failure named", "Q C+ RA S D",
     GR_RULE_R11, 0, GR_RULE_NONE, GR_LAYER_NONE},
    {"no output but logs disagree (R6): not the output layer",
     "Q C+ RA S BP:container_oom:40 D", GR_RULE_NONE, 0, GR_RULE_R6, GR_LAYER_NONE},
    {"evaluation failed (R9)", "Q C+ RA S D O E-", GR_RULE_NONE, 0, GR_RULE_R9,
     GR_LAYER_EVALUATION},
    {"delivered and passed (R10)", "Q C+ RA S D O E+", GR_RULE_NONE, 0, GR_RULE_R10,
     GR_LAYER_NONE},
    {"cancelled before the start (R2)", "Q C+ X", GR_RULE_NONE, 0, GR_RULE_R2,
     GR_LAYER_NONE},
    {"cancelled while running (R12)", "Q C+ RA S X", GR_RULE_NONE, 0, GR_RULE_R12,
     GR_LAYER_NONE},
    {"a new attempt after a capacity failure starts clean", "Q C- @2 C+",
     GR_RULE_NONE, 0, GR_RULE_NONE, GR_LAYER_NONE},
};

static void run_row(const struct row *r) {
        static gr_event evs[MAXEV];
        gr_policy pol;
        gr_engine *e;
        gr_job *j;
        int n;

        gr_policy_default(&pol);
        if (r->off != GR_RULE_NONE)
                pol.rule_enabled[r->off] = 0;
        if (r->no_free_retry)
                pol.free_retries_per_job = 0;
        n = fsm_script_parse(r->script, evs, MAXEV);
        assert_true(n > 0);
        assert_non_null(e = gr_engine_new(&pol, NULL));
        for (int i = 0; i < n; i++) {
                gr_outcome_t o = gr_engine_apply(e, &evs[i]);
                if (o != GR_APPLIED)
                        print_message("row \"%s\": event %d not applied\n",
                                      r->name, i + 1);
                assert_int_equal(o, GR_APPLIED);
        }
        assert_non_null(j = gr_jobtab_get(gr_engine_jobs(e), "j", 0));
        if (j->rule != r->rule || gr_failed_layer(j) != r->layer)
                print_message("row \"%s\": rule %s (want %s), layer %d "
                              "(want %d)\n",
                              r->name, gr_rule_t_name(j->rule),
                              gr_rule_t_name(r->rule), (int)gr_failed_layer(j),
                              (int)r->layer);
        assert_int_equal(j->rule, r->rule);
        assert_int_equal(gr_failed_layer(j), r->layer);
        gr_engine_destroy(e);
}

static void test_rows(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                run_row(&rows[i]);
}

/* The statuses alone, without the engine: a fail status names its layer
 * even when no rule has run, and the earliest failed layer wins. */
static void test_statuses(void **state) {
        gr_job j;
        (void)state;

        memset(&j, 0, sizeof(j));
        j.reason = GR_REASON_IN_PROGRESS;
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_NONE);
        j.cur.evaluation = GR_EVAL_FAIL;
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_EVALUATION);
        j.cur.execution = GR_EXEC_FAIL;
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_EXECUTION);
        j.cur.capacity = GR_CAP_FAIL;
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_CAPACITY);

        memset(&j, 0, sizeof(j));
        j.cur.execution = GR_EXEC_PASS;
        j.reason = GR_REASON_OUTPUT_MISSING;
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_OUTPUT);
        j.cur.output = GR_OUT_PRESENT; /* it came after all */
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_NONE);

        memset(&j, 0, sizeof(j));
        j.reason = GR_REASON_PROVIDER_NO_SHOW;
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_EXECUTION);
        j.cur.execution = GR_EXEC_RUNNING; /* a late start */
        assert_int_equal(gr_failed_layer(&j), GR_LAYER_NONE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows),
            cmocka_unit_test(test_statuses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
