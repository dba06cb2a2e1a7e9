/* docs/SPEC.md §6 amounts, called directly: gr_amounts_of for every
 * settlement posture, the used time of a partial refund per rule, and
 * gr_amounts_equal.  gr_muldiv_floor's own edge cases are in test_fsm.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gr_amounts.h"

static char usd[] = "USD";

/* A job with a priced quote over [1000, 11000) ms, started at 2000. */
static void job_init(gr_job *j, int64_t price) {
        memset(j, 0, sizeof(*j));
        j->attempt = 1;
        j->t_base = GR_TIME_NONE;
        j->quote.present = 1;
        j->quote.has_price = 1;
        assert_int_equal(GR_JT_SET(j, quote, window_start, 1000), 0);
        assert_int_equal(GR_JT_SET(j, quote, window_end, 11000), 0);
        j->quote.price_amount_minor = price;
        j->quote.price_currency = gr_intern_ref(usd, strlen(usd));
        assert_int_equal(GR_JT_SET(j, cur, started_at, 2000), 0);
        assert_int_equal(GR_JT_SET(j, cur, failed_at, GR_TIME_NONE), 0);
        assert_int_equal(GR_JT_SET(j, cur, completed_at, GR_TIME_NONE), 0);
        assert_int_equal(GR_JT_SET(j, cur, cancelled_at, GR_TIME_NONE), 0);
}

static gr_verdict verdict(gr_settlement_t s, gr_rule_t rule) {
        gr_verdict v;

        memset(&v, 0, sizeof(v));
        v.settlement = s;
        v.rule = rule;
        return v;
}

static void test_postures(void **state) {
        gr_job j;
        gr_verdict v;
        gr_amounts m;

        (void)state;
        job_init(&j, 1234);
        v = verdict(GR_SETTLE_REFUND, GR_RULE_R3);
        m = gr_amounts_of(&j, &v, 5000);
        assert_int_equal(m.present, 1);
        assert_string_equal(m.currency, "USD");
        assert_int_equal(m.price_minor, 1234);
        assert_int_equal(m.refund_minor, 1234);
        assert_int_equal(m.charge_minor, 0);
        assert_int_equal(m.held_minor, 0);

        v = verdict(GR_SETTLE_RELEASE, GR_RULE_R9);
        m = gr_amounts_of(&j, &v, 5000);
        assert_int_equal(m.charge_minor, 1234);
        assert_int_equal(m.refund_minor, 0);
        assert_int_equal(m.held_minor, 0);

        /* hold, escalate, pending: the whole price is held */
        for (int s = 0; s < 3; s++) {
                gr_settlement_t ss[] = {GR_SETTLE_HOLD, GR_SETTLE_ESCALATE,
                                        GR_SETTLE_PENDING};
                v = verdict(ss[s], GR_RULE_NONE);
                m = gr_amounts_of(&j, &v, 5000);
                assert_int_equal(m.present, 1);
                assert_int_equal(m.held_minor, 1234);
                assert_int_equal(m.charge_minor, 0);
                assert_int_equal(m.refund_minor, 0);
        }
}

/* No quote, or a quote without a price: not present, all zero. */
static void test_no_price(void **state) {
        gr_job j;
        gr_verdict v = verdict(GR_SETTLE_RELEASE, GR_RULE_R9);
        gr_amounts m, zero;

        (void)state;
        memset(&zero, 0, sizeof(zero));
        job_init(&j, 500);
        j.quote.has_price = 0;
        m = gr_amounts_of(&j, &v, 5000);
        assert_memory_equal(&m, &zero, sizeof(m));
        job_init(&j, 500);
        j.quote.present = 0;
        m = gr_amounts_of(&j, &v, 5000);
        assert_memory_equal(&m, &zero, sizeof(m));
        /* priced, no currency: present with an empty currency */
        job_init(&j, 500);
        j.quote.price_currency = 0;
        m = gr_amounts_of(&j, &v, 5000);
        assert_int_equal(m.present, 1);
        assert_string_equal(m.currency, "");
        assert_int_equal(m.charge_minor, 500);
}

/* partial_refund: charged for the used share of the window, floored;
 * R12 ends at the cancel, R5 at the failure, a review at the last
 * execution time or now. */
