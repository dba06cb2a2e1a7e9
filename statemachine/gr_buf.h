/**
 * @file gr_buf.h
 * @brief Growable byte buffer and a small streaming JSON writer.
 *
 * Every output of the core (decisions, ledger rows, receipts, rejects,
 * state snapshots) is written through gr_jw so that key order and number
 * formatting are fixed by the code, not by a hash table: that is what makes
 * the bytes canonical, hashable and identical between receiptd and replay.
 * Allocation failure is sticky (`oom`) and checked once at the end.
 */
#ifndef GR_BUF_H
#define GR_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct gr_buf {
        char *data; /**< NUL-terminated while oom == 0; owned */
        size_t len;
        size_t cap;
        int oom;
} gr_buf;

void gr_buf_init(gr_buf *b);
/** Frees the storage; the struct may be re-initialised. NULL is a no-op. */
void gr_buf_free(gr_buf *b);
/** Empties the buffer, keeping its storage. */
void gr_buf_reset(gr_buf *b);
/** Slow path of making room: grows storage or sets oom. @returns 0/-1. */
int gr_buf_grow(gr_buf *b, size_t need);

/** Copies n bytes (no overlap).  Outputs are built from many pieces of a
 *  few to a few dozen bytes, whose length the compiler does not know: up to
 *  32 bytes this takes two overlapping moves of one width, where a call to
 *  memcpy would cost more than the bytes. */
static inline void gr_copy_short(void *dst, const void *src, size_t n) {
        char *d = (char *)dst;
        const char *s = (const char *)src;
        uint64_t a, b;

        if (n > 32) {
                __builtin_memcpy(d, s, n);
        } else if (n > 16) {
                uint64_t c, e;
                __builtin_memcpy(&a, s, 8);
                __builtin_memcpy(&b, s + 8, 8);
                __builtin_memcpy(&c, s + n - 16, 8);
                __builtin_memcpy(&e, s + n - 8, 8);
                __builtin_memcpy(d, &a, 8);
                __builtin_memcpy(d + 8, &b, 8);
                __builtin_memcpy(d + n - 16, &c, 8);
                __builtin_memcpy(d + n - 8, &e, 8);
        } else if (n >= 8) {
                __builtin_memcpy(&a, s, 8);
                __builtin_memcpy(&b, s + n - 8, 8);
                __builtin_memcpy(d, &a, 8);
                __builtin_memcpy(d + n - 8, &b, 8);
        } else if (n >= 4) {
                uint32_t x, y;
                __builtin_memcpy(&x, s, 4);
                __builtin_memcpy(&y, s + n - 4, 4);
                __builtin_memcpy(d, &x, 4);
                __builtin_memcpy(d + n - 4, &y, 4);
        } else if (n) {
                d[0] = s[0];
                d[n / 2] = s[n / 2];
                d[n - 1] = s[n - 1];
        }
}

