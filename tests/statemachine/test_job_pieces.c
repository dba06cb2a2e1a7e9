/*
 * The pieces of a job that are allocated on first use (statemachine/gr_job.h):
 * the seller and buyer packets.  Absent, they read as the "none" packets
 * and cost nothing; the first write allocates the piece, later writes reuse
 * it; destroy frees it (run under ASan/valgrind to see a leak); and both
 * state forms (JSON and compact) carry a piece, or its absence, across a
 * round trip.  Also the job's compact members: the duplicate set in the
 * arena's block, job times as offsets (far ones kept whole) and the kept
 * amounts' currency as a job string.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_amounts.h"
#include "gr_buf.h"
#include "gr_job.h"
#include "gr_state_json.h"

/* the packet pieces as held by the job's rare parts */
#define SELLER_PKT(j) ((j)->more ? (j)->more->seller : NULL)
#define BUYER_PKT(j) ((j)->more ? (j)->more->buyer : NULL)

static void test_absent_until_first_use(void **state) {
        gr_job *j = gr_job_new("job-p1");
        size_t fp0;
        gr_seller_packet *sp;
        (void)state;

        assert_non_null(j);
        assert_null(SELLER_PKT(j));
        assert_null(BUYER_PKT(j));
        assert_ptr_equal(gr_job_seller(j), &gr_seller_packet_none);
        assert_ptr_equal(gr_job_buyer(j), &gr_buyer_packet_none);
        assert_int_equal(gr_job_seller(j)->present, 0);
        assert_int_equal(gr_job_seller(j)->failure_class, GR_FAIL_NONE);
        assert_int_equal(gr_job_buyer(j)->observed_failure_class,
                         GR_FAIL_NONE);
        assert_int_equal(gr_job_buyer(j)->packet_hash, 0);
        fp0 = gr_job_footprint(j);

        sp = gr_job_seller_mut(j);
        assert_non_null(sp);
        assert_ptr_equal(SELLER_PKT(j), sp);
        assert_ptr_equal(gr_job_seller(j), sp);
        assert_int_equal(sp->present, 0); /* allocated as the none packet */
        assert_int_equal(sp->failure_class, GR_FAIL_NONE);
        assert_ptr_equal(gr_job_seller_mut(j), sp); /* once only */
        assert_null(BUYER_PKT(j));                  /* the other stays out */
        /* the packet and the rare parts' piece that holds it */
        assert_int_equal(gr_job_footprint(j),
                         fp0 + sizeof(gr_seller_packet) + sizeof(gr_job_more));

        /* its strings are job strings: kept through compactions */
        assert_int_equal(gr_job_str_set(j, &sp->packet_hash, "sha256:aa"), 0);
        for (int i = 0; i < 100; i++) {
                char v[48];
                snprintf(v, sizeof(v), "detail-%d-xxxxxxxxxxxxxxxx", i);
                assert_int_equal(
                    gr_job_str_set(j, &j->cur.capacity_detail, v), 0);
        }
        assert_string_equal(GR_JS(j, gr_job_seller(j)->packet_hash), "sha256:aa");
        /* the none packet itself is never written */
        assert_int_equal(gr_seller_packet_none.packet_hash, 0);
        gr_job_destroy(j);
}

static gr_job *round_trip(const gr_job *j, int compact) {
        gr_buf b;
        char errstr[256] = "";
        gr_job *back;

        gr_buf_init(&b);
        if (compact)
                gr_state_encode_compact(j, &b);
        else
                gr_state_encode(j, &b);
        assert_false(b.oom);
        back = gr_state_decode(b.data, b.len, errstr, sizeof(errstr));
        if (!back)
                fail_msg("decode: %s", errstr);
        gr_buf_free(&b);
        return back;
}

