/* receiptd's evidence keys in gr_config (issue 5): keys.registry,
 * processor.key, verify.threads — files read and checked when set, a bad
 * file or value is an error naming the key and the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gr_config.h"
#include "gr_keys.h"

static char dir[] = "/tmp/test_receiptd_config.XXXXXX";
static char p_reg[256], p_proc[256], p_seller[256], p_bad[256],
    p_missing[256];
static gr_keypair k_proc;

static void write_file(const char *path, const gr_buf *b) {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        fwrite(b->data, 1, b->len, fp);
        fclose(fp);
}

static int setup(void **state) {
        gr_keypair k_seller;
        char es[128];
        gr_buf b;
        (void)state;

        if (!mkdtemp(dir) || gr_crypto_init() == -1 ||
            gr_keypair_generate(&k_proc, GR_KROLE_PROCESSOR, "k-receiptd", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_seller, GR_KROLE_SELLER, "k-seller", es,
                                sizeof(es)))
                return -1;
        snprintf(p_reg, sizeof(p_reg), "%s/registry.json", dir);
        snprintf(p_proc, sizeof(p_proc), "%s/k-receiptd.key.json", dir);
        snprintf(p_seller, sizeof(p_seller), "%s/k-seller.key.json", dir);
        snprintf(p_bad, sizeof(p_bad), "%s/bad.json", dir);
        snprintf(p_missing, sizeof(p_missing), "%s/missing.json", dir);
        gr_buf_init(&b);
        gr_buf_putc(&b, '[');
        gr_keypair_public_to_json(&k_proc, 0, &b);
        gr_buf_putc(&b, ',');
        gr_keypair_public_to_json(&k_seller, 0, &b);
        gr_buf_putc(&b, ']');
        write_file(p_reg, &b);
        gr_buf_reset(&b);
        gr_keypair_secret_to_json(&k_proc, &b);
        write_file(p_proc, &b);
        gr_buf_reset(&b);
        gr_keypair_secret_to_json(&k_seller, &b);
        write_file(p_seller, &b);
        gr_buf_reset(&b);
        gr_buf_puts(&b, "{\"key_id\":\"x\",\"role\":\"processor\"");
        write_file(p_bad, &b);
        gr_buf_wipe(&b);
        gr_keypair_wipe(&k_seller);
        return 0;
}

static int teardown(void **state) {
        (void)state;
        unlink(p_reg);
        unlink(p_proc);
        unlink(p_seller);
        unlink(p_bad);
        rmdir(dir);
        gr_keypair_wipe(&k_proc);
        return 0;
}

static void test_defaults(void **state) {
        gr_config *c = gr_config_new();
        (void)state;

        assert_non_null(c);
        assert_null(c->keyring);
        assert_null(c->processor_kp);
        assert_true(c->verify_threads >= 1);
        assert_int_equal(c->verify_threads, sysconf(_SC_NPROCESSORS_ONLN));
        gr_config_destroy(c);
}

static void test_registry(void **state) {
        gr_config *c = gr_config_new();
        char es[512];
        (void)state;

        assert_int_equal(gr_config_set(c, "keys.registry", p_reg, es,
                                       sizeof(es)), 0);
        assert_non_null(c->keyring);
        assert_int_equal(gr_keyring_count(c->keyring), 2);
        assert_non_null(gr_keyring_find(c->keyring, "k-seller"));
        assert_string_equal(c->keys_registry, p_reg);

        assert_int_equal(gr_config_set(c, "keys.registry", p_missing, es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "keys.registry"));
        assert_non_null(strstr(es, "missing.json"));
        assert_int_equal(gr_config_set(c, "keys.registry", p_bad, es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "bad.json"));
        /* a failed set keeps the registry loaded before */
        assert_non_null(c->keyring);
        assert_string_equal(c->keys_registry, p_reg);
        gr_config_destroy(c);
}

static void test_processor_key(void **state) {
        gr_config *c = gr_config_new();
        char es[512];
        (void)state;

        assert_int_equal(gr_config_set_kv(c, "processor.key=", es,
                                          sizeof(es)), -1);
        snprintf(es, sizeof(es), "processor.key=%s", p_proc);
        assert_int_equal(gr_config_set_kv(c, es, es, sizeof(es)), 0);
        assert_non_null(c->processor_kp);
        assert_string_equal(c->processor_kp->key_id, "k-receiptd");
        assert_int_equal(c->processor_kp->role, GR_KROLE_PROCESSOR);
        assert_memory_equal(c->processor_kp->sk, k_proc.sk, GR_SK_LEN);

        /* a seller's key cannot sign decisions */
        assert_int_equal(gr_config_set(c, "processor.key", p_seller, es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "not processor"));
        assert_int_equal(gr_config_set(c, "processor.key", p_bad, es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "processor.key"));
        assert_int_equal(gr_config_set(c, "processor.key", p_missing, es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "missing.json"));
        /* still the good key */
        assert_string_equal(c->processor_kp->key_id, "k-receiptd");
        gr_config_destroy(c);
}

static void test_verify_threads(void **state) {
        gr_config *c = gr_config_new();
        char es[512];
        (void)state;

        assert_int_equal(gr_config_set(c, "verify.threads", "2", es,
                                       sizeof(es)), 0);
        assert_int_equal(c->verify_threads, 2);
        assert_int_equal(gr_config_set(c, "verify.threads", "0", es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "verify.threads"));
        assert_int_equal(gr_config_set(c, "verify.threads", "257", es,
                                       sizeof(es)), -1);
        assert_int_equal(gr_config_set(c, "verify.threads", "two", es,
                                       sizeof(es)), -1);
        assert_int_equal(c->verify_threads, 2);
        gr_config_destroy(c);
}

/* group.instance.id (KIP-345): a receiptd key, consumer-scoped alias
 * accepted; the transactional.id derives from it and is stable. */
static void test_static_membership(void **state) {
        gr_config *c = gr_config_new();
        char es[256], id[256], host[128], want[512];
        (void)state;

        assert_non_null(c);
        assert_null(c->group_instance_id);
        /* dynamic membership: unique per live process */
        assert_int_equal(gr_config_transactional_id(c, id, sizeof(id)), 0);
        assert_int_equal(gethostname(host, sizeof(host)), 0);
        host[sizeof(host) - 1] = '\0';
        snprintf(want, sizeof(want), "gpu-receipts-%s-%ld", host,
                 (long)getpid());
        assert_string_equal(id, want);
        /* static: <group.id>-<instance>, the same in every process */
        assert_int_equal(gr_config_set(c, "group.instance.id", "", es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "group.instance.id"));
        assert_int_equal(gr_config_set_kv(c, "group.id=settle", es,
                                          sizeof(es)), 0);
        assert_int_equal(gr_config_set_kv(c, "group.instance.id=pod-0", es,
                                          sizeof(es)), 0);
        assert_int_equal(gr_config_transactional_id(c, id, sizeof(id)), 0);
        assert_string_equal(id, "settle-pod-0");
        assert_int_equal(gr_config_set_kv(c,
                                          "consumer.group.instance.id=pod-1",
                                          es, sizeof(es)), 0);
        assert_string_equal(c->group_instance_id, "pod-1");
        /* not handed to librdkafka (the restorer and producer must not
         * get it) */
        assert_null(gr_config_rdkafka_get(c, GR_SCOPE_CONSUMER,
                                          "group.instance.id"));
        assert_int_equal(gr_config_transactional_id(c, id, 8), -1);
        gr_config_destroy(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_registry),
            cmocka_unit_test(test_processor_key),
            cmocka_unit_test(test_verify_threads),
            cmocka_unit_test(test_static_membership),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
