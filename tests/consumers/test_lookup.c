/* gr_lookup against the embedded broker: the scan consumer, partition
 * counts, the latest state of a job (later records win, tombstones
 * delete, keys match exactly, undecodable states refused), and the
 * pretty-printed receipt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gr_broker.h"
#include "gr_lookup.h"
#include "gr_output.h"
#include "gr_state_json.h"

#define STATE "gpu.job.state"

static gr_broker *broker;

static int start(void **state) {
        char err[256];

        (void)state;
        broker = gr_broker_new(1, 4, NULL, err, sizeof(err));
        if (!broker)
                fprintf(stderr, "embedded broker: %s\n", err);
        return broker ? 0 : -1;
}

static int stop(void **state) {
        (void)state;
        gr_broker_destroy(broker);
        return 0;
}

static rd_kafka_t *scan_consumer(void) {
        char err[512];
        rd_kafka_t *rc = gr_scan_consumer_new(gr_broker_bootstraps(broker),
                                              NULL, 0, err, sizeof(err));
        if (!rc)
                fail_msg("%s", err);
        return rc;
}

static void close_consumer(rd_kafka_t *rc) {
        rd_kafka_consumer_close(rc);
        rd_kafka_destroy(rc);
}

static void test_scan_consumer_new(void **state) {
        char err[512] = "", val[64];
        char *bad[] = {"fetch.wait.max.ms"};
        char *unknown[] = {"no.such.key=1"};
        char *extra[] = {"client.id=lookup-test"};
        rd_kafka_t *rc;
        size_t sz = sizeof(val);

        (void)state;
        assert_null(gr_scan_consumer_new("127.0.0.1:1", bad, 1, err,
                                         sizeof(err)));
        assert_string_equal(err, "expected key=value, got "
                                 "\"fetch.wait.max.ms\"");
        err[0] = '\0';
        assert_null(gr_scan_consumer_new("127.0.0.1:1", unknown, 1, err,
                                         sizeof(err)));
        assert_non_null(strstr(err, "no.such.key"));
        rc = gr_scan_consumer_new("127.0.0.1:1", extra, 1, err, sizeof(err));
        assert_non_null(rc);
        {
                const rd_kafka_conf_t *conf = rd_kafka_conf(rc);
                assert_int_equal(rd_kafka_conf_get(conf, "client.id", val, &sz),
                                 RD_KAFKA_CONF_OK);
                assert_string_equal(val, "lookup-test");
                sz = sizeof(val);
                assert_int_equal(rd_kafka_conf_get(conf, "enable.partition.eof",
                                                   val, &sz),
                                 RD_KAFKA_CONF_OK);
                assert_string_equal(val, "true");
                sz = sizeof(val);
                assert_int_equal(rd_kafka_conf_get(conf, "enable.auto.commit",
                                                   val, &sz),
                                 RD_KAFKA_CONF_OK);
                assert_string_equal(val, "false");
        }
        rd_kafka_destroy(rc);
}

static void test_topic_partitions(void **state) {
        rd_kafka_t *rc = scan_consumer();
        char err[512] = "";

        (void)state;
        assert_int_equal(gr_topic_partitions(rc, STATE, 5000, err,
                                             sizeof(err)),
                         4);
        assert_int_equal(rd_kafka_mock_topic_create(gr_broker_cluster(broker),
                                                    "seven", 7, 1),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(gr_topic_partitions(rc, "seven", 5000, err,
                                             sizeof(err)),
                         7);
        /* (an unknown topic cannot be asked here: the mock cluster creates
         * every topic a metadata request names) */
        close_consumer(rc);
        /* nothing to ask: the metadata request times out */
        {
                char e2[512] = "";
                rd_kafka_t *none = gr_scan_consumer_new("127.0.0.1:1", NULL, 0,
                                                        e2, sizeof(e2));
                assert_non_null(none);
                assert_int_equal(gr_topic_partitions(none, STATE, 300, e2,
                                                     sizeof(e2)),
                                 -1);
                assert_non_null(strstr(e2, "cannot read metadata of "
                                           "gpu.job.state within 300 ms"));
                rd_kafka_destroy(none);
        }
}

/* Produce the state of a job (attempt tells versions apart), a raw value,
 * or a tombstone (value NULL) to partition p of the state topic. */
static void put(rd_kafka_t *rk, int32_t p, const char *key, const void *v,
                size_t vlen) {
        assert_int_equal(
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(STATE),
                              RD_KAFKA_V_PARTITION(p),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)v, vlen),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void put_job(rd_kafka_t *rk, int32_t p, const char *id,
                    uint32_t attempt) {
        gr_job *j = gr_job_new(id);
        gr_buf b;

        assert_non_null(j);
        j->attempt = attempt;
        gr_buf_init(&b);
        gr_state_encode(j, &b);
        assert_false(b.oom);
        put(rk, p, id, b.data, b.len);
        gr_buf_free(&b);
        gr_job_destroy(j);
}

