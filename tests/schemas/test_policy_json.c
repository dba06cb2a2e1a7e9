/*
 * The policy file (schemas/gr_policy_json.h) over the defaults of
 * statemachine/gr_policy.h: every key, its bounds, what is refused, and
 * the hash that names the contract in every decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gr_hash.h"
#include "gr_policy_json.h"

static int load(gr_policy *p, const char *json, char *errstr, size_t n) {
        return gr_policy_load(p, json, strlen(json), errstr, n);
}

static void test_defaults(void **state) {
        gr_policy d;
        char hex[65];
        (void)state;

        gr_policy_default(&d);
        assert_int_equal(d.free_retries_per_job, 1);
        assert_int_equal(d.park_limit, 16);
        assert_true(d.park_timeout_ms == 3600 * 1000);
        assert_true(d.retention_ms == 7LL * 86400 * 1000);
        assert_int_equal(d.window_clock, 0);
        for (int r = GR_RULE_R1; r < GR_RULE__CNT; r++)
                assert_true(d.rule_enabled[r]);
        /* the default's hash is that of its JSON text, and loading that
         * text gives the same policy */
        gr_sha256_hex(gr_policy_default_json(),
                      strlen(gr_policy_default_json()), hex);
        assert_string_equal(d.hash, hex);
        {
                gr_policy p;
                char es[256];
                assert_int_equal(load(&p, gr_policy_default_json(), es,
                                      sizeof(es)),
                                 0);
                assert_string_equal(p.hash, d.hash);
                assert_memory_equal(p.rule_enabled, d.rule_enabled,
                                    sizeof(d.rule_enabled));
        }
}

static void test_keys_and_bounds(void **state) {
        static const struct {
                const char *json;
                int ok;
        } cases[] = {
            {"{}", 1},
            {"{\"free_retries_per_job\":0}", 1},
            {"{\"free_retries_per_job\":100}", 1},
            {"{\"free_retries_per_job\":101}", 0},
            {"{\"free_retries_per_job\":-1}", 0},
            {"{\"free_retries_per_job\":1.5}", 0},
            {"{\"park_limit\":1024}", 1},
            {"{\"park_limit\":1025}", 0},
            {"{\"park_timeout_seconds\":0}", 1},
            {"{\"retention_seconds\":0}", 1},
            {"{\"window_clock\":true}", 1},
            {"{\"window_clock\":1}", 0},
            {"{\"require_signatures\":true}", 1},
            {"{\"require_signatures\":{\"roles\":[\"seller\"],"
             "\"types\":[\"review_decided\"]}}", 1},
            {"{\"require_signatures\":{\"roles\":[\"pilot\"]}}", 0},
            {"{\"require_signatures\":\"yes\"}", 0},
            {"{\"rules\":{\"R12\":false}}", 1},
            {"{\"rules\":{\"R13\":false}}", 0},
            {"{\"rules\":{\"none\":false}}", 0},
            {"{\"rules\":{\"R5\":0}}", 0},
            {"{\"rules\":[]}", 0},
            {"{\"frobnicate\":1}", 0},
            {"{\"park_limit\":1,\"park_limit\":2}", 0}, /* duplicate key */
            {"[]", 0},
            {"{", 0},
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                gr_policy p;
                char es[256] = "";
                int rc = load(&p, cases[i].json, es, sizeof(es));
                if ((rc == 0) != cases[i].ok)
                        print_message("policy %s: rc %d (%s)\n",
                                      cases[i].json, rc, es);
                assert_int_equal(rc == 0, cases[i].ok);
                if (!cases[i].ok)
                        assert_true(strncmp(es, "policy:", 7) == 0);
        }
}

static void test_values_applied(void **state) {
        gr_policy p;
        char es[256];
        const char *j = "{\"free_retries_per_job\":2,\"park_limit\":3,"
                        "\"park_timeout_seconds\":60,\"window_clock\":true,"
                        "\"retention_seconds\":0,\"rules\":{\"R12\":false},"
                        "\"require_signatures\":{\"roles\":[\"seller\"],"
                        "\"types\":[\"review_decided\"]}}";
        (void)state;

        assert_int_equal(load(&p, j, es, sizeof(es)), 0);
        assert_int_equal(p.free_retries_per_job, 2);
        assert_int_equal(p.park_limit, 3);
        assert_true(p.park_timeout_ms == 60000);
        assert_int_equal(p.window_clock, 1);
        assert_true(p.retention_ms == 0);
        assert_false(p.rule_enabled[GR_RULE_R12]);
        assert_true(p.rule_enabled[GR_RULE_R2]);
        assert_true(gr_policy_requires_sig(&p, GR_EVT_EXECUTION_FAILED,
                                           GR_ROLE_SELLER));
        assert_true(gr_policy_requires_sig(&p, GR_EVT_REVIEW_DECIDED,
                                           GR_ROLE_REVIEWER));
        assert_false(gr_policy_requires_sig(&p, GR_EVT_QUOTE_ACCEPTED,
                                            GR_ROLE_MARKETPLACE));
}

/* A refused file leaves the caller's policy as it was. */
static void test_refused_leaves_policy(void **state) {
        gr_policy p, before;
        char es[256];
        (void)state;

        gr_policy_default(&p);
        memcpy(&before, &p, sizeof(p));
        assert_int_equal(load(&p, "{\"park_limit\":2,\"bogus\":1}", es,
                              sizeof(es)),
                         -1);
        assert_memory_equal(&p, &before, sizeof(p));
        assert_non_null(strstr(es, "bogus"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_keys_and_bounds),
            cmocka_unit_test(test_values_applied),
            cmocka_unit_test(test_refused_leaves_policy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
