/* JSON <-> gr_event: callbacks fill the event in place, no tree.  yajl
 * drives them, or for plain events the scanner below (the plain path). */
#include "gr_json_event.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* What a level of nesting is: one of the envelope's objects (a
 * gr_parent_t) or something we only walk through (unknown key, array). */
#define CTX_SKIP ((int8_t)-1)

/* What the last key of a known object names: a field id (>= 0), nothing
 * we know, or one of the nested envelope objects (KEY_CHILD(parent)). */
#define KEY_UNKNOWN (-1)
#define KEY_CHILD_BASE (-100)
#define KEY_CHILD(p) (KEY_CHILD_BASE - (int)(p))
#define KEY_IS_CHILD(k) ((k) <= KEY_CHILD_BASE)
#define KEY_CHILD_PARENT(k) ((gr_parent_t)(KEY_CHILD_BASE - (k)))

/* Callback verdict for a scalar value that goes nowhere. */
#define VAL_IGNORE (-1)

/* (parent, key) -> key code, open addressing.  Built once per decoder from
 * gr_event_fields[], so it answers exactly what gr_event_field_find()
 * answers, in a few nanoseconds instead of a linear scan. */
#define KEYTAB_SIZE 256 /* power of two, > 4x the number of keys */

typedef struct keyslot {
        const char *key; /* borrowed static string; NULL = empty slot */
        uint8_t len;
        int8_t parent;
        int16_t code;
} keyslot;

/* yajl 2 has no way to reset a handle, so each event gets a new one.  Its
 * few small blocks come from this arena, emptied per event, instead of
 * malloc; a block that does not fit (a long escaped string) falls back to
 * malloc and is freed by yajl as usual. */
#define ARENA_SIZE 8192
#define ARENA_ALIGN 16

typedef struct arena_hdr {
        size_t size;
        size_t pad_; /* keeps the block ARENA_ALIGN-aligned */
} arena_hdr;

struct gr_json_decoder {
        yajl_callbacks cb;
        yajl_alloc_funcs afs;
        keyslot keys[KEYTAB_SIZE];
        size_t arena_used;
        _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];

        int plain_off;                  /* gr_json_decoder_plain(d, 0) */
        unsigned long plain_done, plain_given_up; /* gr_json_decoder_counts */

        /* per decode */
        gr_event *ev;
        gr_err *err;
        int failed; /* err holds a value error; keep walking for ids */
        int depth;  /* 0 = outside the envelope */
        int key;    /* code of the last key in a known object */
        int8_t ctx[GR_JSON_DEPTH_MAX + 1];
};

/* Keys are short and mostly differ in length and their ends; the probe
 * compares them in full, so the hash only needs to spread them. */
static uint32_t key_hash(int parent, const char *s, size_t n) {
        return (uint32_t)n * 131u + (unsigned char)s[0] * 31u +
               (unsigned char)s[n - 1] * 7u + (uint32_t)parent * 61u +
               (n > 2 ? (unsigned char)s[n / 2] * 17u : 0u);
}

static void keytab_add(gr_json_decoder *d, gr_parent_t parent,
                       const char *key, int code) {
        size_t n = strlen(key);
        uint32_t i = key_hash((int)parent, key, n) & (KEYTAB_SIZE - 1);

        while (d->keys[i].key)
                i = (i + 1) & (KEYTAB_SIZE - 1);
        d->keys[i].key = key;
        d->keys[i].len = (uint8_t)n;
        d->keys[i].parent = (int8_t)parent;
        d->keys[i].code = (int16_t)code;
}

/* Keys are a few bytes long: a loop beats a call to memcmp. */
static inline int same_bytes(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i] != b[i])
                        return 0;
        return 1;
}

static int keytab_find(const gr_json_decoder *d, gr_parent_t parent,
                       const char *key, size_t n) {
        uint32_t i;

        if (n == 0 || n > UINT8_MAX)
                return KEY_UNKNOWN;
        i = key_hash((int)parent, key, n) & (KEYTAB_SIZE - 1);
        for (; d->keys[i].key; i = (i + 1) & (KEYTAB_SIZE - 1)) {
                const keyslot *s = &d->keys[i];
                if (s->len == n && s->parent == (int8_t)parent &&
                    same_bytes(s->key, key, n))
                        return s->code;
        }
        return KEY_UNKNOWN;
}