static void test_state_lookup(void **state) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];
        rd_kafka_t *rk, *rc;
        gr_job *j;

        (void)state;
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                           gr_broker_bootstraps(broker), err,
                                           sizeof(err)),
                         RD_KAFKA_CONF_OK);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        assert_non_null(rk);
        put_job(rk, 1, "job-a", 1);
        put_job(rk, 1, "job-a2", 9); /* a longer key, same prefix */
        put_job(rk, 1, "job-b", 1);
        put_job(rk, 1, "job-a", 2); /* the latest state of job-a */
        put_job(rk, 2, "job-c", 1);
        put(rk, 2, "job-c", NULL, 0); /* deleted */
        put_job(rk, 3, "job-d", 1);
        put(rk, 3, "job-d", "garbage", 7); /* the latest is undecodable */
        put(rk, 0, "job-e", NULL, 0);     /* deleted, then back */
        put_job(rk, 0, "job-e", 5);
        assert_int_equal(rd_kafka_flush(rk, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(rk);

        rc = scan_consumer();
        j = gr_state_lookup(rc, STATE, 1, 4, "job-a", 5000, err, sizeof(err));
        assert_non_null(j);
        assert_string_equal(j->job_id, "job-a");
        assert_int_equal(j->attempt, 2);
        gr_job_destroy(j);
        /* every partition scanned: the same answer */
        j = gr_state_lookup(rc, STATE, -1, 4, "job-a", 5000, err, sizeof(err));
        assert_non_null(j);
        assert_int_equal(j->attempt, 2);
        gr_job_destroy(j);
        j = gr_state_lookup(rc, STATE, -1, 4, "job-a2", 5000, err,
                            sizeof(err));
        assert_non_null(j);
        assert_int_equal(j->attempt, 9);
        gr_job_destroy(j);
        j = gr_state_lookup(rc, STATE, -1, 4, "job-e", 5000, err, sizeof(err));
        assert_non_null(j);
        assert_int_equal(j->attempt, 5);
        gr_job_destroy(j);

        /* refusals */
        assert_null(gr_state_lookup(rc, STATE, -1, 4, "job-c", 5000, err,
                                    sizeof(err)));
        assert_string_equal(err, "job job-c not found in gpu.job.state");
        assert_null(gr_state_lookup(rc, STATE, 2, 4, "job-a", 5000, err,
                                    sizeof(err)));
        assert_string_equal(err, "job job-a not found in gpu.job.state");
        assert_null(gr_state_lookup(rc, STATE, -1, 4, "job-", 5000, err,
                                    sizeof(err)));
        assert_string_equal(err, "job job- not found in gpu.job.state");
        assert_null(gr_state_lookup(rc, STATE, -1, 4, "", 5000, err,
                                    sizeof(err)));
        err[0] = '\0';
        assert_null(gr_state_lookup(rc, STATE, 3, 4, "job-d", 5000, err,
                                    sizeof(err)));
        assert_true(err[0] != '\0');
        assert_null(strstr(err, "not found"));
        close_consumer(rc);
}

static void test_receipt_print(void **state) {
        gr_job *j = gr_job_new("job-p");
        FILE *fp = tmpfile();
        char text[65536];
        size_t n;
        gr_buf b;
        json_t *printed, *canon;

        (void)state;
        assert_non_null(j);
        assert_non_null(fp);
        assert_int_equal(gr_receipt_print(j, fp), 0);
        rewind(fp);
        n = fread(text, 1, sizeof(text) - 1, fp);
        fclose(fp);
        text[n] = '\0';
        assert_true(n > 2);
        assert_int_equal(text[n - 1], '\n');
        assert_non_null(strstr(text, "{\n  \"")); /* 2-space indent */
        /* the same receipt as the canonical bytes, key order kept */
        gr_buf_init(&b);
        gr_receipt_to_json(j, &b);
        printed = json_loads(text, 0, NULL);
        canon = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(printed);
        assert_non_null(canon);
        assert_true(json_equal(printed, canon));
        {
                char *a = json_dumps(printed, JSON_COMPACT |
                                                  JSON_PRESERVE_ORDER);
                char *c = json_dumps(canon, JSON_COMPACT |
                                                JSON_PRESERVE_ORDER);
                assert_string_equal(a, c);
                free(a);
                free(c);
        }
        json_decref(printed);
        json_decref(canon);
        gr_buf_free(&b);
        gr_job_destroy(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scan_consumer_new),
            cmocka_unit_test(test_topic_partitions),
            cmocka_unit_test(test_state_lookup),
            cmocka_unit_test(test_receipt_print),
        };
        return cmocka_run_group_tests(tests, start, stop);
}
