/* Event, decision and tree-head signatures, and the registry they are
 * checked against.  Key files, key ids and malformed registries are in
 * test_keys.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "gr_json_event.h"
#include "gr_policy_json.h"
#include "gr_keys.h"
#include "gr_output.h"
#include "gr_sign.h"

/* Keys used across the tests: generated once per run. */
static gr_keypair k_seller, k_buyer, k_verifier, k_proc, k_stranger,
    k_restricted, k_expired;
static gr_keyring *ring;

static const char canonical_failed[] =
    "{\"event_id\":\"run_8841-f1\",\"job_id\":\"run_8841\",\"attempt\":1,"
    "\"type\":\"execution_failed\",\"occurred_at\":\"2026-05-25T08:11:33Z\","
    "\"actor\":{\"role\":\"seller\",\"id\":\"worker-17\",\"key_id\":"
    "\"k-worker-17\"},\"body\":{\"failure_class\":\"container_oom\","
    "\"output_written\":false,\"stderr_class\":\"cuda_oom\",\"resources\":{"
    "\"peak_vram_mb\":81920,\"gpu_seconds\":149}}}";

static void entry_json(gr_buf *b, const gr_keypair *kp, const char *from,
                       const char *to, const char *types) {
        char pk[64];

        gr_b64_encode(kp->pk, GR_PK_LEN, pk, sizeof(pk));
        gr_buf_printf(b,
                      "{\"key_id\":\"%s\",\"role\":\"%s\",\"public_key\":"
                      "\"%s\",\"valid_from\":%s,\"valid_to\":%s%s%s}",
                      kp->key_id, gr_key_role_t_name(kp->role), pk, from, to,
                      types ? ",\"types\":" : "", types ? types : "");
}

static int setup(void **state) {
        char es[128];
        gr_buf b;
        (void)state;

        if (gr_crypto_init() == -1)
                return -1;
        if (gr_keypair_generate(&k_seller, GR_KROLE_SELLER, "k-worker-17", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_buyer, GR_KROLE_BUYER, "k-buyer-3", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_verifier, GR_KROLE_VERIFIER,
                                "k-verifier-2", es, sizeof(es)) ||
            gr_keypair_generate(&k_proc, GR_KROLE_PROCESSOR, "k-receiptd", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_stranger, GR_KROLE_SELLER, "k-stranger",
                                es, sizeof(es)) ||
            gr_keypair_generate(&k_restricted, GR_KROLE_SELLER,
                                "k-worker-18", es, sizeof(es)) ||
            gr_keypair_generate(&k_expired, GR_KROLE_SELLER, "k-worker-old",
                                es, sizeof(es)))
                return -1;
        gr_buf_init(&b);
        gr_buf_putc(&b, '[');
        entry_json(&b, &k_seller, "\"2026-01-01T00:00:00Z\"", "null", NULL);
        gr_buf_putc(&b, ',');
        entry_json(&b, &k_buyer, "\"2026-01-01T00:00:00Z\"", "null", NULL);
        gr_buf_putc(&b, ',');
        entry_json(&b, &k_verifier, "\"2026-01-01T00:00:00Z\"", "null", NULL);
        gr_buf_putc(&b, ',');
        entry_json(&b, &k_proc, "\"2026-01-01T00:00:00Z\"", "null", NULL);
        gr_buf_putc(&b, ',');
        entry_json(&b, &k_restricted, "\"2026-01-01T00:00:00Z\"", "null",
                   "[\"execution_started\"]");
        gr_buf_putc(&b, ',');
        entry_json(&b, &k_expired, "\"2025-01-01T00:00:00Z\"",
                   "\"2026-05-01T00:00:00Z\"", NULL);
        gr_buf_putc(&b, ']');
        ring = gr_keyring_new(b.data, b.len, es, sizeof(es));
        gr_buf_free(&b);
        return ring ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        gr_keyring_destroy(ring);
        gr_keypair_wipe(&k_seller);
        gr_keypair_wipe(&k_buyer);
        gr_keypair_wipe(&k_verifier);
        gr_keypair_wipe(&k_proc);
        gr_keypair_wipe(&k_stranger);
        gr_keypair_wipe(&k_restricted);
        gr_keypair_wipe(&k_expired);
        return 0;
}

static void decode(const char *json, gr_event *ev) {
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;

        assert_non_null(d);
        if (gr_json_event_decode(d, json, strlen(json), ev, &err) != 0)
                fail_msg("decode: %s", err.detail);
        gr_json_decoder_destroy(d);
}

