/* Avro decision encoder (see gr_avro_event.h): the schema is compiled once
 * into one write step per field, and each decision is written straight into
 * the output in the Avro binary encoding.  Fields this build does not know
 * are written as their default, encoded once by avro-c when the encoder is
 * made. */
#include "gr_avro_event.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_bin.h"
#include "gr_avro_pcf.h"
#include "gr_avro_resolve.h"

/* The decision's fields are its one table, GR_DECISION_FIELDS
 * (statemachine/gr_records.h): the Avro field named like a JSON key is
 * written from that member, the way its kind says.  A kind added to the
 * table without a spelling here does not compile (K_<kind> undeclared). */
#define DF_ENUM(kind, m, key) DF_##m,
typedef enum { GR_DECISION_FIELDS(DF_ENUM) DF__CNT } dfield;
#define DF_NAME(kind, m, key) key,
static const char *const dfield_names[DF__CNT] = {
    GR_DECISION_FIELDS(DF_NAME)};

typedef enum {
        K_STR,     /* string; NULL: null where the schema allows, else "" */
        K_HEX,     /* char[65] hex digest */
        K_ATTEMPT, /* integers */
        K_SEQ,
        K_TIME,
        K_SETTLE, /* gr enums: the Avro enum symbol of the same name */
        K_RETRY,
        K_REASON,
        K_RULE,    /* GR_RULE_NONE: null */
        K_AMOUNTS, /* record or null */
        K_ARG      /* the encoder's key_id / sig arguments */
} dkind;
#define DF_KIND(kind, m, key) K_##kind,
static const dkind dfield_kinds[DF__CNT] = {GR_DECISION_FIELDS(DF_KIND)};

/* Amounts record fields the encoder can fill. */
typedef enum {
        AF_currency,
        AF_price_minor,
        AF_charge_minor,
        AF_refund_minor,
        AF_held_minor,
        AF__CNT
} afield;
static const char *const afield_names[AF__CNT] = {
    "currency", "price_minor", "charge_minor", "refund_minor", "held_minor"};

/*
 * How one value is written.  A union is resolved when compiling: the branch
 * a NULL takes (null_br) and the branch a value takes (val_br), as the
 * first branch of the right kind.  `t` is the type of the value branch (or
 * of the field itself when it is no union).
 */
typedef struct wstep {
        int field;         /* dfield / afield, or -1: write `def` */
        int is_union;
        int null_br, val_br;
        avro_type_t t;
        avro_schema_t schema;  /* the value branch (enums; borrowed) */
        int *sym;          /* enum fields from gr enums: value -> symbol */
        int nsym;
        struct wstep *kids; /* amounts record: its fields */
        size_t nkids;
        char *def;         /* field -1: the encoded default */
        size_t deflen;
} wstep;

struct gr_avro_decision_codec {
        avro_schema_t schema;
        uint64_t fp;
        wstep *steps;
        size_t nsteps;
};

static void wstep_free(wstep *w) {
        for (size_t i = 0; i < w->nkids; i++)
                wstep_free(&w->kids[i]);
        free(w->kids);
        free(w->sym);
        free(w->def);
}

void gr_avro_decision_codec_destroy(gr_avro_decision_codec *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->nsteps; i++)
                wstep_free(&c->steps[i]);
        free(c->steps);
        if (c->schema)
                avro_schema_decref(c->schema);
        free(c);
}

static avro_schema_t unlink_schema(avro_schema_t s) {
        return is_avro_link(s) ? avro_schema_link_target(s) : s;
}

/* Pick the branches: val_br is the first branch `want_val` accepts. */
static void resolve_union(wstep *w, avro_schema_t s,
                          int (*want_val)(avro_schema_t)) {
        s = unlink_schema(s);
        w->null_br = w->val_br = -1;
        w->schema = s;
        if (!is_avro_union(s)) {
                w->t = avro_typeof(s);
                return;
        }
        w->is_union = 1;
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
                avro_schema_t b = unlink_schema(
                    avro_schema_union_branch(s, (int)i));
                if (is_avro_null(b) && w->null_br < 0)
                        w->null_br = (int)i;
                if (!is_avro_null(b) && want_val(b) && w->val_br < 0) {
                        w->val_br = (int)i;
                        w->schema = b;
                }
        }
        w->t = w->val_br >= 0 ? avro_typeof(w->schema) : AVRO_NULL;
}

