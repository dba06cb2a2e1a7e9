/* receiptd's evidence keys in gr_config: keys.registry, processor.key,
 * verify.threads — files read and checked when set, a bad file or value is
 * an error naming the key and the problem; secrets (processor.key,
 * metrics.token.file, metrics.tls.key) refused when group or others may
 * access them, and never quoted in an error; the metrics.* keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gr_config.h"
#include "gr_keys.h"
#include "gr_sign.h"

static char dir[] = "/tmp/test_receiptd_config.XXXXXX";
static char p_reg[256], p_proc[256], p_seller[256], p_bad[256],
    p_missing[256], p_open[256], p_tok[256], p_pem[256];
static gr_keypair k_proc;

static void write_file(const char *path, const gr_buf *b) {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        fwrite(b->data, 1, b->len, fp);
        fclose(fp);
        /* private, as receiptctl keygen writes them */
        assert_int_equal(chmod(path, 0600), 0);
}

static void write_text(const char *path, const char *text, mode_t mode) {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
        assert_int_equal(chmod(path, mode), 0);
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
        snprintf(p_open, sizeof(p_open), "%s/open.key.json", dir);
        snprintf(p_tok, sizeof(p_tok), "%s/token", dir);
        snprintf(p_pem, sizeof(p_pem), "%s/x.pem", dir);
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
        unlink(p_open);
        unlink(p_tok);
        unlink(p_pem);
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

static void test_processing_threads(void **state) {
        gr_config *c = gr_config_new();
        char es[512];
        (void)state;

        assert_int_equal(c->processing_threads, 1);
        assert_int_equal(gr_config_set(c, "processing.threads", "2", es,
                                       sizeof(es)), 0);
        assert_int_equal(c->processing_threads, 2);
        assert_int_equal(gr_config_set(c, "processing.threads", "64", es,
                                       sizeof(es)), 0);
        assert_int_equal(c->processing_threads, 64);
        assert_int_equal(gr_config_set(c, "processing.threads", "0", es,
                                       sizeof(es)), -1);
        assert_non_null(strstr(es, "processing.threads"));
        assert_int_equal(gr_config_set(c, "processing.threads", "65", es,
                                       sizeof(es)), -1);
        assert_int_equal(gr_config_set(c, "processing.threads", "-1", es,
                                       sizeof(es)), -1);
        assert_int_equal(c->processing_threads, 64);
        gr_config_destroy(c);
}

/* A processor key others may read is refused, with its mode in the
 * message and nothing of its content. */
static void test_secret_modes(void **state) {
        gr_config *c = gr_config_new();
        char es[512], b64[GR_SIG_B64_LEN];
        gr_buf b;
        static const mode_t bad_modes[] = {0644, 0640, 0604, 0620, 0602};
        (void)state;

        gr_buf_init(&b);
        gr_keypair_secret_to_json(&k_proc, &b);
        for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]);
             i++) {
                write_file(p_open, &b);
                assert_int_equal(chmod(p_open, bad_modes[i]), 0);
                assert_int_equal(gr_config_set(c, "processor.key", p_open, es,
                                               sizeof(es)),
                                 -1);
                assert_non_null(strstr(es, "group or others"));
                assert_non_null(strstr(es, "chmod 600"));
                /* no byte of the secret in the message */
                assert_int_equal(gr_b64_encode(k_proc.sk, 16, b64,
                                               sizeof(b64)),
                                 0);
                b64[16] = '\0';
                assert_null(strstr(es, b64));
                assert_null(strstr(es, "secret_key"));
                assert_null(c->processor_kp);
        }
        write_file(p_open, &b);
        assert_int_equal(chmod(p_open, 0400), 0);
        assert_int_equal(gr_config_set(c, "processor.key", p_open, es,
                                       sizeof(es)),
                         0);
        gr_buf_wipe(&b);

        /* metrics.token.file: private, one line, not empty */
        write_text(p_tok, "s3cret-token\n", 0644);
        assert_int_equal(gr_config_set(c, "metrics.token.file", p_tok, es,
                                       sizeof(es)),
                         -1);
        assert_null(strstr(es, "s3cret"));
        write_text(p_tok, "\n", 0600);
        assert_int_equal(gr_config_set(c, "metrics.token.file", p_tok, es,
                                       sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "empty"));
        write_text(p_tok, "two words\n", 0600);
        assert_int_equal(gr_config_set(c, "metrics.token.file", p_tok, es,
                                       sizeof(es)),
                         -1);
        write_text(p_tok, "s3cret-token\n", 0600);
        assert_int_equal(gr_config_set(c, "metrics.token.file", p_tok, es,
                                       sizeof(es)),
                         0);
        assert_string_equal(c->metrics_token, "s3cret-token");

        /* TLS: the key is a secret, both must be PEM */
        write_text(p_pem, "-----BEGIN PRIVATE KEY-----\nx\n", 0644);
        assert_int_equal(gr_config_set(c, "metrics.tls.key", p_pem, es,
                                       sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "group or others"));
        assert_int_equal(gr_config_set(c, "metrics.tls.cert", p_pem, es,
                                       sizeof(es)),
                         0);
        write_text(p_pem, "hello", 0600);
        assert_int_equal(gr_config_set(c, "metrics.tls.key", p_pem, es,
                                       sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "not PEM"));
        gr_config_destroy(c);
}

