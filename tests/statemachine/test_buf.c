/*
 * The JSON writer's string escape (statemachine/gr_buf.h) against a plain
 * byte-at-a-time reference: every byte value at every position of strings
 * of every length around the 8- and 16-byte scan steps, and random strings;
 * gr_hex and gr_jw_int against printf; gr_jw_plain and gr_jw_time in
 * place; gr_copy_short at every length around its move widths; the
 * one-step key and value pairs against a key and a value written apart;
 * gr_time_format_n against gr_time_format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_buf.h"
#include "gr_event.h"

/* RFC 8259 escapes as docs/SPEC.md's canonical JSON writes them. */
static void ref_escape(const unsigned char *s, size_t n, gr_buf *out) {
        char u[8];
        gr_buf_putc(out, '"');
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];
                switch (c) {
                case '"': gr_buf_append(out, "\\\"", 2); break;
                case '\\': gr_buf_append(out, "\\\\", 2); break;
                case '\n': gr_buf_append(out, "\\n", 2); break;
                case '\r': gr_buf_append(out, "\\r", 2); break;
                case '\t': gr_buf_append(out, "\\t", 2); break;
                case '\b': gr_buf_append(out, "\\b", 2); break;
                case '\f': gr_buf_append(out, "\\f", 2); break;
                default:
                        if (c < 0x20) {
                                snprintf(u, sizeof(u), "\\u%04x", c);
                                gr_buf_append(out, u, 6);
                        } else {
                                gr_buf_putc(out, (char)c);
                        }
                }
        }
        gr_buf_putc(out, '"');
}

static void check(const unsigned char *s, size_t n, gr_buf *a, gr_buf *b) {
        gr_buf_reset(a);
        gr_buf_reset(b);
        gr_buf_json_str(a, (const char *)s, n);
        ref_escape(s, n, b);
        assert_false(a->oom);
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->data, b->data, a->len);
        assert_int_equal(a->data[a->len], '\0');
}

static void test_every_byte_every_position(void **state) {
        unsigned char s[40];
        gr_buf a, b;
        (void)state;

        gr_buf_init(&a);
        gr_buf_init(&b);
        for (size_t n = 0; n <= sizeof(s); n++)
                for (size_t pos = 0; pos < n; pos++)
                        for (int c = 0; c < 256; c++) {
                                memset(s, 'a', n);
                                s[pos] = (unsigned char)c;
                                check(s, n, &a, &b);
                        }
        gr_buf_free(&a);
        gr_buf_free(&b);
}

static void test_random_strings(void **state) {
        unsigned char s[300];
        gr_buf a, b;
        unsigned seed = 12345;
        (void)state;

        gr_buf_init(&a);
        gr_buf_init(&b);
        for (int k = 0; k < 20000; k++) {
                size_t n = (size_t)(k % 300);
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        /* mostly printable, some of everything */
                        unsigned r = (seed >> 16) & 0xff;
                        s[i] = (unsigned char)(r < 200 ? 'a' + r % 26 : r);
                }
                check(s, n, &a, &b);
        }
        gr_buf_free(&a);
        gr_buf_free(&b);
}

static void test_hex(void **state) {
        uint8_t p[256];
        char out[513], want[513];
        (void)state;

        for (int i = 0; i < 256; i++) {
                p[i] = (uint8_t)i;
                snprintf(want + 2 * i, 3, "%02x", i);
        }
        assert_ptr_equal(gr_hex(p, sizeof(p), out), out);
        assert_string_equal(out, want);
        assert_string_equal(gr_hex(p, 0, out), "");
        /* every length and offset around the 16-byte steps */
        for (size_t off = 0; off < 17; off++)
                for (size_t n = 0; n + off <= sizeof(p) && n < 50; n++) {
                        gr_hex(p + off, n, out);
                        assert_int_equal(strlen(out), 2 * n);
                        assert_memory_equal(out, want + 2 * off, 2 * n);
                }
}

/* gr_jw_plain quotes and copies; gr_jw_time writes the RFC 3339 form;
 * both separate values like every other writer, and keep the NUL. */
static void test_plain_and_time(void **state) {
        gr_buf b;
        gr_jw w;
        (void)state;

        gr_buf_init(&b);
        gr_jw_init(&w, &b);
        gr_jw_obj_begin(&w);
        gr_jw_key(&w, "a");
        gr_jw_plain(&w, "abc", 3);
        gr_jw_key(&w, "t");
        gr_jw_time(&w, 1779696693000); /* 2026-05-25T08:11:33Z */
        gr_jw_key(&w, "l");
        gr_jw_arr_begin(&w);
        gr_jw_plain(&w, "", 0);
        gr_jw_plain(&w, "xy", 1);
        gr_jw_arr_end(&w);
        gr_jw_obj_end(&w);
        assert_false(b.oom);
        assert_string_equal(b.data, "{\"a\":\"abc\",\"t\":"
                                    "\"2026-05-25T08:11:33Z\",\"l\":[\"\","
                                    "\"x\"]}");
        assert_int_equal(b.len, strlen(b.data));
        gr_buf_free(&b);
}

/* gr_jw_int against printf: the ends of int64, every power of ten and its
 * neighbours, both signs; gr_jw_num's integral doubles the same way. */