/* ---- keys -------------------------------------------------------------- */

static void test_registry(void **state) {
        const gr_key_entry *e;
        gr_keyring *kr;
        char es[200];
        gr_buf b;
        int64_t t;
        (void)state;

        assert_int_equal(gr_keyring_count(ring), 6);
        assert_non_null(e = gr_keyring_find(ring, "k-worker-17"));
        assert_int_equal(e->role, GR_KROLE_SELLER);
        assert_int_equal(e->valid_to, INT64_MAX);
        assert_null(gr_keyring_find(ring, "k-stranger"));
        assert_null(gr_keyring_find(ring, ""));
        assert_non_null(e = gr_keyring_find(ring, "k-worker-old"));
        gr_time_parse("2026-04-30T23:59:59Z", 20, &t);
        assert_true(gr_key_valid_at(e, t));
        gr_time_parse("2026-05-01T00:00:00Z", 20, &t);
        assert_false(gr_key_valid_at(e, t)); /* valid_to is exclusive */

        /* the public file is itself a registry of one */
        gr_buf_init(&b);
        gr_keypair_public_to_json(&k_proc, 0, &b);
        assert_non_null(kr = gr_keyring_new(b.data, b.len, es, sizeof(es)));
        assert_non_null(gr_keyring_find(kr, "k-receiptd"));
        gr_keyring_destroy(kr);
        gr_keyring_destroy(NULL);
        gr_buf_free(&b);
}

/* ---- events ------------------------------------------------------------ */

static void expect_reject(const gr_event *ev, gr_reject_t want) {
        gr_err err;

        memset(&err, 0, sizeof(err));
        assert_int_equal(gr_event_verify(ring, ev, &err), -1);
        if (err.reason != want)
                fail_msg("got %s (%s), want %s", gr_reject_t_name(err.reason),
                         err.detail, gr_reject_t_name(want));
}

static void test_event_sign_verify(void **state) {
        gr_event ev, copy;
        gr_err err;
        (void)state;

        decode(canonical_failed, &ev);
        assert_int_equal(gr_event_sign(&k_seller, &ev, &err), 0);
        assert_true(gr_event_has(&ev, GR_F_sig));
        assert_int_equal(strlen(ev.sig), 88);
        assert_int_equal(gr_event_verify(ring, &ev, &err), 0);

        /* unsigned */
        copy = ev;
        copy.present &= ~((uint64_t)1 << GR_F_sig);
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
}

static void test_event_forged(void **state) {
        gr_event ev, copy;
        gr_err err;
        (void)state;

        decode(canonical_failed, &ev);
        assert_int_equal(gr_event_sign(&k_seller, &ev, &err), 0);

        /* the seller rewrites its failure class after signing */
        copy = ev;
        copy.failure_class = GR_FAIL_DRIVER_MISMATCH;
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        /* or drops a body field */
        copy = ev;
        copy.present &= ~((uint64_t)1 << GR_F_stderr_class);
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        /* or moves the time */
        copy = ev;
        copy.occurred_at += 1000;
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        /* a stranger signs and claims the real seller's key id */
        copy = ev;
        gr_keypair fake = k_stranger;
        snprintf(fake.key_id, sizeof(fake.key_id), "k-worker-17");
        assert_int_equal(gr_event_sign(&fake, &copy, &err), 0);
        gr_keypair_wipe(&fake);
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        /* signature garbage */
        copy = ev;
        snprintf(copy.sig, sizeof(copy.sig), "not base64!");
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        copy = ev;
        snprintf(copy.sig, sizeof(copy.sig), "AAAA");
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        /* a valid signature of another registered key, key_id pointed at
         * it: still bad */
        copy = ev;
        snprintf(copy.key_id, sizeof(copy.key_id), "k-buyer-3");
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
}

static void test_event_replayed(void **state) {
        gr_event ev, copy;
        gr_err err;
        (void)state;

        decode(canonical_failed, &ev);
        assert_int_equal(gr_event_sign(&k_seller, &ev, &err), 0);
        copy = ev;
        snprintf(copy.job_id, sizeof(copy.job_id), "run_9000");
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        copy = ev;
        snprintf(copy.event_id, sizeof(copy.event_id), "run_8841-f2");
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
        copy = ev;
        copy.attempt = 2;
        expect_reject(&copy, GR_REJ_BAD_SIGNATURE);
}

