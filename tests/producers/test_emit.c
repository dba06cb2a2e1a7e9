/* gr_emit: JSON lines into the input topic of the embedded broker, keyed
 * by job_id on its murmur2 partition; blank lines skipped, unkeyable lines
 * sent without a key and counted; re-encoded as Avro with a codec, lines
 * that do not decode reported and not sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_emit.h"
#include "gr_topics.h"
#include "mock_fixture.h"

#define TOPIC "gpu.job.events"

static mock_record recs[MOCK_PARTITIONS][MOCK_MAX_RECORDS];
static int nrecs[MOCK_PARTITIONS];

static void read_topic(gr_broker *b) {
        for (int p = 0; p < MOCK_PARTITIONS; p++) {
                nrecs[p] = mock_read(gr_broker_bootstraps(b), TOPIC, p,
                                     recs[p], MOCK_MAX_RECORDS);
                assert_true(nrecs[p] >= 0);
        }
}

/* The record with value v, or NULL. */
static const mock_record *find_value(const char *v) {
        for (int p = 0; p < MOCK_PARTITIONS; p++)
                for (int i = 0; i < nrecs[p]; i++)
                        if (recs[p][i].value_len == strlen(v) &&
                            !memcmp(recs[p][i].value, v, strlen(v)))
                                return &recs[p][i];
        return NULL;
}

static FILE *lines_file(const char *text) {
        FILE *fp = tmpfile();

        assert_non_null(fp);
        fputs(text, fp);
        rewind(fp);
        return fp;
}

static void test_producer_new(void **state) {
        char err[512] = "";
        char *bad[] = {"linger.ms"};
        char *good[] = {"client.id=emit-test"};
        rd_kafka_t *rk;

        (void)state;
        assert_null(gr_emit_producer_new("127.0.0.1:1", bad, 1, err,
                                         sizeof(err)));
        assert_string_equal(err, "expected key=value, got \"linger.ms\"");
        /* the caller's pairs come after the defaults and may not undo
         * idempotence's requirements */
        {
                char *acks[] = {"acks=1"};
                err[0] = '\0';
                assert_null(gr_emit_producer_new("127.0.0.1:1", acks, 1, err,
                                                 sizeof(err)));
                assert_true(err[0] != '\0');
        }
        rk = gr_emit_producer_new("127.0.0.1:1", good, 1, err, sizeof(err));
        assert_non_null(rk);
        rd_kafka_destroy(rk);
}

static void test_emit_lines(void **state) {
        gr_broker *b = mock_start();
        char err[512];
        rd_kafka_t *rk;
        gr_emit_result res;
        FILE *fp;
        const mock_record *r;
        const char *keyed[] = {"{\"job_id\":\"job-a\",\"n\":1}",
                               "{\"job_id\":\"job-b\",\"n\":2}",
                               "{\"job_id\":\"job-a\",\"n\":3}"};

        (void)state;
        assert_non_null(b);
        rk = gr_emit_producer_new(gr_broker_bootstraps(b), NULL, 0, err,
                                  sizeof(err));
        assert_non_null(rk);
        fp = lines_file("{\"job_id\":\"job-a\",\"n\":1}\n"
                        "\n"
                        "   \t \n"
                        "{\"job_id\":\"job-b\",\"n\":2}\r\n"
                        "not json at all\n"
                        "{\"job_id\":7}\n"
                        "[\"job_id\",\"x\"]\n"
                        "{\"job_id\":\"job-a\",\"n\":3}"); /* no newline */
        assert_int_equal(gr_emit_lines(rk, TOPIC, fp, 5000, &res), 0);
        fclose(fp);
        assert_int_equal(res.lines, 6);
        assert_int_equal(res.unkeyed, 3);
        assert_int_equal(res.delivered, 6);
        assert_int_equal(res.failed, 0);
        rd_kafka_destroy(rk);

        read_topic(b);
        assert_int_equal(nrecs[0] + nrecs[1] + nrecs[2] + nrecs[3], 6);
        /* keyed lines: on the key's murmur2 partition, line ends gone */
        for (size_t i = 0; i < 3; i++) {
                const char *id = i == 1 ? "job-b" : "job-a";
                r = find_value(keyed[i]);
                assert_non_null(r);
                assert_true(r->has_key);
                assert_string_equal(r->key, id);
                assert_int_equal(r->partition,
                                 gr_partition_of(id, 5, MOCK_PARTITIONS));
        }
        /* job-a's two lines in order on one partition */
        {
                int p = gr_partition_of("job-a", 5, MOCK_PARTITIONS), first = -1,
                    second = -1;
                for (int i = 0; i < nrecs[p]; i++) {
                        if (!strcmp(recs[p][i].value, keyed[0]))
                                first = i;
                        if (!strcmp(recs[p][i].value, keyed[2]))
                                second = i;
                }
                assert_true(first >= 0 && second > first);
        }
        /* unkeyed lines go without a key, unchanged */
        r = find_value("not json at all");
        assert_non_null(r);
        assert_false(r->has_key);
        assert_non_null(r = find_value("{\"job_id\":7}"));
        assert_false(r->has_key);
        assert_non_null(r = find_value("[\"job_id\",\"x\"]"));
        assert_false(r->has_key);
        gr_broker_destroy(b);
}

