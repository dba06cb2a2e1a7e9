/* Avro event and decision codecs on avro-c's value API (see gr_avro_event.h). */
#include "gr_avro_event.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_pcf.h"
#include "gr_avro_scan.h"

/* Scratch for one encoded datum: the wire limit plus room for framing. */
#define ENC_CAP (GR_EVENT_WIRE_MAX + 64)
#define DESC_DEPTH_MAX 16
#define NAME_MAX_LEN 512

/* ---- schema JSON helpers ------------------------------------------------ */

static int is_named_type(const char *t) {
        return strcmp(t, "record") == 0 || strcmp(t, "error") == 0 ||
               strcmp(t, "enum") == 0 || strcmp(t, "fixed") == 0;
}

/* Full name of a named schema object in namespace ns; its own namespace
 * (for nested types) into inner (may alias nothing). */
static void json_fullname(json_t *obj, const char *ns, char *full,
                          char *inner) {
        const char *name = json_string_value(json_object_get(obj, "name"));
        json_t *jns = json_object_get(obj, "namespace");
        const char *dot;

        if (!name)
                name = "";
        if (json_is_string(jns))
                ns = json_string_value(jns);
        if (strchr(name, '.') || !ns || !ns[0])
                snprintf(full, NAME_MAX_LEN, "%s", name);
        else
                snprintf(full, NAME_MAX_LEN, "%s.%s", ns, name);
        dot = strrchr(full, '.');
        snprintf(inner, NAME_MAX_LEN, "%.*s", dot ? (int)(dot - full) : 0,
                 full);
}

static void schema_fullname(avro_schema_t s, char *full) {
        const char *ns = avro_schema_namespace(s);
        const char *name = avro_schema_name(s);

        if (!name)
                name = "";
        if (ns && ns[0])
                snprintf(full, NAME_MAX_LEN, "%s.%s", ns, name);
        else
                snprintf(full, NAME_MAX_LEN, "%s", name);
}

/* Named definitions of a schema: fullname -> JSON object (borrowed). */
typedef struct namemap {
        struct {
                char *name;
                json_t *def;
        } *v;
        size_t n, cap;
} namemap;

static void namemap_free(namemap *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i].name);
        free(m->v);
        memset(m, 0, sizeof(*m));
}

static int namemap_add(namemap *m, const char *name, json_t *def) {
        if (m->n == m->cap) {
                size_t ncap = m->cap ? m->cap * 2 : 16;
                void *p = realloc(m->v, ncap * sizeof(*m->v));
                if (!p)
                        return -1;
                m->v = p;
                m->cap = ncap;
        }
        if (!(m->v[m->n].name = strdup(name)))
                return -1;
        m->v[m->n++].def = def;
        return 0;
}

static json_t *namemap_get(const namemap *m, const char *name) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].name, name) == 0)
                        return m->v[i].def;
        return NULL;
}

static int names_collect(json_t *s, const char *ns, namemap *m, int depth) {
        json_t *t, *f;
        size_t i;

        if (depth > 64)
                return -1;
        if (json_is_array(s)) {
                json_array_foreach(s, i, f) if (names_collect(f, ns, m,
                                                              depth + 1)) return -1;
                return 0;
        }
        if (!json_is_object(s))
                return 0;
        t = json_object_get(s, "type");
        if (!json_is_string(t))
                return t ? names_collect(t, ns, m, depth + 1) : 0;
        if (is_named_type(json_string_value(t))) {
                char full[NAME_MAX_LEN], inner[NAME_MAX_LEN];
                json_fullname(s, ns, full, inner);
                if (namemap_add(m, full, s))
                        return -1;
                json_array_foreach(json_object_get(s, "fields"), i, f) {
                        if (names_collect(json_object_get(f, "type"), inner, m,
                                          depth + 1))
                                return -1;
                }
                return 0;
        }
        if (json_object_get(s, "items"))
                return names_collect(json_object_get(s, "items"), ns, m,
                                     depth + 1);
        if (json_object_get(s, "values"))
                return names_collect(json_object_get(s, "values"), ns, m,
                                     depth + 1);
        return 0;
}

/* Named types of an avro-c schema: fullname -> schema (borrowed). */
typedef struct schemamap {
        struct {
                char name[NAME_MAX_LEN];
                avro_schema_t s;
        } *v;
        size_t n, cap;
} schemamap;

static int schemas_collect(avro_schema_t s, schemamap *m, int depth) {
        if (depth > 64 || is_avro_link(s))
                return 0;
        if (is_avro_record(s) || is_avro_enum(s) || is_avro_fixed(s)) {
                if (m->n == m->cap) {
                        size_t ncap = m->cap ? m->cap * 2 : 16;
                        void *p = realloc(m->v, ncap * sizeof(*m->v));
                        if (!p)
                                return -1;
                        m->v = p;
                        m->cap = ncap;
                }
                schema_fullname(s, m->v[m->n].name);
                m->v[m->n++].s = s;
        }
        if (is_avro_record(s)) {
                for (size_t i = 0; i < avro_schema_record_size(s); i++)
                        if (schemas_collect(
                                avro_schema_record_field_get_by_index(s, (int)i),
                                m, depth + 1))
                                return -1;
        } else if (is_avro_union(s)) {
                for (size_t i = 0; i < avro_schema_union_size(s); i++)
                        if (schemas_collect(avro_schema_union_branch(s, (int)i),
                                            m, depth + 1))
                                return -1;
        } else if (is_avro_array(s)) {
                return schemas_collect(avro_schema_array_items(s), m, depth + 1);
        } else if (is_avro_map(s)) {
                return schemas_collect(avro_schema_map_values(s), m, depth + 1);
        }
        return 0;
}

static avro_schema_t schemamap_get(const schemamap *m, const char *name) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].name, name) == 0)
                        return m->v[i].s;
        return NULL;
}

/* Reader fields the writer lacks: dropped from the projection, their
 * defaults applied after reading. */
typedef struct droplist {
        struct {
                char record[NAME_MAX_LEN];
                char *field;
                json_t *def; /* owned reference */
        } *v;
        size_t n, cap;
} droplist;

static void droplist_free(droplist *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].field);
                json_decref(d->v[i].def);
        }
        free(d->v);
        memset(d, 0, sizeof(*d));
}

typedef struct proj_ctx {
        const schemamap *writer;
        droplist *drops;
        char *errstr;
        size_t errstr_size;
} proj_ctx;

/*
 * The reader schema without the record fields its writer counterpart
 * (same full name) lacks.  Returns a new reference or NULL.
 */