static int any_value(avro_schema_t b) {
        (void)b;
        return 1;
}

static int is_integer(avro_schema_t b) {
        return is_avro_int64(b) || is_avro_int32(b);
}

static int is_record(avro_schema_t b) {
        return is_avro_record(b);
}

/* Enum symbol of every value of a gr enum (-1: no such symbol). */
static int enum_table(wstep *w, int cnt, const char *(*name)(int)) {
        if (w->t != AVRO_ENUM)
                return 0;
        if (!(w->sym = malloc((size_t)cnt * sizeof(int))))
                return -1;
        w->nsym = cnt;
        for (int v = 0; v < cnt; v++)
                w->sym[v] = avro_schema_enum_get_by_name(w->schema, name(v));
        return 0;
}

static const char *settle_name(int v) {
        return gr_settlement_t_name((gr_settlement_t)v);
}
static const char *retry_name(int v) {
        return gr_retry_t_name((gr_retry_t)v);
}
static const char *reason_name(int v) {
        return gr_reason_t_name((gr_reason_t)v);
}
static const char *rule_name(int v) {
        return gr_rule_t_name((gr_rule_t)v);
}

/* The default of a field the encoder does not know, encoded by avro-c. */
static int encode_default(wstep *w, avro_schema_t fs, json_t *def,
                          char *errstr, size_t errstr_size) {
        avro_value_iface_t *iface = avro_generic_class_from_schema(fs);
        avro_value_t v;
        avro_writer_t wr = NULL;
        char *buf = malloc(GR_EVENT_WIRE_MAX);
        int rc = -1;

        if (!iface || !buf || avro_generic_value_new(iface, &v)) {
                snprintf(errstr, errstr_size, "Avro class: %s",
                         avro_strerror());
                if (iface)
                        avro_value_iface_decref(iface);
                free(buf);
                return -1;
        }
        if (gr_avro_value_from_json(&v, def, 0) ||
            !(wr = avro_writer_memory(buf, GR_EVENT_WIRE_MAX)) ||
            avro_value_write(wr, &v)) {
                snprintf(errstr, errstr_size, "default: %s", avro_strerror());
        } else {
                w->deflen = (size_t)avro_writer_tell(wr);
                w->def = buf;
                buf = NULL;
                rc = 0;
        }
        if (wr)
                avro_writer_free(wr);
        avro_value_decref(&v);
        avro_value_iface_decref(iface);
        free(buf);
        return rc;
}

static int compile_field(wstep *w, int df, avro_schema_t fs) {
        w->field = df;
        switch (dfield_kinds[df]) {
        case K_ATTEMPT:
        case K_SEQ:
        case K_TIME:
                resolve_union(w, fs, is_integer);
                return 0;
        case K_AMOUNTS: {
                avro_schema_t rec;
                resolve_union(w, fs, is_record);
                rec = w->schema;
                if (!is_avro_record(rec))
                        return 0;
                w->nkids = avro_schema_record_size(rec);
                if (w->nkids &&
                    !(w->kids = calloc(w->nkids, sizeof(*w->kids))))
                        return -1;
                for (size_t i = 0; i < w->nkids; i++) {
                        const char *n =
                            avro_schema_record_field_name(rec, (int)i);
                        avro_schema_t s =
                            avro_schema_record_field_get_by_index(rec, (int)i);
                        w->kids[i].field = -1;
                        for (int k = 0; k < AF__CNT; k++)
                                if (strcmp(n, afield_names[k]) == 0)
                                        w->kids[i].field = k;
                        resolve_union(&w->kids[i], s,
                                      w->kids[i].field == AF_currency
                                          ? any_value
                                          : is_integer);
                }
                return 0;
        }
        case K_SETTLE:
                resolve_union(w, fs, any_value);
                return enum_table(w, GR_SETTLE__CNT, settle_name);
        case K_RETRY:
                resolve_union(w, fs, any_value);
                return enum_table(w, GR_RETRY__CNT, retry_name);
        case K_REASON:
                resolve_union(w, fs, any_value);
                return enum_table(w, GR_REASON__CNT, reason_name);
        case K_RULE:
                resolve_union(w, fs, any_value);
                return enum_table(w, GR_RULE__CNT, rule_name);
        case K_STR:
        case K_HEX:
        case K_ARG:
                break;
        }
        resolve_union(w, fs, any_value);
        return 0;
}