static void test_emit_empty(void **state) {
        gr_broker *b = mock_start();
        char err[512];
        rd_kafka_t *rk;
        gr_emit_result res;
        FILE *fp;

        (void)state;
        assert_non_null(b);
        rk = gr_emit_producer_new(gr_broker_bootstraps(b), NULL, 0, err,
                                  sizeof(err));
        fp = lines_file("\n\n  \n");
        memset(&res, 0xff, sizeof(res));
        assert_int_equal(gr_emit_lines(rk, TOPIC, fp, 2000, &res), 0);
        assert_int_equal(res.lines, 0);
        assert_int_equal(res.delivered, 0);
        assert_int_equal(res.unkeyed, 0);
        assert_int_equal(res.failed, 0);
        fclose(fp);
        rd_kafka_destroy(rk);
        gr_broker_destroy(b);
}

struct skips {
        uint64_t line[8];
        char why[8][256];
        int n;
};

static void on_skip(uint64_t line, const char *why, void *opaque) {
        struct skips *s = opaque;

        if (s->n < 8) {
                s->line[s->n] = line;
                snprintf(s->why[s->n], sizeof(s->why[0]), "%s", why);
                s->n++;
        }
}

/* First line of a data file (an event that decodes). */
static char *first_line(const char *path) {
        FILE *f = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        assert_non_null(f);
        n = getline(&line, &cap, f);
        fclose(f);
        assert_true(n > 0);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        return line;
}

/* With a codec each line is decoded and re-encoded as Confluent Avro;
 * a line that does not decode is reported and not sent. */
static void test_emit_avro(void **state) {
        gr_broker *b = mock_start();
        char err[512], *ev_line, *text;
        rd_kafka_t *rk;
        gr_emit_result res;
        gr_codec *codec;
        struct skips sk;
        FILE *fp;
        gr_event ev;
        gr_err gerr;
        size_t tlen;
        int p, total = 0;

        (void)state;
        assert_non_null(b);
        codec = gr_codec_new(NULL, err, sizeof(err));
        assert_non_null(codec);
        rk = gr_emit_producer_new(gr_broker_bootstraps(b), NULL, 0, err,
                                  sizeof(err));
        ev_line = first_line(GR_TESTS_DIR "/data/canonical.jsonl");
        tlen = strlen(ev_line) + 64;
        text = malloc(tlen);
        snprintf(text, tlen, "%s\n\nnot json\n{\"job_id\":\"j\"}\n", ev_line);
        fp = lines_file(text);
        memset(&sk, 0, sizeof(sk));
        assert_int_equal(gr_emit_lines_as(rk, TOPIC, fp, 5000, codec,
                                          GR_WIRE_AVRO_CONFLUENT, &res,
                                          on_skip, &sk),
                         -1);
        fclose(fp);
        assert_int_equal(res.lines, 3);
        assert_int_equal(res.delivered, 1);
        assert_int_equal(res.failed, 2);
        assert_int_equal(sk.n, 2);
        assert_int_equal(sk.line[0], 2); /* among non-blank lines */
        assert_int_equal(sk.line[1], 3);
        assert_true(sk.why[0][0] != '\0');
        assert_true(sk.why[1][0] != '\0');
        rd_kafka_destroy(rk);

        read_topic(b);
        for (p = 0; p < MOCK_PARTITIONS; p++)
                total += nrecs[p];
        assert_int_equal(total, 1);
        /* the one record: Confluent framing, decodes to the same job */
        assert_int_equal(gr_codec_decode(codec, ev_line, strlen(ev_line), &ev,
                                         &gerr),
                         0);
        p = gr_partition_of(ev.job_id, strlen(ev.job_id), MOCK_PARTITIONS);
        assert_int_equal(nrecs[p], 1);
        assert_string_equal(recs[p][0].key, ev.job_id);
        assert_int_equal(recs[p][0].value[0], 0);
        {
                gr_event back;
                assert_int_equal(gr_codec_decode(codec, recs[p][0].value,
                                                 recs[p][0].value_len, &back,
                                                 &gerr),
                                 0);
                assert_int_equal(gr_codec_last_wire(codec),
                                 GR_WIRE_AVRO_CONFLUENT);
                assert_string_equal(back.job_id, ev.job_id);
                assert_string_equal(back.event_id, ev.event_id);
        }
        free(text);
        free(ev_line);
        gr_codec_destroy(codec);
        gr_broker_destroy(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_producer_new),
            cmocka_unit_test(test_emit_lines),
            cmocka_unit_test(test_emit_empty),
            cmocka_unit_test(test_emit_avro),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