static int in_arena(const gr_json_decoder *d, const void *p) {
        uintptr_t a = (uintptr_t)d->arena, q = (uintptr_t)p;
        return q >= a && q < a + ARENA_SIZE;
}

static void *arena_malloc(void *ctx, size_t size) {
        gr_json_decoder *d = ctx;
        size_t need = (sizeof(arena_hdr) + size + ARENA_ALIGN - 1) &
                      ~(size_t)(ARENA_ALIGN - 1);
        arena_hdr *h;

        if (size > ARENA_SIZE || need > ARENA_SIZE - d->arena_used)
                return malloc(size);
        h = (arena_hdr *)(void *)(d->arena + d->arena_used);
        h->size = size;
        d->arena_used += need;
        return h + 1;
}

static void arena_free(void *ctx, void *p) {
        if (p && !in_arena(ctx, p))
                free(p);
}

static void *arena_realloc(void *ctx, void *p, size_t size) {
        const arena_hdr *h;
        void *n;

        if (!p)
                return arena_malloc(ctx, size);
        if (!in_arena(ctx, p))
                return realloc(p, size);
        h = (const arena_hdr *)p - 1;
        if (size <= h->size)
                return p;
        if ((n = arena_malloc(ctx, size)))
                memcpy(n, p, h->size);
        return n;
}

/* The envelope's nesting: which parent each nested object hangs from. */
static gr_parent_t parent_of(gr_parent_t p) {
        switch (p) {
        case GR_P_TOP:
        case GR_P_ACTOR:
        case GR_P_BODY:
                return GR_P_TOP;
        case GR_P_PRICE:
        case GR_P_RESOURCES:
                return GR_P_BODY;
        case GR_P__CNT:
                break;
        }
        return GR_P_TOP;
}

/* ---- decoding ---------------------------------------------------------- */

/* Record the first value error; later ones add nothing to the reject. */
static int fail(gr_json_decoder *d) {
        d->failed = 1;
        return 1;
}

static const char *field_path(int f, char *buf, size_t size) {
        const gr_field_desc *fd = &gr_event_fields[f];
        if (fd->parent == GR_P_TOP)
                return fd->key;
        if (fd->parent == GR_P_PRICE || fd->parent == GR_P_RESOURCES)
                snprintf(buf, size, "body.%s.%s", gr_parent_name(fd->parent),
                         fd->key);
        else
                snprintf(buf, size, "%s.%s", gr_parent_name(fd->parent),
                         fd->key);
        return buf;
}

/* A container where the current key wants something else.  Sets err
 * (first error only) and returns 1 so the walk goes on for the ids. */
static int container_misplaced(gr_json_decoder *d, const char *what) {
        char path[96];

        if (d->failed)
                return 1;
        if (KEY_IS_CHILD(d->key))
                gr_err_set(d->err, GR_REJ_SCHEMA, "%s must be an object",
                           gr_parent_name(KEY_CHILD_PARENT(d->key)));
        else
                gr_err_set(d->err, GR_REJ_SCHEMA, "%s must not be %s",
                           field_path(d->key, path, sizeof(path)), what);
        return fail(d);
}

/*
 * Where does the scalar now being parsed go?  Returns a field id, or
 * VAL_IGNORE (unknown key, inside something skipped, a value outside the
 * envelope (err set), or after an error when the field is not one of the
 * ids).
 */
static int value_field(gr_json_decoder *d) {
        if (d->depth == 0) {
                /* A value error like any other: the walk goes on, so that
                 * trailing garbage is still `invalid_json`. */
                gr_err_set(d->err, GR_REJ_SCHEMA,
                           "event must be a JSON object");
                fail(d);
                return VAL_IGNORE;
        }
        if (d->ctx[d->depth] == CTX_SKIP || d->key == KEY_UNKNOWN)
                return VAL_IGNORE;
        if (KEY_IS_CHILD(d->key)) {
                container_misplaced(d, "");
                return VAL_IGNORE;
        }
        if (d->failed && d->key != GR_F_event_id && d->key != GR_F_job_id)
                return VAL_IGNORE;
        return d->key;
}

