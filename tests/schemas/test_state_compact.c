/*
 * The compact state record (schemas/gr_state_avro.c, state_record.avsc):
 *  - every job state the test events produce (replayed through the engine,
 *    snapshotted after every event as receiptd does) round-trips: decoded,
 *    it renders the same receipt JSON and the same JSON state document,
 *    and re-encodes to the same bytes;
 *  - the bytes are a datum of state_record.avsc as avro-c reads it;
 *  - the schema's enum symbols are the processor's enums, in order;
 *  - JSON state documents stay readable and convert both ways;
 *  - broken records are errors that say why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <cmocka.h>
#include <jansson.h>

#include "gr_avro_resolve.h"
#include "gr_codec.h"
#include "gr_engine.h"
#include "gr_output.h"
#include "gr_state_json.h"

static const char *const data_files[] = {"canonical.jsonl",
                                         "scenarios.jsonl"};

typedef struct snapshots {
        gr_buf *rec; /* compact records */
        size_t n, cap;
} snapshots;

static void snap(snapshots *s, const gr_job *job) {
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->rec = realloc(s->rec, s->cap * sizeof(*s->rec));
                assert_non_null(s->rec);
        }
        gr_buf_init(&s->rec[s->n]);
        gr_state_encode_compact(job, &s->rec[s->n]);
        assert_false(s->rec[s->n].oom);
        s->n++;
}

/* Every state of every job of the test data, as compact records. */
static void collect(snapshots *s) {
        char errstr[256];
        gr_codec *codec = gr_codec_new(NULL, errstr, sizeof(errstr));
        gr_policy pol;
        gr_event *ev = calloc(1, sizeof(*ev));

        assert_non_null(codec);
        assert_non_null(ev);
        gr_policy_default(&pol);
        for (size_t f = 0; f < sizeof(data_files) / sizeof(*data_files); f++) {
                char path[1024];
                static char line[70000];
                FILE *fp;
                gr_engine *e = gr_engine_new(&pol, NULL);

                gr_engine_keep_all(e);
                snprintf(path, sizeof(path), "%s/data/%s", GR_TESTS_DIR,
                         data_files[f]);
                assert_non_null(fp = fopen(path, "r"));
                while (fgets(line, sizeof(line), fp)) {
                        gr_err err;
                        gr_job *job;
                        if (gr_codec_decode(codec, line, strlen(line), ev,
                                            &err))
                                continue;
                        gr_engine_apply(e, ev);
                        job = gr_jobtab_get(gr_engine_jobs(e), ev->job_id, 0);
                        if (job)
                                snap(s, job);
                }
                fclose(fp);
                gr_engine_destroy(e);
        }
        free(ev);
        gr_codec_destroy(codec);
}

