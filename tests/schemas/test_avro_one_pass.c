/* One-pass Avro event decoding (gr_avro_event.h): writers whose read
 * checks all the scan does are read without a scan first.  Every result
 * must equal the two-pass one (scan, then read): the return code, the
 * reject reason and detail, and the event left behind, field by field —
 * for every valid message of tests/data and tests/schemas/cases, every
 * truncation of it, byte changes at every position (varints past the int
 * range, enum indexes and union branches without a target, booleans other
 * than 0 or 1, strings made invalid UTF-8) and the fuzz corpus.  The
 * current writer of the built-in registry must be one-pass, so the
 * optimisation cannot switch itself off unnoticed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_file.h"

#include "gr_avro_event.h"
#include "gr_avro_registry.h"
#include "gr_codec.h"
#include "gr_json_event.h"

#ifndef GR_TESTS_DIR
#define GR_TESTS_DIR "tests"
#endif

/* ---- comparing the two decodes ------------------------------------------ */

static gr_event ev_one, ev_two, ev_json;

/* The members of present fields, by kind (the rest of the struct is
 * whatever earlier messages left there, on both paths alike). */
static int field_differs(const gr_event *a, const gr_event *b, int f) {
        const gr_field_desc *d = &gr_event_fields[f];
        const char *pa = (const char *)a + d->offset;
        const char *pb = (const char *)b + d->offset;

        switch (d->kind) {
        case GR_FK_STR: return strcmp(pa, pb) != 0;
        case GR_FK_INT:
        case GR_FK_TIME: return memcmp(pa, pb, sizeof(int64_t)) != 0;
        case GR_FK_NUM: return memcmp(pa, pb, sizeof(double)) != 0;
        case GR_FK_BOOL: return memcmp(pa, pb, sizeof(int)) != 0;
        case GR_FK_EVTYPE:
                return memcmp(pa, pb, sizeof(gr_event_type_t)) != 0;
        case GR_FK_ROLE: return memcmp(pa, pb, sizeof(gr_role_t)) != 0;
        case GR_FK_FAILURE: return memcmp(pa, pb, sizeof(gr_failure_t)) != 0;
        case GR_FK_RESULT: return memcmp(pa, pb, sizeof(gr_result_t)) != 0;
        case GR_FK_SETTLEMENT:
                return memcmp(pa, pb, sizeof(gr_settlement_t)) != 0;
        }
        return 1;
}

static void hex(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n && i < 512; i++)
                print_error("%02x", p[i]);
        print_error("\n");
}

typedef struct tally {
        size_t inputs, accepted, rejected, one_pass;
} tally;

/* The two decodes of buf (one-pass into ev_one with e1, two-pass into
 * ev_two with e2) must agree: return code, reject reason and detail,
 * present mask, every present field.  Any difference fails. */
static void same_outcome(int rc1, const gr_err *e1, int rc2,
                         const gr_err *e2, const uint8_t *buf, size_t len,
                         const char *what) {
        if (rc1 != rc2 ||
            (rc1 && (e1->reason != e2->reason ||
                     strcmp(e1->detail, e2->detail) != 0))) {
                print_error("%s: one-pass %d %s \"%s\", two-pass %d %s \"%s\""
                            " on ",
                            what, rc1, gr_reject_t_name(e1->reason),
                            e1->detail, rc2, gr_reject_t_name(e2->reason),
                            e2->detail);
                hex(buf, len);
                fail();
        }
        if (ev_one.present != ev_two.present) {
                print_error("%s: present %llx one-pass, %llx two-pass on ",
                            what, (unsigned long long)ev_one.present,
                            (unsigned long long)ev_two.present);
                hex(buf, len);
                fail();
        }
        for (int f = 0; f < GR_F__CNT; f++)
                if (gr_event_has(&ev_one, (gr_field_t)f) &&
                    field_differs(&ev_one, &ev_two, f)) {
                        print_error("%s: field %s differs on ", what,
                                    gr_event_fields[f].name);
                        hex(buf, len);
                        fail();
                }
}

/* Decode buf as writer w of c both ways; any difference fails. */
static void both_ways(gr_avro_event_codec *c, int w, const uint8_t *buf,
                      size_t len, const char *what, tally *t) {
        gr_err e1, e2;
        int rc1, rc2;

        memset(&e1, 0, sizeof(e1));
        memset(&e2, 0, sizeof(e2));
        gr_avro_event_codec_two_pass(c, 1);
        rc2 = gr_avro_event_decode(c, w, buf, len, &ev_two, &e2);
        gr_avro_event_codec_two_pass(c, 0);
        rc1 = gr_avro_event_decode(c, w, buf, len, &ev_one, &e1);
        t->inputs++;
        t->one_pass += gr_avro_event_writer_one_pass(c, w) != 0;
        if (rc1 == 0)
                t->accepted++;
        else
                t->rejected++;
        same_outcome(rc1, &e1, rc2, &e2, buf, len, what);
}

