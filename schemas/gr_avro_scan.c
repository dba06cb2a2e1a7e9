/* Bounds check of Avro binary against a writer schema (see gr_avro_scan.h). */
#include "gr_avro_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
        OP_NULL,
        OP_BOOLEAN,
        OP_INT,
        OP_LONG,
        OP_FLOAT,
        OP_DOUBLE,
        OP_BYTES,
        OP_STRING,
        OP_RECORD, /* n fields at kids[first..] */
        OP_ENUM,   /* n symbols */
        OP_FIXED,  /* n bytes */
        OP_ARRAY,  /* items at kids[first] */
        OP_MAP,    /* values at kids[first] */
        OP_UNION,  /* n branches at kids[first..] */
} scan_op;

typedef struct scan_node {
        scan_op op;
        uint32_t n;
        uint32_t first;
} scan_node;

struct gr_avro_scan {
        scan_node *nodes;
        size_t nnodes, nodes_cap;
        uint32_t *kids;
        size_t nkids, kids_cap;
        /* named schemas already compiled (for links and repeated names) */
        struct {
                avro_schema_t schema;
                uint32_t node;
        } *named;
        size_t nnamed, named_cap;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
        size_t ncap;
        void *np;

        if (need <= *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 32;
        while (ncap < need)
                ncap *= 2;
        if (!(np = realloc(*p, ncap * elem)))
                return -1;
        *p = np;
        *cap = ncap;
        return 0;
}

static int node_add(gr_avro_scan *s, scan_op op, uint32_t n, uint32_t *idx) {
        if (grow((void **)&s->nodes, &s->nodes_cap, s->nnodes + 1,
                 sizeof(*s->nodes)))
                return -1;
        s->nodes[s->nnodes] = (scan_node){op, n, 0};
        *idx = (uint32_t)s->nnodes++;
        return 0;
}

/* Reserve n consecutive kid slots. */
static int kids_reserve(gr_avro_scan *s, uint32_t n, uint32_t *first) {
        if (grow((void **)&s->kids, &s->kids_cap, s->nkids + n,
                 sizeof(*s->kids)))
                return -1;
        *first = (uint32_t)s->nkids;
        s->nkids += n;
        return 0;
}

static int compile(gr_avro_scan *s, avro_schema_t sc, uint32_t *out,
                   int depth, char *errstr, size_t errstr_size) {
        uint32_t idx, first, kid;
        size_t n;

        if (depth > 64) {
                snprintf(errstr, errstr_size, "schema nested too deeply");
                return -1;
        }
        if (is_avro_link(sc))
                sc = avro_schema_link_target(sc);
        if (is_avro_record(sc) || is_avro_enum(sc) || is_avro_fixed(sc)) {
                for (size_t i = 0; i < s->nnamed; i++)
                        if (s->named[i].schema == sc) {
                                *out = s->named[i].node;
                                return 0;
                        }
        }
        switch (avro_typeof(sc)) {
        case AVRO_NULL: return node_add(s, OP_NULL, 0, out);
        case AVRO_BOOLEAN: return node_add(s, OP_BOOLEAN, 0, out);
        case AVRO_INT32: return node_add(s, OP_INT, 0, out);
        case AVRO_INT64: return node_add(s, OP_LONG, 0, out);
        case AVRO_FLOAT: return node_add(s, OP_FLOAT, 0, out);
        case AVRO_DOUBLE: return node_add(s, OP_DOUBLE, 0, out);
        case AVRO_BYTES: return node_add(s, OP_BYTES, 0, out);
        case AVRO_STRING: return node_add(s, OP_STRING, 0, out);
        case AVRO_ENUM:
        case AVRO_FIXED:
        case AVRO_RECORD: {
                scan_op op = is_avro_enum(sc)    ? OP_ENUM
                             : is_avro_fixed(sc) ? OP_FIXED
                                                 : OP_RECORD;
                if (op == OP_ENUM)
                        n = (size_t)avro_schema_enum_number_of_symbols(sc);
                else if (op == OP_FIXED)
                        n = (size_t)avro_schema_fixed_size(sc);
                else
                        n = avro_schema_record_size(sc);
                if (n > UINT32_MAX / 2) {
                        snprintf(errstr, errstr_size, "schema too large");
                        return -1;
                }
                if (node_add(s, op, (uint32_t)n, &idx))
                        goto oom;
                if (grow((void **)&s->named, &s->named_cap, s->nnamed + 1,
                         sizeof(*s->named)))
                        goto oom;
                s->named[s->nnamed].schema = sc;
                s->named[s->nnamed++].node = idx;
                *out = idx;
                if (op != OP_RECORD)
                        return 0;
                if (kids_reserve(s, (uint32_t)n, &first))
                        goto oom;
                s->nodes[idx].first = first;
                for (size_t i = 0; i < n; i++) {
                        if (compile(s,
                                    avro_schema_record_field_get_by_index(
                                        sc, (int)i),
                                    &kid, depth + 1, errstr, errstr_size))
                                return -1;
                        s->kids[first + i] = kid;
                }
                return 0;
        }
        case AVRO_ARRAY:
        case AVRO_MAP:
                if (node_add(s, is_avro_array(sc) ? OP_ARRAY : OP_MAP, 1,
                             &idx) ||
                    kids_reserve(s, 1, &first))
                        goto oom;
                s->nodes[idx].first = first;
                *out = idx;
                if (compile(s,
                            is_avro_array(sc) ? avro_schema_array_items(sc)
                                              : avro_schema_map_values(sc),
                            &kid, depth + 1, errstr, errstr_size))
                        return -1;
                s->kids[first] = kid;
                return 0;
        case AVRO_UNION:
                n = avro_schema_union_size(sc);
                if (node_add(s, OP_UNION, (uint32_t)n, &idx) ||
                    kids_reserve(s, (uint32_t)n, &first))
                        goto oom;
                s->nodes[idx].first = first;
                *out = idx;
                for (size_t i = 0; i < n; i++) {
                        if (compile(s, avro_schema_union_branch(sc, (int)i),
                                    &kid, depth + 1, errstr, errstr_size))
                                return -1;
                        s->kids[first + i] = kid;
                }
                return 0;
        case AVRO_LINK:
                break;
        }
        snprintf(errstr, errstr_size, "unsupported schema type");
        return -1;
oom:
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

gr_avro_scan *gr_avro_scan_new(avro_schema_t schema, char *errstr,
                               size_t errstr_size) {
        gr_avro_scan *s = calloc(1, sizeof(*s));
        uint32_t root;

        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (compile(s, schema, &root, 0, errstr, errstr_size))
                goto err;
        /* The root is always node 0: compile() adds it first. */
        free(s->named);
        s->named = NULL;
        return s;
err:
        gr_avro_scan_destroy(s);
        return NULL;
}

void gr_avro_scan_destroy(gr_avro_scan *s) {
        if (!s)
                return;
        free(s->nodes);
        free(s->kids);
        free(s->named);
        free(s);
}

typedef struct cursor {
        const uint8_t *p;
        size_t len, pos;
        gr_err *err;
} cursor;

static int bad(cursor *c, const char *what) {
        return gr_err_set(c->err, GR_REJ_INVALID_AVRO, "%s at byte %zu", what,
                          c->pos);
}

/* Zig-zag varint; `bits` 32 or 64. */
static int read_varint(cursor *c, int bits, int64_t *out) {
        uint64_t v = 0;
        int shift = 0, maxlen = bits == 32 ? 5 : 10;

        for (int i = 0;; i++) {
                uint8_t b;
                if (c->pos >= c->len)
                        return bad(c, "truncated varint");
                if (i == maxlen)
                        return bad(c, "varint too long");
                b = c->p[c->pos++];
                /* The last byte may only carry the bits that remain. */
                if (i == maxlen - 1 && (b >> (bits - shift)) != 0)
                        return bad(c, "varint overflows");
                v |= (uint64_t)(b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80))
                        break;
        }
        *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
        if (bits == 32 && (*out < INT32_MIN || *out > INT32_MAX))
                return bad(c, "int out of range");
        return 0;
}

static int need(cursor *c, int64_t n, const char *what) {
        char msg[128];

        if (n < 0) {
                snprintf(msg, sizeof(msg), "negative %s %lld", what,
                         (long long)n);
                return bad(c, msg);
        }
        if ((uint64_t)n > c->len - c->pos) {
                snprintf(msg, sizeof(msg), "%s %lld exceeds the %zu bytes left",
                         what, (long long)n, c->len - c->pos);
                return bad(c, msg);
        }
        return 0;
}

int gr_avro_utf8_valid(const void *p, size_t n) {
        const uint8_t *s = p;
        size_t i = 0;

        while (i < n) {
                uint8_t b = s[i];
                size_t k;
                uint32_t cp;

                if (b < 0x80) {
                        i++;
                        continue;
                }
                if (b >= 0xc2 && b <= 0xdf)
                        k = 1, cp = b & 0x1f;
                else if (b >= 0xe0 && b <= 0xef)
                        k = 2, cp = b & 0x0f;
                else if (b >= 0xf0 && b <= 0xf4)
                        k = 3, cp = b & 0x07;
                else
                        return 0;
                if (n - i - 1 < k)
                        return 0;
                for (size_t j = 1; j <= k; j++) {
                        if ((s[i + j] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (s[i + j] & 0x3f);
                }
                /* overlong, surrogate or beyond U+10FFFF */
                if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return 0;
                i += k + 1;
        }
        return 1;
}

static int walk(const gr_avro_scan *s, uint32_t ni, cursor *c, int depth) {
        const scan_node *n = &s->nodes[ni];
        int64_t v;

        if (depth > GR_AVRO_SCAN_DEPTH)
                return bad(c, "data nested too deeply");
        switch (n->op) {
        case OP_NULL:
                return 0;
        case OP_BOOLEAN:
                if (c->pos >= c->len)
                        return bad(c, "truncated boolean");
                if (c->p[c->pos] > 1)
                        return bad(c, "boolean not 0 or 1");
                c->pos++;
                return 0;
        case OP_INT:
                return read_varint(c, 32, &v);
        case OP_LONG:
                return read_varint(c, 64, &v);
        case OP_FLOAT:
                if (need(c, 4, "float"))
                        return -1;
                c->pos += 4;
                return 0;
        case OP_DOUBLE:
                if (need(c, 8, "double"))
                        return -1;
                c->pos += 8;
                return 0;
        case OP_BYTES:
        case OP_STRING:
                if (read_varint(c, 64, &v) ||
                    need(c, v, n->op == OP_STRING ? "string length"
                                                  : "bytes length"))
                        return -1;
                if (n->op == OP_STRING &&
                    !gr_avro_utf8_valid(c->p + c->pos, (size_t)v))
                        return bad(c, "string is not valid UTF-8");
                c->pos += (size_t)v;
                return 0;
        case OP_RECORD:
                for (uint32_t i = 0; i < n->n; i++)
                        if (walk(s, s->kids[n->first + i], c, depth + 1))
                                return -1;
                return 0;
        case OP_ENUM: {
                size_t at = c->pos;
                if (read_varint(c, 32, &v))
                        return -1;
                if (v < 0 || v >= (int64_t)n->n) {
                        c->pos = at;
                        return bad(c, "enum index out of range");
                }
                return 0;
        }
        case OP_FIXED:
                if (need(c, n->n, "fixed size"))
                        return -1;
                c->pos += n->n;
                return 0;
        case OP_UNION: {
                size_t at = c->pos;
                if (read_varint(c, 64, &v))
                        return -1;
                if (v < 0 || v >= (int64_t)n->n) {
                        char msg[64];
                        c->pos = at;
                        snprintf(msg, sizeof(msg),
                                 "union branch %lld of %u out of range",
                                 (long long)v, n->n);
                        return bad(c, msg);
                }
                return walk(s, s->kids[n->first + v], c, depth + 1);
        }
        case OP_ARRAY:
        case OP_MAP:
                for (;;) {
                        int64_t count, size;
                        if (read_varint(c, 64, &count))
                                return -1;
                        if (count == 0)
                                return 0;
                        if (count < 0) {
                                if (count == INT64_MIN)
                                        return bad(c, "block count overflows");
                                count = -count;
                                if (read_varint(c, 64, &size) ||
                                    need(c, size, "block size"))
                                        return -1;
                        }
                        /* Even zero-byte items (null) may not outnumber the
                         * bytes left, which bounds what a reader allocates. */
                        if (need(c, count, "block count"))
                                return -1;
                        for (int64_t i = 0; i < count; i++) {
                                if (n->op == OP_MAP) {
                                        if (read_varint(c, 64, &v) ||
                                            need(c, v, "map key length"))
                                                return -1;
                                        if (!gr_avro_utf8_valid(c->p + c->pos,
                                                        (size_t)v))
                                                return bad(c, "map key is not "
                                                              "valid UTF-8");
                                        c->pos += (size_t)v;
                                }
                                if (walk(s, s->kids[n->first], c, depth + 1))
                                        return -1;
                        }
                }
        }
        return bad(c, "corrupt scan program");
}

int gr_avro_scan_check(const gr_avro_scan *s, const void *buf, size_t len,
                       gr_err *err) {
        cursor c = {buf, len, 0, err};

        if (walk(s, 0, &c, 0))
                return -1;
        if (c.pos != len)
                return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                  "%zu bytes of trailing garbage after the "
                                  "record (ends at byte %zu)",
                                  len - c.pos, c.pos);
        return 0;
}
