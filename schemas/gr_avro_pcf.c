/* Avro Parsing Canonical Form and CRC-64-AVRO (see gr_avro_pcf.h). */
#include "gr_avro_pcf.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define PCF_DEPTH_MAX 64

static const char *const primitives[] = {"null", "boolean", "int", "long",
                                         "float", "double", "bytes", "string"};

static int is_primitive(const char *s) {
        for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++)
                if (strcmp(s, primitives[i]) == 0)
                        return 1;
        return 0;
}

typedef struct pcf_ctx {
        gr_buf *out;
        int flags;
        char *errstr;
        size_t errstr_size;
} pcf_ctx;

static int fail(pcf_ctx *c, const char *fmt, const char *arg) {
        if (c->errstr && c->errstr_size)
                snprintf(c->errstr, c->errstr_size, fmt, arg);
        return -1;
}

/* [STRINGS]: escapes are already decoded by jansson; write UTF-8 as is and
 * escape only what JSON requires. */
static void put_str(gr_buf *b, const char *s) {
        gr_buf_putc(b, '"');
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch == '"' || ch == '\\') {
                        gr_buf_putc(b, '\\');
                        gr_buf_putc(b, (char)ch);
                } else if (ch < 0x20) {
                        gr_buf_printf(b, "\\u%04x", ch);
                } else {
                        gr_buf_putc(b, (char)ch);
                }
        }
        gr_buf_putc(b, '"');
}

/* Full name of `name` in namespace `ns` (NULL or "" = none), into buf. */
static int fullname(pcf_ctx *c, const char *name, const char *ns, char *buf,
                    size_t size) {
        int n;

        if (strchr(name, '.') || !ns || !ns[0])
                n = snprintf(buf, size, "%s", name);
        else
                n = snprintf(buf, size, "%s.%s", ns, name);
        if (n < 0 || (size_t)n >= size)
                return fail(c, "name too long: %.64s", name);
        return 0;
}

static int write_schema(pcf_ctx *c, json_t *s, const char *ns, int depth);

/* A named type (record, enum, fixed): name first, then type, then the rest.
 * Nested types inherit the namespace of their nearest named parent. */
static int write_named(pcf_ctx *c, json_t *s, const char *type,
                       const char *ns, int depth) {
        json_t *jname = json_object_get(s, "name");
        json_t *jns = json_object_get(s, "namespace");
        char full[512], inner_ns[512];
        const char *dot;

        if (!json_is_string(jname))
                return fail(c, "%s without a name", type);
        if (json_is_string(jns))
                ns = json_string_value(jns);
        if (fullname(c, json_string_value(jname), ns, full, sizeof(full)))
                return -1;
        dot = strrchr(full, '.');
        snprintf(inner_ns, sizeof(inner_ns), "%.*s",
                 dot ? (int)(dot - full) : 0, full);

        gr_buf_puts(c->out, "{\"name\":");
        put_str(c->out, full);
        gr_buf_puts(c->out, ",\"type\":");
        put_str(c->out, type);
        if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
                json_t *fields = json_object_get(s, "fields");
                size_t i;
                json_t *f;

                if (!json_is_array(fields))
                        return fail(c, "record %s without fields", full);
                gr_buf_puts(c->out, ",\"fields\":[");
                json_array_foreach(fields, i, f) {
                        json_t *fname = json_object_get(f, "name");
                        json_t *ftype = json_object_get(f, "type");
                        if (!json_is_string(fname) || !ftype)
                                return fail(c, "record %s has a field "
                                               "without name or type", full);
                        if (i)
                                gr_buf_putc(c->out, ',');
                        gr_buf_puts(c->out, "{\"name\":");
                        put_str(c->out, json_string_value(fname));
                        gr_buf_puts(c->out, ",\"type\":");
                        if (write_schema(c, ftype, inner_ns, depth + 1))
                                return -1;
                        gr_buf_putc(c->out, '}');
                }
                gr_buf_putc(c->out, ']');
        } else if (strcmp(type, "enum") == 0) {
                json_t *syms = json_object_get(s, "symbols");
                size_t i;
                json_t *sym;

                if (!json_is_array(syms))
                        return fail(c, "enum %s without symbols", full);
                gr_buf_puts(c->out, ",\"symbols\":[");
                json_array_foreach(syms, i, sym) {
                        if (!json_is_string(sym))
                                return fail(c, "enum %s has a non-string "
                                               "symbol", full);
                        if (i)
                                gr_buf_putc(c->out, ',');
                        put_str(c->out, json_string_value(sym));
                }
                gr_buf_putc(c->out, ']');
        } else { /* fixed */
                json_t *size = json_object_get(s, "size");
                json_int_t n;

                /* [INTEGERS]: no quotes, no leading zeros. */
                if (json_is_integer(size))
                        n = json_integer_value(size);
                else if (json_is_string(size) &&
                         sscanf(json_string_value(size), "%" JSON_INTEGER_FORMAT,
                                &n) == 1)
                        ;
                else
                        return fail(c, "fixed %s without a size", full);
                if (n < 0)
                        return fail(c, "fixed %s has a negative size", full);
                gr_buf_printf(c->out, ",\"size\":%" JSON_INTEGER_FORMAT, n);
        }
        gr_buf_putc(c->out, '}');
        return 0;
}