static void test_round_trip(void **state) {
        (void)state;
        for (int compact = 0; compact < 2; compact++) {
                gr_job *j = gr_job_new("job-p2");
                gr_job *back;
                gr_buyer_packet *bp;

                assert_non_null(j);
                /* absent stays absent: no piece is allocated */
                back = round_trip(j, compact);
                assert_null(SELLER_PKT(back));
                assert_null(BUYER_PKT(back));
                gr_job_destroy(back);

                bp = gr_job_buyer_mut(j);
                assert_non_null(bp);
                bp->present = 1;
                bp->memory_budget_gb = 40;
                bp->observed_failure_class = GR_FAIL_CONTAINER_OOM;
                assert_int_equal(gr_job_str_set(j, &bp->packet_hash, "sha256:bb"), 0);
                assert_int_equal(gr_job_str_set(j, &bp->command, "python train.py"), 0);
                back = round_trip(j, compact);
                assert_null(SELLER_PKT(back));
                assert_non_null(BUYER_PKT(back));
                assert_int_equal(gr_job_buyer(back)->present, 1);
                assert_true(gr_job_buyer(back)->memory_budget_gb == 40);
                assert_int_equal(gr_job_buyer(back)->observed_failure_class,
                                 GR_FAIL_CONTAINER_OOM);
                assert_string_equal(GR_JS(back, gr_job_buyer(back)->packet_hash), "sha256:bb");
                assert_string_equal(GR_JS(back, gr_job_buyer(back)->command), "python train.py");
                assert_int_equal(gr_job_buyer(back)->model_hash, 0);
                gr_job_destroy(back);
                gr_job_destroy(j);
        }
}

/* The duplicate set shares one block with the string arena: growing the
 * set (array, then hashed) must keep the strings, and compacting the
 * arena must keep the set. */
static void test_seen_and_strings_share_a_block(void **state) {
        gr_job *j = gr_job_new("job-p3");
        char v[64];
        (void)state;

        assert_non_null(j);
        assert_null(gr_job_seen_slots(j));
        for (uint64_t i = 1; i <= 300; i++) {
                const uint64_t h = i * 0x9E3779B97F4A7C15ull;
                assert_int_equal(gr_job_seen_add_hash(j, h), 0);
                assert_int_equal(gr_job_seen_add_hash(j, h), 0); /* once */
                snprintf(v, sizeof(v), "path-%llu-xxxxxxxxxxxx",
                         (unsigned long long)i);
                assert_int_equal(gr_job_str_set(j, &j->cur.output_path, v), 0);
                if (i % 7 == 0) {
                        snprintf(v, sizeof(v), "worker-%llu",
                                 (unsigned long long)i);
                        assert_int_equal(
                            gr_job_str_set(j, &j->cur.worker_id, v), 0);
                }
                assert_int_equal(j->nseen, i);
                for (uint64_t k = 1; k <= i; k++)
                        assert_true(gr_job_seen_hash(
                            j, k * 0x9E3779B97F4A7C15ull));
                assert_false(gr_job_seen_hash(j, (i + 1) * 0x9E3779B97F4A7C15ull));
                snprintf(v, sizeof(v), "path-%llu-xxxxxxxxxxxx",
                         (unsigned long long)i);
                assert_string_equal(GR_JS(j, j->cur.output_path), v);
                snprintf(v, sizeof(v), "worker-%llu",
                         (unsigned long long)(i - i % 7));
                if (i >= 7)
                        assert_string_equal(GR_JS(j, j->cur.worker_id), v);
        }
        assert_true(j->seen_cap >= 300 * 4 / 3);
        assert_non_null(gr_job_seen_slots(j));
        gr_job_destroy(j);
}

/* Job times: near the first one as 32-bit offsets, far ones (up to the
 * ends of what an RFC 3339 time can say, and any int64_t a state record
 * holds) whole; all read back exactly, also after both state round trips. */
