/* gr_codec: framing (Confluent, single-object, JSON) and hostile bytes.
 * Hostile inputs are hand-built Avro so each one breaks exactly one rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gr_avro_event.h"
#include "gr_avro_pcf.h"
#include "gr_codec.h"
#include "gr_json_event.h"

#ifndef GR_SCHEMAS_DIR
#define GR_SCHEMAS_DIR "schemas"
#endif

static gr_codec *codec;
static gr_event ev;

static int setup(void **state) {
        char errstr[256];
        (void)state;
        codec = gr_codec_new(NULL, errstr, sizeof(errstr));
        if (!codec)
                fprintf(stderr, "gr_codec_new: %s\n", errstr);
        return codec ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        gr_codec_destroy(codec);
        return 0;
}

/* ---- a hand-built datum -------------------------------------------------- */

typedef struct bytes {
        uint8_t b[512];
        size_t n;
} bytes;

static void put(bytes *x, const void *p, size_t n) {
        memcpy(x->b + x->n, p, n);
        x->n += n;
}

static void put_varint(bytes *x, int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        do {
                uint8_t b = z & 0x7f;
                z >>= 7;
                if (z)
                        b |= 0x80;
                x->b[x->n++] = b;
        } while (z);
}

static void put_str(bytes *x, const char *s) {
        put_varint(x, (int64_t)strlen(s));
        put(x, s, strlen(s));
}

/* Knobs for the one field each hostile case breaks. */
typedef struct knobs {
        const char *event_id;
        int type;      /* EventType symbol index */
        int role;      /* Role symbol index */
        int branch;    /* body union branch */
        int reason;    /* 1: JobCancelledBody.reason present */
} knobs;

static const knobs good = {"e-1", 10 /* job_cancelled */, 2 /* buyer */,
                           10 /* JobCancelledBody */, 1};

/* LifecycleEvent datum of a job_cancelled event, per lifecycle_event.avsc. */
static void datum(bytes *x, const knobs *k) {
        put_str(x, k->event_id);
        put_str(x, "run_1");
        put_varint(x, 1);                /* attempt */
        put_varint(x, k->type);          /* type */
        put_varint(x, 1779696693000LL);  /* occurred_at */
        put_varint(x, k->role);          /* actor.role */
        put_varint(x, 1);                /* actor.id: string */
        put_str(x, "buyer-1");
        put_varint(x, 0);                /* actor.key_id: null */
        put_varint(x, 0);                /* sig: null */
        put_varint(x, k->branch);        /* body */
        if (k->reason) {
                put_varint(x, 1);        /* reason: string */
                put_str(x, "changed my mind");
        }
}

static void confluent(bytes *x, uint32_t id) {
        uint8_t h[5] = {0, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
                        (uint8_t)(id >> 8), (uint8_t)id};
        x->n = 0;
        put(x, h, 5);
}

static int decode(const bytes *x, gr_err *err) {
        memset(err, 0, sizeof(*err));
        return gr_codec_decode(codec, x->b, x->n, &ev, err);
}

static void expect_reject(const bytes *x, gr_reject_t reason,
                          const char *detail_part) {
        gr_err err;
        assert_int_equal(decode(x, &err), -1);
        if (err.reason != reason ||
            (detail_part && !strstr(err.detail, detail_part)))
                print_error("got %s: %s\n", gr_reject_t_name(err.reason),
                            err.detail);
        assert_int_equal(err.reason, reason);
        if (detail_part)
                assert_non_null(strstr(err.detail, detail_part));
}

static void test_handbuilt_datum_decodes(void **state) {
        bytes x;
        gr_err err;
        (void)state;
        confluent(&x, 1);
        datum(&x, &good);
        assert_int_equal(decode(&x, &err), 0);
        assert_string_equal(ev.event_id, "e-1");
        assert_int_equal(ev.type, GR_EVT_JOB_CANCELLED);
        assert_int_equal(ev.role, GR_ROLE_BUYER);
        assert_string_equal(ev.reason, "changed my mind");
        assert_true(ev.occurred_at == 1779696693000LL);
        assert_int_equal(gr_codec_last_wire(codec), GR_WIRE_AVRO_CONFLUENT);
}

