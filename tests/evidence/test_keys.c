/*
 * evidence/gr_keys.c: generating key pairs, their key ids, the public and
 * secret file texts, loading a secret file and refusing a bad one (with the
 * key wiped and a reason), registry lookups and validity windows, and the
 * base64/hex helpers.  The library reads no files: refusing a secret file
 * by its permissions is the reader's job (consumers/gr_config.c, tested in
 * tests/consumers/test_receiptd_config.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "gr_keys.h"

static int all_zero(const void *p, size_t n) {
        const unsigned char *c = p;
        for (size_t i = 0; i < n; i++)
                if (c[i])
                        return 0;
        return 1;
}

static void gen(gr_keypair *kp, gr_key_role_t role, const char *id) {
        char es[200];
        if (gr_keypair_generate(kp, role, id, es, sizeof(es)))
                fail_msg("generate %s: %s", id, es);
}

static int setup(void **state) {
        (void)state;
        return gr_crypto_init();
}

static void test_generate(void **state) {
        gr_keypair a, b;
        uint8_t sig[crypto_sign_BYTES];
        static const char msg[] = "a message";
        (void)state;

        gen(&a, GR_KROLE_SELLER, "k-a");
        gen(&b, GR_KROLE_SELLER, "k-a");
        assert_string_equal(a.key_id, "k-a");
        assert_int_equal(a.role, GR_KROLE_SELLER);
        /* Fresh randomness each time, even for the same id. */
        assert_memory_not_equal(a.pk, b.pk, GR_PK_LEN);
        assert_memory_not_equal(a.sk, b.sk, GR_SK_LEN);
        /* libsodium layout: seed || public key, and the pair works. */
        assert_memory_equal(a.sk + 32, a.pk, GR_PK_LEN);
        crypto_sign_detached(sig, NULL, (const unsigned char *)msg,
                             sizeof(msg), a.sk);
        assert_int_equal(crypto_sign_verify_detached(
                             sig, (const unsigned char *)msg, sizeof(msg), a.pk),
                         0);
        assert_int_not_equal(crypto_sign_verify_detached(
                                 sig, (const unsigned char *)msg, sizeof(msg),
                                 b.pk),
                             0);
        /* Every role, the processor included, can have a key. */
        for (int r = 0; r < GR_KROLE__CNT; r++) {
                gen(&b, (gr_key_role_t)r, "k-r");
                assert_int_equal(b.role, r);
        }
        gr_keypair_wipe(&a);
        assert_true(all_zero(&a, sizeof(a)));
        gr_keypair_wipe(NULL);
        gr_keypair_wipe(&b);
}

static void test_key_ids(void **state) {
        static const char *const good[] = {"k", "k-worker-17", "a.b_c:d@e+f",
                                           "~!#$%^&*()[]{}<>|;,=?"};
        static const char *const bad[] = {"",      "a b",   "a/b", "a\\b",
                                          "../x",  "tab\t", "\x7f",
                                          "caf\xc3\xa9"};
        char id[GR_ID_MAX + 1], es[200];
        gr_keypair kp;
        (void)state;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                gen(&kp, GR_KROLE_BUYER, good[i]);
                assert_string_equal(kp.key_id, good[i]);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                es[0] = '\0';
                memset(&kp, 0xa5, sizeof(kp));
                if (gr_keypair_generate(&kp, GR_KROLE_BUYER, bad[i], es,
                                        sizeof(es)) != -1)
                        fail_msg("key id \"%s\" accepted", bad[i]);
                assert_true(strlen(es) > 0);
                assert_true(all_zero(&kp, sizeof(kp)));
        }
        assert_int_equal(gr_keypair_generate(&kp, GR_KROLE_BUYER, NULL, es,
                                             sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "key_id must be"));

        /* The longest id that fits, and one byte more. */
        memset(id, 'x', sizeof(id));
        id[GR_ID_MAX - 1] = '\0';
        gen(&kp, GR_KROLE_BUYER, id);
        assert_string_equal(kp.key_id, id);
        id[GR_ID_MAX - 1] = 'x';
        id[GR_ID_MAX] = '\0';
        assert_int_equal(gr_keypair_generate(&kp, GR_KROLE_BUYER, id, es,
                                             sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "bytes"));

        assert_int_equal(gr_keypair_generate(&kp, GR_KROLE__CNT, "k", es,
                                             sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "role"));
}

/* The public file is an entry of the registry; the secret file loads back
 * to the same pair. */
