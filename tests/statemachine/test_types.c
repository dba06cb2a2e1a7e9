/* The closed vocabularies of gr_types.h: every name parses back to its
 * value, names are distinct, anything else is refused, out-of-range values
 * print as "?", and each name's JSON form (gr_jname) is the name in quotes
 * with nothing in it that JSON would escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gr_types.h"

/* Round trip of every value of one vocabulary, distinct names, the "?"
 * of out-of-range values and the refusals common to every list. */
#define CHECK_ENUM(TYPE, CNT)                                                  \
        do {                                                                   \
                TYPE v_;                                                       \
                for (int i_ = 0; i_ < (int)(CNT); i_++) {                      \
                        const char *n_ = TYPE##_name((TYPE)i_);                \
                        assert_non_null(n_);                                   \
                        assert_true(strlen(n_) > 0);                           \
                        assert_string_not_equal(n_, "?");                      \
                        {                                                      \
                                /* the JSON form: the name in quotes */       \
                                char q_[72];                                   \
                                const gr_jname *j_ = TYPE##_jname((TYPE)i_);   \
                                snprintf(q_, sizeof(q_), "\"%s\"", n_);        \
                                assert_int_equal(j_->len, strlen(q_));         \
                                assert_string_equal(j_->json, q_);             \
                                for (size_t c_ = 0; n_[c_]; c_++)              \
                                        assert_true(n_[c_] > 0x20 &&           \
                                                    n_[c_] < 0x7f &&           \
                                                    n_[c_] != '"' &&           \
                                                    n_[c_] != '\\');          \
                        }                                                      \
                        v_ = (TYPE)-1;                                         \
                        assert_int_equal(TYPE##_parse(n_, strlen(n_), &v_),    \
                                         0);                                   \
                        assert_int_equal((int)v_, i_);                         \
                        for (int k_ = 0; k_ < i_; k_++)                        \
                                assert_string_not_equal(                       \
                                    n_, TYPE##_name((TYPE)k_));                \
                        /* one byte short, or one too many, is refused */     \
                        /* unless it is another name of the list */           \
                        {                                                      \
                                char buf_[64];                                 \
                                TYPE w_ = (TYPE)i_;                            \
                                snprintf(buf_, sizeof(buf_), "%sx", n_);       \
                                assert_int_equal(TYPE##_parse(buf_,            \
                                                 strlen(buf_), &w_), -1);      \
                                assert_int_equal((int)w_, i_);                 \
                        }                                                      \
                }                                                              \
                assert_string_equal(TYPE##_name((TYPE)(CNT)), "?");            \
                assert_string_equal(TYPE##_name((TYPE)-1), "?");               \
                assert_string_equal(TYPE##_jname((TYPE)(CNT))->json, "\"?\"");  \
                assert_int_equal(TYPE##_jname((TYPE)-1)->len, 3);              \
                v_ = (TYPE)0;                                                  \
                assert_int_equal(TYPE##_parse("", 0, &v_), -1);                \
                assert_int_equal(TYPE##_parse("?", 1, &v_), -1);               \
                assert_int_equal(TYPE##_parse("no_such_name", 12, &v_), -1);   \
                assert_int_equal((int)v_, 0); /* untouched on refusal */       \
        } while (0)

static void test_every_vocabulary_round_trips(void **state) {
        (void)state;
        CHECK_ENUM(gr_event_type_t, GR_EVT__CNT);
        CHECK_ENUM(gr_role_t, GR_ROLE__CNT);
        CHECK_ENUM(gr_failure_t, GR_FAIL__CNT);
        CHECK_ENUM(gr_result_t, GR_RESULT__CNT);
        CHECK_ENUM(gr_capacity_t, GR_CAP__CNT);
        CHECK_ENUM(gr_exec_t, GR_EXEC__CNT);
        CHECK_ENUM(gr_output_t, GR_OUT__CNT);
        CHECK_ENUM(gr_eval_t, GR_EVAL__CNT);
        CHECK_ENUM(gr_settlement_t, GR_SETTLE__CNT);
        CHECK_ENUM(gr_retry_t, GR_RETRY__CNT);
        CHECK_ENUM(gr_reject_t, GR_REJ__CNT);
        CHECK_ENUM(gr_rule_t, GR_RULE__CNT);
        CHECK_ENUM(gr_reason_t, GR_REASON__CNT);
}

/* The SPEC spellings of a few values (docs/SPEC.md §3–§6), pinned. */
static void test_spec_spellings(void **state) {
        (void)state;
        assert_int_equal(GR_EVT__CNT, 13);
        assert_string_equal(gr_event_type_t_name(GR_EVT_QUOTE_ACCEPTED),
                            "quote_accepted");
        assert_string_equal(gr_event_type_t_name(GR_EVT_REVIEW_DECIDED),
                            "review_decided");
        assert_string_equal(gr_role_t_name(GR_ROLE_REVIEWER), "reviewer");
        assert_string_equal(gr_failure_t_name(GR_FAIL_NONE), "none");
        assert_string_equal(gr_failure_t_name(GR_FAIL_CONTAINER_OOM),
                            "container_oom");
        assert_string_equal(gr_settlement_t_name(GR_SETTLE_PARTIAL_REFUND),
                            "partial_refund");
        assert_string_equal(gr_retry_t_name(GR_RETRY_QUALITY_REVIEW),
                            "quality_review");
        assert_string_equal(gr_reject_t_name(GR_REJ_TOO_LARGE), "too_large");
        assert_string_equal(gr_eval_t_name(GR_EVAL_NOT_APPLICABLE),
                            "not_applicable");
        assert_string_equal(gr_reason_t_name(GR_REASON_IN_PROGRESS),
                            "in_progress");
        assert_string_equal(gr_reason_t_name(GR_REASON_UNKNOWN), "unknown");
}

/* GR_RULE_MAP: "none" then R1..R12 with the ids their names say; parsing
 * looks at exactly len bytes (R1 is not a prefix match of R10), case
 * matters. */
static void test_rule_map(void **state) {
        gr_rule_t r;
        char name[8];

        (void)state;
        assert_int_equal(GR_RULE__CNT, 13);
        assert_int_equal(GR_RULE_NONE, 0);
        assert_string_equal(gr_rule_t_name(GR_RULE_NONE), "none");
        for (int i = 1; i <= 12; i++) {
                snprintf(name, sizeof(name), "R%d", i);
                assert_string_equal(gr_rule_t_name((gr_rule_t)i), name);
                assert_int_equal(gr_rule_t_parse(name, strlen(name), &r), 0);
                assert_int_equal((int)r, i);
        }
        assert_int_equal(GR_RULE_R12, 12);
        assert_int_equal(gr_rule_t_parse("R10", 2, &r), 0); /* "R1" */
        assert_int_equal(r, GR_RULE_R1);
        assert_int_equal(gr_rule_t_parse("R10", 3, &r), 0);
        assert_int_equal(r, GR_RULE_R10);
        r = GR_RULE_R5;
        assert_int_equal(gr_rule_t_parse("R13", 3, &r), -1);
        assert_int_equal(gr_rule_t_parse("R0", 2, &r), -1);
        assert_int_equal(gr_rule_t_parse("r1", 2, &r), -1);
        assert_int_equal(gr_rule_t_parse("R", 1, &r), -1);
        assert_int_equal(gr_rule_t_parse(" R1", 3, &r), -1);
        assert_int_equal(gr_rule_t_parse("NONE", 4, &r), -1);
        assert_int_equal(r, GR_RULE_R5);
}

/* Parsing reads len bytes of a buffer that need not be NUL-terminated. */
static void test_parse_unterminated(void **state) {
        const char buf[] = {'f', 'a', 'i', 'l', 'u', 'r', 'e'};
        gr_result_t r = GR_RESULT_PASS;
        gr_settlement_t s;

        (void)state;
        assert_int_equal(gr_result_t_parse(buf, 4, &r), 0);
        assert_int_equal(r, GR_RESULT_FAIL);
        assert_int_equal(gr_result_t_parse(buf, sizeof(buf), &r), -1);
        assert_int_equal(gr_settlement_t_parse("refunds", 6, &s), 0);
        assert_int_equal(s, GR_SETTLE_REFUND);
}

/* Every failure class names the decision reason spelled the same (R7/R8);
 * "none" is no failure and maps to unknown, as do out-of-range values. */
static void test_reason_from_failure(void **state) {
        (void)state;
        assert_int_equal(gr_reason_from_failure(GR_FAIL_NONE),
                         GR_REASON_UNKNOWN);
        for (int f = 1; f < (int)GR_FAIL__CNT; f++) {
                gr_reason_t r = gr_reason_from_failure((gr_failure_t)f);
                assert_string_equal(gr_reason_t_name(r),
                                    gr_failure_t_name((gr_failure_t)f));
        }
        assert_int_equal(gr_reason_from_failure(GR_FAIL_CONTAINER_OOM),
                         GR_REASON_CONTAINER_OOM);
        assert_int_equal(gr_reason_from_failure(GR_FAIL_WORKER_LOST),
                         GR_REASON_WORKER_LOST);
        assert_int_equal(gr_reason_from_failure(GR_FAIL__CNT),
                         GR_REASON_UNKNOWN);
        assert_int_equal(gr_reason_from_failure((gr_failure_t)-1),
                         GR_REASON_UNKNOWN);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_vocabulary_round_trips),
            cmocka_unit_test(test_spec_spellings),
            cmocka_unit_test(test_rule_map),
            cmocka_unit_test(test_parse_unterminated),
            cmocka_unit_test(test_reason_from_failure),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
