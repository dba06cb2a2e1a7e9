/* gr_produce: -X key=value pairs, the DLQ headers, and one produce call
 * against the embedded broker (explicit partition, key, value, headers;
 * a full local queue waited on up to the timeout, headers freed on every
 * failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gr_produce.h"
#include "mock_fixture.h"

static void test_conf_set_kvs(void **state) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512], val[256], longkey[300];
        size_t sz = sizeof(val);
        char *ok[] = {"linger.ms=7", "client.id=a=b", "client.rack="};
        char *noeq[] = {"linger.ms"};
        char *nokey[] = {"=7"};
        char *unknown[] = {"no.such.property=1"};
        char *badval[] = {"linger.ms=soon"};
        char *lk[] = {longkey};

        (void)state;
        assert_int_equal(gr_conf_set_kvs(conf, NULL, 0, err, sizeof(err)), 0);
        assert_int_equal(gr_conf_set_kvs(conf, ok, 3, err, sizeof(err)), 0);
        assert_int_equal(rd_kafka_conf_get(conf, "linger.ms", val, &sz),
                         RD_KAFKA_CONF_OK);
        assert_string_equal(val, "7");
        sz = sizeof(val);
        assert_int_equal(rd_kafka_conf_get(conf, "client.id", val, &sz),
                         RD_KAFKA_CONF_OK);
        assert_string_equal(val, "a=b"); /* split at the first '=' */

        assert_int_equal(gr_conf_set_kvs(conf, noeq, 1, err, sizeof(err)), -1);
        assert_string_equal(err, "expected key=value, got \"linger.ms\"");
        assert_int_equal(gr_conf_set_kvs(conf, nokey, 1, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "expected key=value, got \"=7\"");
        memset(longkey, 'k', 256);
        strcpy(longkey + 256, "=1");
        assert_int_equal(gr_conf_set_kvs(conf, lk, 1, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "expected key=value"));
        err[0] = '\0';
        assert_int_equal(gr_conf_set_kvs(conf, unknown, 1, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "no.such.property"));
        err[0] = '\0';
        assert_int_equal(gr_conf_set_kvs(conf, badval, 1, err, sizeof(err)),
                         -1);
        assert_true(err[0] != '\0'); /* librdkafka's words */
        /* the first bad pair stops the rest */
        {
                char *mixed[] = {"linger.ms=9", "bogus", "linger.ms=11"};
                sz = sizeof(val);
                assert_int_equal(gr_conf_set_kvs(conf, mixed, 3, err,
                                                 sizeof(err)),
                                 -1);
                assert_int_equal(rd_kafka_conf_get(conf, "linger.ms", val, &sz),
                                 RD_KAFKA_CONF_OK);
                assert_string_equal(val, "9");
        }
        rd_kafka_conf_destroy(conf);
}