static json_t *project(json_t *s, const char *ns, proj_ctx *pc, int depth) {
        json_t *t, *copy = NULL, *sub;
        size_t i;

        if (depth > 64) {
                snprintf(pc->errstr, pc->errstr_size, "schema too deep");
                return NULL;
        }
        if (json_is_array(s)) {
                json_t *arr = json_array(), *b;
                if (!arr)
                        return NULL;
                json_array_foreach(s, i, b) {
                        if (!(sub = project(b, ns, pc, depth + 1)) ||
                            json_array_append_new(arr, sub)) {
                                json_decref(arr);
                                return NULL;
                        }
                }
                return arr;
        }
        if (!json_is_object(s))
                return json_incref(s);
        t = json_object_get(s, "type");
        if (!(copy = json_copy(s)))
                return NULL;
        if (t && !json_is_string(t)) {
                if (!(sub = project(t, ns, pc, depth + 1)) ||
                    json_object_set_new(copy, "type", sub))
                        goto err;
                return copy;
        }
        if (!t)
                return copy;
        if (strcmp(json_string_value(t), "record") == 0 ||
            strcmp(json_string_value(t), "error") == 0) {
                char full[NAME_MAX_LEN], inner[NAME_MAX_LEN];
                avro_schema_t w;
                json_t *fields = json_array(), *f;

                json_fullname(s, ns, full, inner);
                w = schemamap_get(pc->writer, full);
                if (!fields)
                        goto err;
                json_array_foreach(json_object_get(s, "fields"), i, f) {
                        const char *fname =
                            json_string_value(json_object_get(f, "name"));
                        json_t *nf;

                        if (!fname) {
                                json_decref(fields);
                                snprintf(pc->errstr, pc->errstr_size,
                                         "record %s has a field without a "
                                         "name",
                                         full);
                                goto err;
                        }
                        if (w && is_avro_record(w) &&
                            avro_schema_record_field_get_index(w, fname) < 0) {
                                droplist *d = pc->drops;
                                json_t *def = json_object_get(f, "default");
                                if (!def) {
                                        json_decref(fields);
                                        snprintf(pc->errstr, pc->errstr_size,
                                                 "reader field %s.%s has no "
                                                 "default and the writer "
                                                 "schema lacks it",
                                                 full, fname);
                                        goto err;
                                }
                                if (d->n == d->cap) {
                                        size_t nc = d->cap ? d->cap * 2 : 8;
                                        void *p =
                                            realloc(d->v, nc * sizeof(*d->v));
                                        if (!p) {
                                                json_decref(fields);
                                                goto err;
                                        }
                                        d->v = p;
                                        d->cap = nc;
                                }
                                snprintf(d->v[d->n].record, NAME_MAX_LEN, "%s",
                                         full);
                                d->v[d->n].field = strdup(fname);
                                d->v[d->n].def = json_incref(def);
                                d->n++;
                                continue;
                        }
                        nf = json_copy(f);
                        sub = project(json_object_get(f, "type"), inner, pc,
                                      depth + 1);
                        if (!nf || !sub || json_object_set_new(nf, "type", sub) ||
                            json_array_append_new(fields, nf)) {
                                json_decref(nf);
                                json_decref(fields);
                                goto err;
                        }
                }
                if (json_object_set_new(copy, "fields", fields))
                        goto err;
                return copy;
        }
        if (json_object_get(s, "items")) {
                if (!(sub = project(json_object_get(s, "items"), ns, pc,
                                    depth + 1)) ||
                    json_object_set_new(copy, "items", sub))
                        goto err;
        } else if (json_object_get(s, "values")) {
                if (!(sub = project(json_object_get(s, "values"), ns, pc,
                                    depth + 1)) ||
                    json_object_set_new(copy, "values", sub))
                        goto err;
        }
        return copy;
err:
        json_decref(copy);
        return NULL;
}

/* ---- field map: Avro schema <-> gr_event ------------------------------- */

typedef enum { D_SKIP, D_LEAF, D_RECORD, D_UNION } desc_kind;

typedef struct desc desc;
struct desc {
        desc_kind kind;
        avro_type_t type;   /* leaf: Avro type */
        int field;          /* leaf: gr_field_t, or -1 when unmapped */
        int evtype;         /* body branch record: gr_event_type_t, or -1 */
        int is_body;        /* the envelope's body union */
        int null_branch;    /* union: index of its null branch, or -1 */
        uint64_t mask;      /* gr fields at or below this node */
        size_t n;
        desc *kids;         /* record fields / union branches */
        avro_schema_t enum_schema; /* leaf enum (borrowed) */
        int *gr2sym;        /* leaf enum: gr enum value -> symbol, -1 */
        json_t *def;        /* field default (borrowed from schema JSON) */
        size_t ndrop;       /* record: reader fields absent from writer */
        struct {
                int field;
                json_t *def; /* borrowed from the droplist */
        } *drop;
};

static void desc_free(desc *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                desc_free(&d->kids[i]);
        free(d->kids);
        free(d->gr2sym);
        free(d->drop);
        memset(d, 0, sizeof(*d));
}

static int enum_kind_count(gr_field_kind_t k) {
        switch (k) {
        case GR_FK_EVTYPE: return GR_EVT__CNT;
        case GR_FK_ROLE: return GR_ROLE__CNT;
        case GR_FK_FAILURE: return GR_FAIL__CNT;
        case GR_FK_RESULT: return GR_RESULT__CNT;
        case GR_FK_SETTLEMENT: return GR_SETTLE__CNT;
        case GR_FK_STR:
        case GR_FK_INT:
        case GR_FK_NUM:
        case GR_FK_BOOL:
        case GR_FK_TIME:
                break;
        }
        return 0;
}

static const char *enum_kind_name(gr_field_kind_t k, int v) {
        switch (k) {
        case GR_FK_EVTYPE: return gr_event_type_t_name((gr_event_type_t)v);
        case GR_FK_ROLE: return gr_role_t_name((gr_role_t)v);
        case GR_FK_FAILURE: return gr_failure_t_name((gr_failure_t)v);
        case GR_FK_RESULT: return gr_result_t_name((gr_result_t)v);
        case GR_FK_SETTLEMENT: return gr_settlement_t_name((gr_settlement_t)v);
        case GR_FK_STR:
        case GR_FK_INT:
        case GR_FK_NUM:
        case GR_FK_BOOL:
        case GR_FK_TIME:
                break;
        }
        return NULL;
}

/* Parent of the fields of a record found at (parent, key); -1 = none. */
static int child_parent(int parent, const char *key) {
        if (parent == GR_P_TOP && strcmp(key, "actor") == 0)
                return GR_P_ACTOR;
        if (parent == GR_P_TOP && strcmp(key, "body") == 0)
                return GR_P_BODY;
        if (parent == GR_P_BODY && strcmp(key, "price") == 0)
                return GR_P_PRICE;
        if (parent == GR_P_BODY && strcmp(key, "resources") == 0)
                return GR_P_RESOURCES;
        return -1;
}

/* "quote_accepted" -> "QuoteAcceptedBody" */
static int body_evtype(const char *record_name) {
        for (int t = 0; t < GR_EVT__CNT; t++) {
                const char *s = gr_event_type_t_name((gr_event_type_t)t);
                char buf[64];
                size_t n = 0;
                int up = 1;
                for (; *s && n + 5 < sizeof(buf); s++) {
                        if (*s == '_') {
                                up = 1;
                                continue;
                        }
                        buf[n++] = up && *s >= 'a' && *s <= 'z'
                                       ? (char)(*s - 'a' + 'A')
                                       : *s;
                        up = 0;
                }
                memcpy(buf + n, "Body", 5);
                if (strcmp(buf, record_name) == 0)
                        return t;
        }
        return -1;
}