/* A setter's verdict: after the first error, later failures (of the ids,
 * collected only to name the reject) must not overwrite it. */
static gr_err *value_err(gr_json_decoder *d, gr_err *scratch) {
        return d->failed ? scratch : d->err;
}

static int on_null(void *ctx) {
        gr_json_decoder *d = ctx;
        gr_err scratch;
        int f = value_field(d);

        if (f < 0)
                return 1;
        if (gr_event_set_null(d->ev, (gr_field_t)f, value_err(d, &scratch)))
                return fail(d);
        return 1;
}

static int on_boolean(void *ctx, int v) {
        gr_json_decoder *d = ctx;
        gr_err scratch;
        int f = value_field(d);

        if (f < 0)
                return 1;
        if (gr_event_set_bool(d->ev, (gr_field_t)f, v, value_err(d, &scratch)))
                return fail(d);
        return 1;
}

/* Exact int64 from a JSON integer literal (-?digits); -1 on overflow. */
static int parse_int64(const char *s, size_t n, int64_t *out) {
        int neg = 0;
        uint64_t v = 0, lim;
        size_t i = 0;

        if (n && s[0] == '-')
                neg = 1, i = 1;
        lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; i < n; i++) {
                unsigned dig = (unsigned)(s[i] - '0');
                if (v > (lim - dig) / 10)
                        return -1;
                v = v * 10 + dig;
        }
        if (neg)
                *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                    : -(int64_t)v;
        else
                *out = (int64_t)v;
        return 0;
}

/* yajl hands us the raw text of every number (yajl_number), already
 * checked against the JSON grammar. */
static int on_number(void *ctx, const char *s, size_t n) {
        gr_json_decoder *d = ctx;
        gr_err scratch, *err = value_err(d, &scratch);
        int f = value_field(d);
        const gr_field_desc *fd;
        char path[96], tmp[GR_JSON_NUM_MAX + 1];
        int64_t iv;
        double dv;
        char *end;

        if (f < 0)
                return 1;
        fd = &gr_event_fields[f];
        if (fd->kind == GR_FK_TIME) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "%s must be an RFC 3339 time string",
                           field_path(f, path, sizeof(path)));
                return fail(d);
        }
        if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
                if (parse_int64(s, n, &iv) == 0) {
                        if (gr_event_set_int(d->ev, (gr_field_t)f, iv, err))
                                return fail(d);
                        return 1;
                }
                if (fd->kind != GR_FK_NUM) {
                        gr_err_set(err, GR_REJ_SCHEMA,
                                   "%s: integer out of range (%zu digits)",
                                   field_path(f, path, sizeof(path)), n);
                        return fail(d);
                }
        }
        if (n > GR_JSON_NUM_MAX) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "%s: number literal of %zu characters, limit %d",
                           field_path(f, path, sizeof(path)), n,
                           GR_JSON_NUM_MAX);
                return fail(d);
        }
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        dv = strtod(tmp, &end);
        /* Overflow gives ±HUGE_VAL, which the setter rejects as not finite;
         * underflow to zero is a fine reading of 1e-400. */
        if (gr_event_set_num(d->ev, (gr_field_t)f, dv, err))
                return fail(d);
        return 1;
}

/* RFC 3339 writes four-digit years; gr_time_parse() accepts an offset that
 * moves the instant out of 0000..9999 UTC, which could not be written back
 * (decode(encode(ev)) would fail), so JSON refuses it here. */
#define TIME_MIN_MS INT64_C(-62167219200000) /* 0000-01-01T00:00:00Z */
#define TIME_MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static int on_string(void *ctx, const unsigned char *s, size_t n) {
        gr_json_decoder *d = ctx;
        gr_err scratch, *err = value_err(d, &scratch);
        int f = value_field(d);
        char path[96];
        int64_t t;

        if (f < 0)
                return 1;
        if (gr_event_set_str(d->ev, (gr_field_t)f, (const char *)s, n, err))
                return fail(d);
        if (gr_event_fields[f].kind == GR_FK_TIME) {
                memcpy(&t, (const char *)d->ev + gr_event_fields[f].offset,
                       sizeof(t));
                if (t < TIME_MIN_MS || t > TIME_MAX_MS) {
                        gr_err_set(err, GR_REJ_SCHEMA,
                                   "%s is outside years 0000-9999 in UTC",
                                   field_path(f, path, sizeof(path)));
                        return fail(d);
                }
        }
        return 1;
}