static void round_trip(void **state) {
        snapshots s = {0};
        size_t parked = 0, history = 0, quotes = 0;
        (void)state;

        collect(&s);
        assert_true(s.n > 50);
        for (size_t i = 0; i < s.n; i++) {
                char errstr[256];
                gr_buf c2, json1, json2, r1, r2;
                gr_job *j1, *j2, *j3;

                assert_int_equal((unsigned char)s.rec[i].data[0], 0);
                j1 = gr_state_decode(s.rec[i].data, s.rec[i].len, errstr,
                                     sizeof(errstr));
                if (!j1)
                        fail_msg("record %zu: %s", i, errstr);
                parked += gr_job_nparked(j1) != 0;
                history += gr_job_nhistory(j1) != 0;
                quotes += j1->quote.present;
                gr_buf_init(&c2);
                gr_buf_init(&json1);
                gr_buf_init(&json2);
                gr_buf_init(&r1);
                gr_buf_init(&r2);
                /* identical re-encoding */
                gr_state_encode_compact(j1, &c2);
                assert_int_equal(c2.len, s.rec[i].len);
                assert_memory_equal(c2.data, s.rec[i].data, c2.len);
                /* via the JSON document and back: the same job */
                gr_state_encode(j1, &json1);
                j2 = gr_state_decode(json1.data, json1.len, errstr,
                                     sizeof(errstr));
                assert_non_null(j2);
                gr_buf_reset(&c2);
                gr_state_encode_compact(j2, &c2);
                assert_memory_equal(c2.data, s.rec[i].data, c2.len);
                j3 = gr_state_decode(c2.data, c2.len, errstr, sizeof(errstr));
                assert_non_null(j3);
                gr_state_encode(j3, &json2);
                assert_string_equal(json1.data, json2.data);
                /* the same canonical receipt */
                gr_receipt_to_json(j1, &r1);
                gr_receipt_to_json(j3, &r2);
                assert_string_equal(r1.data, r2.data);
                gr_job_destroy(j1);
                gr_job_destroy(j2);
                gr_job_destroy(j3);
                gr_buf_free(&c2);
                gr_buf_free(&json1);
                gr_buf_free(&json2);
                gr_buf_free(&r1);
                gr_buf_free(&r2);
        }
        /* the data reaches the interesting parts of the record */
        assert_true(quotes > 0);
        assert_true(history > 0);
        assert_true(parked > 0);
        for (size_t i = 0; i < s.n; i++)
                gr_buf_free(&s.rec[i]);
        free(s.rec);
}

/* avro-c reads every record as a datum of state_record.avsc, to the last
 * byte, and writes the same bytes back. */
static void conforms_to_schema(void **state) {
        snapshots s = {0};
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t v;
        avro_reader_t rd;
        avro_writer_t wr;
        static char out[1 << 20];
        (void)state;

        assert_int_equal(avro_schema_from_json_length(
                             gr_state_schema_text(), strlen(gr_state_schema_text()),
                             &schema),
                         0);
        assert_non_null(iface = avro_generic_class_from_schema(schema));
        assert_int_equal(avro_generic_value_new(iface, &v), 0);
        collect(&s);
        for (size_t i = 0; i < s.n; i++) {
                const char *d = s.rec[i].data + GR_STATE_COMPACT_HEADER;
                size_t n = s.rec[i].len - GR_STATE_COMPACT_HEADER;
                rd = avro_reader_memory(d, (int64_t)n);
                avro_value_reset(&v);
                if (avro_value_read(rd, &v))
                        fail_msg("record %zu: %s", i, avro_strerror());
                /* the write below is as long as the input only when the
                 * read took every byte */
                avro_reader_free(rd);
                wr = avro_writer_memory(out, sizeof(out));
                assert_int_equal(avro_value_write(wr, &v), 0);
                assert_int_equal(avro_writer_tell(wr), (int64_t)n);
                assert_memory_equal(out, d, n);
                avro_writer_free(wr);
                gr_buf_free(&s.rec[i]);
        }
        free(s.rec);
        avro_value_decref(&v);
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
}

/* Enum symbols of state_record.avsc = the processor's enum names. */
typedef const char *(*name_fn)(int);
#define NAME_FN(T)                                                             \
        static const char *T##_n(int v) { return T##_name((T)v); }
NAME_FN(gr_settlement_t)
NAME_FN(gr_retry_t)
NAME_FN(gr_reason_t)
NAME_FN(gr_rule_t)
NAME_FN(gr_capacity_t)
NAME_FN(gr_exec_t)
NAME_FN(gr_output_t)
NAME_FN(gr_eval_t)
NAME_FN(gr_failure_t)
NAME_FN(gr_result_t)
NAME_FN(gr_role_t)