static void expect_hdr(const rd_kafka_headers_t *h, size_t i,
                       const char *name, const char *value) {
        const char *n;
        const void *v;
        size_t sz;

        assert_int_equal(rd_kafka_header_get_all(h, i, &n, &v, &sz),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_string_equal(n, name);
        assert_int_equal(sz, strlen(value));
        assert_memory_equal(v, value, sz);
}

static void test_dlq_headers(void **state) {
        gr_err err;
        rd_kafka_headers_t *h, *orig;

        (void)state;
        memset(&err, 0, sizeof(err));
        err.reason = GR_REJ_BAD_SIGNATURE;
        strcpy(err.detail, "signature does not verify");
        h = gr_dlq_headers_new(NULL, &err, "gpu.job.events", 3, 1234);
        assert_non_null(h);
        assert_int_equal(rd_kafka_header_cnt(h), 5);
        expect_hdr(h, 0, GR_HDR_REASON, "bad_signature");
        expect_hdr(h, 1, GR_HDR_DETAIL, "signature does not verify");
        expect_hdr(h, 2, GR_HDR_TOPIC, "gpu.job.events");
        expect_hdr(h, 3, GR_HDR_PARTITION, "3");
        expect_hdr(h, 4, GR_HDR_OFFSET, "1234");
        rd_kafka_headers_destroy(h);

        /* unknown offset; the original headers come first, copied */
        orig = rd_kafka_headers_new(2);
        rd_kafka_header_add(orig, "traceparent", -1, "00-abc", -1);
        rd_kafka_header_add(orig, "empty", -1, "", 0);
        err.reason = GR_REJ_TOO_LARGE;
        err.detail[0] = '\0';
        h = gr_dlq_headers_new(orig, &err, "t", 0, -7);
        assert_non_null(h);
        assert_int_equal(rd_kafka_header_cnt(orig), 2);
        assert_int_equal(rd_kafka_header_cnt(h), 7);
        expect_hdr(h, 0, "traceparent", "00-abc");
        expect_hdr(h, 1, "empty", "");
        expect_hdr(h, 2, GR_HDR_REASON, "too_large");
        expect_hdr(h, 3, GR_HDR_DETAIL, "");
        expect_hdr(h, 5, GR_HDR_PARTITION, "0");
        expect_hdr(h, 6, GR_HDR_OFFSET, "-1");
        rd_kafka_headers_destroy(h);
        rd_kafka_headers_destroy(orig);

        h = gr_dlq_headers_new(NULL, &err, "t", INT32_MAX, INT64_MAX);
        expect_hdr(h, 3, GR_HDR_PARTITION, "2147483647");
        expect_hdr(h, 4, GR_HDR_OFFSET, "9223372036854775807");
        rd_kafka_headers_destroy(h);
}

static rd_kafka_t *producer(const char *bootstrap, const char *extra_k,
                            const char *extra_v) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[256];
        rd_kafka_t *rk;

        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                           bootstrap, err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "linger.ms", "0", err,
                                           sizeof(err)),
                         RD_KAFKA_CONF_OK);
        if (extra_k)
                assert_int_equal(rd_kafka_conf_set(conf, extra_k, extra_v, err,
                                                   sizeof(err)),
                                 RD_KAFKA_CONF_OK);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        assert_non_null(rk);
        return rk;
}