static int push(gr_json_decoder *d, int8_t ctx) {
        if (d->depth >= GR_JSON_DEPTH_MAX) {
                /* Stop at once: walking on would let hostile input pay for
                 * an unbounded parser stack. */
                gr_err_set(d->err, GR_REJ_SCHEMA,
                           "nesting deeper than %d levels", GR_JSON_DEPTH_MAX);
                return 0;
        }
        d->ctx[++d->depth] = ctx;
        d->key = KEY_UNKNOWN;
        return 1;
}

static int on_start_map(void *ctx) {
        gr_json_decoder *d = ctx;

        if (d->depth == 0)
                return push(d, GR_P_TOP);
        if (d->ctx[d->depth] == CTX_SKIP || d->key == KEY_UNKNOWN)
                return push(d, CTX_SKIP);
        if (KEY_IS_CHILD(d->key))
                return push(d, (int8_t)KEY_CHILD_PARENT(d->key));
        container_misplaced(d, "an object");
        return push(d, CTX_SKIP);
}

static int on_start_array(void *ctx) {
        gr_json_decoder *d = ctx;

        if (d->depth == 0) {
                gr_err_set(d->err, GR_REJ_SCHEMA,
                           "event must be a JSON object, not an array");
                fail(d);
                return push(d, CTX_SKIP); /* checked to its end */
        }
        if (d->ctx[d->depth] != CTX_SKIP && d->key != KEY_UNKNOWN)
                container_misplaced(d, "an array");
        return push(d, CTX_SKIP);
}

static int on_end(void *ctx) {
        gr_json_decoder *d = ctx;

        d->depth--;
        d->key = KEY_UNKNOWN;
        return 1;
}

static int on_map_key(void *ctx, const unsigned char *key, size_t n) {
        gr_json_decoder *d = ctx;
        int8_t c = d->ctx[d->depth];

        d->key = c == CTX_SKIP ? KEY_UNKNOWN
                               : keytab_find(d, (gr_parent_t)c,
                                             (const char *)key, n);
        return 1;
}

/* ---- the plain path ----------------------------------------------------
 *
 * Most events are plain JSON: ASCII strings without escapes, numbers,
 * literals, a few nested objects.  For those a scanner of its own walks the
 * bytes once and calls the callbacks above exactly as yajl would (same
 * order, same arguments: a string's or key's bytes, a number's text), which
 * costs a fraction of yajl's state machine.  It accepts a subset of JSON and
 * of yajl's input: at the first thing outside it (an escape, a byte >= 0x7f
 * or < 0x20 in a string, other whitespace than space/tab/CR/LF, a malformed
 * number or literal, any syntax error, nesting past its stack) it gives up,
 * and the event is decoded again from the start by yajl, which then also
 * words any syntax error.  So what it accepts yajl accepts with the same
 * callbacks, a callback that cancels stops both at the same token, and
 * everything else is yajl's as before.
 */
enum { PLAIN_OK, PLAIN_CANCELED, PLAIN_GIVE_UP };

#define PLAIN_DEPTH (GR_JSON_DEPTH_MAX + 2) /* past it a callback cancels */