/* Appends are inline: outputs are built from many small pieces. */
static inline void gr_buf_append(gr_buf *b, const void *p, size_t n) {
        if (b->len + n + 1 > b->cap && gr_buf_grow(b, n) == -1)
                return;
        gr_copy_short(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static inline void gr_buf_putc(gr_buf *b, char c) {
        if (b->len + 2 > b->cap && gr_buf_grow(b, 1) == -1)
                return;
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
}

void gr_buf_puts(gr_buf *b, const char *s);
void gr_buf_printf(gr_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/** Appends s (n bytes) as a quoted JSON string with RFC 8259 escapes. */
void gr_buf_json_str(gr_buf *b, const char *s, size_t n);

#define GR_JW_DEPTH 16

/** Streaming JSON writer over a gr_buf (borrowed). Compact output. */
typedef struct gr_jw {
        gr_buf *b;
        int depth;
        int first[GR_JW_DEPTH];
} gr_jw;

void gr_jw_init(gr_jw *w, gr_buf *b);
void gr_jw_obj_begin(gr_jw *w);
void gr_jw_obj_end(gr_jw *w);
void gr_jw_arr_begin(gr_jw *w);
void gr_jw_arr_end(gr_jw *w);

/* (internal) Room for key k and a value of at most vmax bytes; writes the
 * separator and the key.  Inline, so that a literal key is copied with its
 * length known.  @returns where the value goes, NULL when out of memory. */
static inline char *gr_jw_key_room_(gr_jw *w, const char *k, size_t kn,
                                    size_t vmax) {
        gr_buf *b = w->b;
        char *p;

        if (b->len + kn + 4 + vmax + 1 > b->cap &&
            gr_buf_grow(b, kn + 4 + vmax) == -1)
                return NULL;
        p = b->data + b->len;
        if (w->first[w->depth] == 0)
                *p++ = ',';
        *p++ = '"';
        gr_copy_short(p, k, kn);
        p += kn;
        *p++ = '"';
        *p++ = ':';
        w->first[w->depth] = 0;
        return p;
}

/* (internal) Ends a pair written in place up to p. */
static inline void gr_jw_pair_done_(gr_jw *w, char *p) {
        *p = '\0';
        w->b->len = (size_t)(p - w->b->data);
}

/** Key inside an object; the next value call writes its value.  Keys are
 *  literals of this code base, never input: no escaping.  Inline, so a
 *  literal key is copied with its length known at compile time. */
static inline void gr_jw_key_n(gr_jw *w, const char *key, size_t n) {
        char *p = gr_jw_key_room_(w, key, n, 0);

        if (!p)
                return;
        gr_jw_pair_done_(w, p);
        w->first[w->depth] = 2; /* value follows, no comma */
}

static inline void gr_jw_key(gr_jw *w, const char *key) {
        gr_jw_key_n(w, key, __builtin_strlen(key));
}
void gr_jw_str(gr_jw *w, const char *s); /**< NULL writes null */
/** String of n bytes (s not NULL; no strlen). */
void gr_jw_str_n(gr_jw *w, const char *s, size_t n);
/** String of n bytes that this code base produced and that needs no escape
 *  (an RFC 3339 time it formatted): quoted and copied, not scanned.  Never
 *  for bytes that came in: a record parsed back (a decision whose signature
 *  is checked) must render escaped, so that different values never render
 *  to the same bytes. */
void gr_jw_plain(gr_jw *w, const char *s, size_t n);
void gr_jw_int(gr_jw *w, int64_t v);
void gr_jw_num(gr_jw *w, double v); /**< %.17g, integers without ".0" */
void gr_jw_bool(gr_jw *w, int v);
void gr_jw_null(gr_jw *w);
/** RFC 3339 time from ms since epoch. */
void gr_jw_time(gr_jw *w, int64_t ms);
/** Pre-encoded JSON value, inserted verbatim. */
void gr_jw_raw(gr_jw *w, const char *json, size_t n);

/* Key and value in one step (one room check): k is a key literal of this
 * code base (kn bytes, not escaped), the value as the single calls above
 * would write it.  gr_jw_kstr_n() writes null for a NULL s.  Outputs are
 * mostly such pairs, and separate calls (key, separator, value, each
 * checking room and writing a NUL) cost more than the bytes they write. */
void gr_jw_kstr_n(gr_jw *w, const char *k, size_t kn, const char *s);
void gr_jw_kint_n(gr_jw *w, const char *k, size_t kn, int64_t v);
void gr_jw_ktime_n(gr_jw *w, const char *k, size_t kn, int64_t ms);

static inline void gr_jw_kraw_n(gr_jw *w, const char *k, size_t kn,
                                const char *json, size_t n) {
        char *p = gr_jw_key_room_(w, k, kn, n);

        if (!p)
                return;
        gr_copy_short(p, json, n);
        gr_jw_pair_done_(w, p + n);
}

/* key + value shorthands (inline, so literal keys cost no strlen) */
static inline void gr_jw_kstr(gr_jw *w, const char *k, const char *s) {
        gr_jw_kstr_n(w, k, __builtin_strlen(k), s);
}
static inline void gr_jw_kint(gr_jw *w, const char *k, int64_t v) {
        gr_jw_kint_n(w, k, __builtin_strlen(k), v);
}
static inline void gr_jw_knum(gr_jw *w, const char *k, double v) {
        gr_jw_key(w, k);
        gr_jw_num(w, v);
}
/** key + number, or null when !has (optional numeric fields). */
static inline void gr_jw_knum_opt(gr_jw *w, const char *k, int has, double v) {
        gr_jw_key(w, k);
        if (has)
                gr_jw_num(w, v);
        else
                gr_jw_null(w);
}
static inline void gr_jw_kbool(gr_jw *w, const char *k, int v) {
        gr_jw_key(w, k);
        gr_jw_bool(w, v);
}
static inline void gr_jw_ktime(gr_jw *w, const char *k, int64_t ms) {
        gr_jw_ktime_n(w, k, __builtin_strlen(k), ms);
}
/** key + pre-encoded JSON value, inserted verbatim. */
static inline void gr_jw_kraw(gr_jw *w, const char *k, const char *json,
                              size_t n) {
        gr_jw_kraw_n(w, k, __builtin_strlen(k), json, n);
}

/** "00" .. "99": the two decimal digits of v at gr_digit_pairs + 2 * v
 *  (numbers and times are written two digits per division). */
extern const char gr_digit_pairs[201];

/** Lower-case hex of n bytes into out (2n+1 bytes). @returns out. */
char *gr_hex(const uint8_t *p, size_t n, char *out);

#endif /* GR_BUF_H */