static void test_every_truncation_rejected(void **state) {
        bytes x, t;
        (void)state;
        confluent(&x, 1);
        datum(&x, &good);
        for (size_t n = 0; n < x.n; n++) {
                gr_err err;
                t = x;
                t.n = n;
                assert_int_equal(decode(&t, &err), -1);
                /* n == 0 is an empty message: JSON's "empty" */
                if (n > 0)
                        assert_int_equal(err.reason, GR_REJ_INVALID_AVRO);
        }
}

static void test_trailing_garbage(void **state) {
        bytes x;
        (void)state;
        confluent(&x, 1);
        datum(&x, &good);
        x.b[x.n++] = 0;
        expect_reject(&x, GR_REJ_INVALID_AVRO, "trailing garbage");
}

static void test_negative_length(void **state) {
        bytes x;
        (void)state;
        confluent(&x, 1);
        put_varint(&x, -5); /* event_id length */
        put(&x, "abcdefgh", 8);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "negative string length");
}

static void test_oversize_length(void **state) {
        bytes x;
        (void)state;
        confluent(&x, 1);
        put_varint(&x, (int64_t)1 << 40);
        put(&x, "abcdefgh", 8);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "exceeds");
        confluent(&x, 1);
        put_varint(&x, INT64_MAX);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "exceeds");
        confluent(&x, 1);
        put_varint(&x, INT64_MIN);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "negative");
}

static void test_varint_too_long(void **state) {
        bytes x;
        (void)state;
        confluent(&x, 1);
        memset(x.b + x.n, 0xff, 11);
        x.n += 11;
        expect_reject(&x, GR_REJ_INVALID_AVRO, "varint");
}

static void test_union_branch_out_of_range(void **state) {
        bytes x;
        knobs k = good;
        (void)state;
        k.branch = 13;
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "union branch 13");
        k.branch = -1;
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "union branch -1");
}

static void test_enum_out_of_range(void **state) {
        bytes x;
        knobs k = good;
        (void)state;
        k.type = 13;
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "enum index");
        k = good;
        k.role = 5;
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "enum index");
}

static void test_body_branch_disagrees_with_type(void **state) {
        bytes x;
        knobs k = good;
        (void)state;
        k.branch = 11; /* ReservationExpiredBody: an empty record */
        k.reason = 0;
        confluent(&x, 7); /* the current schema: no resolution */
        datum(&x, &k);
        expect_reject(&x, GR_REJ_SCHEMA, "reservation_expired record");
        /* the same bytes from a writer of the previous schema (id 1): the
         * resolver must not move the empty body onto another branch; the
         * writer's own branch says what the body is */
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_SCHEMA, "reservation_expired record");
}

static void test_setters_judge_avro_values(void **state) {
        bytes x;
        knobs k = good;
        char big[201];
        (void)state;
        /* NUL inside a string */
        k.event_id = "e";
        confluent(&x, 1);
        put_varint(&x, 3);
        put(&x, "e\0x", 3);
        {
                bytes rest = {{0}, 0};
                datum(&rest, &k);
                /* skip the event_id datum() wrote (2 bytes: len + 'e') */
                put(&x, rest.b + 2, rest.n - 2);
        }
        expect_reject(&x, GR_REJ_SCHEMA, "NUL");
        /* over the limit */
        memset(big, 'a', 200);
        big[200] = '\0';
        k.event_id = big;
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_TOO_LARGE, "event_id");
        /* a role that may not send the type: validate ran */
        k = good;
        k.role = 1; /* seller */
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_UNAUTHORIZED_ROLE, NULL);
}

static void test_invalid_utf8(void **state) {
        bytes x;
        knobs k = good;
        (void)state;
        k.event_id = "e\xff";
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "UTF-8");
        k.event_id = "e\xc0\xaf"; /* overlong '/' */
        confluent(&x, 1);
        datum(&x, &k);
        expect_reject(&x, GR_REJ_INVALID_AVRO, "UTF-8");
}