static void test_partial_refund(void **state) {
        gr_job j;
        gr_verdict v;
        gr_amounts m;

        (void)state;
        job_init(&j, 1000);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 4500), 0); /* 2500 of 10000 ms */
        v = verdict(GR_SETTLE_PARTIAL_REFUND, GR_RULE_R12);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 9999), 2500);
        m = gr_amounts_of(&j, &v, 9999);
        assert_int_equal(m.charge_minor, 250);
        assert_int_equal(m.refund_minor, 750);
        assert_int_equal(m.held_minor, 0);
        assert_int_equal(m.charge_minor + m.refund_minor, m.price_minor);

        /* floor: 3 of 10000 ms of a price of 1000 charges 0 */
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 2003), 0);
        m = gr_amounts_of(&j, &v, 9999);
        assert_int_equal(m.charge_minor, 0);
        assert_int_equal(m.refund_minor, 1000);
        /* 7 ms of price 3333: floor(23331 / 10000) = 2 */
        job_init(&j, 3333);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 2007), 0);
        m = gr_amounts_of(&j, &v, 9999);
        assert_int_equal(m.charge_minor, 2);
        assert_int_equal(m.refund_minor, 3331);

        /* R5 ends at the failure; the cancel is not read */
        job_init(&j, 1000);
        assert_int_equal(GR_JT_SET(&j, cur, failed_at, 7000), 0);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 3000), 0);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R5, 0), 5000);
        v = verdict(GR_SETTLE_PARTIAL_REFUND, GR_RULE_R5);
        m = gr_amounts_of(&j, &v, 0);
        assert_int_equal(m.charge_minor, 500);
        /* R5 without a failure time: nothing used */
        assert_int_equal(GR_JT_SET(&j, cur, failed_at, GR_TIME_NONE), 0);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R5, 9000), 0);

        /* a review: failure, else completion, else now */
        job_init(&j, 1000);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_NONE, 3000), 1000);
        assert_int_equal(GR_JT_SET(&j, cur, completed_at, 6000), 0);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_NONE, 3000), 4000);
        assert_int_equal(GR_JT_SET(&j, cur, failed_at, 5000), 0);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_NONE, 3000), 3000);
}

/* Used time is clamped to [0, window]; a missing start, an end before
 * the start, or an empty window use nothing. */
static void test_used_bounds(void **state) {
        gr_job j;
        gr_verdict v = verdict(GR_SETTLE_PARTIAL_REFUND, GR_RULE_R12);
        gr_amounts m;

        (void)state;
        job_init(&j, 1000);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 50000), 0); /* far past the window */
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 10000);
        m = gr_amounts_of(&j, &v, 0);
        assert_int_equal(m.charge_minor, 1000);
        assert_int_equal(m.refund_minor, 0);

        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 2000), 0); /* equal to the start */
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 0);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 1500), 0); /* before the start */
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 0);
        m = gr_amounts_of(&j, &v, 0);
        assert_int_equal(m.refund_minor, 1000);

        job_init(&j, 1000);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 4000), 0);
        assert_int_equal(GR_JT_SET(&j, cur, started_at, GR_TIME_NONE), 0);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 0);

        job_init(&j, 1000);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 4000), 0);
        assert_int_equal(GR_JT_SET(&j, quote, window_end, GR_JT(&j, quote, window_start)), 0); /* empty window */
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 0);
        m = gr_amounts_of(&j, &v, 0);
        assert_int_equal(m.charge_minor, 0);
        assert_int_equal(m.refund_minor, 1000);
        assert_int_equal(GR_JT_SET(&j, quote, window_end, GR_JT(&j, quote, window_start) - 1), 0); /* inverted */
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 0);

        job_init(&j, 1000);
        j.quote.present = 0;
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 4000), 0);
        assert_int_equal(gr_amounts_used_ms(&j, GR_RULE_R12, 0), 0);
}

/* The largest price prorates exactly (128-bit intermediate). */
static void test_int64_price(void **state) {
        gr_job j;
        gr_verdict v = verdict(GR_SETTLE_PARTIAL_REFUND, GR_RULE_R12);
        gr_amounts m;

        (void)state;
        job_init(&j, INT64_MAX);
        assert_int_equal(GR_JT_SET(&j, cur, cancelled_at, 2000 + 5000), 0); /* half the window */
        m = gr_amounts_of(&j, &v, 0);
        assert_true(m.charge_minor == INT64_MAX / 2);
        assert_true(m.refund_minor == INT64_MAX - INT64_MAX / 2);
}

static void test_equal(void **state) {
        gr_amounts a, b;

        (void)state;
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        assert_true(gr_amounts_equal(&a, &b));
        /* both absent: numbers are not compared */
        b.charge_minor = 7;
        assert_true(gr_amounts_equal(&a, &b));
        a.present = 1;
        assert_false(gr_amounts_equal(&a, &b));
        b.present = 1;
        b.charge_minor = 0;
        strcpy(a.currency, "EUR");
        strcpy(b.currency, "EUR");
        a.price_minor = b.price_minor = 10;
        assert_true(gr_amounts_equal(&a, &b));
        strcpy(b.currency, "USD");
        assert_false(gr_amounts_equal(&a, &b));
        strcpy(b.currency, "EUR");
        b.price_minor = 11;
        assert_false(gr_amounts_equal(&a, &b));
        b.price_minor = 10;
        b.refund_minor = 1;
        assert_false(gr_amounts_equal(&a, &b));
        b.refund_minor = 0;
        b.held_minor = 1;
        assert_false(gr_amounts_equal(&a, &b));
        b.held_minor = 0;
        b.charge_minor = 1;
        assert_false(gr_amounts_equal(&a, &b));
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_postures),
            cmocka_unit_test(test_no_price),
            cmocka_unit_test(test_partial_refund),
            cmocka_unit_test(test_used_bounds),
            cmocka_unit_test(test_int64_price),
            cmocka_unit_test(test_equal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