static void test_job_times_near_and_far(void **state) {
        static const int64_t t0 = 1779696000000LL; /* 2026-05-25T08:00Z */
        static const int64_t far[] = {
            t0 + INT32_MAX,       t0 + INT32_MAX + 1LL, t0 + INT32_MIN + 2LL,
            t0 + INT32_MIN + 1LL, t0 + INT32_MIN,       GR_TIME_MIN_MS,
            GR_TIME_MAX_MS,       INT64_MAX,            GR_TIME_NONE + 1,
        };
        (void)state;
        for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
                gr_job *j = gr_job_new("job-p4");
                const size_t fp0 = gr_job_footprint(j);

                assert_int_equal(GR_JT(j, cur, started_at), GR_TIME_NONE);
                assert_int_equal(GR_JT_SET(j, quote, window_start, t0), 0);
                assert_int_equal(GR_JT_SET(j, quote, window_end, t0 + 1800000), 0);
                assert_int_equal(GR_JT_SET(j, cur, started_at, t0 - 5), 0);
                assert_null(j->more); /* all near: nothing more held */
                assert_int_equal(gr_job_footprint(j), fp0);
                assert_int_equal(GR_JT_SET(j, cur, failed_at, far[i]), 0);
                assert_int_equal(GR_JT_SET(j, cur, reviewed_at, far[i]), 0);
                j->quote.present = 1;
                for (int compact = 0; compact < 2; compact++) {
                        gr_job *back = round_trip(j, compact);
                        const gr_job *x[] = {j, back};
                        for (int k = 0; k < 2; k++) {
                                assert_int_equal(GR_JT(x[k], quote, window_start), t0);
                                assert_int_equal(GR_JT(x[k], quote, window_end),
                                                 t0 + 1800000);
                                assert_int_equal(GR_JT(x[k], cur, started_at), t0 - 5);
                                assert_int_equal(GR_JT(x[k], cur, failed_at), far[i]);
                                assert_int_equal(GR_JT(x[k], cur, reviewed_at), far[i]);
                                assert_int_equal(GR_JT(x[k], cur, completed_at),
                                                 GR_TIME_NONE);
                        }
                        gr_job_destroy(back);
                }
                /* cleared, and a new attempt starts with none */
                assert_int_equal(GR_JT_SET(j, cur, failed_at, GR_TIME_NONE), 0);
                assert_int_equal(GR_JT(j, cur, failed_at), GR_TIME_NONE);
                gr_attempt_reset(&j->cur);
                assert_int_equal(GR_JT(j, cur, reviewed_at), GR_TIME_NONE);
                gr_job_destroy(j);
        }
}

/* The kept amounts: a currency other than the quote's is a string of the
 * job's own, kept through arena compactions and both state round trips;
 * the quote's own is shared. */
static void test_kept_amounts(void **state) {
        gr_job *j = gr_job_new("job-p5");
        gr_amounts m, got;
        (void)state;

        memset(&m, 0, sizeof(m));
        m.present = 1;
        m.price_minor = 420;
        m.charge_minor = 20;
        m.refund_minor = 300;
        m.held_minor = 100;
        snprintf(m.currency, sizeof(m.currency), "%s", "XTS-TESTCOIN15");
        got = gr_job_amounts(j);
        assert_int_equal(got.present, 0);
        assert_string_equal(got.currency, "");
        assert_int_equal(gr_job_str_set(j, &j->quote.price_currency, "USD"), 0);
        assert_int_equal(gr_job_amounts_set(j, &m), 0);
        for (int i = 0; i < 100; i++) {
                char v[48];
                snprintf(v, sizeof(v), "out/%d/xxxxxxxxxxxxxxxxxxxxxxxx", i);
                assert_int_equal(gr_job_str_set(j, &j->cur.output_path, v), 0);
        }
        for (int compact = 0; compact < 3; compact++) {
                gr_job *back = compact < 2 ? round_trip(j, compact) : NULL;
                got = gr_job_amounts(back ? back : j);
                assert_int_equal(got.present, 1);
                assert_string_equal(got.currency, "XTS-TESTCOIN15");
                assert_true(got.price_minor == 420 && got.charge_minor == 20 &&
                            got.refund_minor == 300 && got.held_minor == 100);
                assert_true(gr_amounts_equal(&got, &m));
                gr_job_destroy(back);
        }
        /* the quote's currency: the same handle */
        snprintf(m.currency, sizeof(m.currency), "%s", "USD");
        assert_int_equal(gr_job_amounts_set(j, &m), 0);
        assert_int_equal(j->amounts.currency, j->quote.price_currency);
        assert_string_equal(gr_job_amounts(j).currency, "USD");
        /* none */
        m.currency[0] = '\0';
        assert_int_equal(gr_job_amounts_set(j, &m), 0);
        assert_int_equal(j->amounts.currency, 0);
        gr_job_destroy(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_absent_until_first_use),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_seen_and_strings_share_a_block),
            cmocka_unit_test(test_job_times_near_and_far),
            cmocka_unit_test(test_kept_amounts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