static void test_unknown_schema_ids(void **state) {
        bytes x;
        (void)state;
        confluent(&x, 99);
        datum(&x, &good);
        expect_reject(&x, GR_REJ_SCHEMA, "unknown schema id 99");
        confluent(&x, 2); /* the decision schema */
        datum(&x, &good);
        expect_reject(&x, GR_REJ_SCHEMA, "not an event");
        confluent(&x, 3); /* retired: no schema behind it */
        datum(&x, &good);
        expect_reject(&x, GR_REJ_SCHEMA, "schema id 3 is a retired schema");
        x.n = 3;
        expect_reject(&x, GR_REJ_INVALID_AVRO, "Confluent header");
}

static void test_single_object_framing(void **state) {
        bytes x;
        gr_err err;
        uint64_t fp;
        char errstr[128];
        size_t len;
        char *text;
        FILE *f;
        (void)state;

        /* The fingerprint on the wire is the one of the schema file. */
        assert_non_null(f = fopen(GR_SCHEMAS_DIR "/lifecycle_event.avsc", "rb"));
        text = malloc(1 << 16);
        len = fread(text, 1, 1 << 16, f);
        fclose(f);
        assert_int_equal(gr_avro_fingerprint_compute(text, len, &fp, errstr,
                                                     sizeof(errstr)),
                         0);
        free(text);
        x.n = 0;
        put(&x, "\xC3\x01", 2);
        for (int i = 0; i < 8; i++)
                x.b[x.n++] = (uint8_t)(fp >> (8 * i));
        datum(&x, &good);
        assert_int_equal(decode(&x, &err), 0);
        assert_int_equal(gr_codec_last_wire(codec), GR_WIRE_AVRO_SINGLE);
        assert_string_equal(ev.event_id, "e-1");
        /* wrong fingerprint */
        x.b[2] ^= 1;
        expect_reject(&x, GR_REJ_SCHEMA, "fingerprint");
        /* wrong marker */
        x.b[2] ^= 1;
        x.b[1] = 0x02;
        expect_reject(&x, GR_REJ_INVALID_AVRO, "C3 01");
        /* truncated header */
        x.b[1] = 0x01;
        x.n = 6;
        expect_reject(&x, GR_REJ_INVALID_AVRO, "truncated");
}

static void test_too_large(void **state) {
        static uint8_t big[GR_EVENT_WIRE_MAX + 1];
        gr_err err;
        (void)state;
        assert_int_equal(gr_codec_decode(codec, big, sizeof(big), &ev, &err),
                         -1);
        assert_int_equal(err.reason, GR_REJ_TOO_LARGE);
}

static void test_json_framing(void **state) {
        static const char json[] =
            "  {\"event_id\":\"e-j\",\"job_id\":\"j\",\"type\":\"job_"
            "cancelled\",\"occurred_at\":\"2026-05-25T08:11:33Z\",\"actor\":"
            "{\"role\":\"buyer\"}}";
        gr_err err;
        (void)state;
        assert_int_equal(gr_codec_decode(codec, json, strlen(json), &ev, &err),
                         0);
        assert_int_equal(gr_codec_last_wire(codec), GR_WIRE_JSON);
        assert_string_equal(ev.event_id, "e-j");
        assert_int_equal(gr_codec_decode(codec, "xyz", 3, &ev, &err), -1);
        assert_int_equal(err.reason, GR_REJ_INVALID_JSON);
        assert_int_equal(gr_codec_decode(codec, "{", 1, &ev, &err), -1);
        assert_int_equal(err.reason, GR_REJ_INVALID_JSON);
}

static void test_encode_headers_and_failure(void **state) {
        bytes x;
        gr_err err;
        gr_buf out;
        gr_wire_t w;
        size_t before;
        (void)state;

        confluent(&x, 7); /* the current event schema (registry.txt) */
        datum(&x, &good);
        assert_int_equal(decode(&x, &err), 0);
        gr_buf_init(&out);
        assert_int_equal(gr_codec_encode_event(codec, GR_WIRE_AVRO_CONFLUENT,
                                               &ev, &out, NULL),
                         0);
        /* our hand-built datum is exactly what the encoder writes */
        assert_int_equal(out.len, x.n);
        assert_memory_equal(out.data, x.b, x.n);

        /* A failed encode leaves out as it was and says why. */
        before = out.len;
        gr_event_reset(&ev);
        assert_int_equal(gr_codec_encode_event(codec, GR_WIRE_AVRO_SINGLE, &ev,
                                               &out, &err),
                         -1);
        assert_int_equal(out.len, before);
        assert_int_equal(err.reason, GR_REJ_MISSING_FIELD);
        assert_true(err.detail[0] != '\0');
        gr_buf_free(&out);

        assert_int_equal(gr_wire_parse("avro", &w), 0);
        assert_int_equal(w, GR_WIRE_AVRO_CONFLUENT);
        assert_int_equal(gr_wire_parse("avro-single", &w), 0);
        assert_int_equal(w, GR_WIRE_AVRO_SINGLE);
        assert_int_equal(gr_wire_parse("json", &w), 0);
        assert_int_equal(w, GR_WIRE_JSON);
        assert_int_equal(gr_wire_parse("xml", &w), -1);
        assert_int_equal(gr_codec_event_schema_id(codec), 7);
        assert_int_equal(gr_codec_decision_schema_id(codec), 6);
}