static inline int plain_ws(unsigned char c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* *pp just after a string's opening quote: sets *pp past the closing quote
 * and returns the string's length, or -1 when the string is not plain
 * (escape, control byte, DEL or non-ASCII byte, no closing quote). */
static long plain_string(const unsigned char **pp, const unsigned char *end) {
        const unsigned char *p = *pp, *start = p;

#ifdef __SSE2__
        {
                const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
                              sp = _mm_set1_epi8(0x20),
                              del = _mm_set1_epi8(0x7f);
                for (; end - p >= 16; p += 16) {
                        __m128i x = _mm_loadu_si128((const __m128i *)p);
                        /* signed: bytes >= 0x80 are below 0x20 too */
                        __m128i m = _mm_or_si128(
                            _mm_or_si128(_mm_cmpeq_epi8(x, q),
                                         _mm_cmpeq_epi8(x, bs)),
                            _mm_or_si128(_mm_cmplt_epi8(x, sp),
                                         _mm_cmpeq_epi8(x, del)));
                        int bits = _mm_movemask_epi8(m);
                        if (bits) {
                                p += __builtin_ctz((unsigned)bits);
                                goto stop;
                        }
                }
        }
#endif
        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 &&
               *p < 0x7f)
                p++;
#ifdef __SSE2__
stop:
#endif
        if (p == end || *p != '"')
                return -1;
        *pp = p + 1;
        return (long)(p - start);
}

static inline int plain_digit(const unsigned char *p,
                              const unsigned char *end) {
        return p < end && *p >= '0' && *p <= '9';
}

/* A number by JSON's grammar starting at *pp: sets *pp past it and returns
 * its length, or -1. */
static long plain_number(const unsigned char **pp, const unsigned char *end) {
        const unsigned char *p = *pp, *start = p;

        if (*p == '-')
                p++;
        if (!plain_digit(p, end))
                return -1;
        if (*p == '0')
                p++;
        else
                while (plain_digit(p, end))
                        p++;
        if (p < end && *p == '.') {
                p++;
                if (!plain_digit(p, end))
                        return -1;
                while (plain_digit(p, end))
                        p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (!plain_digit(p, end))
                        return -1;
                while (plain_digit(p, end))
                        p++;
        }
        *pp = p;
        return (long)(p - start);
}

static int plain_word(const unsigned char **pp, const unsigned char *end,
                      const char *w, size_t n) {
        if ((size_t)(end - *pp) < n || memcmp(*pp, w, n) != 0)
                return 0;
        *pp += n;
        return 1;
}

#define PLAIN_CB(call)                                                         \
        do {                                                                   \
                if (!(call))                                                   \
                        return PLAIN_CANCELED;                                 \
        } while (0)

static int plain_parse(gr_json_decoder *d, const unsigned char *p,
                       const unsigned char *end) {
        char open[PLAIN_DEPTH]; /* '{' or '[' of each open container */
        int top = 0;
        long n;

        while (p < end && plain_ws(*p))
                p++;
value:
        if (p == end)
                return PLAIN_GIVE_UP;
        switch (*p) {
        case '{':
        case '[':
                if (top == PLAIN_DEPTH)
                        return PLAIN_GIVE_UP;
                open[top++] = (char)*p;
                if (*p++ == '{')
                        PLAIN_CB(on_start_map(d));
                else
                        PLAIN_CB(on_start_array(d));
                while (p < end && plain_ws(*p))
                        p++;
                if (p < end && *p == (open[top - 1] == '{' ? '}' : ']'))
                        goto close; /* empty */
                if (open[top - 1] == '{')
                        goto key;
                goto value;
        case '"':
                p++;
                if ((n = plain_string(&p, end)) < 0)
                        return PLAIN_GIVE_UP;
                PLAIN_CB(on_string(d, p - 1 - n, (size_t)n));
                break;
        case 't':
                if (!plain_word(&p, end, "true", 4))
                        return PLAIN_GIVE_UP;
                PLAIN_CB(on_boolean(d, 1));
                break;
        case 'f':
                if (!plain_word(&p, end, "false", 5))
                        return PLAIN_GIVE_UP;
                PLAIN_CB(on_boolean(d, 0));
                break;
        case 'n':
                if (!plain_word(&p, end, "null", 4))
                        return PLAIN_GIVE_UP;
                PLAIN_CB(on_null(d));
                break;
        default:
                if (*p != '-' && (*p < '0' || *p > '9'))
                        return PLAIN_GIVE_UP;
                if ((n = plain_number(&p, end)) < 0)
                        return PLAIN_GIVE_UP;
                PLAIN_CB(on_number(d, (const char *)p - n, (size_t)n));
                break;
        }
after:
        while (p < end && plain_ws(*p))
                p++;
        if (top == 0)
                return p == end ? PLAIN_OK : PLAIN_GIVE_UP;
        if (p == end)
                return PLAIN_GIVE_UP;
        if (*p == ',') {
                p++;
                while (p < end && plain_ws(*p))
                        p++;
                if (open[top - 1] == '[')
                        goto value;
                goto key;
        }
        if (*p != (open[top - 1] == '{' ? '}' : ']'))
                return PLAIN_GIVE_UP;
close:
        p++;
        top--;
        PLAIN_CB(on_end(d));
        goto after;
key:
        if (p == end || *p != '"')
                return PLAIN_GIVE_UP;
        p++;
        if ((n = plain_string(&p, end)) < 0)
                return PLAIN_GIVE_UP;
        PLAIN_CB(on_map_key(d, p - 1 - n, (size_t)n));
        while (p < end && plain_ws(*p))
                p++;
        if (p == end || *p != ':')
                return PLAIN_GIVE_UP;
        p++;
        while (p < end && plain_ws(*p))
                p++;
        goto value;
}

