/* gr_avro_scan: the bounds and validity check run on Avro bytes before
 * any decoder.  Valid data of every type passes; every refusal comes back
 * as invalid_avro naming what was wrong and where; every truncation of a
 * valid datum and any trailing byte is refused; UTF-8 edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_avro_scan.h"

static gr_avro_scan *scan_of(const char *json) {
        avro_schema_t sc;
        gr_avro_scan *s;
        char err[256] = "";

        if (avro_schema_from_json_length(json, strlen(json), &sc))
                fail_msg("schema %s: %s", json, avro_strerror());
        s = gr_avro_scan_new(sc, err, sizeof(err));
        if (!s)
                fail_msg("scan of %s: %s", json, err);
        avro_schema_decref(sc);
        return s;
}

/* Scan `len` bytes; on refusal the detail must contain `want`. */
static void expect(const char *schema, const void *buf, size_t len,
                   const char *want) {
        gr_avro_scan *s = scan_of(schema);
        gr_err err;
        int rc;

        memset(&err, 0, sizeof(err));
        rc = gr_avro_scan_check(s, buf, len, &err);
        gr_avro_scan_destroy(s);
        if (!want) {
                if (rc != 0)
                        fail_msg("%s refused: %s", schema, err.detail);
                return;
        }
        if (rc != -1)
                fail_msg("%s accepted, wanted \"%s\"", schema, want);
        assert_int_equal(err.reason, GR_REJ_INVALID_AVRO);
        if (!strstr(err.detail, want))
                fail_msg("%s: detail \"%s\" lacks \"%s\"", schema, err.detail,
                         want);
}

#define OK(schema, ...)                                                        \
        do {                                                                   \
                const uint8_t b_[] = {__VA_ARGS__};                            \
                expect(schema, b_, sizeof(b_), NULL);                          \
        } while (0)
#define BAD(schema, want, ...)                                                 \
        do {                                                                   \
                const uint8_t b_[] = {__VA_ARGS__};                            \
                expect(schema, b_, sizeof(b_), want);                          \
        } while (0)

static const char all_types[] =
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"y\",\"type\":\"bytes\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
    "\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
    "{\"name\":\"e2\",\"type\":\"E\"}]}";

static const uint8_t all_bytes[] = {
    0x01,                                           /* b true */
    0x02,                                           /* i 1 */
    0x04,                                           /* l 2 */
    0x00, 0x00, 0x80, 0x3f,                         /* f 1.0 */
    0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                   /* d 1.0 */
    0x06, 'a', 'b', 'c',                            /* s "abc" */
    0x02, 0xff,                                     /* y one byte */
    0x02,                                           /* e B */
    'x', 'y', 'z',                                  /* x */
    0x02, 0x04, 'h', 'i',                           /* u "hi" */
    0x04, 0x02, 0x04, 0x00,                         /* a [1, 2] */
    0x02, 0x02, 'k', 0x06, 0x00,                    /* m {"k": 3} */
    0x00,                                           /* e2 A (named link) */
};

/* A datum of every type passes, also through avro-c itself (the scan
 * walks as a decoder would). */
static void test_all_types_valid(void **state) {
        avro_schema_t sc;
        avro_reader_t rd;
        avro_value_iface_t *iface;
        avro_value_t v;
        gr_avro_scan *s = scan_of(all_types);
        gr_err err;

        (void)state;
        assert_int_equal(gr_avro_scan_check(s, all_bytes, sizeof(all_bytes),
                                            &err),
                         0);
        gr_avro_scan_destroy(s);

        assert_int_equal(avro_schema_from_json_length(
                             all_types, strlen(all_types), &sc),
                         0);
        iface = avro_generic_class_from_schema(sc);
        assert_int_equal(avro_generic_value_new(iface, &v), 0);
        rd = avro_reader_memory((const char *)all_bytes, sizeof(all_bytes));
        assert_int_equal(avro_value_read(rd, &v), 0);
        avro_reader_free(rd);
        avro_value_decref(&v);
        avro_value_iface_decref(iface);
        avro_schema_decref(sc);
}

/* Every strict prefix of the valid datum is refused, and so is one more
 * byte after it. */