typedef struct build_ctx {
        const namemap *names;   /* JSON definitions of the schema */
        const droplist *drops;  /* may be NULL */
        char *errstr;
        size_t errstr_size;
} build_ctx;

/*
 * Field map of the value at (parent, key) with schema sc.  parent -1 with
 * key NULL is the envelope itself (its fields live at GR_P_TOP).
 */
static int desc_build(desc *d, avro_schema_t sc, int parent, const char *key,
                      json_t *def, const build_ctx *bc, int depth) {
        memset(d, 0, sizeof(*d));
        d->field = -1;
        d->evtype = -1;
        d->null_branch = -1;
        d->def = def;
        if (is_avro_link(sc))
                sc = avro_schema_link_target(sc);
        if (depth > DESC_DEPTH_MAX) {
                d->kind = D_SKIP;
                return 0;
        }
        if (is_avro_record(sc)) {
                int cp = key ? child_parent(parent, key) : GR_P_TOP;
                char full[NAME_MAX_LEN];
                json_t *jdef, *jfields;

                schema_fullname(sc, full);
                if (parent == GR_P_TOP && key && strcmp(key, "body") == 0)
                        d->evtype = body_evtype(avro_schema_name(sc));
                if (cp < 0) {
                        d->kind = D_SKIP;
                        return 0;
                }
                d->kind = D_RECORD;
                d->n = avro_schema_record_size(sc);
                if (d->n && !(d->kids = calloc(d->n, sizeof(*d->kids))))
                        goto oom;
                jdef = namemap_get(bc->names, full);
                jfields = jdef ? json_object_get(jdef, "fields") : NULL;
                for (size_t i = 0; i < d->n; i++) {
                        const char *fname =
                            avro_schema_record_field_name(sc, (int)i);
                        json_t *fdef = json_object_get(
                            json_array_get(jfields, i), "default");
                        if (desc_build(&d->kids[i],
                                       avro_schema_record_field_get_by_index(
                                           sc, (int)i),
                                       cp, fname, fdef, bc, depth + 1))
                                return -1;
                        d->mask |= d->kids[i].mask;
                }
                for (size_t i = 0; bc->drops && i < bc->drops->n; i++) {
                        const char *fname = bc->drops->v[i].field;
                        int f;
                        void *p;
                        if (strcmp(bc->drops->v[i].record, full) != 0)
                                continue;
                        f = gr_event_field_find((gr_parent_t)cp, fname,
                                                strlen(fname));
                        if (f < 0 || json_is_null(bc->drops->v[i].def))
                                continue;
                        p = realloc(d->drop, (d->ndrop + 1) * sizeof(*d->drop));
                        if (!p)
                                goto oom;
                        d->drop = p;
                        d->drop[d->ndrop].field = f;
                        d->drop[d->ndrop++].def = bc->drops->v[i].def;
                }
                return 0;
        }
        if (is_avro_union(sc)) {
                d->kind = D_UNION;
                d->is_body = parent == GR_P_TOP && key &&
                             strcmp(key, "body") == 0;
                d->n = avro_schema_union_size(sc);
                if (d->n && !(d->kids = calloc(d->n, sizeof(*d->kids))))
                        goto oom;
                for (size_t i = 0; i < d->n; i++) {
                        avro_schema_t b = avro_schema_union_branch(sc, (int)i);
                        if (is_avro_null(b) && d->null_branch < 0)
                                d->null_branch = (int)i;
                        if (desc_build(&d->kids[i], b, parent, key, NULL, bc,
                                       depth + 1))
                                return -1;
                        d->mask |= d->kids[i].mask;
                }
                return 0;
        }
        if (is_avro_array(sc) || is_avro_map(sc)) {
                d->kind = D_SKIP;
                return 0;
        }
        d->kind = D_LEAF;
        d->type = avro_typeof(sc);
        if (parent >= 0 && key)
                d->field = gr_event_field_find((gr_parent_t)parent, key,
                                               strlen(key));
        if (d->field >= 0)
                d->mask = (uint64_t)1 << d->field;
        if (is_avro_enum(sc)) {
                d->enum_schema = sc;
                if (d->field >= 0) {
                        gr_field_kind_t k = gr_event_fields[d->field].kind;
                        int cnt = enum_kind_count(k);
                        if (cnt) {
                                if (!(d->gr2sym = calloc((size_t)cnt,
                                                         sizeof(int))))
                                        goto oom;
                                for (int v = 0; v < cnt; v++)
                                        d->gr2sym[v] =
                                            avro_schema_enum_get_by_name(
                                                sc, enum_kind_name(k, v));
                        }
                }
        }
        return 0;
oom:
        snprintf(bc->errstr, bc->errstr_size, "out of memory");
        return -1;
}

/* ---- decode: avro value -> gr_event ------------------------------------ */

static int avro_fail(gr_err *err, const char *what) {
        return gr_err_set(err, GR_REJ_INVALID_AVRO, "%s: %s", what,
                          avro_strerror());
}

static int set_from_json(gr_event *ev, int f, json_t *j, gr_err *err) {
        if (json_is_null(j))
                return gr_event_set_null(ev, (gr_field_t)f, err);
        if (json_is_string(j))
                return gr_event_set_str(ev, (gr_field_t)f, json_string_value(j),
                                        json_string_length(j), err);
        if (json_is_integer(j))
                return gr_event_set_int(ev, (gr_field_t)f,
                                        (int64_t)json_integer_value(j), err);
        if (json_is_real(j))
                return gr_event_set_num(ev, (gr_field_t)f, json_real_value(j),
                                        err);
        if (json_is_boolean(j))
                return gr_event_set_bool(ev, (gr_field_t)f, json_is_true(j),
                                         err);
        return gr_err_set(err, GR_REJ_SCHEMA, "%s: default has no scalar value",
                          gr_event_fields[f].key);
}