static void test_int(void **state) {
        int64_t vals[200];
        size_t nv = 0;
        gr_buf b;
        (void)state;

        vals[nv++] = INT64_MIN;
        vals[nv++] = INT64_MAX;
        vals[nv++] = INT64_MIN + 1;
        vals[nv++] = 0;
        for (int64_t p = 1; nv + 6 <= sizeof(vals) / sizeof(vals[0]); p *= 10) {
                vals[nv++] = p;
                vals[nv++] = p - 1;
                vals[nv++] = p + 1;
                vals[nv++] = -p;
                vals[nv++] = -(p - 1);
                vals[nv++] = -(p + 1);
                if (p > INT64_MAX / 10)
                        break;
        }
        gr_buf_init(&b);
        for (size_t i = 0; i < nv; i++) {
                char want[32];
                gr_jw w;
                gr_buf_reset(&b);
                gr_jw_init(&w, &b);
                gr_jw_int(&w, vals[i]);
                snprintf(want, sizeof(want), "%lld", (long long)vals[i]);
                assert_string_equal(b.data, want);
                if (vals[i] > -9000000000000000 && vals[i] < 9000000000000000) {
                        gr_buf_reset(&b);
                        gr_jw_init(&w, &b);
                        gr_jw_num(&w, (double)vals[i]);
                        assert_string_equal(b.data, want);
                }
        }
        gr_buf_free(&b);
}

/* Every length 0..80 at every source and destination offset 0..7: the
 * bytes copied exactly, nothing written before or after them. */
static void test_copy_short(void **state) {
        unsigned char src[96], dst[112];
        (void)state;

        for (size_t i = 0; i < sizeof(src); i++)
                src[i] = (unsigned char)(i * 7 + 1);
        for (size_t n = 0; n <= 80; n++)
                for (size_t so = 0; so < 8; so++)
                        for (size_t d0 = 0; d0 < 8; d0++) {
                                memset(dst, 0xee, sizeof(dst));
                                gr_copy_short(dst + 8 + d0, src + so, n);
                                for (size_t i = 0; i < 8 + d0; i++)
                                        assert_int_equal(dst[i], 0xee);
                                assert_memory_equal(dst + 8 + d0, src + so,
                                                    n);
                                for (size_t i = 8 + d0 + n; i < sizeof(dst);
                                     i++)
                                        assert_int_equal(dst[i], 0xee);
                        }
}

/* The same object written twice, each pair through its one-step function
 * and then as a key and a value apart, from an empty buffer (so both grow
 * as they go): the bytes must be the same. */
static void test_pairs(void **state) {
        static const int64_t ints[] = {0, -1, 7, INT64_MIN, INT64_MAX};
        static const int64_t times[] = {0, 1779696693000, 1779696693007,
                                        -1, GR_TIME_MIN_MS, GR_TIME_MAX_MS};
        static const char *const strs[] = {
            NULL, "", "plain", "a \"quoted\" one", "tab\there",
            "a string longer than thirty-two bytes, so copied whole",
            "\x01\x1f", "caf\xc3\xa9"};
        gr_buf a, b;
        gr_jw wa, wb;
        (void)state;

        gr_buf_init(&a);
        gr_buf_init(&b);
        gr_jw_init(&wa, &a);
        gr_jw_init(&wb, &b);
        gr_jw_obj_begin(&wa);
        gr_jw_obj_begin(&wb);
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
                gr_jw_kstr(&wa, "s", strs[i]);
                gr_jw_key(&wb, "s");
                gr_jw_str(&wb, strs[i]);
        }
        gr_jw_key(&wa, "o");
        gr_jw_key(&wb, "o");
        gr_jw_obj_begin(&wa); /* a pair first in its object: no comma */
        gr_jw_obj_begin(&wb);
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
                gr_jw_kint(&wa, "i", ints[i]);
                gr_jw_key(&wb, "i");
                gr_jw_int(&wb, ints[i]);
        }
        gr_jw_obj_end(&wa);
        gr_jw_obj_end(&wb);
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
                gr_jw_ktime(&wa, "a_longer_key_for_the_time", times[i]);
                gr_jw_key(&wb, "a_longer_key_for_the_time");
                gr_jw_time(&wb, times[i]);
        }
        gr_jw_kraw(&wa, "r", "\"name\"", 6);
        gr_jw_key(&wb, "r");
        gr_jw_raw(&wb, "\"name\"", 6);
        gr_jw_obj_end(&wa);
        gr_jw_obj_end(&wb);
        assert_false(a.oom);
        assert_false(b.oom);
        assert_string_equal(a.data, b.data);
        assert_int_equal(a.len, b.len);
        assert_int_equal(a.len, strlen(a.data));
        gr_buf_free(&a);
        gr_buf_free(&b);
}

/* gr_time_format_n against gr_time_format, and its length: both ends of
 * the range, with and without milliseconds, and instants whose year is
 * outside 0000..9999 (written whole, not truncated). */
static void test_time_format_n(void **state) {
        static const int64_t ms[] = {
            0,          1,           999,          1000,
            -1,         -1000,       -1001,        1779696693000,
            1779696693120, 951782400000 /* 2000-02-29 */,
            GR_TIME_MIN_MS, GR_TIME_MAX_MS, GR_TIME_MAX_MS + 1,
            GR_TIME_MIN_MS - 1, INT64_MAX / 2, INT64_MIN / 2};
        (void)state;

        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
                char a[GR_TIME_TEXT_MAX], b[64];
                size_t n = gr_time_format_n(ms[i], a);
                gr_time_format(ms[i], b, sizeof(b));
                assert_string_equal(a, b);
                assert_int_equal(n, strlen(a));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_byte_every_position),
            cmocka_unit_test(test_random_strings),
            cmocka_unit_test(test_hex),
            cmocka_unit_test(test_plain_and_time),
            cmocka_unit_test(test_int),
            cmocka_unit_test(test_copy_short),
            cmocka_unit_test(test_pairs),
            cmocka_unit_test(test_time_format_n),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