void gr_json_decoder_plain(gr_json_decoder *d, int on) {
        d->plain_off = !on;
}

void gr_json_decoder_counts(const gr_json_decoder *d, unsigned long *plain,
                            unsigned long *given_up) {
        *plain = d->plain_done;
        *given_up = d->plain_given_up;
}

gr_json_decoder *gr_json_decoder_new(void) {
        gr_json_decoder *d = calloc(1, sizeof(*d));

        if (!d)
                return NULL;
        d->cb.yajl_null = on_null;
        d->cb.yajl_boolean = on_boolean;
        d->cb.yajl_number = on_number;
        d->cb.yajl_string = on_string;
        d->cb.yajl_start_map = on_start_map;
        d->cb.yajl_map_key = on_map_key;
        d->cb.yajl_end_map = on_end;
        d->cb.yajl_start_array = on_start_array;
        d->cb.yajl_end_array = on_end;
        d->afs.malloc = arena_malloc;
        d->afs.realloc = arena_realloc;
        d->afs.free = arena_free;
        d->afs.ctx = d;

        for (int f = 0; f < GR_F__CNT; f++)
                keytab_add(d, gr_event_fields[f].parent,
                           gr_event_fields[f].key, f);
        for (int p = GR_P_TOP + 1; p < GR_P__CNT; p++)
                keytab_add(d, parent_of((gr_parent_t)p),
                           gr_parent_name((gr_parent_t)p), KEY_CHILD(p));
        return d;
}

void gr_json_decoder_destroy(gr_json_decoder *d) {
        free(d);
}

/* yajl's message, bounded and printable, with where it stopped. */
static void syntax_error(yajl_handle h, size_t at, gr_err *err) {
        unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
        char text[160];
        size_t n = 0;

        for (size_t i = 0; msg && msg[i] && n + 1 < sizeof(text); i++) {
                unsigned char c = msg[i];
                if (c == '\n' || c == '\r' || c == '\t')
                        c = ' ';
                text[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        while (n && text[n - 1] == ' ')
                n--;
        text[n] = '\0';
        gr_err_set(err, GR_REJ_INVALID_JSON, "%s (at byte %zu)",
                   n ? text : "parse error", at);
        if (msg)
                yajl_free_error(h, msg);
}

int gr_json_event_decode(gr_json_decoder *d, const char *buf, size_t len,
                         gr_event *ev, gr_err *err) {
        yajl_handle h;
        yajl_status st;
        size_t at;
        int rc = 0;

        gr_event_reset(ev);
        if (len > GR_EVENT_WIRE_MAX)
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "event is %zu bytes, limit %d", len,
                                  GR_EVENT_WIRE_MAX);

        d->ev = ev;
        d->err = err;
        d->failed = 0;
        d->depth = 0;
        d->key = KEY_UNKNOWN;
        if (!d->plain_off) {
                switch (plain_parse(d, (const unsigned char *)buf,
                                    (const unsigned char *)buf + len)) {
                case PLAIN_OK:
                        d->plain_done++;
                        rc = d->failed ? -1 : 0;
                        goto done;
                case PLAIN_CANCELED:
                        d->plain_done++;
                        rc = -1; /* err set by the callback */
                        goto done;
                default: /* from the start, by yajl */
                        d->plain_given_up++;
                        gr_event_reset(ev);
                        d->failed = 0;
                        d->depth = 0;
                        d->key = KEY_UNKNOWN;
                        break;
                }
        }
        d->arena_used = 0;
        if (!(h = yajl_alloc(&d->cb, &d->afs, d)))
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "out of memory decoding event");
        st = yajl_parse(h, (const unsigned char *)buf, len);
        at = yajl_get_bytes_consumed(h);
        if (st == yajl_status_ok) {
                /* Flushes a number at the very end; reports truncation. */
                st = yajl_complete_parse(h);
                at = len;
        }
        switch (st) {
        case yajl_status_ok:
                rc = d->failed ? -1 : 0;
                break;
        case yajl_status_client_canceled:
                rc = -1; /* err set by the callback */
                break;
        case yajl_status_error:
                syntax_error(h, at, err);
                rc = -1;
                break;
        }
        yajl_free(h);
done:
        d->ev = NULL;
        d->err = NULL;
        if (rc == -1)
                return -1;
        return gr_event_validate(ev, err);
}