static void test_files_round_trip(void **state) {
        gr_keypair kp, back;
        gr_keyring *kr;
        const gr_key_entry *e;
        char es[200], pk64[64], want[256];
        gr_buf b;
        int64_t t0;
        (void)state;

        gen(&kp, GR_KROLE_VERIFIER, "k-eval-2");
        assert_int_equal(gr_b64_encode(kp.pk, GR_PK_LEN, pk64, sizeof(pk64)),
                         0);
        assert_int_equal(gr_time_parse("2026-05-25T00:00:00Z", 20, &t0), 0);

        gr_buf_init(&b);
        gr_keypair_public_to_json(&kp, t0, &b);
        snprintf(want, sizeof(want),
                 "{\"key_id\":\"k-eval-2\",\"role\":\"verifier\","
                 "\"public_key\":\"%s\","
                 "\"valid_from\":\"2026-05-25T00:00:00Z\",\"valid_to\":null}",
                 pk64);
        assert_string_equal(b.data, want);
        assert_null(strstr(b.data, "secret"));
        assert_non_null(kr = gr_keyring_new(b.data, b.len, es, sizeof(es)));
        assert_int_equal(gr_keyring_count(kr), 1);
        assert_non_null(e = gr_keyring_find(kr, "k-eval-2"));
        assert_int_equal(e->role, GR_KROLE_VERIFIER);
        assert_memory_equal(e->pk, kp.pk, GR_PK_LEN);
        assert_int_equal(e->valid_from, t0);
        assert_int_equal(e->valid_to, INT64_MAX);
        assert_int_equal(e->types, 0);
        assert_string_equal(e->actor_id, "k-eval-2");
        assert_false(gr_key_valid_at(e, t0 - 1));
        assert_true(gr_key_valid_at(e, t0));
        assert_true(gr_key_valid_at(e, INT64_MAX - 1));
        gr_keyring_destroy(kr);

        /* A public file is not a secret file. */
        assert_int_equal(gr_keypair_from_json(&back, b.data, b.len, es,
                                              sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "is this a public key file?"));
        gr_buf_free(&b);

        gr_buf_init(&b);
        gr_keypair_secret_to_json(&kp, &b);
        assert_int_equal(gr_keypair_from_json(&back, b.data, b.len, es,
                                              sizeof(es)),
                         0);
        assert_string_equal(back.key_id, kp.key_id);
        assert_int_equal(back.role, kp.role);
        assert_memory_equal(back.pk, kp.pk, GR_PK_LEN);
        assert_memory_equal(back.sk, kp.sk, GR_SK_LEN);
        gr_buf_wipe(&b);
        assert_null(b.data);
        gr_buf_wipe(NULL);

        /* public_key is optional in the secret file: derived from the seed. */
        {
                char sk64[128], text[400];
                assert_int_equal(
                    gr_b64_encode(kp.sk, GR_SK_LEN, sk64, sizeof(sk64)), 0);
                snprintf(text, sizeof(text),
                         "{\"key_id\":\"k-eval-2\",\"role\":\"verifier\","
                         "\"secret_key\":\"%s\"}",
                         sk64);
                assert_int_equal(gr_keypair_from_json(&back, text,
                                                      strlen(text), es,
                                                      sizeof(es)),
                                 0);
                assert_memory_equal(back.pk, kp.pk, GR_PK_LEN);
        }
        gr_keypair_wipe(&kp);
        gr_keypair_wipe(&back);
}

/* Every bad secret file is refused with a reason, and nothing of it is
 * left in the key pair. */