static void test_event_unknown_key(void **state) {
        gr_event ev, copy;
        gr_err err;
        (void)state;

        decode(canonical_failed, &ev);
        /* a key the registry has never heard of */
        copy = ev;
        assert_int_equal(gr_event_sign(&k_stranger, &copy, &err), 0);
        expect_reject(&copy, GR_REJ_UNKNOWN_KEY);
        /* a signed event without key_id */
        copy = ev;
        assert_int_equal(gr_event_sign(&k_seller, &copy, &err), 0);
        copy.present &= ~((uint64_t)1 << GR_F_key_id);
        expect_reject(&copy, GR_REJ_UNKNOWN_KEY);
        /* an expired key (valid to 2026-05-01, event on 2026-05-25) */
        copy = ev;
        assert_int_equal(gr_event_sign(&k_expired, &copy, &err), 0);
        expect_reject(&copy, GR_REJ_UNKNOWN_KEY);
        /* before a key's valid_from */
        copy = ev;
        gr_time_parse("2025-12-31T23:59:59Z", 20, &copy.occurred_at);
        assert_int_equal(gr_event_sign(&k_seller, &copy, &err), 0);
        expect_reject(&copy, GR_REJ_UNKNOWN_KEY);
        /* and the expired key did sign fine while it was valid */
        copy = ev;
        gr_time_parse("2026-04-30T08:00:00Z", 20, &copy.occurred_at);
        assert_int_equal(gr_event_sign(&k_expired, &copy, &err), 0);
        assert_int_equal(gr_event_verify(ring, &copy, &err), 0);
}

static void test_event_wrong_role(void **state) {
        gr_event ev, copy;
        gr_err err;
        (void)state;

        decode(canonical_failed, &ev);
        /* the buyer signs a seller event with its own valid key */
        copy = ev;
        assert_int_equal(gr_event_sign(&k_buyer, &copy, &err), 0);
        expect_reject(&copy, GR_REJ_UNAUTHORIZED_ROLE);
        /* the processor's key may sign no lifecycle event */
        copy = ev;
        assert_int_equal(gr_event_sign(&k_proc, &copy, &err), 0);
        expect_reject(&copy, GR_REJ_UNAUTHORIZED_ROLE);
        /* a seller key restricted to execution_started */
        copy = ev;
        assert_int_equal(gr_event_sign(&k_restricted, &copy, &err), 0);
        expect_reject(&copy, GR_REJ_UNAUTHORIZED_ROLE);
        copy.type = GR_EVT_EXECUTION_STARTED;
        assert_int_equal(gr_event_sign(&k_restricted, &copy, &err), 0);
        assert_int_equal(gr_event_verify(ring, &copy, &err), 0);
}

/* The canonical bytes depend on the event, not on how it was spelled:
 * JSON round trips, a time given as Avro's ms integer, a number given as
 * an integer, an absent attempt (defaults to 1) all sign identically. */
static void test_event_canonical_bytes(void **state) {
        gr_event a, b;
        gr_buf ba, bb, js;
        gr_err err;
        (void)state;

        decode(canonical_failed, &a);
        assert_int_equal(gr_event_sign(&k_seller, &a, &err), 0);
        gr_buf_init(&js);
        gr_json_event_encode(&a, &js);
        decode(js.data, &b);
        assert_int_equal(gr_event_verify(ring, &b, &err), 0);
        gr_buf_free(&js);

        gr_buf_init(&ba);
        gr_buf_init(&bb);
        b = a;
        assert_int_equal(gr_event_set_int(&b, GR_F_occurred_at, a.occurred_at,
                                          &err),
                         0);
        assert_int_equal(gr_event_set_int(&b, GR_F_gpu_seconds, 149, &err), 0);
        assert_int_equal(gr_event_set_num(&b, GR_F_peak_vram_mb, 81920.0,
                                          &err),
                         0);
        gr_event_signing_bytes(&a, &ba);
        gr_event_signing_bytes(&b, &bb);
        assert_int_equal(ba.len, bb.len);
        assert_memory_equal(ba.data, bb.data, ba.len);

        b.present &= ~((uint64_t)1 << GR_F_attempt);
        gr_buf_reset(&bb);
        gr_event_signing_bytes(&b, &bb);
        assert_int_equal(ba.len, bb.len);
        assert_memory_equal(ba.data, bb.data, ba.len);

        /* the documented layout: tag, then "event_id" as a string */
        assert_memory_equal(ba.data, "gr-event-v1\n\x08" "event_ids", 22);
        /* sig is never part of it */
        for (size_t i = 0; i + strlen(a.sig) <= ba.len; i++)
                assert_false(!memcmp(ba.data + i, a.sig, strlen(a.sig)));
        gr_buf_free(&ba);
        gr_buf_free(&bb);
}

