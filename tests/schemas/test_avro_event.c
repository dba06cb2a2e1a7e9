/* Avro event codec: JSON -> Avro -> gr_event -> JSON for every example
 * event, schema evolution both ways, the decision encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <cmocka.h>

#include "test_file.h"

#include "gr_avro_event.h"
#include "gr_codec.h"
#include "gr_json_event.h"

#ifndef GR_TESTS_DIR
#define GR_TESTS_DIR "tests"
#endif
#ifndef GR_SCHEMAS_DIR
#define GR_SCHEMAS_DIR "schemas"
#endif

static gr_event ev1, ev2;

/* JSON text -> gr_event (JSON codec) -> each Avro framing -> gr_event ->
 * canonical JSON; must equal the canonical JSON of the first decode.
 * Returns 1 when the JSON itself is rejected (not an example event). */
static int roundtrip_one(gr_codec *c, gr_json_decoder *jd, const char *json,
                         size_t len, const char *what) {
        static const gr_wire_t wires[] = {GR_WIRE_AVRO_CONFLUENT,
                                          GR_WIRE_AVRO_SINGLE, GR_WIRE_JSON};
        gr_err err;
        gr_buf want;

        if (gr_json_event_decode(jd, json, len, &ev1, &err))
                return 1;
        gr_buf_init(&want);
        gr_json_event_encode(&ev1, &want);
        for (size_t i = 0; i < sizeof(wires) / sizeof(wires[0]); i++) {
                gr_buf wire, got;
                gr_buf_init(&wire);
                gr_buf_init(&got);
                assert_int_equal(gr_codec_encode_event(c, wires[i], &ev1,
                                                       &wire, NULL),
                                 0);
                if (gr_codec_decode(c, wire.data, wire.len, &ev2, &err)) {
                        print_error("%s via %s: %s\n", what,
                                    gr_wire_name(wires[i]), err.detail);
                        fail();
                }
                assert_int_equal(gr_codec_last_wire(c), wires[i]);
                gr_json_event_encode(&ev2, &got);
                if (strcmp(want.data, got.data) != 0) {
                        print_error("%s via %s:\n want %s\n got  %s\n", what,
                                    gr_wire_name(wires[i]), want.data,
                                    got.data);
                        fail();
                }
                assert_true(ev1.present == ev2.present);
                gr_buf_free(&wire);
                gr_buf_free(&got);
        }
        gr_buf_free(&want);
        return 0;
}

/* The valid cases' events, each round-tripped (gr_test_each_file). */
typedef struct cases_ctx {
        gr_codec *c;
        gr_json_decoder *jd;
} cases_ctx;

static void case_roundtrip(const char *name, const char *buf, size_t len,
                           void *arg) {
        cases_ctx *x = arg;
        assert_int_equal(roundtrip_one(x->c, x->jd, buf, len, name), 0);
}

static void test_valid_cases_roundtrip(void **state) {
        char errstr[256];
        cases_ctx x = {NULL, gr_json_decoder_new()};
        (void)state;

        x.c = gr_codec_new(NULL, errstr, sizeof(errstr));
        assert_non_null(x.c);
        /* one per event type at least */
        assert_true(gr_test_each_file(GR_TESTS_DIR "/schemas/cases/valid",
                                      "input", case_roundtrip,
                                      &x) >= GR_EVT__CNT);
        gr_codec_destroy(x.c);
        gr_json_decoder_destroy(x.jd);
}