static int fill(const desc *d, avro_value_t *v, gr_event *ev, int *body_type,
                gr_err *err) {
        gr_field_t f = (gr_field_t)d->field;

        switch (d->kind) {
        case D_SKIP:
                return 0;
        case D_RECORD:
                for (size_t i = 0; i < d->n; i++) {
                        avro_value_t child;
                        if (d->kids[i].kind == D_SKIP)
                                continue;
                        if (avro_value_get_by_index(v, i, &child, NULL))
                                return avro_fail(err, "record");
                        if (fill(&d->kids[i], &child, ev, body_type, err))
                                return -1;
                }
                for (size_t i = 0; i < d->ndrop; i++)
                        if (set_from_json(ev, d->drop[i].field, d->drop[i].def,
                                          err))
                                return -1;
                return 0;
        case D_UNION: {
                int disc;
                avro_value_t branch;
                if (avro_value_get_discriminant(v, &disc) ||
                    avro_value_get_current_branch(v, &branch))
                        return avro_fail(err, "union");
                if (disc < 0 || (size_t)disc >= d->n)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "union branch %d out of range", disc);
                if (d->is_body)
                        *body_type = d->kids[disc].evtype;
                return fill(&d->kids[disc], &branch, ev, body_type, err);
        }
        case D_LEAF:
                break;
        }
        if (d->field < 0)
                return 0;
        switch (d->type) {
        case AVRO_NULL:
                return gr_event_set_null(ev, f, err);
        case AVRO_BOOLEAN: {
                int b;
                if (avro_value_get_boolean(v, &b))
                        return avro_fail(err, "boolean");
                return gr_event_set_bool(ev, f, b, err);
        }
        case AVRO_INT32: {
                int32_t i;
                if (avro_value_get_int(v, &i))
                        return avro_fail(err, "int");
                return gr_event_set_int(ev, f, i, err);
        }
        case AVRO_INT64: {
                int64_t l;
                if (avro_value_get_long(v, &l))
                        return avro_fail(err, "long");
                return gr_event_set_int(ev, f, l, err);
        }
        case AVRO_FLOAT: {
                float x;
                if (avro_value_get_float(v, &x))
                        return avro_fail(err, "float");
                return gr_event_set_num(ev, f, x, err);
        }
        case AVRO_DOUBLE: {
                double x;
                if (avro_value_get_double(v, &x))
                        return avro_fail(err, "double");
                return gr_event_set_num(ev, f, x, err);
        }
        case AVRO_STRING: {
                const char *s;
                size_t n;
                if (avro_value_get_string(v, &s, &n))
                        return avro_fail(err, "string");
                /* avro-c counts the terminating NUL it adds. */
                return gr_event_set_str(ev, f, s ? s : "", n ? n - 1 : 0, err);
        }
        case AVRO_BYTES: {
                const void *p;
                size_t n;
                if (avro_value_get_bytes(v, &p, &n))
                        return avro_fail(err, "bytes");
                return gr_event_set_str(ev, f, p ? p : "", n, err);
        }
        case AVRO_ENUM: {
                int sym;
                const char *name;
                if (avro_value_get_enum(v, &sym))
                        return avro_fail(err, "enum");
                name = avro_schema_enum_get(d->enum_schema, sym);
                if (!name)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "enum index %d out of range", sym);
                return gr_event_set_str(ev, f, name, strlen(name), err);
        }
        case AVRO_FIXED:
        case AVRO_RECORD:
        case AVRO_MAP:
        case AVRO_ARRAY:
        case AVRO_UNION:
        case AVRO_LINK:
                break;
        }
        return gr_err_set(err, GR_REJ_SCHEMA,
                          "%s: Avro type %d cannot carry it",
                          gr_event_fields[f].key, (int)d->type);
}

/* ---- encode: gr_event -> avro value ------------------------------------ */

/* A value from a JSON default (or the type's zero when j is NULL). */
static int value_from_json(avro_value_t *v, json_t *j, int depth) {
        avro_value_t child;

        if (depth > DESC_DEPTH_MAX)
                return -1;
        switch (avro_value_get_type(v)) {
        case AVRO_NULL: return avro_value_set_null(v);
        case AVRO_BOOLEAN: return avro_value_set_boolean(v, json_is_true(j));
        case AVRO_INT32:
                return avro_value_set_int(v, (int32_t)json_integer_value(j));
        case AVRO_INT64:
                return avro_value_set_long(v, (int64_t)json_integer_value(j));
        case AVRO_FLOAT:
                return avro_value_set_float(v, (float)json_number_value(j));
        case AVRO_DOUBLE: return avro_value_set_double(v, json_number_value(j));
        case AVRO_STRING: {
                const char *s = json_is_string(j) ? json_string_value(j) : "";
                return avro_value_set_string_len(v, s, strlen(s) + 1);
        }
        case AVRO_BYTES: {
                const char *s = json_is_string(j) ? json_string_value(j) : "";
                return avro_value_set_bytes(v, (void *)s, strlen(s));
        }
        case AVRO_ENUM: {
                int sym = 0;
                if (json_is_string(j))
                        sym = avro_schema_enum_get_by_name(
                            avro_value_get_schema(v), json_string_value(j));
                return avro_value_set_enum(v, sym < 0 ? 0 : sym);
        }
        case AVRO_RECORD: {
                size_t n;
                if (avro_value_get_size(v, &n))
                        return -1;
                for (size_t i = 0; i < n; i++) {
                        const char *name;
                        if (avro_value_get_by_index(v, i, &child, &name) ||
                            value_from_json(&child, json_object_get(j, name),
                                            depth + 1))
                                return -1;
                }
                return 0;
        }
        case AVRO_UNION:
                /* A union's default is a value of its first branch. */
                if (avro_value_set_branch(v, 0, &child))
                        return -1;
                return value_from_json(&child, j, depth + 1);
        case AVRO_FIXED:
        case AVRO_MAP:
        case AVRO_ARRAY:
        case AVRO_LINK:
                return 0;
        }
        return -1;
}

static int enum_value(const gr_event *ev, gr_field_t f) {
        const void *p = (const char *)ev + gr_event_fields[f].offset;
        switch (gr_event_fields[f].kind) {
        case GR_FK_EVTYPE: return (int)*(const gr_event_type_t *)p;
        case GR_FK_ROLE: return (int)*(const gr_role_t *)p;
        case GR_FK_FAILURE: return (int)*(const gr_failure_t *)p;
        case GR_FK_RESULT: return (int)*(const gr_result_t *)p;
        case GR_FK_SETTLEMENT: return (int)*(const gr_settlement_t *)p;
        case GR_FK_STR:
        case GR_FK_INT:
        case GR_FK_NUM:
        case GR_FK_BOOL:
        case GR_FK_TIME:
                break;
        }
        return -1;
}

static int no_spelling(gr_field_t f, const char *what, gr_err *err) {
        return gr_err_set(err, GR_REJ_SCHEMA, "%s: %s", gr_event_fields[f].key,
                          what);
}