static void test_bad_secret_files(void **state) {
        gr_keypair kp, other;
        char sk64[128], other_pk64[64], other_sk64[128], pk64[64];
        uint8_t mixed[GR_SK_LEN];
        char text[32][512];
        const char *why[32];
        int n = 0;
        (void)state;

        gen(&kp, GR_KROLE_SELLER, "k-s");
        gen(&other, GR_KROLE_SELLER, "k-o");
        gr_b64_encode(kp.sk, GR_SK_LEN, sk64, sizeof(sk64));
        gr_b64_encode(kp.pk, GR_PK_LEN, pk64, sizeof(pk64));
        gr_b64_encode(other.pk, GR_PK_LEN, other_pk64, sizeof(other_pk64));
        gr_b64_encode(other.sk, GR_SK_LEN, other_sk64, sizeof(other_sk64));
        /* this seed with the other key's public half */
        memcpy(mixed, kp.sk, 32);
        memcpy(mixed + 32, other.pk, 32);

#define ROW(reason, ...)                                                       \
        do {                                                                   \
                snprintf(text[n], sizeof(text[n]), __VA_ARGS__);               \
                why[n++] = (reason);                                           \
        } while (0)
        ROW("key file:", "%s", "");
        ROW("key file:", "%s", "{\"key_id\":");
        ROW("not an object", "%s", "[]");
        ROW("key file:", "%s", "\"k-s\""); /* jansson: no bare values */
        ROW("key_id must be", "{\"role\":\"seller\",\"secret_key\":\"%s\"}",
            sk64);
        ROW("key_id may hold",
            "{\"key_id\":\"../k\",\"role\":\"seller\",\"secret_key\":\"%s\"}",
            sk64);
        ROW("key_id must be",
            "{\"key_id\":7,\"role\":\"seller\",\"secret_key\":\"%s\"}", sk64);
        ROW("role", "{\"key_id\":\"k-s\",\"secret_key\":\"%s\"}", sk64);
        ROW("role",
            "{\"key_id\":\"k-s\",\"role\":\"janitor\",\"secret_key\":\"%s\"}",
            sk64);
        ROW("secret_key must be base64",
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"secret_key\":\"%s\"}",
            pk64); /* 32 bytes, not 64 */
        ROW("secret_key must be base64",
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"secret_key\":\"%s=\"}",
            sk64); /* trailing garbage */
        ROW("secret_key must be base64",
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"secret_key\":\"%.20s*"
            "%s\"}",
            sk64, sk64 + 21);
        ROW("secret_key must be base64",
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"secret_key\":null}%s",
            "");
        {
                char m64[128];
                gr_b64_encode(mixed, GR_SK_LEN, m64, sizeof(m64));
                ROW("not a seed || public key pair",
                    "{\"key_id\":\"k-s\",\"role\":\"seller\","
                    "\"secret_key\":\"%s\"}",
                    m64);
        }
        ROW("does not belong",
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"public_key\":\"%s\","
            "\"secret_key\":\"%s\"}",
            other_pk64, sk64);
        ROW("does not belong",
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"public_key\":\"AAAA\","
            "\"secret_key\":\"%s\"}",
            sk64);
        ROW("duplicate", /* jansson: "duplicate object key" */
            "{\"key_id\":\"k-s\",\"role\":\"seller\",\"secret_key\":\"%s\","
            "\"secret_key\":\"%s\"}",
            other_sk64, sk64);
#undef ROW

        for (int i = 0; i < n; i++) {
                char es[200] = "";
                gr_keypair got;
                memset(&got, 0xa5, sizeof(got));
                if (gr_keypair_from_json(&got, text[i], strlen(text[i]), es,
                                         sizeof(es)) != -1)
                        fail_msg("row %d accepted: %s", i, text[i]);
                if (!strstr(es, why[i]))
                        fail_msg("row %d: \"%s\" lacks \"%s\"", i, es, why[i]);
                if (!all_zero(&got, sizeof(got)))
                        fail_msg("row %d: key pair not wiped", i);
        }
        gr_keypair_wipe(&kp);
        gr_keypair_wipe(&other);
}

/* Lookups in a registry of many keys given in no particular order;
 * validity windows are [valid_from, valid_to). */
static void test_registry_lookup(void **state) {
        enum { N = 61 };
        gr_keyring *kr;
        const gr_key_entry *e;
        char es[200], id[32], pk64[64];
        gr_keypair kp;
        gr_buf b;
        int64_t from, to;
        (void)state;

        assert_int_equal(gr_time_parse("2026-01-01T00:00:00Z", 20, &from), 0);
        assert_int_equal(gr_time_parse("2026-02-01T00:00:00Z", 20, &to), 0);
        gen(&kp, GR_KROLE_BUYER, "k");
        gr_b64_encode(kp.pk, GR_PK_LEN, pk64, sizeof(pk64));
        gr_buf_init(&b);
        gr_buf_putc(&b, '[');
        for (int i = 0; i < N; i++) {
                /* ids out of order: 37 is prime to N */
                snprintf(id, sizeof(id), "k-%03d", (i * 37) % N);
                gr_buf_printf(&b,
                              "%s{\"key_id\":\"%s\",\"role\":\"buyer\","
                              "\"public_key\":\"%s\","
                              "\"valid_from\":\"2026-01-01T00:00:00Z\","
                              "\"valid_to\":\"2026-02-01T00:00:00Z\","
                              "\"actor_id\":\"acct-%d\","
                              "\"types\":[\"quote_accepted\","
                              "\"job_cancelled\"]}",
                              i ? "," : "", id, pk64, (i * 37) % N);
        }
        gr_buf_putc(&b, ']');
        assert_int_equal(b.oom, 0);
        assert_non_null(kr = gr_keyring_new(b.data, b.len, es, sizeof(es)));
        assert_int_equal(gr_keyring_count(kr), N);
        for (int i = 0; i < N; i++) {
                char actor[32];
                snprintf(id, sizeof(id), "k-%03d", i);
                snprintf(actor, sizeof(actor), "acct-%d", i);
                assert_non_null(e = gr_keyring_find(kr, id));
                assert_string_equal(e->key_id, id);
                assert_string_equal(e->actor_id, actor);
                assert_int_equal(e->types,
                                 (1u << GR_EVT_QUOTE_ACCEPTED) |
                                     (1u << GR_EVT_JOB_CANCELLED));
                assert_false(gr_key_valid_at(e, from - 1));
                assert_true(gr_key_valid_at(e, from));
                assert_true(gr_key_valid_at(e, to - 1));
                assert_false(gr_key_valid_at(e, to));
        }
        assert_null(gr_keyring_find(kr, "k-061"));
        assert_null(gr_keyring_find(kr, "k-"));
        assert_null(gr_keyring_find(kr, "k-0000"));
        assert_null(gr_keyring_find(kr, NULL));
        assert_null(gr_keyring_find(NULL, "k-000"));
        assert_int_equal(gr_keyring_count(NULL), 0);
        gr_keyring_destroy(kr);
        gr_buf_free(&b);

        /* An empty registry is a registry that knows nobody. */
        assert_non_null(kr = gr_keyring_new("[]", 2, es, sizeof(es)));
        assert_int_equal(gr_keyring_count(kr), 0);
        assert_null(gr_keyring_find(kr, "k"));
        gr_keyring_destroy(kr);
        gr_keypair_wipe(&kp);
}

