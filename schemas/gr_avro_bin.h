/**
 * @file gr_avro_bin.h
 * @brief The Avro binary encoding by hand (internal to schemas/): zig-zag
 *        varints, length-prefixed bytes, little-endian doubles — what the
 *        hand-written encoders and decoders build on.
 *
 * Writers append to a gr_buf (allocation failure is its sticky `oom`).
 * Readers walk a gr_avro_in and never read past its end: a failing read
 * sets `bad` (sticky) and returns 0 / an empty value, so a decoder may check
 * once per record instead of after every value.
 */
#ifndef GR_AVRO_BIN_H
#define GR_AVRO_BIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gr_buf.h"

static inline void gr_avro_put_long(gr_buf *b, int64_t v) {
        uint8_t tmp[10];
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        size_t n = 0;

        while (z > 0x7f) {
                tmp[n++] = (uint8_t)((z & 0x7f) | 0x80);
                z >>= 7;
        }
        tmp[n++] = (uint8_t)z;
        gr_buf_append(b, tmp, n);
}

static inline void gr_avro_put_bytes(gr_buf *b, const void *p, size_t n) {
        gr_avro_put_long(b, (int64_t)n);
        gr_buf_append(b, p, n);
}

static inline void gr_avro_put_str(gr_buf *b, const char *s) {
        gr_avro_put_bytes(b, s, strlen(s));
}

static inline void gr_avro_put_double(gr_buf *b, double d) {
        uint64_t u;
        uint8_t tmp[8];

        memcpy(&u, &d, 8);
        for (int i = 0; i < 8; i++)
                tmp[i] = (uint8_t)(u >> (8 * i));
        gr_buf_append(b, tmp, 8);
}

/** Input cursor. */
typedef struct gr_avro_in {
        const uint8_t *p;
        size_t len, pos;
        int bad; /**< sticky: a read ran past the end or was malformed */
} gr_avro_in;

static inline int64_t gr_avro_get_long(gr_avro_in *in) {
        uint64_t v = 0;

        for (int shift = 0; shift < 70; shift += 7) {
                uint8_t b;
                if (in->pos >= in->len) {
                        in->bad = 1;
                        return 0;
                }
                b = in->p[in->pos++];
                if (shift == 63 && (b & 0x7e)) {
                        in->bad = 1; /* more than 64 bits */
                        return 0;
                }
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        return (int64_t)((v >> 1) ^ (0 - (v & 1)));
        }
        in->bad = 1;
        return 0;
}

/** An Avro int (and enum index): a zig-zag varint of at most 5 bytes whose
 *  value fits 32 bits, or 0 with bad set.  gr_avro_get_long() alone would
 *  take 10-byte encodings and 64-bit values; this accepts exactly the int
 *  encodings gr_avro_scan_check() accepts. */
static inline int32_t gr_avro_get_int(gr_avro_in *in) {
        size_t at = in->pos;
        int64_t v = gr_avro_get_long(in);

        if (in->bad)
                return 0;
        if (in->pos - at > 5 || v < INT32_MIN || v > INT32_MAX) {
                in->bad = 1;
                return 0;
        }
        return (int32_t)v;
}

/** Length-prefixed bytes: *n bytes at the returned pointer (borrowed), or
 *  NULL with bad set. */
static inline const char *gr_avro_get_bytes(gr_avro_in *in, size_t *n) {
        int64_t l = gr_avro_get_long(in);
        const char *p;

        if (in->bad || l < 0 || (uint64_t)l > in->len - in->pos) {
                in->bad = 1;
                *n = 0;
                return NULL;
        }
        p = (const char *)in->p + in->pos;
        in->pos += (size_t)l;
        *n = (size_t)l;
        return p;
}

static inline double gr_avro_get_double(gr_avro_in *in) {
        uint64_t u = 0;
        double d;

        if (in->len - in->pos < 8) {
                in->bad = 1;
                return 0;
        }
        for (int i = 7; i >= 0; i--)
                u = u << 8 | in->p[in->pos + (size_t)i];
        in->pos += 8;
        memcpy(&d, &u, 8);
        return d;
}

static inline float gr_avro_get_float(gr_avro_in *in) {
        uint32_t u = 0;
        float f;

        if (in->len - in->pos < 4) {
                in->bad = 1;
                return 0;
        }
        for (int i = 3; i >= 0; i--)
                u = u << 8 | in->p[in->pos + (size_t)i];
        in->pos += 4;
        memcpy(&f, &u, 4);
        return f;
}

#endif /* GR_AVRO_BIN_H */