/* Records land on the partition asked for, with key, value and headers. */
static void test_produce_round_trip(void **state) {
        gr_broker *b = mock_start();
        rd_kafka_t *rk;
        rd_kafka_headers_t *h;
        gr_err err;
        static mock_record recs[MOCK_MAX_RECORDS];
        int n;

        (void)state;
        assert_non_null(b);
        rk = producer(gr_broker_bootstraps(b), NULL, NULL);
        memset(&err, 0, sizeof(err));
        err.reason = GR_REJ_SCHEMA;
        strcpy(err.detail, "unknown schema id 9");
        h = gr_dlq_headers_new(NULL, &err, "gpu.job.events", 2, 17);
        assert_int_equal(gr_record_produce(rk, "gpu.job.dlq", 2, "job-1", 5,
                                           "v1", 2, h, 1000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(gr_record_produce(rk, "gpu.job.dlq", 2, "job-2", 5,
                                           "", 0, NULL, 1000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(gr_record_produce(rk, "gpu.job.dlq", 0, "job-1", 5,
                                           "other", 5, NULL, 1000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(rk, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);

        n = mock_read(gr_broker_bootstraps(b), "gpu.job.dlq", 2, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 2);
        assert_int_equal(recs[0].partition, 2);
        assert_string_equal(recs[0].key, "job-1");
        assert_string_equal(recs[0].value, "v1");
        assert_int_equal(recs[0].nhdrs, 5);
        assert_string_equal(recs[0].hdrs[0].name, GR_HDR_REASON);
        assert_string_equal(recs[0].hdrs[0].value, "schema");
        assert_string_equal(recs[0].hdrs[1].value, "unknown schema id 9");
        assert_string_equal(recs[0].hdrs[4].value, "17");
        assert_string_equal(recs[1].key, "job-2");
        assert_int_equal(recs[1].value_len, 0);
        assert_int_equal(recs[1].nhdrs, 0);
        n = mock_read(gr_broker_bootstraps(b), "gpu.job.dlq", 0, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 1);
        assert_string_equal(recs[0].value, "other");
        n = mock_read(gr_broker_bootstraps(b), "gpu.job.dlq", 1, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 0);
        rd_kafka_destroy(rk);
        gr_broker_destroy(b);
}

/* Through a topic handle: the same records as by name, headers included;
 * a handle and a name for one topic land in the same partitions. */
static void test_produce_by_handle(void **state) {
        gr_broker *b = mock_start();
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt;
        rd_kafka_headers_t *h;
        gr_err err;
        static mock_record recs[MOCK_MAX_RECORDS];
        int n;

        (void)state;
        assert_non_null(b);
        rk = producer(gr_broker_bootstraps(b), NULL, NULL);
        assert_non_null(rkt = rd_kafka_topic_new(rk, "gpu.job.dlq", NULL));
        memset(&err, 0, sizeof(err));
        err.reason = GR_REJ_SCHEMA;
        strcpy(err.detail, "by handle");
        h = gr_dlq_headers_new(NULL, &err, "gpu.job.events", 1, 3);
        assert_int_equal(gr_record_produce_rkt(rk, rkt, 1, "job-1", 5, "h1",
                                               2, h, 1000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(gr_record_produce(rk, "gpu.job.dlq", 1, "job-2", 5,
                                           "n2", 2, NULL, 1000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(gr_record_produce_rkt(rk, rkt, 1, "job-3", 5, "h3",
                                               2, NULL, 1000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(rk, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);

        n = mock_read(gr_broker_bootstraps(b), "gpu.job.dlq", 1, recs,
                      MOCK_MAX_RECORDS);
        assert_int_equal(n, 3);
        assert_string_equal(recs[0].key, "job-1");
        assert_string_equal(recs[0].value, "h1");
        assert_int_equal(recs[0].nhdrs, 5);
        assert_string_equal(recs[0].hdrs[1].value, "by handle");
        assert_string_equal(recs[1].value, "n2");
        assert_string_equal(recs[2].value, "h3");
        assert_int_equal(recs[2].nhdrs, 0);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        gr_broker_destroy(b);
}

/* A full local queue: with no broker to drain it the call gives up with
 * QUEUE_FULL after its timeout (and frees the headers: valgrind checks);
 * with the broker up, waiting lets the record in. */
static void test_queue_full(void **state) {
        gr_broker *b = mock_start();
        rd_kafka_t *rk;
        gr_err err;

        (void)state;
        memset(&err, 0, sizeof(err));
        /* nothing listens on port 1 */
        rk = producer("127.0.0.1:1", "queue.buffering.max.messages", "1");
        assert_int_equal(gr_record_produce(rk, "t", 0, "k", 1, "a", 1, NULL,
                                           0),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(gr_record_produce(rk, "t", 0, "k", 1, "b", 1,
                                           gr_dlq_headers_new(NULL, &err, "t",
                                                              0, 0),
                                           0),
                         RD_KAFKA_RESP_ERR__QUEUE_FULL);
        assert_int_equal(gr_record_produce(rk, "t", 0, "k", 1, "c", 1,
                                           gr_dlq_headers_new(NULL, &err, "t",
                                                              0, 0),
                                           200),
                         RD_KAFKA_RESP_ERR__QUEUE_FULL);
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
        rd_kafka_destroy(rk);

        assert_non_null(b);
        rk = producer(gr_broker_bootstraps(b), "queue.buffering.max.messages",
                      "1");
        for (int i = 0; i < 5; i++)
                assert_int_equal(gr_record_produce(rk, "gpu.job.events", 1,
                                                   "k", 1, "x", 1, NULL, 5000),
                                 RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(rk, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(rk);
        gr_broker_destroy(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_conf_set_kvs),
            cmocka_unit_test(test_dlq_headers),
            cmocka_unit_test(test_produce_round_trip),
            cmocka_unit_test(test_produce_by_handle),
            cmocka_unit_test(test_queue_full),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