/* Every malformed registry is an error with a reason. */
static void test_registry_refused(void **state) {
        char es[200];
        (void)state;

        static const struct {
                const char *json, *why;
        } bad[] = {
            {"[{\"key_id\":\"a\",\"role\":\"seller\",\"public_key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},"
             "{\"key_id\":\"a\",\"role\":\"buyer\",\"public_key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]",
             "twice"},
            {"[{\"key_id\":\"a\",\"role\":\"seller\",\"public_key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
             "\"valid_untill\":null}]",
             "unknown member"},
            {"[{\"key_id\":\"a\",\"role\":\"seller\",\"public_key\":"
             "\"AAAA\"}]",
             "public_key"},
            {"[{\"key_id\":\"a\",\"role\":\"janitor\",\"public_key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]",
             "role"},
            {"[{\"key_id\":\"a\",\"role\":\"seller\",\"public_key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
             "\"valid_from\":\"2026-02-01T00:00:00Z\","
             "\"valid_to\":\"2026-01-01T00:00:00Z\"}]",
             "not after"},
            {"[{\"key_id\":\"a\",\"role\":\"seller\",\"public_key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
             "\"types\":[\"exec_started\"]}]",
             "types[0]"},
            {"[1]", "not an object"},
            {"[{\"key_id\":", "line"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                es[0] = '\0';
                assert_null(gr_keyring_new(bad[i].json, strlen(bad[i].json),
                                           es, sizeof(es)));
                if (!strstr(es, bad[i].why))
                        fail_msg("case %zu: \"%s\" lacks \"%s\"", i, es,
                                 bad[i].why);
        }
}


static void test_encodings(void **state) {
        static const uint8_t bin[5] = {0x00, 0xff, 0x10, 0x80, 0x7f};
        uint8_t out[8];
        char s[16];
        (void)state;

        assert_int_equal(gr_b64_encode(bin, 5, s, sizeof(s)), 0);
        assert_string_equal(s, "AP8QgH8=");
        assert_int_equal(gr_b64_encode(bin, 5, s, 8), -1); /* no room for NUL */
        assert_int_equal(gr_b64_decode("AP8QgH8=", 8, out, 5), 0);
        assert_memory_equal(out, bin, 5);
        assert_int_equal(gr_b64_decode("AP8QgH8=", 8, out, 4), -1);
        assert_int_equal(gr_b64_decode("AP8QgH8=", 8, out, 6), -1);
        assert_int_equal(gr_b64_decode("AP8QgH8", 7, out, 5), -1);
        assert_int_equal(gr_b64_decode("AP8QgH8=x", 9, out, 5), -1);
        assert_int_equal(gr_b64_decode("AP8Q-H8=", 8, out, 5), -1);
        assert_int_equal(gr_b64_decode("", 0, out, 0), 0);

        assert_int_equal(gr_hex_decode("00ff10807f", 10, out, 5), 0);
        assert_memory_equal(out, bin, 5);
        assert_int_equal(gr_hex_decode("00FF10807F", 10, out, 5), 0);
        assert_memory_equal(out, bin, 5);
        assert_int_equal(gr_hex_decode("00ff10807", 9, out, 5), -1);
        assert_int_equal(gr_hex_decode("00ff10807f00", 12, out, 5), -1);
        assert_int_equal(gr_hex_decode("00ff1080zz", 10, out, 5), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_generate),
            cmocka_unit_test(test_key_ids),
            cmocka_unit_test(test_files_round_trip),
            cmocka_unit_test(test_bad_secret_files),
            cmocka_unit_test(test_registry_lookup),
            cmocka_unit_test(test_registry_refused),
            cmocka_unit_test(test_encodings),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