/* ---- mutations of one valid datum --------------------------------------- */

/* Byte values written over each position: bit flips come from xor below;
 * these are the boundary values of varints, booleans, enum indexes (13 is
 * one past EventType's last symbol) and union branches, and lead bytes of
 * UTF-8 sequences left without their continuation. */
static const uint8_t set_bytes[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x1a,
                                    0x7e, 0x7f, 0x80, 0xc3, 0xe2, 0xff};
static const uint8_t xor_bytes[] = {0x01, 0x80, 0xff};

/* Sequences spliced in for the byte at each position: an int varint past
 * 32 bits, int varints of 5 and 6 bytes (the first the largest int, the
 * second too long for an int but a fine long), the longest long and one
 * past it, a large negative count. */
static const struct {
        uint8_t b[10];
        size_t n;
} splices[] = {
    {{0x80, 0x80, 0x80, 0x80, 0x10}, 5},
    {{0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
    {{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 6},
    {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}, 10},
    {{0x81, 0x80, 0x80, 0x80, 0x10}, 5},
};

/* Written over the bytes at each position: invalid UTF-8 (overlong NUL,
 * a surrogate, beyond U+10FFFF) and valid multi-byte characters. */
static const struct {
        uint8_t b[4];
        size_t n;
} overwrites[] = {
    {{0xc0, 0x80}, 2},
    {{0xed, 0xa0, 0x80}, 3},
    {{0xf4, 0x90, 0x80, 0x80}, 4},
    {{0xc3, 0xa9}, 2},
    {{0xf0, 0x9f, 0x98, 0x80}, 4},
};

static void mutate(gr_avro_event_codec *c, int w, const uint8_t *d, size_t n,
                   const char *what, tally *t) {
        uint8_t *m = malloc(n + 16);

        assert_non_null(m);
        both_ways(c, w, d, n, what, t);
        for (size_t k = 0; k < n; k++)
                both_ways(c, w, d, k, what, t);
        memcpy(m, d, n);
        m[n] = 0;
        both_ways(c, w, m, n + 1, what, t);
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < sizeof(set_bytes); j++) {
                        memcpy(m, d, n);
                        m[i] = set_bytes[j];
                        both_ways(c, w, m, n, what, t);
                }
                for (size_t j = 0; j < sizeof(xor_bytes); j++) {
                        memcpy(m, d, n);
                        m[i] ^= xor_bytes[j];
                        both_ways(c, w, m, n, what, t);
                }
                for (size_t j = 0; j < sizeof(splices) / sizeof(splices[0]);
                     j++) {
                        memcpy(m, d, i);
                        memcpy(m + i, splices[j].b, splices[j].n);
                        memcpy(m + i + splices[j].n, d + i + 1, n - i - 1);
                        both_ways(c, w, m, n - 1 + splices[j].n, what, t);
                }
                for (size_t j = 0;
                     j < sizeof(overwrites) / sizeof(overwrites[0]); j++) {
                        if (i + overwrites[j].n > n)
                                continue;
                        memcpy(m, d, n);
                        memcpy(m + i, overwrites[j].b, overwrites[j].n);
                        both_ways(c, w, m, n, what, t);
                }
        }
        free(m);
}

/* ---- the codecs and the messages ---------------------------------------- */

/* The built-in registry's event schemas: a codec reading into the current
 * one with every event schema as a writer, and per writer a codec whose
 * own schema it is, to write that writer's data. */
typedef struct setup {
        gr_avro_registry reg;
        gr_avro_event_codec *c;
        int nw;
        int w[8];
        gr_avro_event_codec *enc[8];
} setup;

static void setup_builtin(setup *s) {
        const gr_avro_schema_entry *cur;
        char errstr[256];

        memset(s, 0, sizeof(*s));
        assert_int_equal(gr_avro_registry_load(&s->reg, NULL, errstr,
                                               sizeof(errstr)),
                         0);
        assert_non_null(cur = gr_avro_registry_current(&s->reg,
                                                       GR_SCHEMA_EVENT));
        s->c = gr_avro_event_codec_new(cur->text, cur->len, errstr,
                                       sizeof(errstr));
        assert_non_null(s->c);
        for (size_t i = 0; i < s->reg.n; i++) {
                const gr_avro_schema_entry *e = &s->reg.e[i];
                if (e->kind != GR_SCHEMA_EVENT)
                        continue;
                assert_true(s->nw < 8);
                s->w[s->nw] = gr_avro_event_writer_add(s->c, e->text, e->len,
                                                       errstr, sizeof(errstr));
                assert_true(s->w[s->nw] >= 0);
                s->enc[s->nw] = gr_avro_event_codec_new(e->text, e->len,
                                                        errstr,
                                                        sizeof(errstr));
                assert_non_null(s->enc[s->nw]);
                s->nw++;
        }
}