static int emit_leaf(const desc *d, avro_value_t *v, const gr_event *ev,
                     gr_err *err) {
        gr_field_t f = (gr_field_t)d->field;
        const gr_field_desc *fd = &gr_event_fields[f];
        const void *p = (const char *)ev + fd->offset;
        int rc = -1;

        switch (d->type) {
        case AVRO_NULL:
                rc = avro_value_set_null(v);
                break;
        case AVRO_STRING:
                if (fd->kind == GR_FK_STR) {
                        rc = avro_value_set_string_len(v, p, strlen(p) + 1);
                } else if (fd->kind == GR_FK_TIME) {
                        char t[32];
                        gr_time_format(*(const int64_t *)p, t, sizeof(t));
                        rc = avro_value_set_string_len(v, t, strlen(t) + 1);
                } else if (enum_kind_count(fd->kind)) {
                        const char *s = enum_kind_name(fd->kind,
                                                       enum_value(ev, f));
                        rc = avro_value_set_string_len(v, s, strlen(s) + 1);
                } else {
                        return no_spelling(f, "not a string", err);
                }
                break;
        case AVRO_INT32:
        case AVRO_INT64: {
                int64_t x;
                if (fd->kind == GR_FK_INT || fd->kind == GR_FK_TIME)
                        x = *(const int64_t *)p;
                else
                        return no_spelling(f, "not an integer", err);
                if (d->type == AVRO_INT64) {
                        rc = avro_value_set_long(v, x);
                        break;
                }
                if (x < INT32_MIN || x > INT32_MAX)
                        return no_spelling(f, "out of the Avro int range",
                                           err);
                rc = avro_value_set_int(v, (int32_t)x);
                break;
        }
        case AVRO_FLOAT:
        case AVRO_DOUBLE: {
                double x;
                if (fd->kind == GR_FK_NUM)
                        x = *(const double *)p;
                else if (fd->kind == GR_FK_INT)
                        x = (double)*(const int64_t *)p;
                else
                        return no_spelling(f, "not a number", err);
                rc = d->type == AVRO_DOUBLE ? avro_value_set_double(v, x)
                                            : avro_value_set_float(v, (float)x);
                break;
        }
        case AVRO_BOOLEAN:
                if (fd->kind != GR_FK_BOOL)
                        return no_spelling(f, "not a boolean", err);
                rc = avro_value_set_boolean(v, *(const int *)p);
                break;
        case AVRO_ENUM: {
                int val = enum_value(ev, f), sym;
                if (val < 0 || !d->gr2sym)
                        return no_spelling(f, "not an enum", err);
                sym = d->gr2sym[val];
                if (sym < 0)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "%s: \"%s\" is not a symbol of the "
                                          "Avro enum",
                                          fd->key, enum_kind_name(fd->kind, val));
                rc = avro_value_set_enum(v, sym);
                break;
        }
        case AVRO_BYTES:
                if (fd->kind != GR_FK_STR)
                        return no_spelling(f, "not bytes", err);
                rc = avro_value_set_bytes(v, (void *)p, strlen(p));
                break;
        case AVRO_FIXED:
        case AVRO_RECORD:
        case AVRO_MAP:
        case AVRO_ARRAY:
        case AVRO_UNION:
        case AVRO_LINK:
                return no_spelling(f, "no Avro spelling", err);
        }
        if (rc)
                return avro_fail(err, fd->key);
        return 0;
}

/* Which branch of a (non-body) union holds what ev has: the first non-null
 * branch with data, else the null branch, else branch 0. */
static int union_pick(const desc *d, uint64_t have) {
        if (d->mask & have)
                for (size_t i = 0; i < d->n; i++)
                        if ((int)i != d->null_branch &&
                            (d->kids[i].mask & have))
                                return (int)i;
        return d->null_branch >= 0 ? d->null_branch : 0;
}

static int emit(const desc *d, avro_value_t *v, const gr_event *ev,
                uint64_t have, gr_err *err) {
        switch (d->kind) {
        case D_SKIP:
                if (value_from_json(v, d->def, 0))
                        return avro_fail(err, "default");
                return 0;
        case D_RECORD:
                for (size_t i = 0; i < d->n; i++) {
                        avro_value_t child;
                        if (avro_value_get_by_index(v, i, &child, NULL) ||
                            emit(&d->kids[i], &child, ev, have, err))
                                return avro_fail(err, "record");
                }
                return 0;
        case D_UNION: {
                avro_value_t branch;
                int b = -1;
                if (d->is_body) {
                        for (size_t i = 0; i < d->n; i++)
                                if (d->kids[i].evtype == (int)ev->type)
                                        b = (int)i;
                        if (b < 0)
                                return gr_err_set(err, GR_REJ_SCHEMA,
                                                  "no body record for type %s",
                                                  gr_event_type_t_name(
                                                      ev->type));
                } else {
                        b = union_pick(d, have);
                }
                if (avro_value_set_branch(v, b, &branch))
                        return avro_fail(err, "union");
                return emit(&d->kids[b], &branch, ev, have, err);
        }
        case D_LEAF:
                break;
        }
        if (d->field >= 0 && ((have >> d->field) & 1))
                return emit_leaf(d, v, ev, err);
        if (d->type == AVRO_NULL)
                return avro_value_set_null(v) ? avro_fail(err, "null") : 0;
        if (d->field >= 0 && !d->def) {
                const gr_field_desc *fd = &gr_event_fields[d->field];
                return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                  "%s%s%s required by the Avro schema",
                                  fd->parent == GR_P_TOP
                                      ? ""
                                      : gr_parent_name(fd->parent),
                                  fd->parent == GR_P_TOP ? "" : ".", fd->key);
        }
        if (value_from_json(v, d->def, 0))
                return avro_fail(err, "default");
        return 0;
}

/* ---- the event codec ---------------------------------------------------- */

typedef struct writer {
        uint64_t fp;
        uint64_t fp_alias;          /* python-avro 1.11's form (see pcf.h) */
        avro_schema_t wschema;
        gr_avro_scan *scan;
        /* The body record each branch of the writer's body union stands
         * for (gr_event_type_t, -1 none): which type the bytes carry is the
         * writer's to say, whatever a resolver makes of an empty record. */
        int *wbody;
        avro_schema_t wbody_union; /* borrowed from wschema */
        size_t nwbody;
        json_t *pjson;              /* projected reader schema */
        avro_schema_t pschema;
        avro_value_iface_t *piface; /* generic class of pschema */
        avro_value_t pvalue;        /* decoded value, reused */
        avro_value_iface_t *riface; /* resolver writer -> projection, or NULL */
        avro_value_t rvalue;
        droplist drops;
        namemap names;              /* definitions in pjson */
        desc map;
} writer_ent;

struct gr_avro_event_codec {
        json_t *rjson;              /* the reader schema */
        avro_schema_t rschema;
        uint64_t rfp;
        avro_value_iface_t *riface;
        avro_value_t evalue;        /* encode value, reused */
        namemap rnames;
        desc emap;
        writer_ent *w;
        int nw, wcap;
        avro_reader_t reader;
        avro_writer_t out;
        char *scratch;
};

static void writer_free(writer_ent *w) {
        desc_free(&w->map);
        free(w->wbody);
        if (w->riface) {
                avro_value_decref(&w->rvalue);
                avro_value_iface_decref(w->riface);
        }
        if (w->piface) {
                avro_value_decref(&w->pvalue);
                avro_value_iface_decref(w->piface);
        }
        if (w->pschema)
                avro_schema_decref(w->pschema);
        if (w->wschema)
                avro_schema_decref(w->wschema);
        gr_avro_scan_destroy(w->scan);
        json_decref(w->pjson);
        droplist_free(&w->drops);
        namemap_free(&w->names);
}

static int schema_parse(const char *json, size_t len, avro_schema_t *out,
                        char *errstr, size_t errstr_size) {
        if (avro_schema_from_json_length(json, len, out)) {
                snprintf(errstr, errstr_size, "Avro schema: %s",
                         avro_strerror());
                return -1;
        }
        return 0;
}