gr_avro_decision_codec *gr_avro_decision_codec_new(const char *schema_json,
                                                   size_t len, char *errstr,
                                                   size_t errstr_size) {
        gr_avro_decision_codec *c = calloc(1, sizeof(*c));
        json_error_t jerr;
        json_t *json = NULL, *fields;

        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (!(json = json_loadb(schema_json, len, 0, &jerr))) {
                snprintf(errstr, errstr_size, "schema is not JSON: %s",
                         jerr.text);
                goto err;
        }
        if (gr_avro_fingerprint_compute(schema_json, len, &c->fp, errstr,
                                        errstr_size) ||
            gr_avro_schema_parse(schema_json, len, &c->schema, errstr,
                                 errstr_size))
                goto err;
        if (!is_avro_record(c->schema)) {
                snprintf(errstr, errstr_size,
                         "decision schema is not a record");
                goto err;
        }
        fields = json_object_get(json, "fields");
        c->nsteps = avro_schema_record_size(c->schema);
        if (!(c->steps = calloc(c->nsteps + 1, sizeof(*c->steps))))
                goto oom;
        for (size_t i = 0; i < c->nsteps; i++) {
                const char *name =
                    avro_schema_record_field_name(c->schema, (int)i);
                avro_schema_t fs =
                    avro_schema_record_field_get_by_index(c->schema, (int)i);
                json_t *def =
                    json_object_get(json_array_get(fields, i), "default");
                int df = -1;

                for (int k = 0; k < DF__CNT; k++)
                        if (strcmp(name, dfield_names[k]) == 0)
                                df = k;
                if (df < 0) {
                        c->steps[i].field = -1;
                        if (!def) {
                                snprintf(errstr, errstr_size,
                                         "decision field %s is unknown and "
                                         "has no default",
                                         name);
                                goto err;
                        }
                        if (encode_default(&c->steps[i], fs, def, errstr,
                                           errstr_size))
                                goto err;
                        continue;
                }
                if (compile_field(&c->steps[i], df, fs))
                        goto oom;
        }
        json_decref(json);
        return c;
oom:
        snprintf(errstr, errstr_size, "out of memory");
err:
        json_decref(json);
        gr_avro_decision_codec_destroy(c);
        return NULL;
}

uint64_t gr_avro_decision_fingerprint(const gr_avro_decision_codec *c) {
        return c->fp;
}

/* The union index (when a union) for NULL / a value; -1: no spelling. */
static int put_branch(const wstep *w, int null, gr_buf *out) {
        int br = null ? w->null_br : w->val_br;

        if (!w->is_union)
                return null ? (w->t == AVRO_NULL ? 0 : -1) : 0;
        if (br < 0)
                return -1;
        gr_avro_put_long(out, br);
        return 0;
}

/* A string (or NULL) into a string, enum or null value. */
static int put_str(const wstep *w, const char *s, gr_buf *out) {
        if (put_branch(w, s == NULL, out))
                return -1;
        if (!s)
                return 0;
        switch (w->t) {
        case AVRO_STRING:
        case AVRO_BYTES:
                gr_avro_put_str(out, s);
                return 0;
        case AVRO_ENUM: {
                int sym = avro_schema_enum_get_by_name(w->schema, s);
                if (sym < 0)
                        return -1;
                gr_avro_put_long(out, sym);
                return 0;
        }
        default:
                return -1;
        }
}

/* A gr enum value through the compiled symbol table. */
static int put_enum(const wstep *w, int v, const char *name, gr_buf *out) {
        if (!w->sym || w->t != AVRO_ENUM || w->is_union)
                return put_str(w, name, out);
        if (v < 0 || v >= w->nsym || w->sym[v] < 0)
                return -1;
        gr_avro_put_long(out, w->sym[v]);
        return 0;
}