static void setup_free(setup *s) {
        for (int i = 0; i < s->nw; i++)
                gr_avro_event_codec_destroy(s->enc[i]);
        gr_avro_event_codec_destroy(s->c);
        gr_avro_registry_free(&s->reg);
}

/* One JSON event: its datum in every writer schema, each mutated. */
static void one_event(setup *s, gr_json_decoder *jd, const char *json,
                      size_t len, const char *what, tally *t) {
        gr_err err;

        if (gr_json_event_decode(jd, json, len, &ev_json, &err))
                return; /* not a valid event: nothing to encode */
        for (int i = 0; i < s->nw; i++) {
                gr_buf b;
                gr_buf_init(&b);
                if (gr_avro_event_encode(s->enc[i], &ev_json, &b, &err) == 0)
                        mutate(s->c, s->w[i], (const uint8_t *)b.data, b.len,
                               what, t);
                gr_buf_free(&b);
        }
}

static void test_builtin_current_writer_is_one_pass(void **state) {
        setup s;
        (void)state;

        setup_builtin(&s);
        /* writer 0 is the codec's own schema, the current event schema */
        assert_int_equal(s.w[s.nw - 1], 0);
        assert_int_equal(gr_avro_event_writer_one_pass(s.c, 0), 1);
        assert_int_equal(gr_avro_event_writer_one_pass(s.c, -1), 0);
        assert_int_equal(gr_avro_event_writer_one_pass(s.c, s.nw), 0);
        setup_free(&s);
}

/* A writer with a field the reader lacks is read through skip(), which
 * does not check what it skips: that writer is scanned first. */
static void test_skipping_writer_is_two_pass(void **state) {
        char errstr[256];
        size_t l1, l2;
        char *v1 = gr_test_slurp(GR_TESTS_DIR "/schemas/avro/event_v1.avsc", &l1);
        char *v2 = gr_test_slurp(GR_TESTS_DIR "/schemas/avro/event_v2.avsc", &l2);
        gr_avro_event_codec *c;
        int w;
        (void)state;

        assert_non_null(v1);
        assert_non_null(v2);
        c = gr_avro_event_codec_new(v1, l1, errstr, sizeof(errstr));
        assert_non_null(c);
        /* v2 writes trace_id, which v1 does not know */
        w = gr_avro_event_writer_add(c, v2, l2, errstr, sizeof(errstr));
        assert_true(w > 0);
        assert_int_equal(gr_avro_event_writer_one_pass(c, w), 0);
        gr_avro_event_codec_destroy(c);
        free(v1);
        free(v2);
}

static void test_data_files_both_ways(void **state) {
        static const char *const files[] = {"canonical.jsonl",
                                            "scenarios.jsonl"};
        gr_json_decoder *jd = gr_json_decoder_new();
        char path[1024];
        tally t = {0};
        setup s;
        (void)state;

        setup_builtin(&s);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                size_t len;
                char *text, *line, *save = NULL;
                snprintf(path, sizeof(path), "%s/data/%s", GR_TESTS_DIR,
                         files[i]);
                assert_non_null(text = gr_test_slurp(path, &len));
                for (line = strtok_r(text, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save))
                        one_event(&s, jd, line, strlen(line), files[i], &t);
                free(text);
        }
        print_message("%zu inputs: %zu accepted, %zu rejected, %zu of a "
                      "one-pass writer\n",
                      t.inputs, t.accepted, t.rejected, t.one_pass);
        /* both outcomes and the one-pass path were exercised */
        assert_true(t.accepted > 1000);
        assert_true(t.rejected > 1000);
        assert_true(t.one_pass > t.inputs / 2);
        setup_free(&s);
        gr_json_decoder_destroy(jd);
}

/* The valid cases' events, each both ways (gr_test_each_file). */
typedef struct cases_ctx {
        setup *s;
        gr_json_decoder *jd;
        tally *t;
} cases_ctx;

static void case_both_ways(const char *name, const char *buf, size_t len,
                           void *arg) {
        cases_ctx *x = arg;
        one_event(x->s, x->jd, buf, len, name, x->t);
}

static void test_valid_cases_both_ways(void **state) {
        gr_json_decoder *jd = gr_json_decoder_new();
        tally t = {0};
        setup s;
        cases_ctx x = {&s, jd, &t};
        (void)state;

        setup_builtin(&s);
        assert_true(gr_test_each_file(GR_TESTS_DIR "/schemas/cases/valid",
                                      "input", case_both_ways, &x) > 0);
        assert_true(t.accepted > 0);
        assert_true(t.rejected > 0);
        setup_free(&s);
        gr_json_decoder_destroy(jd);
}