/* ---- encoding ---------------------------------------------------------- */

static void put_value(gr_jw *w, const gr_event *ev, int f) {
        const gr_field_desc *fd = &gr_event_fields[f];
        const void *p = (const char *)ev + fd->offset;

        switch (fd->kind) {
        case GR_FK_STR:
                gr_jw_str(w, (const char *)p);
                break;
        case GR_FK_INT:
                gr_jw_int(w, *(const int64_t *)p);
                break;
        case GR_FK_NUM:
                gr_jw_num(w, *(const double *)p);
                break;
        case GR_FK_BOOL:
                gr_jw_bool(w, *(const int *)p);
                break;
        case GR_FK_TIME:
                gr_jw_time(w, *(const int64_t *)p);
                break;
        case GR_FK_EVTYPE:
                gr_jw_str(w, gr_event_type_t_name(*(const gr_event_type_t *)p));
                break;
        case GR_FK_ROLE:
                gr_jw_str(w, gr_role_t_name(*(const gr_role_t *)p));
                break;
        case GR_FK_FAILURE:
                if (*(const gr_failure_t *)p == GR_FAIL_NONE)
                        gr_jw_null(w);
                else
                        gr_jw_str(w, gr_failure_t_name(*(const gr_failure_t *)p));
                break;
        case GR_FK_RESULT:
                gr_jw_str(w, gr_result_t_name(*(const gr_result_t *)p));
                break;
        case GR_FK_SETTLEMENT:
                gr_jw_str(w, gr_settlement_t_name(
                                     *(const gr_settlement_t *)p));
                break;
        }
}

/* Object p: its own fields in table order, each nested object at the
 * place of its first present field. */
static void put_object(gr_jw *w, const gr_event *ev, gr_parent_t p) {
        unsigned done = 0; /* nested objects already written */

        gr_jw_obj_begin(w);
        for (int f = 0; f < GR_F__CNT; f++) {
                gr_parent_t q = gr_event_fields[f].parent, child;

                if (!gr_event_has(ev, (gr_field_t)f))
                        continue;
                if (q == p) {
                        gr_jw_key(w, gr_event_fields[f].key);
                        put_value(w, ev, f);
                        continue;
                }
                /* Which direct child of p holds f, if any? */
                for (child = q; child != GR_P_TOP && parent_of(child) != p;)
                        child = parent_of(child);
                if (child == GR_P_TOP || parent_of(child) != p ||
                    (done >> child) & 1)
                        continue;
                done |= 1u << child;
                gr_jw_key(w, gr_parent_name(child));
                put_object(w, ev, child);
        }
        gr_jw_obj_end(w);
}

void gr_json_event_encode(const gr_event *ev, gr_buf *out) {
        gr_jw w;

        gr_jw_init(&w, out);
        put_object(&w, ev, GR_P_TOP);
}