static int put_long(const wstep *w, int64_t x, gr_buf *out) {
        if (put_branch(w, 0, out))
                return -1;
        if (w->t == AVRO_INT64) {
                gr_avro_put_long(out, x);
                return 0;
        }
        if (w->t == AVRO_INT32 && x >= INT32_MIN && x <= INT32_MAX) {
                gr_avro_put_long(out, x);
                return 0;
        }
        return -1;
}

static int put_amounts(const wstep *w, const gr_amounts *m, gr_buf *out) {
        if (put_branch(w, !m->present, out))
                return -1;
        if (!m->present)
                return 0;
        if (w->t != AVRO_RECORD)
                return -1;
        for (size_t i = 0; i < w->nkids; i++) {
                const wstep *k = &w->kids[i];
                int rc;
                switch (k->field) {
                case AF_currency: rc = put_str(k, m->currency, out); break;
                case AF_price_minor:
                        rc = put_long(k, m->price_minor, out);
                        break;
                case AF_charge_minor:
                        rc = put_long(k, m->charge_minor, out);
                        break;
                case AF_refund_minor:
                        rc = put_long(k, m->refund_minor, out);
                        break;
                case AF_held_minor: rc = put_long(k, m->held_minor, out); break;
                default: rc = -1; /* a field this build cannot fill */
                }
                if (rc)
                        return -1;
        }
        return 0;
}

/* One field of d by its kind (the cases of the encoder's switch). */
static int put_kstr(const wstep *w, const char *s, gr_buf *out) {
        if (!s && !(w->is_union && w->null_br >= 0))
                s = "";
        return put_str(w, s, out);
}
#define PUT_STR(m) put_kstr(w, d->m, out)
#define PUT_HEX(m) put_str(w, d->m, out)
#define PUT_ATTEMPT(m) put_long(w, d->m, out)
#define PUT_SEQ(m) put_long(w, d->m > INT64_MAX ? INT64_MAX : (int64_t)d->m, out)
#define PUT_TIME(m) put_long(w, d->m, out)
#define PUT_SETTLE(m) put_enum(w, (int)d->m, gr_settlement_t_name(d->m), out)
#define PUT_RETRY(m) put_enum(w, (int)d->m, gr_retry_t_name(d->m), out)
#define PUT_REASON(m) put_enum(w, (int)d->m, gr_reason_t_name(d->m), out)
#define PUT_RULE(m)                                                            \
        put_str(w, d->m == GR_RULE_NONE ? NULL : gr_rule_t_name(d->m), out)
#define PUT_AMOUNTS(m) put_amounts(w, &d->m, out)
#define PUT_ARG(m) put_str(w, arg_##m, out)
#define PUT_FIELD(kind, m, key)                                                \
        case DF_##m:                                                           \
                rc = PUT_##kind(m);                                            \
                break;

int gr_avro_decision_encode(gr_avro_decision_codec *c, const gr_decision *d,
                            const char *sig_b64, const char *key_id,
                            gr_buf *out, gr_err *err) {
        const char *arg_sig = sig_b64, *arg_key_id = key_id;
        size_t mark = out->len;

        for (size_t i = 0; i < c->nsteps; i++) {
                const wstep *w = &c->steps[i];
                int rc = -1;

                if (w->field < 0) {
                        gr_buf_append(out, w->def, w->deflen);
                        continue;
                }
                switch ((dfield)w->field) {
                        GR_DECISION_FIELDS(PUT_FIELD)
                case DF__CNT: break;
                }
                if (rc) {
                        out->len = mark;
                        if (out->data)
                                out->data[mark] = '\0';
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "decision field %s has no Avro "
                                          "spelling in this schema",
                                          dfield_names[w->field]);
                }
        }
        if (out->len - mark > GR_EVENT_WIRE_MAX + 64) {
                out->len = mark;
                if (out->data)
                        out->data[mark] = '\0';
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "Avro decision is over %d bytes",
                                  GR_EVENT_WIRE_MAX + 64);
        }
        return 0;
}