/* One corpus file through gr_codec c, framing included, both ways. */
static void corpus_both_ways(const char *name, const char *buf, size_t len,
                             void *arg) {
        gr_codec *c = arg;
        gr_err e1, e2;
        int rc1, rc2;

        memset(&e1, 0, sizeof(e1));
        memset(&e2, 0, sizeof(e2));
        gr_codec_avro_two_pass(c, 1);
        rc2 = gr_codec_decode(c, buf, len, &ev_two, &e2);
        gr_codec_avro_two_pass(c, 0);
        rc1 = gr_codec_decode(c, buf, len, &ev_one, &e1);
        same_outcome(rc1, &e1, rc2, &e2, (const uint8_t *)buf, len, name);
}

/* The fuzz corpus through gr_codec (framing included), both ways. */
static void test_fuzz_corpus_both_ways(void **state) {
        char errstr[256];
        gr_codec *c;
        (void)state;

        assert_non_null(c = gr_codec_new(NULL, errstr, sizeof(errstr)));
        assert_true(gr_test_each_file(GR_TESTS_DIR "/fuzz/corpus/avro_event",
                                      NULL, corpus_both_ways, c) > 0);
        gr_codec_destroy(c);
}

/* m decoded one pass into ev_one by c: refused for reason, with detail
 * when detail is not NULL. */
static void refused(gr_avro_event_codec *c, const uint8_t *m, size_t len,
                    gr_reject_t reason, const char *detail) {
        gr_err err;

        assert_int_equal(gr_avro_event_decode(c, 0, m, len, &ev_one, &err),
                         -1);
        assert_int_equal(err.reason, reason);
        if (detail)
                assert_string_equal(err.detail, detail);
}

/* What a one-pass reject says and leaves: the scan's words, ev reset when
 * the scan refuses, the read's error and partial event when only the read
 * does. */
static void test_one_pass_rejects(void **state) {
        static const char json[] =
            "{\"event_id\":\"e-1\",\"job_id\":\"job-1\",\"type\":"
            "\"job_cancelled\",\"occurred_at\":\"2026-05-25T08:03:00Z\","
            "\"actor\":{\"role\":\"buyer\"},\"body\":{\"reason\":\"x\"}}";
        gr_json_decoder *jd = gr_json_decoder_new();
        gr_err err;
        gr_buf b;
        uint8_t m[256];
        setup s;
        (void)state;

        setup_builtin(&s);
        assert_int_equal(gr_json_event_decode(jd, json, strlen(json),
                                              &ev_json, &err),
                         0);
        gr_buf_init(&b);
        assert_int_equal(gr_avro_event_encode(s.c, &ev_json, &b, &err), 0);
        assert_true(b.len < sizeof(m));
        /* bytes 0..3: event_id (length 3, "e-1"), 4..9: job_id */
        assert_int_equal((uint8_t)b.data[0], 6);
        assert_int_equal((uint8_t)b.data[4], 10);

        /* invalid UTF-8 in job_id: the scan's reject, nothing kept */
        memcpy(m, b.data, b.len);
        m[6] = 0xff;
        refused(s.c, m, b.len, GR_REJ_INVALID_AVRO,
                "string is not valid UTF-8 at byte 5");
        assert_true(ev_one.present == 0);

        /* a NUL in event_id (the setter refuses it) before that invalid
         * UTF-8: still the scan's reject, which comes first in two passes */
        m[2] = 0x00;
        refused(s.c, m, b.len, GR_REJ_INVALID_AVRO,
                "string is not valid UTF-8 at byte 5");
        assert_true(ev_one.present == 0);

        /* the NUL alone: the scan passes, the setter's reject stands */
        m[6] = b.data[6];
        refused(s.c, m, b.len, GR_REJ_SCHEMA, "event_id contains NUL");

        /* job_id fails its setter after event_id was read: event_id stays
         * set, as the two-pass read leaves it */
        memcpy(m, b.data, b.len);
        m[6] = 0x00;
        refused(s.c, m, b.len, GR_REJ_SCHEMA, NULL);
        assert_true(gr_event_has(&ev_one, GR_F_event_id));
        assert_string_equal(ev_one.event_id, "e-1");

        gr_buf_free(&b);
        setup_free(&s);
        gr_json_decoder_destroy(jd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_builtin_current_writer_is_one_pass),
            cmocka_unit_test(test_skipping_writer_is_two_pass),
            cmocka_unit_test(test_one_pass_rejects),
            cmocka_unit_test(test_data_files_both_ways),
            cmocka_unit_test(test_valid_cases_both_ways),
            cmocka_unit_test(test_fuzz_corpus_both_ways),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
