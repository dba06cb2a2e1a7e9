/* Field map between the LifecycleEvent schema and gr_event (see
 * gr_avro_fieldmap.h). */
#include "gr_avro_fieldmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gr_avro_desc_free(gr_avro_desc *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                gr_avro_desc_free(&d->kids[i]);
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

/*
 * The body-record naming contract with the .avsc files (schemas/README.md):
 * the body of event type `t` is the record whose name (without namespace)
 * is t's name in UpperCamelCase plus "Body" — each '_'-separated word
 * capitalised, the underscores dropped: "quote_accepted" ->
 * "QuoteAcceptedBody".  Decoding finds a body branch's event type by this
 * name, encoding finds the branch of ev->type by it; a record that matches
 * no type is "foreign" and never decodes.  tests/schemas/test_avro_names.c
 * checks every type has its record in each event schema.
 */
int gr_avro_body_record_name(gr_event_type_t t, char *buf, size_t size) {
        const char *s = gr_event_type_t_name(t);
        size_t n = 0;
        int up = 1;

        if (!s || size < sizeof("Body"))
                return -1;
        for (; *s; s++) {
                if (*s == '_') {
                        up = 1;
                        continue;
                }
                if (n + sizeof("Body") >= size)
                        return -1;
                buf[n++] = up && *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A')
                                                        : *s;
                up = 0;
        }
        memcpy(buf + n, "Body", sizeof("Body"));
        return 0;
}

int gr_avro_body_evtype(const char *record_name) {
        char buf[64];

        for (int t = 0; t < GR_EVT__CNT; t++)
                if (gr_avro_body_record_name((gr_event_type_t)t, buf,
                                             sizeof(buf)) == 0 &&
                    strcmp(buf, record_name) == 0)
                        return t;
        return -1;
}


/*
 * Field map of the value at (parent, key) with schema sc.  parent -1 with
 * key NULL is the envelope itself (its fields live at GR_P_TOP).
 */
int gr_avro_desc_build(gr_avro_desc *d, avro_schema_t sc, int parent,
                       const char *key,
                      json_t *def, const gr_avro_build_ctx *bc, int depth) {
        memset(d, 0, sizeof(*d));
        d->field = -1;
        d->evtype = -1;
        d->null_branch = -1;
        d->def = def;
        if (is_avro_link(sc))
                sc = avro_schema_link_target(sc);
        d->schema = sc;
        if (depth > GR_AVRO_DEPTH_MAX) {
                d->kind = D_SKIP;
                return 0;
        }
        if (is_avro_record(sc)) {
                int cp = key ? child_parent(parent, key) : GR_P_TOP;
                char full[GR_AVRO_NAME_MAX];
                json_t *jdef, *jfields;
                avro_schema_t rrec;

                gr_avro_schema_fullname(sc, full);
                if (parent == GR_P_TOP && key && strcmp(key, "body") == 0)
                        d->evtype = gr_avro_body_evtype(avro_schema_name(sc));
                if (cp < 0) {
                        d->kind = D_SKIP;
                        return 0;
                }
                d->kind = D_RECORD;
                d->n = avro_schema_record_size(sc);
                if (d->n && !(d->kids = calloc(d->n, sizeof(*d->kids))))
                        goto oom;
                jdef = gr_avro_namemap_get(bc->names, full);
                jfields = jdef ? json_object_get(jdef, "fields") : NULL;
                rrec = bc->reader ? gr_avro_schemamap_get(bc->reader, full)
                                  : NULL;
                for (size_t i = 0; i < d->n; i++) {
                        const char *fname =
                            avro_schema_record_field_name(sc, (int)i);
                        json_t *fdef = json_object_get(
                            json_array_get(jfields, i), "default");
                        if (rrec && is_avro_record(rrec) &&
                            avro_schema_record_field_get_index(rrec, fname) <
                                0) {
                                avro_schema_t fs =
                                    avro_schema_record_field_get_by_index(
                                        sc, (int)i);
                                gr_avro_desc *k = &d->kids[i];
                                k->kind = D_SKIP;
                                k->field = k->evtype = k->null_branch = -1;
                                k->schema = is_avro_link(fs)
                                                ? avro_schema_link_target(fs)
                                                : fs;
                                continue;
                        }
                        if (gr_avro_desc_build(&d->kids[i],
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
                        if (gr_avro_desc_build(&d->kids[i], b, parent, key,
                                               NULL, bc,
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
                d->nsym = avro_schema_enum_number_of_symbols(sc);
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


int gr_avro_set_from_json(gr_event *ev, int f, json_t *j, gr_err *err) {
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

static int emit_leaf(const gr_avro_desc *d, avro_value_t *v, const gr_event *ev,
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
                                          fd->key, enum_kind_name(fd->kind,
                                                                  val));
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
                return gr_avro_fail(err, fd->key);
        return 0;
}

/* Which branch of a (non-body) union holds what ev has: the first non-null
 * branch with data, else the null branch, else branch 0. */
static int union_pick(const gr_avro_desc *d, uint64_t have) {
        if (d->mask & have)
                for (size_t i = 0; i < d->n; i++)
                        if ((int)i != d->null_branch &&
                            (d->kids[i].mask & have))
                                return (int)i;
        return d->null_branch >= 0 ? d->null_branch : 0;
}

int gr_avro_desc_emit(const gr_avro_desc *d, avro_value_t *v,
                      const gr_event *ev,
                uint64_t have, gr_err *err) {
        switch (d->kind) {
        case D_SKIP:
                if (gr_avro_value_from_json(v, d->def, 0))
                        return gr_avro_fail(err, "default");
                return 0;
        case D_RECORD:
                for (size_t i = 0; i < d->n; i++) {
                        avro_value_t child;
                        if (avro_value_get_by_index(v, i, &child, NULL))
                                return gr_avro_fail(err, "record");
                        if (gr_avro_desc_emit(&d->kids[i], &child, ev, have,
                                              err))
                                return -1;
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
                        return gr_avro_fail(err, "union");
                return gr_avro_desc_emit(&d->kids[b], &branch, ev, have, err);
        }
        case D_LEAF:
                break;
        }
        if (d->field >= 0 && ((have >> d->field) & 1))
                return emit_leaf(d, v, ev, err);
        if (d->type == AVRO_NULL)
                return avro_value_set_null(v) ? gr_avro_fail(err, "null") : 0;
        if (d->field >= 0 && !d->def) {
                const gr_field_desc *fd = &gr_event_fields[d->field];
                return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                  "%s%s%s required by the Avro schema",
                                  fd->parent == GR_P_TOP
                                      ? ""
                                      : gr_parent_name(fd->parent),
                                  fd->parent == GR_P_TOP ? "" : ".", fd->key);
        }
        if (gr_avro_value_from_json(v, d->def, 0))
                return gr_avro_fail(err, "default");
        return 0;
}
