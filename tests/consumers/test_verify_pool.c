/* receiptd's verification pool: every thread count gives the
 * same per-event results as gr_event_authenticate() run serially, at the
 * event's own index, NULL entries untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_json_event.h"
#include "gr_policy_json.h"
#include "gr_keys.h"
#include "gr_policy.h"
#include "gr_sign.h"
#include "gr_verify_pool.h"

#define N 203 /* not a multiple of the chunk size */

static gr_keypair k_seller, k_buyer;
static gr_keyring *ring;
static gr_policy pol;
static gr_event *evs;

static const char started[] =
    "{\"event_id\":\"e%d\",\"job_id\":\"job-%d\",\"attempt\":1,"
    "\"type\":\"execution_started\",\"occurred_at\":\"2026-05-25T08:10:00Z\","
    "\"actor\":{\"role\":\"seller\",\"id\":\"worker-17\"},\"body\":{"
    "\"container_image\":\"sha256:7b3a\",\"command\":\"python infer.py\","
    "\"model_hash\":\"sha256:aa9f\",\"input_manifest_hash\":\"sha256:19c2\"}}";

static int setup(void **state) {
        static const char req[] = "{\"require_signatures\":{\"roles\":"
                                  "[\"seller\"]}}";
        gr_json_decoder *dec = gr_json_decoder_new();
        char es[256], pk[64], line[512];
        gr_buf b;
        gr_err err;
        (void)state;

        if (!dec || gr_crypto_init() == -1 ||
            gr_keypair_generate(&k_seller, GR_KROLE_SELLER, "k-seller", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_buyer, GR_KROLE_BUYER, "k-buyer", es,
                                sizeof(es)))
                return -1;
        gr_buf_init(&b);
        gr_b64_encode(k_seller.pk, GR_PK_LEN, pk, sizeof(pk));
        gr_buf_printf(&b,
                      "[{\"key_id\":\"k-seller\",\"role\":\"seller\","
                      "\"public_key\":\"%s\"},",
                      pk);
        gr_b64_encode(k_buyer.pk, GR_PK_LEN, pk, sizeof(pk));
        gr_buf_printf(&b,
                      "{\"key_id\":\"k-buyer\",\"role\":\"buyer\","
                      "\"public_key\":\"%s\"}]",
                      pk);
        ring = gr_keyring_new(b.data, b.len, es, sizeof(es));
        gr_buf_free(&b);
        if (!ring)
                return -1;
        gr_policy_default(&pol);
        if (gr_policy_load(&pol, req, strlen(req), es, sizeof(es)))
                return -1;
        if (!(evs = calloc(N, sizeof(*evs))))
                return -1;
        for (int i = 0; i < N; i++) {
                int n = snprintf(line, sizeof(line), started, i, i);
                if (gr_json_event_decode(dec, line, (size_t)n, &evs[i], &err))
                        return -1;
                switch (i % 4) {
                case 0: /* good */
                        gr_event_sign(&k_seller, &evs[i], &err);
                        break;
                case 1: /* forged: signed, then altered */
                        gr_event_sign(&k_seller, &evs[i], &err);
                        evs[i].event_id[0] = 'x';
                        break;
                case 2: /* a buyer key signing a seller event */
                        gr_event_sign(&k_buyer, &evs[i], &err);
                        break;
                default: /* unsigned */
                        break;
                }
        }
        gr_json_decoder_destroy(dec);
        return 0;
}

static int teardown(void **state) {
        (void)state;
        gr_keyring_destroy(ring);
        gr_keypair_wipe(&k_seller);
        gr_keypair_wipe(&k_buyer);
        free(evs);
        return 0;
}

static void run_threads(int threads) {
        static gr_event *ptr[N];
        static int rc[N], want_rc[N];
        static gr_err errs[N], want[N];
        char es[128];
        gr_verify_pool *vp = gr_verify_pool_new(threads, &pol, ring, es,
                                                sizeof(es));

        assert_non_null(vp);
        assert_int_equal(gr_verify_pool_threads(vp), threads);
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < N; i++) {
                        /* every 7th entry is skipped */
                        ptr[i] = i % 7 == 6 ? NULL : &evs[i];
                        rc[i] = 42;
                        memset(&errs[i], 0, sizeof(errs[i]));
                        want_rc[i] = ptr[i] ? gr_event_authenticate(
                                                  &pol, ring, ptr[i], &want[i]) :
                                              42;
                }
                gr_verify_pool_run(vp, ptr, rc, errs, N);
                for (int i = 0; i < N; i++) {
                        assert_int_equal(rc[i], want_rc[i]);
                        if (rc[i] == -1) {
                                assert_int_equal(errs[i].reason,
                                                 want[i].reason);
                                assert_string_equal(errs[i].detail,
                                                    want[i].detail);
                        }
                }
        }
        /* the expected mix really is there */
        assert_int_equal(want_rc[0], 0);
        assert_int_equal(want_rc[1], -1);
        assert_int_equal(want[1].reason, GR_REJ_BAD_SIGNATURE);
        assert_int_equal(want_rc[2], -1);
        assert_int_equal(want[2].reason, GR_REJ_UNAUTHORIZED_ROLE);
        assert_int_equal(want_rc[3], -1);
        assert_int_equal(want[3].reason, GR_REJ_BAD_SIGNATURE);
        gr_verify_pool_run(vp, ptr, rc, errs, 0); /* empty batch: no-op */
        gr_verify_pool_destroy(vp);
}

static void test_one_thread(void **state) {
        (void)state;
        run_threads(1);
}

static void test_two_threads(void **state) {
        (void)state;
        run_threads(2);
}

static void test_many_threads(void **state) {
        (void)state;
        run_threads(9);
}

static void test_bad_thread_count(void **state) {
        char es[128] = "";
        (void)state;

        assert_null(gr_verify_pool_new(0, &pol, ring, es, sizeof(es)));
        assert_non_null(strstr(es, "1..256"));
        assert_null(gr_verify_pool_new(GR_VERIFY_THREADS_MAX + 1, &pol, ring,
                                       es, sizeof(es)));
        gr_verify_pool_destroy(NULL);
}

static void test_no_registry(void **state) {
        gr_event *ptr[1] = {&evs[0]};
        int rc[1] = {0};
        gr_err errs[1];
        char es[128];
        gr_verify_pool *vp = gr_verify_pool_new(2, &pol, NULL, es, sizeof(es));
        (void)state;

        assert_non_null(vp);
        gr_verify_pool_run(vp, ptr, rc, errs, 1);
        assert_int_equal(rc[0], -1);
        assert_int_equal(errs[0].reason, GR_REJ_UNKNOWN_KEY);
        gr_verify_pool_destroy(vp);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_one_thread),
            cmocka_unit_test(test_two_threads),
            cmocka_unit_test(test_many_threads),
            cmocka_unit_test(test_bad_thread_count),
            cmocka_unit_test(test_no_registry),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