/* resources.peak_mem_mb/wall_ms/cpu_ms (receiptctl run) came with event
 * schema id 7; what writers of id 1, the schema before them, sent still
 * decodes, and the new fields travel through Avro. */
static void test_resources_evolution(void **state) {
        static const char json[] =
            "{\"event_id\":\"x-f\",\"job_id\":\"x\",\"attempt\":1,"
            "\"type\":\"execution_failed\",\"occurred_at\":"
            "\"2026-05-25T08:11:33Z\",\"actor\":{\"role\":\"seller\","
            "\"id\":\"w\"},\"body\":{\"failure_class\":\"container_oom\","
            "\"output_written\":false,\"stderr_class\":\"cgroup_oom_kill\","
            "\"resources\":{\"peak_vram_mb\":7,\"peak_mem_mb\":32,"
            "\"wall_ms\":812,\"cpu_ms\":184}}}";
        static gr_event in, out;
        gr_json_decoder *jd = gr_json_decoder_new();
        gr_avro_event_codec *v1;
        char errstr[256], *text;
        size_t len;
        gr_buf b;
        gr_err err;
        FILE *f;
        (void)state;

        assert_non_null(jd);
        assert_int_equal(gr_json_event_decode(jd, json, sizeof(json) - 1, &in,
                                              &err),
                         0);
        gr_buf_init(&b);
        assert_int_equal(gr_codec_encode_event(codec, GR_WIRE_AVRO_CONFLUENT,
                                               &in, &b, NULL),
                         0);
        assert_int_equal((unsigned char)b.data[4], 7);
        assert_int_equal(gr_codec_decode(codec, b.data, b.len, &out, &err), 0);
        assert_int_equal(out.peak_mem_mb, 32);
        assert_int_equal(out.wall_ms, 812);
        assert_int_equal(out.cpu_ms, 184);
        assert_int_equal(out.peak_vram_mb, 7);

        /* an id 1 writer: no new fields on the wire, none after decoding */
        assert_non_null(f = fopen(GR_SCHEMAS_DIR "/lifecycle_event.v1.avsc",
                                  "rb"));
        text = malloc(1 << 16);
        assert_non_null(text);
        len = fread(text, 1, 1 << 16, f);
        fclose(f);
        assert_non_null(v1 = gr_avro_event_codec_new(text, len, errstr,
                                                     sizeof(errstr)));
        gr_buf_reset(&b);
        gr_buf_append(&b, "\0\0\0\0\1", 5);
        assert_int_equal(gr_avro_event_encode(v1, &in, &b, &err), 0);
        assert_int_equal(gr_codec_decode(codec, b.data, b.len, &out, &err), 0);
        assert_string_equal(out.stderr_class, "cgroup_oom_kill");
        assert_int_equal(out.peak_vram_mb, 7);
        assert_false(gr_event_has(&out, GR_F_peak_mem_mb));
        assert_false(gr_event_has(&out, GR_F_wall_ms));
        assert_false(gr_event_has(&out, GR_F_cpu_ms));
        gr_avro_event_codec_destroy(v1);
        free(text);
        gr_buf_free(&b);
        gr_json_decoder_destroy(jd);
}

