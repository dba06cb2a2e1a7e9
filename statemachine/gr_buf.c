#include "gr_buf.h"
#include "gr_event.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

void gr_buf_init(gr_buf *b) {
        memset(b, 0, sizeof(*b));
}

void gr_buf_free(gr_buf *b) {
        if (!b)
                return;
        free(b->data);
        memset(b, 0, sizeof(*b));
}

void gr_buf_reset(gr_buf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

/* Slow path of making room for `need` more bytes plus the NUL. */
int gr_buf_grow(gr_buf *b, size_t need) {
        size_t cap;
        char *p;

        if (b->oom)
                return -1;
        cap = b->cap ? b->cap : 256;
        while (cap < b->len + need + 1) {
                if (cap > SIZE_MAX / 2) {
                        b->oom = 1;
                        return -1;
                }
                cap *= 2;
        }
        if (!(p = realloc(b->data, cap))) {
                b->oom = 1;
                return -1;
        }
        b->data = p;
        b->cap = cap;
        return 0;
}

static inline int grow(gr_buf *b, size_t need) {
        if (b->len + need + 1 <= b->cap)
                return 0;
        return gr_buf_grow(b, need);
}

void gr_buf_puts(gr_buf *b, const char *s) {
        gr_buf_append(b, s, strlen(s));
}


void gr_buf_printf(gr_buf *b, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || grow(b, (size_t)n) == -1)
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

/* 1 for bytes that JSON strings must escape. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, ['\\'] = 1,
};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero when some byte of x is below 0x20, '"' or '\\'.  A byte b is
 * below k (k <= 0x80) exactly when (b - k) borrows into its high bit while
 * b's own high bit is clear; equality is "below 1" of b ^ c. */
static inline uint64_t word_needs_escape(uint64_t x) {
        uint64_t q = x ^ (ONES * '"'), bs = x ^ (ONES * '\\');
        return ((x - ONES * 0x20) | (q - ONES) | (bs - ONES)) & ~x & HIGHS;
}

/* The escape of byte c (needs_escape[c] set) into u; @returns its length. */
static size_t escape_of(unsigned char c, char u[6]) {
        static const char hex[] = "0123456789abcdef";
        u[0] = '\\';
        switch (c) {
        case '"': u[1] = '"'; return 2;
        case '\\': u[1] = '\\'; return 2;
        case '\n': u[1] = 'n'; return 2;
        case '\r': u[1] = 'r'; return 2;
        case '\t': u[1] = 't'; return 2;
        case '\b': u[1] = 'b'; return 2;
        case '\f': u[1] = 'f'; return 2;
        default:
                u[1] = 'u', u[2] = '0', u[3] = '0';
                u[4] = hex[c >> 4], u[5] = hex[c & 15];
                return 6;
        }
}

/* s[0..n) in quotes, copied as it is, in one step. */
static inline void put_quoted(gr_buf *b, const char *s, size_t n) {
        char *p;

        if (grow(b, n + 2) == -1)
                return;
        p = b->data + b->len;
        p[0] = '"';
        gr_copy_short(p + 1, s, n);
        p[n + 1] = '"';
        p[n + 2] = '\0';
        b->len += n + 2;
}

/* The length of s's longest prefix that needs no escape (n when none of
 * s does).  Most strings need none: the scan tests 16 (SSE2) or 8 bytes at
 * a time for a control byte, '"' or '\\' (bit tricks on a 64-bit word),
 * then finds which one. */
static inline size_t plain_prefix(const char *s, size_t n) {
        size_t i = 0;

#ifdef __SSE2__
        {
                const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
                              ctl = _mm_set1_epi8(0x1f);
                for (; i + 16 <= n; i += 16) {
                        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
                        __m128i m = _mm_or_si128(
                            _mm_or_si128(_mm_cmpeq_epi8(x, q),
                                         _mm_cmpeq_epi8(x, bs)),
                            _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
                        if (_mm_movemask_epi8(m))
                                break;
                }
        }
#endif
        while (i + 8 <= n) {
                uint64_t x;
                memcpy(&x, s + i, 8);
                if (word_needs_escape(x))
                        break;
                i += 8;
        }
        while (i < n && !needs_escape[(unsigned char)s[i]])
                i++;
        return i;
}

void gr_buf_json_str(gr_buf *b, const char *s, size_t n) {
        size_t i = plain_prefix(s, n), start;

        if (i == n) { /* nothing to escape */
                put_quoted(b, s, n);
                return;
        }
        if (grow(b, n + 2) == -1)
                return;
        b->data[b->len++] = '"';
        memcpy(b->data + b->len, s, i);
        b->len += i;
        start = i;
        for (; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                char u[6];

                if (!needs_escape[c])
                        continue;
                gr_buf_append(b, s + start, i - start);
                start = i + 1;
                gr_buf_append(b, u, escape_of(c, u));
        }
        gr_buf_append(b, s + start, n - start);
        gr_buf_putc(b, '"');
}

void gr_jw_init(gr_jw *w, gr_buf *b) {
        w->b = b;
        w->depth = 0;
        w->first[0] = 1;
}

/* Comma before every value except the first in its container; state 2
 * means a key was just written, so its value takes no comma. */
static void sep(gr_jw *w) {
        if (w->first[w->depth] == 0)
                gr_buf_putc(w->b, ',');
        w->first[w->depth] = 0;
}

static void open_(gr_jw *w, char c) {
        sep(w);
        gr_buf_putc(w->b, c);
        if (w->depth + 1 < GR_JW_DEPTH)
                w->depth++;
        w->first[w->depth] = 1;
}

static void close_(gr_jw *w, char c) {
        gr_buf_putc(w->b, c);
        if (w->depth > 0)
                w->depth--;
}

void gr_jw_obj_begin(gr_jw *w) { open_(w, '{'); }
void gr_jw_obj_end(gr_jw *w) { close_(w, '}'); }
void gr_jw_arr_begin(gr_jw *w) { open_(w, '['); }
void gr_jw_arr_end(gr_jw *w) { close_(w, ']'); }

void gr_jw_str(gr_jw *w, const char *s) {
        sep(w);
        if (s)
                gr_buf_json_str(w->b, s, strlen(s));
        else
                gr_buf_append(w->b, "null", 4);
}

void gr_jw_str_n(gr_jw *w, const char *s, size_t n) {
        sep(w);
        gr_buf_json_str(w->b, s, n);
}

void gr_jw_plain(gr_jw *w, const char *s, size_t n) {
        sep(w);
        put_quoted(w->b, s, n);
}

#define D10(x) #x "0" #x "1" #x "2" #x "3" #x "4" #x "5" #x "6" #x "7" #x "8" #x "9"
const char gr_digit_pairs[201] = D10(0) D10(1) D10(2) D10(3) D10(4)
    D10(5) D10(6) D10(7) D10(8) D10(9);
#undef D10

/* Decimal without printf: this runs several times per event.  Counts the
 * digits, then writes them from the end, two per division. */
static size_t fmt_i64(char *out, int64_t v) {
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, t;
        size_t n = 1, k = 0;
        char *p;

        if (v < 0)
                out[k++] = '-';
        for (t = u; t >= 10; t /= 10)
                n++;
        p = out + k + n;
        while (u >= 100) {
                p -= 2;
                memcpy(p, gr_digit_pairs + 2 * (u % 100), 2);
                u /= 100;
        }
        if (u >= 10)
                memcpy(p - 2, gr_digit_pairs + 2 * u, 2);
        else
                p[-1] = (char)('0' + u);
        return k + n;
}

/* The digits of v at the end of the buffer, formatted in place. */
static void put_i64(gr_buf *b, int64_t v) {
        if (grow(b, 20) == -1)
                return;
        b->len += fmt_i64(b->data + b->len, v);
        b->data[b->len] = '\0';
}

void gr_jw_int(gr_jw *w, int64_t v) {
        sep(w);
        put_i64(w->b, v);
}

void gr_jw_num(gr_jw *w, double v) {
        sep(w);
        if (!isfinite(v))
                gr_buf_puts(w->b, "null");
        else if (v == floor(v) && fabs(v) < 9.0e15)
                put_i64(w->b, (int64_t)v);
        else
                gr_buf_printf(w->b, "%.17g", v);
}

void gr_jw_bool(gr_jw *w, int v) {
        sep(w);
        if (v)
                gr_buf_append(w->b, "true", 4);
        else
                gr_buf_append(w->b, "false", 5);
}

void gr_jw_null(gr_jw *w) {
        sep(w);
        gr_buf_append(w->b, "null", 4);
}

void gr_jw_time(gr_jw *w, int64_t ms) {
        char t[GR_TIME_TEXT_MAX];
        gr_jw_plain(w, t, gr_time_format_n(ms, t));
}

void gr_jw_raw(gr_jw *w, const char *json, size_t n) {
        sep(w);
        gr_buf_append(w->b, json, n);
}

/* Key and value pairs (gr_buf.h): the key through gr_jw_key_room_(). */

void gr_jw_kstr_n(gr_jw *w, const char *k, size_t kn, const char *s) {
        size_t n;
        char *p;

        if (!s) {
                gr_jw_kraw_n(w, k, kn, "null", 4);
                return;
        }
        n = strlen(s);
        if (plain_prefix(s, n) < n) { /* escapes: the general path */
                gr_jw_key_n(w, k, kn);
                gr_jw_str_n(w, s, n);
                return;
        }
        if (!(p = gr_jw_key_room_(w, k, kn, n + 2)))
                return;
        *p++ = '"';
        gr_copy_short(p, s, n);
        p += n;
        *p++ = '"';
        gr_jw_pair_done_(w, p);
}

void gr_jw_kint_n(gr_jw *w, const char *k, size_t kn, int64_t v) {
        char *p = gr_jw_key_room_(w, k, kn, 20);

        if (p)
                gr_jw_pair_done_(w, p + fmt_i64(p, v));
}

void gr_jw_ktime_n(gr_jw *w, const char *k, size_t kn, int64_t ms) {
        char *p = gr_jw_key_room_(w, k, kn, GR_TIME_TEXT_MAX + 1);
        size_t n;

        if (!p)
                return;
        *p++ = '"';
        n = gr_time_format_n(ms, p);
        p[n] = '"';
        gr_jw_pair_done_(w, p + n + 1);
}

/* The two hex digits of every byte value: one copy per byte. */
#define H4(x) #x "0" #x "1" #x "2" #x "3" #x "4" #x "5" #x "6" #x "7" \
              #x "8" #x "9" #x "a" #x "b" #x "c" #x "d" #x "e" #x "f"
static const char hex_pairs[513] = H4(0) H4(1) H4(2) H4(3) H4(4) H4(5) H4(6)
    H4(7) H4(8) H4(9) H4(a) H4(b) H4(c) H4(d) H4(e) H4(f);
#undef H4

char *gr_hex(const uint8_t *p, size_t n, char *out) {
        size_t i = 0;

#ifdef __SSE2__
        /* 16 bytes at a time (digests are 32): each nibble to its digit,
         * '0'..'9' or 'a'..'f', then high and low digits interleaved. */
        {
                const __m128i low4 = _mm_set1_epi8(0x0f),
                              nine = _mm_set1_epi8(9),
                              zero = _mm_set1_epi8('0'),
                              gap = _mm_set1_epi8('a' - '0' - 10);
                for (; i + 16 <= n; i += 16) {
                        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
                        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
                        __m128i lo = _mm_and_si128(v, low4);
                        hi = _mm_add_epi8(
                            _mm_add_epi8(hi, zero),
                            _mm_and_si128(_mm_cmpgt_epi8(hi, nine), gap));
                        lo = _mm_add_epi8(
                            _mm_add_epi8(lo, zero),
                            _mm_and_si128(_mm_cmpgt_epi8(lo, nine), gap));
                        _mm_storeu_si128((__m128i *)(void *)(out + 2 * i),
                                         _mm_unpacklo_epi8(hi, lo));
                        _mm_storeu_si128((__m128i *)(void *)(out + 2 * i + 16),
                                         _mm_unpackhi_epi8(hi, lo));
                }
        }
#endif
        for (; i < n; i++)
                memcpy(out + 2 * i, hex_pairs + 2 * p[i], 2);
        out[2 * n] = '\0';
        return out;
}