int gr_avro_event_writer_add(gr_avro_event_codec *c, const char *schema_json,
                             size_t len, char *errstr, size_t errstr_size) {
        writer_ent w;
        schemamap wnames = {0};
        proj_ctx pc;
        build_ctx bc;
        char *ptext = NULL;
        uint64_t fp;

        memset(&w, 0, sizeof(w));
        if (gr_avro_fingerprint_compute(schema_json, len, &fp, errstr,
                                        errstr_size))
                return -1;
        for (int i = 0; i < c->nw; i++)
                if (c->w[i].fp == fp)
                        return i;
        w.fp = fp;
        if (gr_avro_fingerprint_compute_flags(schema_json, len,
                                              GR_AVRO_PCF_PRIMITIVE_OBJECTS,
                                              &w.fp_alias, errstr,
                                              errstr_size))
                goto err;
        if (schema_parse(schema_json, len, &w.wschema, errstr, errstr_size))
                goto err;
        if (!(w.scan = gr_avro_scan_new(w.wschema, errstr, errstr_size)))
                goto err;
        if (gr_avro_scan_watch(w.scan, w.wschema, "body") == 0) {
                avro_schema_t body = avro_schema_record_field_get(w.wschema,
                                                                  "body");
                if (is_avro_link(body))
                        body = avro_schema_link_target(body);
                w.wbody_union = body;
                w.nwbody = avro_schema_union_size(body);
                if (!(w.wbody = calloc(w.nwbody ? w.nwbody : 1,
                                       sizeof(*w.wbody))))
                        goto oom;
                for (size_t i = 0; i < w.nwbody; i++) {
                        avro_schema_t b =
                            avro_schema_union_branch(body, (int)i);
                        if (is_avro_link(b))
                                b = avro_schema_link_target(b);
                        w.wbody[i] = is_avro_record(b)
                                         ? body_evtype(avro_schema_name(b))
                                         : -1;
                }
        }
        if (schemas_collect(w.wschema, &wnames, 0))
                goto oom;
        pc = (proj_ctx){&wnames, &w.drops, errstr, errstr_size};
        errstr[0] = '\0';
        if (!(w.pjson = project(c->rjson, NULL, &pc, 0))) {
                if (!errstr[0])
                        snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        if (!(ptext = json_dumps(w.pjson, JSON_COMPACT)))
                goto oom;
        if (schema_parse(ptext, strlen(ptext), &w.pschema, errstr,
                         errstr_size))
                goto err;
        if (names_collect(w.pjson, NULL, &w.names, 0))
                goto oom;
        if (!(w.piface = avro_generic_class_from_schema(w.pschema)) ||
            avro_generic_value_new(w.piface, &w.pvalue)) {
                snprintf(errstr, errstr_size, "Avro class: %s",
                         avro_strerror());
                goto err;
        }
        if (fp != c->rfp) {
                if (!(w.riface = avro_resolved_writer_new(w.wschema,
                                                          w.pschema))) {
                        snprintf(errstr, errstr_size,
                                 "writer schema cannot be resolved to the "
                                 "reader schema: %s",
                                 avro_strerror());
                        goto err;
                }
                if (avro_resolved_writer_new_value(w.riface, &w.rvalue)) {
                        avro_value_iface_decref(w.riface);
                        w.riface = NULL;
                        snprintf(errstr, errstr_size, "Avro resolver: %s",
                                 avro_strerror());
                        goto err;
                }
                avro_resolved_writer_set_dest(&w.rvalue, &w.pvalue);
        }
        bc = (build_ctx){&w.names, &w.drops, errstr, errstr_size};
        if (desc_build(&w.map, w.pschema, -1, NULL, NULL, &bc, 0))
                goto err;
        if (c->nw == c->wcap) {
                int ncap = c->wcap ? c->wcap * 2 : 4;
                void *p = realloc(c->w, (size_t)ncap * sizeof(*c->w));
                if (!p)
                        goto oom;
                c->w = p;
                c->wcap = ncap;
        }
        c->w[c->nw] = w;
        free(ptext);
        free(wnames.v);
        return c->nw++;
oom:
        snprintf(errstr, errstr_size, "out of memory");
err:
        free(ptext);
        free(wnames.v);
        writer_free(&w);
        return -1;
}

gr_avro_event_codec *gr_avro_event_codec_new(const char *schema_json,
                                             size_t len, char *errstr,
                                             size_t errstr_size) {
        gr_avro_event_codec *c = calloc(1, sizeof(*c));
        json_error_t jerr;
        build_ctx bc;

        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (!(c->rjson = json_loadb(schema_json, len, 0, &jerr))) {
                snprintf(errstr, errstr_size, "schema is not JSON: %s",
                         jerr.text);
                goto err;
        }
        if (gr_avro_fingerprint_compute(schema_json, len, &c->rfp, errstr,
                                        errstr_size) ||
            schema_parse(schema_json, len, &c->rschema, errstr, errstr_size))
                goto err;
        if (names_collect(c->rjson, NULL, &c->rnames, 0))
                goto oom;
        if (!(c->riface = avro_generic_class_from_schema(c->rschema)) ||
            avro_generic_value_new(c->riface, &c->evalue)) {
                if (c->riface)
                        avro_value_iface_decref(c->riface);
                c->riface = NULL;
                snprintf(errstr, errstr_size, "Avro class: %s",
                         avro_strerror());
                goto err;
        }
        bc = (build_ctx){&c->rnames, NULL, errstr, errstr_size};
        if (desc_build(&c->emap, c->rschema, -1, NULL, NULL, &bc, 0))
                goto err;
        if (c->emap.kind != D_RECORD) {
                snprintf(errstr, errstr_size, "event schema is not a record");
                goto err;
        }
        if (!(c->scratch = malloc(ENC_CAP)) ||
            !(c->reader = avro_reader_memory(c->scratch, 0)) ||
            !(c->out = avro_writer_memory(c->scratch, ENC_CAP)))
                goto oom;
        if (gr_avro_event_writer_add(c, schema_json, len, errstr,
                                     errstr_size) != 0)
                goto err;
        return c;
oom:
        snprintf(errstr, errstr_size, "out of memory");
err:
        gr_avro_event_codec_destroy(c);
        return NULL;
}

void gr_avro_event_codec_destroy(gr_avro_event_codec *c) {
        if (!c)
                return;
        for (int i = 0; i < c->nw; i++)
                writer_free(&c->w[i]);
        free(c->w);
        desc_free(&c->emap);
        if (c->riface) {
                avro_value_decref(&c->evalue);
                avro_value_iface_decref(c->riface);
        }
        if (c->rschema)
                avro_schema_decref(c->rschema);
        namemap_free(&c->rnames);
        json_decref(c->rjson);
        if (c->reader)
                avro_reader_free(c->reader);
        if (c->out)
                avro_writer_free(c->out);
        free(c->scratch);
        free(c);
}

int gr_avro_event_writer_count(const gr_avro_event_codec *c) {
        return c->nw;
}

uint64_t gr_avro_event_writer_fingerprint(const gr_avro_event_codec *c,
                                          int writer) {
        return writer >= 0 && writer < c->nw ? c->w[writer].fp : 0;
}

int gr_avro_event_writer_find(const gr_avro_event_codec *c, uint64_t fp) {
        for (int i = 0; i < c->nw; i++)
                if (c->w[i].fp == fp)
                        return i;
        for (int i = 0; i < c->nw; i++)
                if (c->w[i].fp_alias == fp)
                        return i;
        return -1;
}

int gr_avro_event_decode(gr_avro_event_codec *c, int writer, const void *buf,
                         size_t len, gr_event *ev, gr_err *err) {
        writer_ent *w;
        int body_type = -1, wbranch = -1, rc;

        gr_event_reset(ev);
        if (writer < 0 || writer >= c->nw)
                return gr_err_set(err, GR_REJ_SCHEMA, "unknown writer schema");
        if (len > GR_EVENT_WIRE_MAX)
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "event is %zu bytes, limit %d", len,
                                  GR_EVENT_WIRE_MAX);
        w = &c->w[writer];
        /* Nothing reaches avro-c before the bytes are known to be one
         * well-formed datum of the writer schema. */
        if (gr_avro_scan_check_branch(w->scan, buf, len, &wbranch, err))
                return -1;
        avro_reader_memory_set_source(c->reader, buf, (int64_t)len);
        avro_value_reset(&w->pvalue);
        rc = w->riface ? avro_value_read(c->reader, &w->rvalue)
                       : avro_value_read(c->reader, &w->pvalue);
        if (rc)
                return avro_fail(err, "Avro read");
        if (fill(&w->map, &w->pvalue, ev, &body_type, err))
                return -1;
        if (w->wbody && wbranch >= 0 && (size_t)wbranch < w->nwbody &&
            body_type != w->wbody[wbranch]) {
                /* avro-c's resolver took the first reader branch the
                 * writer's record resolves to (by field names, defaults for
                 * the rest), not the record of the same name: keep only
                 * what the writer's record really has. */
                avro_schema_t rec =
                    avro_schema_union_branch(w->wbody_union, wbranch);
                if (is_avro_link(rec))
                        rec = avro_schema_link_target(rec);
                for (int f = 0; f < GR_F__CNT; f++) {
                        const gr_field_desc *fd = &gr_event_fields[f];
                        const char *key =
                            fd->parent == GR_P_BODY       ? fd->key
                            : fd->parent == GR_P_PRICE    ? "price"
                            : fd->parent == GR_P_RESOURCES ? "resources"
                                                           : NULL;
                        if (key && gr_event_has(ev, (gr_field_t)f) &&
                            (!is_avro_record(rec) ||
                             avro_schema_record_field_get_index(rec, key) < 0))
                                ev->present &= ~((uint64_t)1 << f);
                }
                body_type = w->wbody[wbranch];
        }
        if (gr_event_has(ev, GR_F_type) && body_type != (int)ev->type)
                return gr_err_set(err, GR_REJ_SCHEMA,
                                  "body is a %s record but type is %s",
                                  body_type >= 0
                                      ? gr_event_type_t_name(
                                            (gr_event_type_t)body_type)
                                      : "foreign",
                                  gr_event_type_t_name(ev->type));
        return gr_event_validate(ev, err);
}