static void test_decision_framing(void **state) {
        gr_decision d;
        gr_buf out;
        (void)state;
        memset(&d, 0, sizeof(d));
        strcpy(d.decision_id, "d");
        d.job_id = "j";
        d.attempt = 1;
        d.line = "l";
        strcpy(d.receipt_hash, "r");
        d.policy_hash = "p";
        gr_buf_init(&out);
        assert_int_equal(gr_codec_encode_decision(codec, GR_WIRE_AVRO_CONFLUENT,
                                                  &d, NULL, NULL, &out, NULL),
                         0);
        assert_memory_equal(out.data, "\0\0\0\0\6", 5);
        gr_buf_reset(&out);
        assert_int_equal(gr_codec_encode_decision(codec, GR_WIRE_JSON, &d, NULL,
                                                  NULL, &out, NULL),
                         0);
        assert_int_equal(out.data[0], '{');
        gr_buf_free(&out);
}

static void test_bad_schema_dirs(void **state) {
        char errstr[256], dir[] = "/tmp/gr_avro_XXXXXX", path[300];
        FILE *f;
        (void)state;
        errstr[0] = '\0';
        assert_null(gr_codec_new("/nonexistent/dir", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "registry.txt"));
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/registry.txt", dir);
        assert_non_null(f = fopen(path, "w"));
        fputs("1 event\n", f);
        fclose(f);
        assert_null(gr_codec_new(dir, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "line 1"));
        assert_non_null(f = fopen(path, "w"));
        fputs("# no events\n2 decision " GR_SCHEMAS_DIR "/decision.avsc\n", f);
        fclose(f);
        assert_null(gr_codec_new(dir, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "no event schema"));
        /* a retired id stays taken */
        assert_non_null(f = fopen(path, "w"));
        fputs("3 retired\n3 event " GR_SCHEMAS_DIR "/lifecycle_event.avsc\n",
              f);
        fclose(f);
        assert_null(gr_codec_new(dir, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "id 3 listed twice"));
        unlink(path);
        rmdir(dir);
}

/* Random bytes and random mutations of a valid datum: never a crash, and
 * every reject carries a reason and a printable detail. */
static void test_random_mutations(void **state) {
        bytes base, x;
        uint64_t rng = 0x9e3779b97f4a7c15ULL;
        int accepted = 0;
        (void)state;
        confluent(&base, 1);
        datum(&base, &good);
        for (int i = 0; i < 200000; i++) {
                gr_err err;
                int nflip;
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                x = base;
                nflip = 1 + (int)(rng % 4);
                for (int j = 0; j < nflip; j++) {
                        size_t at = 5 + (size_t)((rng >> (8 * j + 8)) %
                                                 (x.n - 5));
                        x.b[at] = (uint8_t)(rng >> (8 * j + 3));
                }
                if (i % 3 == 0)
                        x.n = 5 + (size_t)((rng >> 40) % (x.n - 4));
                if (decode(&x, &err) == 0) {
                        accepted++;
                        continue;
                }
                assert_true((unsigned)err.reason < GR_REJ__CNT);
                assert_true(err.detail[0] != '\0');
                for (const char *p = err.detail; *p; p++)
                        assert_true((unsigned char)*p >= 0x20);
        }
        /* some mutations only touch string payloads and stay valid */
        assert_true(accepted > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_handbuilt_datum_decodes),
            cmocka_unit_test(test_every_truncation_rejected),
            cmocka_unit_test(test_trailing_garbage),
            cmocka_unit_test(test_negative_length),
            cmocka_unit_test(test_oversize_length),
            cmocka_unit_test(test_varint_too_long),
            cmocka_unit_test(test_union_branch_out_of_range),
            cmocka_unit_test(test_enum_out_of_range),
            cmocka_unit_test(test_body_branch_disagrees_with_type),
            cmocka_unit_test(test_setters_judge_avro_values),
            cmocka_unit_test(test_invalid_utf8),
            cmocka_unit_test(test_unknown_schema_ids),
            cmocka_unit_test(test_single_object_framing),
            cmocka_unit_test(test_too_large),
            cmocka_unit_test(test_json_framing),
            cmocka_unit_test(test_encode_headers_and_failure),
            cmocka_unit_test(test_resources_evolution),
            cmocka_unit_test(test_decision_framing),
            cmocka_unit_test(test_bad_schema_dirs),
            cmocka_unit_test(test_random_mutations),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