static int write_schema(pcf_ctx *c, json_t *s, const char *ns, int depth) {
        if (depth > PCF_DEPTH_MAX)
                return fail(c, "schema nested deeper than %s", "64");
        if (json_is_string(s)) {
                const char *name = json_string_value(s);
                char full[512];

                /* [PRIMITIVES] and [FULLNAMES] for references. */
                if (is_primitive(name)) {
                        put_str(c->out, name);
                        return 0;
                }
                if (fullname(c, name, ns, full, sizeof(full)))
                        return -1;
                put_str(c->out, full);
                return 0;
        }
        if (json_is_array(s)) {
                size_t i;
                json_t *b;

                gr_buf_putc(c->out, '[');
                json_array_foreach(s, i, b) {
                        if (i)
                                gr_buf_putc(c->out, ',');
                        if (write_schema(c, b, ns, depth + 1))
                                return -1;
                }
                gr_buf_putc(c->out, ']');
                return 0;
        }
        if (json_is_object(s)) {
                json_t *jtype = json_object_get(s, "type");
                const char *type;

                if (!jtype)
                        return fail(c, "schema object without %s", "type");
                /* {"type": <schema>} is that schema. */
                if (!json_is_string(jtype))
                        return write_schema(c, jtype, ns, depth + 1);
                type = json_string_value(jtype);
                if (strcmp(type, "record") == 0 ||
                    strcmp(type, "error") == 0 ||
                    strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0)
                        return write_named(c, s, type, ns, depth);
                if (strcmp(type, "array") == 0) {
                        json_t *items = json_object_get(s, "items");
                        if (!items)
                                return fail(c, "array without %s", "items");
                        gr_buf_puts(c->out, "{\"type\":\"array\",\"items\":");
                        if (write_schema(c, items, ns, depth + 1))
                                return -1;
                        gr_buf_putc(c->out, '}');
                        return 0;
                }
                if (strcmp(type, "map") == 0) {
                        json_t *values = json_object_get(s, "values");
                        if (!values)
                                return fail(c, "map without %s", "values");
                        gr_buf_puts(c->out, "{\"type\":\"map\",\"values\":");
                        if (write_schema(c, values, ns, depth + 1))
                                return -1;
                        gr_buf_putc(c->out, '}');
                        return 0;
                }
                /* A primitive or a named reference with extra attributes
                 * (logicalType, doc, ...): [STRIP] leaves the name. */
                if ((c->flags & GR_AVRO_PCF_PRIMITIVE_OBJECTS) &&
                    is_primitive(type) && json_object_size(s) > 1) {
                        gr_buf_puts(c->out, "{\"type\":");
                        put_str(c->out, type);
                        gr_buf_putc(c->out, '}');
                        return 0;
                }
                return write_schema(c, jtype, ns, depth + 1);
        }
        return fail(c, "%s is not a schema", "a JSON number, boolean or null");
}

int gr_avro_pcf_write(const char *json, size_t len, gr_buf *out, char *errstr,
                      size_t errstr_size) {
        return gr_avro_pcf_write_flags(json, len, 0, out, errstr, errstr_size);
}

int gr_avro_pcf_write_flags(const char *json, size_t len, int flags,
                            gr_buf *out, char *errstr, size_t errstr_size) {
        pcf_ctx c = {out, flags, errstr, errstr_size};
        json_error_t jerr;
        json_t *root;
        int rc;

        root = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                          &jerr);
        if (!root) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size,
                                 "schema is not JSON: %s (line %d)", jerr.text,
                                 jerr.line);
                return -1;
        }
        rc = write_schema(&c, root, NULL, 0);
        json_decref(root);
        if (rc == 0 && out->oom) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return rc;
}

#define CRC64_AVRO_EMPTY 0xc15d213aa4d7a795ULL

/* Bitwise form of the specification's table-driven loop: fingerprints are
 * computed once per schema at start-up, so no table (and no lazy
 * initialisation shared between threads) is needed. */
uint64_t gr_avro_crc64_compute(const void *p, size_t n) {
        const unsigned char *s = p;
        uint64_t fp = CRC64_AVRO_EMPTY;

        for (size_t i = 0; i < n; i++) {
                fp ^= s[i];
                for (int j = 0; j < 8; j++)
                        fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & (0 - (fp & 1)));
        }
        return fp;
}

int gr_avro_fingerprint_compute(const char *json, size_t len, uint64_t *fp,
                                char *errstr, size_t errstr_size) {
        return gr_avro_fingerprint_compute_flags(json, len, 0, fp, errstr,
                                                 errstr_size);
}

int gr_avro_fingerprint_compute_flags(const char *json, size_t len, int flags,
                                      uint64_t *fp, char *errstr,
                                      size_t errstr_size) {
        gr_buf b;
        int rc;

        gr_buf_init(&b);
        rc = gr_avro_pcf_write_flags(json, len, flags, &b, errstr,
                                     errstr_size);
        if (rc == 0)
                *fp = gr_avro_crc64_compute(b.data, b.len);
        gr_buf_free(&b);
        return rc;
}