static void test_event_authenticate(void **state) {
        gr_policy pol;
        gr_event ev;
        gr_err err;
        char es[128];
        static const char req[] =
            "{\"require_signatures\":{\"roles\":[\"seller\"]}}";
        (void)state;

        decode(canonical_failed, &ev); /* unsigned */
        gr_policy_default(&pol);
        assert_int_equal(gr_event_authenticate(&pol, ring, &ev, &err), 0);
        assert_int_equal(gr_policy_load(&pol, req, strlen(req), es,
                                        sizeof(es)),
                         0);
        assert_int_equal(gr_event_authenticate(&pol, ring, &ev, &err), -1);
        assert_int_equal(err.reason, GR_REJ_BAD_SIGNATURE);
        assert_int_equal(gr_event_sign(&k_seller, &ev, &err), 0);
        assert_int_equal(gr_event_authenticate(&pol, ring, &ev, &err), 0);
        assert_int_equal(gr_event_authenticate(&pol, NULL, &ev, &err), -1);
        assert_int_equal(err.reason, GR_REJ_UNKNOWN_KEY);
}

/* ---- decisions --------------------------------------------------------- */

static void sample_decision(gr_decision *d) {
        memset(d, 0, sizeof(*d));
        gr_sha256_hex("run_8841\n1\n5", 12, d->decision_id);
        d->job_id = "run_8841";
        d->attempt = 1;
        d->seq = 5;
        d->settlement = GR_SETTLE_HOLD;
        d->retry = GR_RETRY_FREE;
        d->reason = GR_REASON_CONTAINER_OOM;
        d->rule = GR_RULE_R7;
        d->line = "job_id=run_8841 attempt=1 capacity=pass execution=fail "
                  "output=none settlement=hold reason=container_oom "
                  "retry=free";
        gr_sha256_hex("receipt", 7, d->receipt_hash);
        d->policy_hash = "4f2c";
        gr_time_parse("2026-05-25T08:15:00Z", 20, &d->decided_at);
}

static void expect_decision(const char *json, gr_reject_t want) {
        gr_err err;

        memset(&err, 0, sizeof(err));
        assert_int_equal(gr_decision_verify_json(ring, json, strlen(json),
                                                 NULL, &err),
                         -1);
        if (err.reason != want)
                fail_msg("got %s (%s), want %s", gr_reject_t_name(err.reason),
                         err.detail, gr_reject_t_name(want));
}

static char *replace(const char *s, const char *from, const char *to) {
        const char *p = strstr(s, from);
        char *r;

        assert_non_null(p);
        r = malloc(strlen(s) + strlen(to) + 1);
        memcpy(r, s, (size_t)(p - s));
        strcpy(r + (p - s), to);
        strcat(r, p + strlen(from));
        return r;
}