static void test_metrics_keys(void **state) {
        gr_config *c = gr_config_new();
        gr_metrics_opts o;
        char es[512];
        (void)state;

        gr_config_metrics_opts(c, &o);
        assert_null(o.listen);
        assert_int_equal(gr_config_metrics_check(c, es, sizeof(es)), 0);
        assert_int_equal(o.jobs_unsigned, 0);
        assert_int_equal(o.auth_window_s, 300);
        assert_int_equal(gr_config_set(c, "metrics.jobs.unsigned", "yes", es,
                                       sizeof(es)),
                         -1);
        assert_int_equal(gr_config_set(c, "metrics.jobs.unsigned", "true", es,
                                       sizeof(es)),
                         0);
        assert_int_equal(gr_config_set(c, "metrics.auth.window.s", "0", es,
                                       sizeof(es)),
                         -1);
        assert_int_equal(gr_config_set(c, "metrics.auth.window.s", "60", es,
                                       sizeof(es)),
                         0);
        assert_int_equal(gr_config_set(c, "metrics.request.max.bytes", "10",
                                       es, sizeof(es)),
                         -1);
        assert_int_equal(gr_config_set(c, "metrics.max.connections", "8", es,
                                       sizeof(es)),
                         0);
        assert_int_equal(gr_config_set(c, "metrics.per.ip.connections", "2",
                                       es, sizeof(es)),
                         0);
        assert_int_equal(gr_config_set(c, "metrics.timeout.s", "3", es,
                                       sizeof(es)),
                         0);
        assert_int_equal(gr_config_set(c, "metrics.auth.nonces.max", "50",
                                       es, sizeof(es)),
                         0);
        /* a misspelt metrics key is refused, not ignored */
        assert_int_equal(gr_config_set(c, "metrics.tokenfile", "x", es,
                                       sizeof(es)),
                         -1);
        /* set without a server to apply to: refused at start-up */
        assert_int_equal(gr_config_metrics_check(c, es, sizeof(es)), -1);
        assert_non_null(strstr(es, "metrics.listen"));
        assert_int_equal(gr_config_set(c, "metrics.listen", "127.0.0.1:0", es,
                                       sizeof(es)),
                         0);
        assert_int_equal(gr_config_metrics_check(c, es, sizeof(es)), 0);
        gr_config_metrics_opts(c, &o);
        assert_string_equal(o.listen, "127.0.0.1:0");
        assert_int_equal(o.jobs_unsigned, 1);
        assert_int_equal(o.auth_window_s, 60);
        assert_int_equal(o.max_connections, 8);
        assert_int_equal(o.per_ip_connections, 2);
        assert_int_equal(o.timeout_s, 3);
        assert_int_equal(o.nonces_max, 50);
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

/* The config file: comments, blank lines and spaces skipped; a line far
 * longer than any fixed buffer (an inline PEM runs to kilobytes) read
 * whole; the last line without a newline; bad lines named by number. */
static void test_config_file(void **state) {
        char path[300], es[512];
        const size_t long_len = 10000;
        char *big = malloc(long_len + 200);
        gr_config *c;
        FILE *fp;
        (void)state;

        assert_non_null(big);
        snprintf(path, sizeof(path), "%s/receiptd.conf", dir);
        fp = fopen(path, "wb");
        assert_non_null(fp);
        fputs("# receiptd\n\n  group.id = settle  \r\n", fp);
        fputs("producer.ssl.ca.pem=", fp);
        for (size_t i = 0; i < long_len; i++)
                fputc('A' + (int)(i % 26), fp);
        fputs("\n\t# indented comment\nbatch.size=64", fp); /* no \n */
        fclose(fp);

        assert_non_null(c = gr_config_new());
        assert_int_equal(gr_config_load_file(c, path, es, sizeof(es)), 0);
        assert_string_equal(c->group_id, "settle");
        assert_int_equal(c->batch_size, 64);
        {
                const char *v = gr_config_rdkafka_get(c, GR_SCOPE_PRODUCER,
                                                      "ssl.ca.pem");
                assert_non_null(v);
                assert_int_equal(strlen(v), long_len);
                assert_int_equal(v[long_len - 1], 'A' + (long_len - 1) % 26);
        }
        {
                /* the one librdkafka key, nothing made of a line's tail */
                gr_config *fresh = gr_config_new();
                assert_non_null(fresh);
                assert_int_equal(c->nkv, fresh->nkv + 1);
                gr_config_destroy(fresh);
        }
        gr_config_destroy(c);

        /* the third line has no '=' */
        fp = fopen(path, "wb");
        assert_non_null(fp);
        fputs("group.id=a\n# ok\nnot a setting\n", fp);
        fclose(fp);
        assert_non_null(c = gr_config_new());
        assert_int_equal(gr_config_load_file(c, path, es, sizeof(es)), -1);
        snprintf(big, long_len, "%s:3: expected key=value", path);
        assert_string_equal(es, big);
        gr_config_destroy(c);

        /* a NUL byte would cut the value short without a word */
        fp = fopen(path, "wb");
        assert_non_null(fp);
        fwrite("group.id=a\0b\n", 1, 13, fp);
        fclose(fp);
        assert_non_null(c = gr_config_new());
        assert_int_equal(gr_config_load_file(c, path, es, sizeof(es)), -1);
        assert_non_null(strstr(es, ":1: a NUL byte"));
        gr_config_destroy(c);

        unlink(path);
        free(big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_registry),
            cmocka_unit_test(test_processor_key),
            cmocka_unit_test(test_verify_threads),
            cmocka_unit_test(test_processing_threads),
            cmocka_unit_test(test_secret_modes),
            cmocka_unit_test(test_metrics_keys),
            cmocka_unit_test(test_static_membership),
            cmocka_unit_test(test_config_file),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