static void test_data_files_roundtrip(void **state) {
        static const char *const files[] = {"canonical.jsonl",
                                            "scenarios.jsonl"};
        gr_codec *c;
        gr_json_decoder *jd = gr_json_decoder_new();
        char errstr[256], path[1024];
        int ok = 0;
        (void)state;

        assert_non_null(c = gr_codec_new(NULL, errstr, sizeof(errstr)));
        for (size_t i = 0; i < 2; i++) {
                size_t len;
                char *text, *line, *save = NULL;
                snprintf(path, sizeof(path), "%s/data/%s", GR_TESTS_DIR,
                         files[i]);
                assert_non_null(text = gr_test_slurp(path, &len));
                for (line = strtok_r(text, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        if (roundtrip_one(c, jd, line, strlen(line), path) ==
                            0)
                                ok++;
                }
                free(text);
        }
        assert_true(ok >= 40);
        gr_codec_destroy(c);
        gr_json_decoder_destroy(jd);
}

/* ---- evolution ----------------------------------------------------------- */

static gr_avro_event_codec *codec_from(const char *path) {
        size_t len;
        char errstr[256];
        char *text = gr_test_slurp(path, &len);
        gr_avro_event_codec *c;

        assert_non_null(text);
        c = gr_avro_event_codec_new(text, len, errstr, sizeof(errstr));
        if (!c)
                print_error("%s: %s\n", path, errstr);
        assert_non_null(c);
        free(text);
        return c;
}

static int writer_from(gr_avro_event_codec *c, const char *path) {
        size_t len;
        char errstr[256];
        char *text = gr_test_slurp(path, &len);
        int w;

        assert_non_null(text);
        w = gr_avro_event_writer_add(c, text, len, errstr, sizeof(errstr));
        if (w < 0)
                print_error("%s: %s\n", path, errstr);
        free(text);
        return w;
}

static const char quote_json[] =
    "{\"event_id\":\"e-q\",\"job_id\":\"j\",\"type\":\"quote_accepted\","
    "\"occurred_at\":\"2026-05-25T08:03:00Z\",\"actor\":{\"role\":"
    "\"marketplace\"},\"body\":{\"quote_id\":\"q\",\"provider_id\":\"p\","
    "\"gpu\":\"A100\",\"vram_gb\":80,\"region\":\"us-east\",\"window_start\":"
    "\"2026-05-25T08:00:00Z\",\"window_end\":\"2026-05-25T08:30:00Z\"}}";
static const char failed_json[] =
    "{\"event_id\":\"e-f\",\"job_id\":\"j\",\"type\":\"execution_failed\","
    "\"occurred_at\":\"2026-05-25T08:11:00Z\",\"actor\":{\"role\":"
    "\"seller\"},\"body\":{\"failure_class\":\"container_oom\","
    "\"stderr_class\":\"cuda_oom\",\"output_written\":false}}";

static void json_event(const char *json, gr_event *ev) {
        gr_json_decoder *jd = gr_json_decoder_new();
        gr_err err;
        assert_int_equal(gr_json_event_decode(jd, json, strlen(json), ev, &err),
                         0);
        gr_json_decoder_destroy(jd);
}

static void test_v1_writer_v2_reader(void **state) {
        gr_avro_event_codec *v1 = codec_from(GR_TESTS_DIR
                                             "/schemas/avro/event_v1.avsc");
        gr_avro_event_codec *v2 = codec_from(GR_TESTS_DIR
                                             "/schemas/avro/event_v2.avsc");
        int w;
        gr_buf b;
        gr_err err;
        (void)state;

        w = writer_from(v2, GR_TESTS_DIR "/schemas/avro/event_v1.avsc");
        assert_true(w > 0);
        /* the same schema again is the same writer */
        assert_int_equal(writer_from(v2, GR_TESTS_DIR
                                     "/schemas/avro/event_v1.avsc"),
                         w);

        /* v1 has region; v2 removed it: the reader skips it. */
        gr_buf_init(&b);
        json_event(quote_json, &ev1);
        assert_int_equal(gr_avro_event_encode(v1, &ev1, &b, &err), 0);
        assert_int_equal(gr_avro_event_decode(v2, w, b.data, b.len, &ev2, &err),
                         0);
        assert_false(gr_event_has(&ev2, GR_F_region));
        assert_string_equal(ev2.quote_id, "q");
        assert_true(ev2.window_end == ev1.window_end);
        assert_true(ev2.vram_gb == 80.0);

        /* v1 has no stderr_class; v2 added it with a default, which the
         * v2 reader must see. */
        gr_buf_reset(&b);
        json_event(failed_json, &ev1);
        assert_int_equal(gr_avro_event_encode(v1, &ev1, &b, &err), 0);
        assert_int_equal(gr_avro_event_decode(v2, w, b.data, b.len, &ev2, &err),
                         0);
        assert_true(gr_event_has(&ev2, GR_F_stderr_class));
        assert_string_equal(ev2.stderr_class, "unclassified");
        assert_int_equal(ev2.failure_class, GR_FAIL_CONTAINER_OOM);
        assert_true(gr_event_has(&ev2, GR_F_output_written));
        assert_int_equal(ev2.output_written, 0);

        /* Reading v1 bytes as if they were v2 must fail, not misread. */
        assert_int_equal(gr_avro_event_decode(v2, 0, b.data, b.len, &ev2, &err),
                         -1);

        gr_buf_free(&b);
        gr_avro_event_codec_destroy(v1);
        gr_avro_event_codec_destroy(v2);
}

static void test_v2_writer_v1_reader(void **state) {
        gr_avro_event_codec *v1 = codec_from(GR_TESTS_DIR
                                             "/schemas/avro/event_v1.avsc");
        gr_avro_event_codec *v2 = codec_from(GR_TESTS_DIR
                                             "/schemas/avro/event_v2.avsc");
        int w;
        gr_buf b;
        gr_err err;
        (void)state;

        w = writer_from(v1, GR_TESTS_DIR "/schemas/avro/event_v2.avsc");
        assert_true(w > 0);

        /* v2 writes trace_id (default "") and no region; v1 skips
         * trace_id and falls back to region's default (null). */
        gr_buf_init(&b);
        json_event(quote_json, &ev1);
        assert_int_equal(gr_avro_event_encode(v2, &ev1, &b, &err), 0);
        assert_int_equal(gr_avro_event_decode(v1, w, b.data, b.len, &ev2, &err),
                         0);
        assert_false(gr_event_has(&ev2, GR_F_region));
        assert_string_equal(ev2.event_id, "e-q");
        assert_string_equal(ev2.gpu, "A100");

        /* v2 writes stderr_class; v1 does not know it and skips it. */
        gr_buf_reset(&b);
        json_event(failed_json, &ev1);
        assert_int_equal(gr_avro_event_encode(v2, &ev1, &b, &err), 0);
        assert_int_equal(gr_avro_event_decode(v1, w, b.data, b.len, &ev2, &err),
                         0);
        assert_false(gr_event_has(&ev2, GR_F_stderr_class));
        assert_int_equal(ev2.failure_class, GR_FAIL_CONTAINER_OOM);
        assert_int_equal(ev2.type, GR_EVT_EXECUTION_FAILED);

        gr_buf_free(&b);
        gr_avro_event_codec_destroy(v1);
        gr_avro_event_codec_destroy(v2);
}

static void test_evolution_through_registry(void **state) {
        char errstr[256];
        gr_codec *c1 = gr_codec_new(GR_TESTS_DIR "/schemas/avro/v1-reader",
                                    errstr, sizeof(errstr));
        gr_codec *c2 = gr_codec_new(GR_TESTS_DIR "/schemas/avro/v2-reader",
                                    errstr, sizeof(errstr));
        gr_buf b;
        gr_err err;
        (void)state;

        assert_non_null(c1);
        assert_non_null(c2);
        assert_int_equal(gr_codec_event_schema_id(c1), 11);
        assert_int_equal(gr_codec_event_schema_id(c2), 12);
        json_event(failed_json, &ev1);
        gr_buf_init(&b);
        /* v1 codec writes id 11; the v2 codec resolves it */
        assert_int_equal(gr_codec_encode_event(c1, GR_WIRE_AVRO_CONFLUENT, &ev1,
                                               &b, NULL),
                         0);
        assert_int_equal((unsigned char)b.data[4], 11);
        assert_int_equal(gr_codec_decode(c2, b.data, b.len, &ev2, &err), 0);
        assert_string_equal(ev2.stderr_class, "unclassified");
        /* and by fingerprint */
        gr_buf_reset(&b);
        assert_int_equal(gr_codec_encode_event(c1, GR_WIRE_AVRO_SINGLE, &ev1,
                                               &b, NULL),
                         0);
        assert_int_equal(gr_codec_decode(c2, b.data, b.len, &ev2, &err), 0);
        assert_string_equal(ev2.stderr_class, "unclassified");
        /* v2 -> v1 */
        gr_buf_reset(&b);
        assert_int_equal(gr_codec_encode_event(c2, GR_WIRE_AVRO_CONFLUENT, &ev1,
                                               &b, NULL),
                         0);
        assert_int_equal((unsigned char)b.data[4], 12);
        assert_int_equal(gr_codec_decode(c1, b.data, b.len, &ev2, &err), 0);
        assert_false(gr_event_has(&ev2, GR_F_stderr_class));
        gr_buf_free(&b);
        gr_codec_destroy(c1);
        gr_codec_destroy(c2);
}

static void test_incompatible_writer_refused(void **state) {
        /* A reader field without default that the writer lacks. */
        static const char reader[] =
            "{\"type\":\"record\",\"name\":\"LifecycleEvent\",\"fields\":["
            "{\"name\":\"event_id\",\"type\":\"string\"},"
            "{\"name\":\"job_id\",\"type\":\"string\"}]}";
        static const char writer[] =
            "{\"type\":\"record\",\"name\":\"LifecycleEvent\",\"fields\":["
            "{\"name\":\"event_id\",\"type\":\"string\"}]}";
        static const char wrong_type[] =
            "{\"type\":\"record\",\"name\":\"LifecycleEvent\",\"fields\":["
            "{\"name\":\"event_id\",\"type\":\"boolean\"},"
            "{\"name\":\"job_id\",\"type\":\"string\"}]}";
        char errstr[256];
        gr_avro_event_codec *c;
        (void)state;

        c = gr_avro_event_codec_new(reader, strlen(reader), errstr,
                                    sizeof(errstr));
        assert_non_null(c);
        errstr[0] = '\0';
        assert_int_equal(gr_avro_event_writer_add(c, writer, strlen(writer),
                                                  errstr, sizeof(errstr)),
                         -1);
        assert_non_null(strstr(errstr, "job_id"));
        errstr[0] = '\0';
        assert_int_equal(gr_avro_event_writer_add(c, wrong_type,
                                                  strlen(wrong_type), errstr,
                                                  sizeof(errstr)),
                         -1);
        assert_true(errstr[0] != '\0');
        assert_int_equal(gr_avro_event_writer_count(c), 1);
        gr_avro_event_codec_destroy(c);
}

/* ---- decisions ----------------------------------------------------------- */

static void test_decision_encode(void **state) {
        char errstr[256];
        size_t len;
        char *text = gr_test_slurp(GR_SCHEMAS_DIR "/decision.avsc", &len);
        gr_avro_decision_codec *dc;
        gr_decision d;
        gr_buf b;
        gr_err err;
        avro_schema_t s;
        avro_value_iface_t *iface;
        avro_value_t v, f, br;
        avro_reader_t r;
        const char *str;
        size_t n;
        int sym = -1, disc = -1;
        int64_t l = 0;
        (void)state;

        assert_non_null(text);
        dc = gr_avro_decision_codec_new(text, len, errstr, sizeof(errstr));
        assert_non_null(dc);
        memset(&d, 0, sizeof(d));
        memset(d.decision_id, 'a', 64);
        d.job_id = "run_8841";
        d.attempt = 1;
        d.seq = 4;
        d.settlement = GR_SETTLE_HOLD;
        d.retry = GR_RETRY_FREE;
        d.reason = GR_REASON_CONTAINER_OOM;
        d.rule = GR_RULE_R7;
        d.line = "job_id=run_8841 attempt=1 capacity=pass execution=fail "
                 "output=none settlement=hold reason=container_oom retry=free";
        memset(d.receipt_hash, 'b', 64);
        d.policy_hash = "cc";
        d.decided_at = 1779696693000LL;
        gr_buf_init(&b);
        assert_int_equal(gr_avro_decision_encode(dc, &d, NULL, "k-proc", &b,
                                                 &err),
                         0);

        /* Read it back with plain avro-c against the schema file. */
        assert_int_equal(avro_schema_from_json_length(text, len, &s), 0);
        iface = avro_generic_class_from_schema(s);
        avro_generic_value_new(iface, &v);
        r = avro_reader_memory(b.data, (int64_t)b.len);
        assert_int_equal(avro_value_read(r, &v), 0);
        avro_value_get_by_name(&v, "job_id", &f, NULL);
        avro_value_get_string(&f, &str, &n);
        assert_string_equal(str, "run_8841");
        avro_value_get_by_name(&v, "seq", &f, NULL);
        avro_value_get_long(&f, &l);
        assert_true(l == 4);
        avro_value_get_by_name(&v, "reason", &f, NULL);
        avro_value_get_enum(&f, &sym);
        assert_string_equal(avro_schema_enum_get(avro_value_get_schema(&f), sym),
                            "container_oom");
        avro_value_get_by_name(&v, "rule", &f, NULL);
        avro_value_get_discriminant(&f, &disc);
        avro_value_get_current_branch(&f, &br);
        assert_int_equal(disc, 1);
        avro_value_get_enum(&br, &sym);
        assert_string_equal(avro_schema_enum_get(avro_value_get_schema(&br),
                                                 sym),
                            "R7");
        avro_value_get_by_name(&v, "sig", &f, NULL);
        avro_value_get_discriminant(&f, &disc);
        assert_int_equal(disc, 0);
        avro_value_get_by_name(&v, "decided_at", &f, NULL);
        avro_value_get_long(&f, &l);
        assert_true(l == 1779696693000LL);

        /* rule none is null */
        d.rule = GR_RULE_NONE;
        gr_buf_reset(&b);
        assert_int_equal(gr_avro_decision_encode(dc, &d, "c2ln", "k", &b, &err),
                         0);
        avro_reader_memory_set_source(r, b.data, (int64_t)b.len);
        avro_value_reset(&v);
        assert_int_equal(avro_value_read(r, &v), 0);
        avro_value_get_by_name(&v, "rule", &f, NULL);
        avro_value_get_discriminant(&f, &disc);
        assert_int_equal(disc, 0);

        avro_reader_free(r);
        avro_value_decref(&v);
        avro_value_iface_decref(iface);
        avro_schema_decref(s);
        gr_buf_free(&b);
        free(text);
        gr_avro_decision_codec_destroy(dc);
}

static void test_every_field_has_doc(void **state) {
        /* SPEC-mirroring schemas carry a doc on every field: a crude but
         * real check is that "doc" appears at least as often as "name". */
        static const char *const files[] = {
            "lifecycle_event.avsc", "decision.avsc", "state_record.avsc"};
        char path[1024];
        (void)state;

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                size_t len, names = 0, docs = 0;
                char *t, *p;
                snprintf(path, sizeof(path), "%s/%s", GR_SCHEMAS_DIR, files[i]);
                assert_non_null(t = gr_test_slurp(path, &len));
                for (p = t; (p = strstr(p, "\"name\"")); p++)
                        names++;
                for (p = t; (p = strstr(p, "\"doc\"")); p++)
                        docs++;
                if (docs < names)
                        print_error("%s: %zu names, %zu docs\n", files[i],
                                    names, docs);
                assert_true(docs >= names);
                free(t);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid_cases_roundtrip),
            cmocka_unit_test(test_data_files_roundtrip),
            cmocka_unit_test(test_v1_writer_v2_reader),
            cmocka_unit_test(test_v2_writer_v1_reader),
            cmocka_unit_test(test_evolution_through_registry),
            cmocka_unit_test(test_incompatible_writer_refused),
            cmocka_unit_test(test_decision_encode),
            cmocka_unit_test(test_every_field_has_doc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