static void test_truncations_and_trailing(void **state) {
        gr_avro_scan *s = scan_of(all_types);
        uint8_t longer[sizeof(all_bytes) + 1];
        gr_err err;

        (void)state;
        for (size_t n = 0; n < sizeof(all_bytes); n++) {
                memset(&err, 0, sizeof(err));
                if (gr_avro_scan_check(s, all_bytes, n, &err) != -1)
                        fail_msg("prefix of %zu bytes accepted", n);
                assert_int_equal(err.reason, GR_REJ_INVALID_AVRO);
                assert_true(strstr(err.detail, " at byte ") != NULL);
        }
        memcpy(longer, all_bytes, sizeof(all_bytes));
        longer[sizeof(all_bytes)] = 0;
        assert_int_equal(gr_avro_scan_check(s, longer, sizeof(longer), &err),
                         -1);
        assert_int_equal(sizeof(all_bytes), 39);
        assert_string_equal(err.detail,
                            "1 bytes of trailing garbage after the record "
                            "(ends at byte 39)");
        gr_avro_scan_destroy(s);
        expect("\"null\"", "", 0, NULL);
        BAD("\"null\"", "1 bytes of trailing garbage", 0x00);
}

static void test_primitive_refusals(void **state) {
        (void)state;
        expect("\"boolean\"", "", 0, "truncated boolean at byte 0");
        BAD("\"boolean\"", "boolean not 0 or 1 at byte 0", 0x02);
        OK("\"boolean\"", 0x00);
        expect("\"int\"", "", 0, "truncated varint at byte 0");
        BAD("\"int\"", "truncated varint at byte 1", 0x80);
        /* int: 5 bytes at most, the last with 4 bits */
        OK("\"int\"", 0xfe, 0xff, 0xff, 0xff, 0x0f); /* INT32_MAX */
        OK("\"int\"", 0xff, 0xff, 0xff, 0xff, 0x0f); /* INT32_MIN */
        BAD("\"int\"", "varint overflows at byte 5", 0xff, 0xff, 0xff, 0xff,
            0x1f);
        BAD("\"int\"", "varint overflows", 0x80, 0x80, 0x80, 0x80, 0x80,
            0x00);
        /* long: 10 bytes at most, the last with 1 bit */
        OK("\"long\"", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
           0x01);
        BAD("\"long\"", "varint overflows at byte 10", 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
        BAD("\"float\"", "float 4 exceeds the 3 bytes left at byte 0", 0, 0,
            0);
        BAD("\"double\"", "double 8 exceeds the 7 bytes left", 0, 0, 0, 0, 0,
            0, 0);
}

static void test_length_refusals(void **state) {
        (void)state;
        BAD("\"string\"", "negative string length -1 at byte 1", 0x01);
        BAD("\"bytes\"", "negative bytes length -2", 0x03);
        BAD("\"string\"", "string length 5 exceeds the 2 bytes left at byte 1",
            0x0a, 'a', 'b');
        /* INT64_MAX as a length */
        BAD("\"bytes\"", "bytes length 9223372036854775807 exceeds", 0xfe,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
        BAD("\"string\"", "string is not valid UTF-8 at byte 1", 0x04, 0xc3,
            0x28);
        OK("\"bytes\"", 0x04, 0xc3, 0x28); /* bytes are not text */
        OK("\"string\"", 0x00);
        BAD("{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}",
            "fixed size 3 exceeds the 2 bytes left", 'a', 'b');
}

static void test_enum_union_refusals(void **state) {
        static const char en[] =
            "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}";
        static const char un[] = "[\"null\",\"string\"]";

        (void)state;
        OK(en, 0x02);
        BAD(en, "enum index out of range at byte 0", 0x04);
        BAD(en, "enum index out of range at byte 0", 0x01);
        OK(un, 0x00);
        BAD(un, "union branch 2 of 2 out of range at byte 0", 0x04);
        BAD(un, "union branch -1 of 2 out of range", 0x01);
        BAD(un, "truncated varint at byte 1", 0x02);
}

static void test_collection_refusals(void **state) {
        static const char ai[] = "{\"type\":\"array\",\"items\":\"int\"}";
        static const char an[] = "{\"type\":\"array\",\"items\":\"null\"}";
        static const char mn[] = "{\"type\":\"map\",\"values\":\"null\"}";

        (void)state;
        OK(ai, 0x00);
        /* a negative count carries the block's byte size */
        OK(ai, 0x03, 0x04, 0x02, 0x04, 0x00);
        BAD(ai, "block size 50 exceeds the 3 bytes left", 0x03, 0x64, 0x02,
            0x04, 0x00);
        BAD(ai, "negative block size", 0x03, 0x01, 0x02, 0x04, 0x00);
        BAD(ai, "block count overflows", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x01);
        BAD(ai, "truncated varint", 0x02, 0x02); /* no end of blocks */
        /* zero-byte items may not outnumber the bytes left */
        OK(an, 0x02, 0x00);
        BAD(an, "block count 10 exceeds the 1 bytes left", 0x14, 0x00);
        BAD(an, "block count 1000000000 exceeds", 0x80, 0xa8, 0xd6, 0xb9,
            0x07, 0x00);
        OK(mn, 0x02, 0x02, 'k', 0x00);
        BAD(mn, "map key length 5 exceeds", 0x02, 0x0a, 0x00);
        BAD(mn, "negative map key length", 0x02, 0x01, 0x00);
        BAD(mn, "map key is not valid UTF-8 at byte 2", 0x02, 0x02, 0xff,
            0x00);
}

/* A recursive schema compiles (the named record is linked, not
 * re-expanded); data nesting deeper than GR_AVRO_SCAN_DEPTH is refused. */
static void test_depth(void **state) {
        static const char list[] =
            "{\"type\":\"record\",\"name\":\"N\",\"fields\":["
            "{\"name\":\"next\",\"type\":[\"null\",\"N\"]}]}";
        uint8_t buf[64];
        gr_avro_scan *s = scan_of(list);
        gr_err err;
        size_t deep = 0;

        (void)state;
        /* each level is a record and a union: two levels of nesting */
        memset(buf, 0x02, sizeof(buf));
        for (size_t n = 0; n < sizeof(buf); n++) {
                buf[n] = 0x00;
                if (gr_avro_scan_check(s, buf, n + 1, &err) != 0) {
                        assert_string_equal(err.detail,
                                            "data nested too deeply at byte "
                                            "16");
                        deep = n;
                        break;
                }
                buf[n] = 0x02;
        }
        assert_int_equal(deep, GR_AVRO_SCAN_DEPTH / 2);
        gr_avro_scan_destroy(s);
}

/* A schema nested beyond what the compiler walks is refused, not
 * recursed into without end. */
static void test_schema_too_deep(void **state) {
        char json[4096] = "", err[256] = "";
        avro_schema_t sc;
        gr_avro_scan *s;
        int depth = 70;

        (void)state;
        for (int i = 0; i < depth; i++)
                strcat(json, "{\"type\":\"array\",\"items\":");
        strcat(json, "\"null\"");
        for (int i = 0; i < depth; i++)
                strcat(json, "}");
        assert_int_equal(avro_schema_from_json_length(json, strlen(json), &sc),
                         0);
        s = gr_avro_scan_new(sc, err, sizeof(err));
        assert_null(s);
        assert_string_equal(err, "schema nested too deeply");
        avro_schema_decref(sc);
        gr_avro_scan_destroy(NULL);
}

static void test_utf8(void **state) {
        static const struct {
                const char *s;
                size_t n;
                int ok;
        } t[] = {
            {"", 0, 1},
            {"plain ascii", 11, 1},
            {"\x00", 1, 1},
            {"\xc3\xa9", 2, 1},             /* U+00E9 */
            {"\xe2\x82\xac", 3, 1},         /* U+20AC */
            {"\xef\xbf\xbf", 3, 1},         /* U+FFFF */
            {"\xf0\x9f\x98\x80", 4, 1},     /* U+1F600 */
            {"\xf4\x8f\xbf\xbf", 4, 1},     /* U+10FFFF */
            {"\xc0\x80", 2, 0},             /* overlong NUL */
            {"\xc1\xbf", 2, 0},             /* overlong */
            {"\xe0\x9f\xbf", 3, 0},         /* overlong 3-byte */
            {"\xf0\x8f\xbf\xbf", 4, 0},     /* overlong 4-byte */
            {"\xed\xa0\x80", 3, 0},         /* U+D800 surrogate */
            {"\xed\xbf\xbf", 3, 0},         /* U+DFFF surrogate */
            {"\xf4\x90\x80\x80", 4, 0},     /* U+110000 */
            {"\xf5\x80\x80\x80", 4, 0},
            {"\xff", 1, 0},
            {"\x80", 1, 0},                 /* lone continuation */
            {"\xe2\x82", 2, 0},             /* truncated */
            {"a\xf0\x9f\x98", 4, 0},        /* truncated at the end */
            {"\xc3\x28", 2, 0},             /* bad continuation */
        };

        (void)state;
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                if (gr_avro_utf8_valid(t[i].s, t[i].n) != t[i].ok)
                        fail_msg("case %zu: want %d", i, t[i].ok);
        /* the length bounds the read: a valid prefix of invalid text */
        assert_int_equal(gr_avro_utf8_valid("ab\xff", 2), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_all_types_valid),
            cmocka_unit_test(test_truncations_and_trailing),
            cmocka_unit_test(test_primitive_refusals),
            cmocka_unit_test(test_length_refusals),
            cmocka_unit_test(test_enum_union_refusals),
            cmocka_unit_test(test_collection_refusals),
            cmocka_unit_test(test_depth),
            cmocka_unit_test(test_schema_too_deep),
            cmocka_unit_test(test_utf8),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