static const struct {
        const char *name;
        name_fn fn;
        int cnt;
} enums[] = {
    {"Settlement", gr_settlement_t_n, GR_SETTLE__CNT},
    {"Retry", gr_retry_t_n, GR_RETRY__CNT},
    {"Reason", gr_reason_t_n, GR_REASON__CNT},
    {"Rule", gr_rule_t_n, GR_RULE__CNT},
    {"Capacity", gr_capacity_t_n, GR_CAP__CNT},
    {"Execution", gr_exec_t_n, GR_EXEC__CNT},
    {"Output", gr_output_t_n, GR_OUT__CNT},
    {"Evaluation", gr_eval_t_n, GR_EVAL__CNT},
    {"FailureClass", gr_failure_t_n, GR_FAIL__CNT},
    {"Result", gr_result_t_n, GR_RESULT__CNT},
    {"Role", gr_role_t_n, GR_ROLE__CNT},
};

static void enum_symbols_in_order(void **state) {
        avro_schema_t schema;
        gr_avro_schemamap named = {0};
        (void)state;

        assert_int_equal(avro_schema_from_json_length(
                             gr_state_schema_text(), strlen(gr_state_schema_text()),
                             &schema),
                         0);
        assert_int_equal(gr_avro_schemas_collect(schema, &named, 0), 0);
        for (size_t e = 0; e < sizeof(enums) / sizeof(*enums); e++) {
                char full[128];
                avro_schema_t es;
                snprintf(full, sizeof(full), "io.gpureceipts.state.%s",
                         enums[e].name);
                es = gr_avro_schemamap_get(&named, full);
                if (!es || !is_avro_enum(es))
                        fail_msg("no enum %s in state_record.avsc", full);
                assert_int_equal(avro_schema_enum_number_of_symbols(es),
                                 enums[e].cnt);
                for (int i = 0; i < enums[e].cnt; i++)
                        if (strcmp(avro_schema_enum_get(es, i),
                                   enums[e].fn(i)) != 0)
                                fail_msg("%s symbol %d is %s, the processor "
                                         "says %s",
                                         enums[e].name, i,
                                         avro_schema_enum_get(es, i),
                                         enums[e].fn(i));
        }
        free(named.v);
        avro_schema_decref(schema);
}

static void broken_records(void **state) {
        snapshots s = {0};
        char errstr[256];
        gr_buf b;
        (void)state;

        collect(&s);
        gr_buf_init(&b);
        /* every truncation is an error with a reason, never a crash */
        for (size_t i = 0; i < s.n; i += 7) {
                for (size_t n = 0; n < s.rec[i].len; n++) {
                        errstr[0] = '\0';
                        assert_null(gr_state_decode_compact(
                            s.rec[i].data, n, errstr, sizeof(errstr)));
                        assert_true(errstr[0] != '\0');
                }
        }
        /* a trailing byte, another schema id, a bad enum index */
        gr_buf_append(&b, s.rec[0].data, s.rec[0].len);
        gr_buf_putc(&b, 0);
        assert_null(gr_state_decode(b.data, b.len, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "after its end"));
        b.len--;
        b.data[4] = 7;
        assert_null(gr_state_decode(b.data, b.len, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "schema id 7"));
        b.data[4] = (char)GR_STATE_SCHEMA_ID;
        {
                /* job_id "x": settlement is the 7th value after the
                 * 32-byte chain; find it by building the record */
                gr_job *j = gr_job_new("x");
                gr_buf c;
                gr_buf_init(&c);
                gr_state_encode_compact(j, &c);
                /* 5 header, 2 job_id, 1 attempt, 1 time, 1 seq, 32 chain,
                 * 1 free_retries_used, then settlement */
                assert_int_equal((unsigned char)c.data[43], 0);
                c.data[43] = 2 * GR_SETTLE__CNT;
                assert_null(gr_state_decode(c.data, c.len, errstr,
                                            sizeof(errstr)));
                assert_non_null(strstr(errstr, "settlement"));
                gr_job_destroy(j);
                gr_buf_free(&c);
        }
        gr_buf_free(&b);
        for (size_t i = 0; i < s.n; i++)
                gr_buf_free(&s.rec[i]);
        free(s.rec);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(round_trip),
            cmocka_unit_test(conforms_to_schema),
            cmocka_unit_test(enum_symbols_in_order),
            cmocka_unit_test(broken_records),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