int gr_avro_event_encode(gr_avro_event_codec *c, const gr_event *ev,
                         gr_buf *out, gr_err *err) {
        uint64_t have = ev->present;
        int64_t n;

        /* A failure class of "none" is Avro's null. */
        for (int f = 0; f < GR_F__CNT; f++)
                if (gr_event_fields[f].kind == GR_FK_FAILURE &&
                    ((have >> f) & 1) &&
                    *(const gr_failure_t *)((const char *)ev +
                                            gr_event_fields[f].offset) ==
                        GR_FAIL_NONE)
                        have &= ~((uint64_t)1 << f);
        avro_value_reset(&c->evalue);
        if (emit(&c->emap, &c->evalue, ev, have, err))
                return -1;
        avro_writer_memory_set_dest(c->out, c->scratch, ENC_CAP);
        if (avro_value_write(c->out, &c->evalue))
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "Avro event does not fit %d bytes: %s",
                                  ENC_CAP, avro_strerror());
        n = avro_writer_tell(c->out);
        gr_buf_append(out, c->scratch, (size_t)n);
        return 0;
}

/* ---- the decision encoder ----------------------------------------------- */

#define GR_DECISION_FIELD_MAP(X)                                               \
        X(decision_id)                                                         \
        X(job_id)                                                              \
        X(attempt)                                                             \
        X(seq)                                                                 \
        X(settlement)                                                          \
        X(retry)                                                               \
        X(reason)                                                              \
        X(rule)                                                                \
        X(line)                                                                \
        X(receipt_hash)                                                        \
        X(policy_hash)                                                         \
        X(decided_at)                                                          \
        X(amounts)                                                             \
        X(key_id)                                                              \
        X(sig)

#define DF_ENUM(N) DF_##N,
typedef enum { GR_DECISION_FIELD_MAP(DF_ENUM) DF__CNT } dfield;
#define DF_NAME(N) #N,
static const char *const dfield_names[DF__CNT] = {
    GR_DECISION_FIELD_MAP(DF_NAME)};

struct gr_avro_decision_codec {
        avro_schema_t schema;
        json_t *json;
        uint64_t fp;
        avro_value_iface_t *iface;
        avro_value_t value;
        size_t nfields;
        int *field_of;    /* schema field index -> dfield, or -1 */
        json_t **defs;    /* schema field index -> default (borrowed) */
        avro_writer_t out;
        char *scratch;
};

void gr_avro_decision_codec_destroy(gr_avro_decision_codec *c) {
        if (!c)
                return;
        if (c->iface) {
                avro_value_decref(&c->value);
                avro_value_iface_decref(c->iface);
        }
        if (c->schema)
                avro_schema_decref(c->schema);
        json_decref(c->json);
        free(c->field_of);
        free(c->defs);
        if (c->out)
                avro_writer_free(c->out);
        free(c->scratch);
        free(c);
}

gr_avro_decision_codec *gr_avro_decision_codec_new(const char *schema_json,
                                                   size_t len, char *errstr,
                                                   size_t errstr_size) {
        gr_avro_decision_codec *c = calloc(1, sizeof(*c));
        json_error_t jerr;
        json_t *fields;

        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (!(c->json = json_loadb(schema_json, len, 0, &jerr))) {
                snprintf(errstr, errstr_size, "schema is not JSON: %s",
                         jerr.text);
                goto err;
        }
        if (gr_avro_fingerprint_compute(schema_json, len, &c->fp, errstr,
                                        errstr_size) ||
            schema_parse(schema_json, len, &c->schema, errstr, errstr_size))
                goto err;
        if (!is_avro_record(c->schema)) {
                snprintf(errstr, errstr_size, "decision schema is not a record");
                goto err;
        }
        fields = json_object_get(c->json, "fields");
        c->nfields = avro_schema_record_size(c->schema);
        if (!(c->field_of = calloc(c->nfields + 1, sizeof(int))) ||
            !(c->defs = calloc(c->nfields + 1, sizeof(json_t *))))
                goto oom;
        for (size_t i = 0; i < c->nfields; i++) {
                const char *name =
                    avro_schema_record_field_name(c->schema, (int)i);
                c->field_of[i] = -1;
                c->defs[i] =
                    json_object_get(json_array_get(fields, i), "default");
                for (int k = 0; k < DF__CNT; k++)
                        if (strcmp(name, dfield_names[k]) == 0)
                                c->field_of[i] = k;
                if (c->field_of[i] < 0 && !c->defs[i]) {
                        snprintf(errstr, errstr_size,
                                 "decision field %s is unknown and has no "
                                 "default",
                                 name);
                        goto err;
                }
        }
        if (!(c->iface = avro_generic_class_from_schema(c->schema)) ||
            avro_generic_value_new(c->iface, &c->value)) {
                if (c->iface)
                        avro_value_iface_decref(c->iface);
                c->iface = NULL;
                snprintf(errstr, errstr_size, "Avro class: %s",
                         avro_strerror());
                goto err;
        }
        if (!(c->scratch = malloc(ENC_CAP)) ||
            !(c->out = avro_writer_memory(c->scratch, ENC_CAP)))
                goto oom;
        return c;
oom:
        snprintf(errstr, errstr_size, "out of memory");
err:
        gr_avro_decision_codec_destroy(c);
        return NULL;
}