static void test_decision_sign_verify(void **state) {
        gr_decision d;
        gr_buf b, unsigned_b;
        char job[GR_ID_MAX], *t;
        gr_err err;
        (void)state;

        sample_decision(&d);
        gr_buf_init(&b);
        assert_int_equal(gr_decision_sign(&k_proc, &d, &b), 0);
        assert_non_null(strstr(b.data, "\"key_id\":\"k-receiptd\""));
        assert_int_equal(gr_decision_verify_json(ring, b.data, b.len, job,
                                                 &err),
                         0);
        assert_string_equal(job, "run_8841");
        /* a trailing newline, as in a JSON-lines file, is fine */
        gr_buf_putc(&b, '\n');
        assert_int_equal(gr_decision_verify_json(ring, b.data, b.len, NULL,
                                                 &err),
                         0);
        b.data[--b.len] = '\0';

        /* the signature covers the rendering with sig = null */
        gr_buf_init(&unsigned_b);
        gr_decision_to_json(&d, NULL, "k-receiptd", &unsigned_b);
        assert_non_null(strstr(unsigned_b.data, "\"sig\":null"));
        gr_buf_free(&unsigned_b);

        /* hold -> release: forged */
        t = replace(b.data, "\"settlement\":\"hold\"",
                    "\"settlement\":\"release\"");
        expect_decision(t, GR_REJ_BAD_SIGNATURE);
        free(t);
        /* the line is covered too */
        t = replace(b.data, "retry=free", "retry=none");
        expect_decision(t, GR_REJ_BAD_SIGNATURE);
        free(t);
        /* an extra member would ride along unsigned */
        t = replace(b.data, "{\"decision_id\"",
                    "{\"bonus\":1,\"decision_id\"");
        expect_decision(t, GR_REJ_SCHEMA);
        free(t);
        /* unsigned */
        gr_buf_init(&unsigned_b);
        gr_decision_to_json(&d, NULL, "k-receiptd", &unsigned_b);
        expect_decision(unsigned_b.data, GR_REJ_BAD_SIGNATURE);
        gr_buf_free(&unsigned_b);
        expect_decision("{\"decision_id\":", GR_REJ_INVALID_JSON);
        gr_buf_free(&b);

        /* signed by a seller's valid key: wrong role */
        gr_buf_init(&b);
        assert_int_equal(gr_decision_sign(&k_seller, &d, &b), 0);
        expect_decision(b.data, GR_REJ_UNAUTHORIZED_ROLE);
        gr_buf_reset(&b);
        /* by a key nobody registered */
        assert_int_equal(gr_decision_sign(&k_stranger, &d, &b), 0);
        expect_decision(b.data, GR_REJ_UNKNOWN_KEY);
        gr_buf_free(&b);
}

/* ---- tree heads -------------------------------------------------------- */

static void test_tree_head(void **state) {
        gr_tree_head th, back;
        gr_buf b;
        gr_err err;
        char es[128];
        (void)state;

        memset(&th, 0, sizeof(th));
        th.partition = 3;
        th.tree_size = 1000;
        gr_merkle_leaf_hash("x", 1, th.root_hash);
        gr_time_parse("2026-05-25T08:15:02Z", 20, &th.timestamp);
        assert_int_equal(gr_tree_head_sign(&th, &k_proc), 0);
        assert_int_equal(gr_tree_head_verify(&th, ring, &err), 0);

        gr_buf_init(&b);
        gr_tree_head_to_json(&th, &b);
        assert_non_null(strstr(b.data, "{\"type\":\"tree_head\","
                                       "\"partition\":3,\"tree_size\":1000,"));
        assert_int_equal(gr_tree_head_from_json(&back, b.data, b.len, es,
                                                sizeof(es)),
                         0);
        assert_memory_equal(&back, &th, sizeof(th));
        assert_int_equal(gr_tree_head_verify(&back, ring, &err), 0);
        gr_buf_free(&b);

        back = th;
        back.tree_size = 999;
        assert_int_equal(gr_tree_head_verify(&back, ring, &err), -1);
        assert_int_equal(err.reason, GR_REJ_BAD_SIGNATURE);
        back = th;
        back.partition = 4;
        assert_int_equal(gr_tree_head_verify(&back, ring, &err), -1);
        assert_int_equal(err.reason, GR_REJ_BAD_SIGNATURE);
        back = th;
        assert_int_equal(gr_tree_head_sign(&back, &k_stranger), 0);
        assert_int_equal(gr_tree_head_verify(&back, ring, &err), -1);
        assert_int_equal(err.reason, GR_REJ_UNKNOWN_KEY);
        back = th;
        assert_int_equal(gr_tree_head_sign(&back, &k_seller), 0);
        assert_int_equal(gr_tree_head_verify(&back, ring, &err), -1);
        assert_int_equal(err.reason, GR_REJ_UNAUTHORIZED_ROLE);

        assert_int_equal(gr_tree_head_from_json(&back, "{\"type\":\"x\"}", 12,
                                                es, sizeof(es)),
                         -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_registry),
            cmocka_unit_test(test_event_sign_verify),
            cmocka_unit_test(test_event_forged),
            cmocka_unit_test(test_event_replayed),
            cmocka_unit_test(test_event_unknown_key),
            cmocka_unit_test(test_event_wrong_role),
            cmocka_unit_test(test_event_canonical_bytes),
            cmocka_unit_test(test_event_authenticate),
            cmocka_unit_test(test_decision_sign_verify),
            cmocka_unit_test(test_tree_head),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