uint64_t gr_avro_decision_fingerprint(const gr_avro_decision_codec *c) {
        return c->fp;
}

/* Set v (possibly a ["null", T] union) from a string / NULL. */
static int put_str(avro_value_t *v, const char *s) {
        avro_value_t b;
        if (avro_value_get_type(v) == AVRO_UNION) {
                avro_schema_t u = avro_value_get_schema(v);
                for (size_t i = 0; i < avro_schema_union_size(u); i++) {
                        avro_schema_t bs = avro_schema_union_branch(u, (int)i);
                        if (s ? is_avro_null(bs) : !is_avro_null(bs))
                                continue;
                        if (avro_value_set_branch(v, (int)i, &b))
                                return -1;
                        return put_str(&b, s);
                }
                return -1;
        }
        switch (avro_value_get_type(v)) {
        case AVRO_NULL: return s ? -1 : avro_value_set_null(v);
        case AVRO_STRING:
                return s ? avro_value_set_string_len(v, s, strlen(s) + 1) : -1;
        case AVRO_ENUM: {
                int sym = s ? avro_schema_enum_get_by_name(
                                  avro_value_get_schema(v), s)
                            : -1;
                return sym < 0 ? -1 : avro_value_set_enum(v, sym);
        }
        case AVRO_BOOLEAN:
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_FLOAT:
        case AVRO_DOUBLE:
        case AVRO_BYTES:
        case AVRO_FIXED:
        case AVRO_RECORD:
        case AVRO_MAP:
        case AVRO_ARRAY:
        case AVRO_UNION:
        case AVRO_LINK:
                break;
        }
        return -1;
}

static int put_long(avro_value_t *v, int64_t x) {
        avro_value_t b;
        if (avro_value_get_type(v) == AVRO_UNION) {
                avro_schema_t u = avro_value_get_schema(v);
                for (size_t i = 0; i < avro_schema_union_size(u); i++) {
                        avro_schema_t bs = avro_schema_union_branch(u, (int)i);
                        if (!is_avro_int64(bs) && !is_avro_int32(bs))
                                continue;
                        if (avro_value_set_branch(v, (int)i, &b))
                                return -1;
                        return put_long(&b, x);
                }
                return -1;
        }
        if (avro_value_get_type(v) == AVRO_INT64)
                return avro_value_set_long(v, x);
        if (avro_value_get_type(v) == AVRO_INT32 && x >= INT32_MIN &&
            x <= INT32_MAX)
                return avro_value_set_int(v, (int32_t)x);
        return -1;
}

/* amounts: ["null", Amounts] (or a bare Amounts record, which cannot say
 * null).  Record fields are matched by name. */
static int put_amounts(avro_value_t *v, const gr_amounts *m) {
        avro_value_t b, f;
        size_t n;

        if (avro_value_get_type(v) == AVRO_UNION) {
                avro_schema_t u = avro_value_get_schema(v);
                for (size_t i = 0; i < avro_schema_union_size(u); i++) {
                        avro_schema_t bs = avro_schema_union_branch(u, (int)i);
                        if (m->present ? !is_avro_record(bs) : !is_avro_null(bs))
                                continue;
                        if (avro_value_set_branch(v, (int)i, &b))
                                return -1;
                        return m->present ? put_amounts(&b, m)
                                          : avro_value_set_null(&b);
                }
                return -1;
        }
        if (avro_value_get_type(v) != AVRO_RECORD || !m->present ||
            avro_value_get_size(v, &n))
                return -1;
        for (size_t i = 0; i < n; i++) {
                const char *name;
                int rc;
                if (avro_value_get_by_index(v, i, &f, &name))
                        return -1;
                if (!strcmp(name, "currency"))
                        rc = put_str(&f, m->currency);
                else if (!strcmp(name, "price_minor"))
                        rc = put_long(&f, m->price_minor);
                else if (!strcmp(name, "charge_minor"))
                        rc = put_long(&f, m->charge_minor);
                else if (!strcmp(name, "refund_minor"))
                        rc = put_long(&f, m->refund_minor);
                else if (!strcmp(name, "held_minor"))
                        rc = put_long(&f, m->held_minor);
                else
                        rc = -1; /* a field this build cannot fill */
                if (rc)
                        return -1;
        }
        return 0;
}

int gr_avro_decision_encode(gr_avro_decision_codec *c, const gr_decision *d,
                            const char *sig_b64, const char *key_id,
                            gr_buf *out, gr_err *err) {
        avro_value_reset(&c->value);
        for (size_t i = 0; i < c->nfields; i++) {
                avro_value_t f;
                int rc = -1;

                if (avro_value_get_by_index(&c->value, i, &f, NULL))
                        return avro_fail(err, "decision");
                if (c->field_of[i] < 0) {
                        if (value_from_json(&f, c->defs[i], 0))
                                return avro_fail(err, "decision default");
                        continue;
                }
                switch ((dfield)c->field_of[i]) {
                case DF_decision_id: rc = put_str(&f, d->decision_id); break;
                case DF_job_id: rc = put_str(&f, d->job_id); break;
                case DF_attempt: rc = put_long(&f, d->attempt); break;
                case DF_seq:
                        rc = put_long(&f, d->seq > INT64_MAX
                                              ? INT64_MAX
                                              : (int64_t)d->seq);
                        break;
                case DF_settlement:
                        rc = put_str(&f, gr_settlement_t_name(d->settlement));
                        break;
                case DF_retry: rc = put_str(&f, gr_retry_t_name(d->retry)); break;
                case DF_reason:
                        rc = put_str(&f, gr_reason_t_name(d->reason));
                        break;
                case DF_rule:
                        rc = put_str(&f, d->rule == GR_RULE_NONE
                                             ? NULL
                                             : gr_rule_t_name(d->rule));
                        break;
                case DF_line: rc = put_str(&f, d->line ? d->line : ""); break;
                case DF_receipt_hash: rc = put_str(&f, d->receipt_hash); break;
                case DF_policy_hash:
                        rc = put_str(&f, d->policy_hash ? d->policy_hash : "");
                        break;
                case DF_decided_at: rc = put_long(&f, d->decided_at); break;
                case DF_amounts:
                        rc = put_amounts(&f, &d->amounts);
                        break;
                case DF_sig: rc = put_str(&f, sig_b64); break;
                case DF_key_id: rc = put_str(&f, key_id); break;
                case DF__CNT: break;
                }
                if (rc)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "decision field %s has no Avro "
                                          "spelling in this schema",
                                          dfield_names[c->field_of[i]]);
        }
        avro_writer_memory_set_dest(c->out, c->scratch, ENC_CAP);
        if (avro_value_write(c->out, &c->value))
                return avro_fail(err, "Avro write");
        gr_buf_append(out, c->scratch, (size_t)avro_writer_tell(c->out));
        return 0;
}
