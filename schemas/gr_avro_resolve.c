/* Writer -> reader schema projection and shared avro-c helpers (see
 * gr_avro_resolve.h). */
#include "gr_avro_resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
                snprintf(full, GR_AVRO_NAME_MAX, "%s", name);
        else
                snprintf(full, GR_AVRO_NAME_MAX, "%s.%s", ns, name);
        dot = strrchr(full, '.');
        snprintf(inner, GR_AVRO_NAME_MAX, "%.*s", dot ? (int)(dot - full) : 0,
                 full);
}

void gr_avro_schema_fullname(avro_schema_t s, char *full) {
        const char *ns = avro_schema_namespace(s);
        const char *name = avro_schema_name(s);

        if (!name)
                name = "";
        if (ns && ns[0])
                snprintf(full, GR_AVRO_NAME_MAX, "%s.%s", ns, name);
        else
                snprintf(full, GR_AVRO_NAME_MAX, "%s", name);
}


void gr_avro_namemap_free(gr_avro_namemap *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i].name);
        free(m->v);
        memset(m, 0, sizeof(*m));
}

static int namemap_add(gr_avro_namemap *m, const char *name, json_t *def) {
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

json_t *gr_avro_namemap_get(const gr_avro_namemap *m, const char *name) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].name, name) == 0)
                        return m->v[i].def;
        return NULL;
}

int gr_avro_names_collect(json_t *s, const char *ns, gr_avro_namemap *m,
                          int depth) {
        json_t *t, *f;
        size_t i;

        if (depth > 64)
                return -1;
        if (json_is_array(s)) {
                json_array_foreach(s, i, f) {
                        if (gr_avro_names_collect(f, ns, m, depth + 1))
                                return -1;
                }
                return 0;
        }
        if (!json_is_object(s))
                return 0;
        t = json_object_get(s, "type");
        if (!json_is_string(t))
                return t ? gr_avro_names_collect(t, ns, m, depth + 1) : 0;
        if (is_named_type(json_string_value(t))) {
                char full[GR_AVRO_NAME_MAX], inner[GR_AVRO_NAME_MAX];
                json_fullname(s, ns, full, inner);
                if (namemap_add(m, full, s))
                        return -1;
                json_array_foreach(json_object_get(s, "fields"), i, f) {
                        if (gr_avro_names_collect(json_object_get(f, "type"),
                                                  inner, m, depth + 1))
                                return -1;
                }
                return 0;
        }
        if (json_object_get(s, "items"))
                return gr_avro_names_collect(json_object_get(s, "items"), ns,
                                             m, depth + 1);
        if (json_object_get(s, "values"))
                return gr_avro_names_collect(json_object_get(s, "values"), ns,
                                             m, depth + 1);
        return 0;
}


int gr_avro_schemas_collect(avro_schema_t s, gr_avro_schemamap *m, int depth) {
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
                gr_avro_schema_fullname(s, m->v[m->n].name);
                m->v[m->n++].s = s;
        }
        if (is_avro_record(s)) {
                for (size_t i = 0; i < avro_schema_record_size(s); i++)
                        if (gr_avro_schemas_collect(
                                avro_schema_record_field_get_by_index(
                                    s, (int)i),
                                m, depth + 1))
                                return -1;
        } else if (is_avro_union(s)) {
                for (size_t i = 0; i < avro_schema_union_size(s); i++)
                        if (gr_avro_schemas_collect(
                                avro_schema_union_branch(s, (int)i), m,
                                depth + 1))
                                return -1;
        } else if (is_avro_array(s)) {
                return gr_avro_schemas_collect(avro_schema_array_items(s), m,
                                               depth + 1);
        } else if (is_avro_map(s)) {
                return gr_avro_schemas_collect(avro_schema_map_values(s), m,
                                               depth + 1);
        }
        return 0;
}

avro_schema_t gr_avro_schemamap_get(const gr_avro_schemamap *m,
                                    const char *name) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].name, name) == 0)
                        return m->v[i].s;
        return NULL;
}


void gr_avro_droplist_free(gr_avro_droplist *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].field);
                json_decref(d->v[i].def);
        }
        free(d->v);
        memset(d, 0, sizeof(*d));
}


/*
 * The reader schema without the record fields its writer counterpart
 * (same full name) lacks.  Returns a new reference or NULL.
 */
json_t *gr_avro_project(json_t *s, const char *ns, gr_avro_proj_ctx *pc,
                        int depth) {
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
                        if (!(sub = gr_avro_project(b, ns, pc, depth + 1)) ||
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
                if (!(sub = gr_avro_project(t, ns, pc, depth + 1)) ||
                    json_object_set_new(copy, "type", sub))
                        goto err;
                return copy;
        }
        if (!t)
                return copy;
        if (strcmp(json_string_value(t), "record") == 0 ||
            strcmp(json_string_value(t), "error") == 0) {
                char full[GR_AVRO_NAME_MAX], inner[GR_AVRO_NAME_MAX];
                avro_schema_t w;
                json_t *fields = json_array(), *f;

                json_fullname(s, ns, full, inner);
                w = gr_avro_schemamap_get(pc->writer, full);
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
                                gr_avro_droplist *d = pc->drops;
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
                                snprintf(d->v[d->n].record, GR_AVRO_NAME_MAX,
                                         "%s",
                                         full);
                                d->v[d->n].field = strdup(fname);
                                d->v[d->n].def = json_incref(def);
                                d->n++;
                                continue;
                        }
                        nf = json_copy(f);
                        sub = gr_avro_project(json_object_get(f, "type"),
                                              inner, pc,
                                      depth + 1);
                        if (!nf || !sub || json_object_set_new(nf, "type",
                                                               sub) ||
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
                if (!(sub = gr_avro_project(json_object_get(s, "items"), ns, pc,
                                    depth + 1)) ||
                    json_object_set_new(copy, "items", sub))
                        goto err;
        } else if (json_object_get(s, "values")) {
                if (!(sub = gr_avro_project(json_object_get(s, "values"), ns,
                                            pc,
                                    depth + 1)) ||
                    json_object_set_new(copy, "values", sub))
                        goto err;
        }
        return copy;
err:
        json_decref(copy);
        return NULL;
}

int gr_avro_schema_parse(const char *json, size_t len, avro_schema_t *out,
                        char *errstr, size_t errstr_size) {
        if (avro_schema_from_json_length(json, len, out)) {
                snprintf(errstr, errstr_size, "Avro schema: %s",
                         avro_strerror());
                return -1;
        }
        return 0;
}
int gr_avro_fail(gr_err *err, const char *what) {
        return gr_err_set(err, GR_REJ_INVALID_AVRO, "%s: %s", what,
                          avro_strerror());
}
/* ---- encode: gr_event -> avro value ------------------------------------ */

/* A value from a JSON default (or the type's zero when j is NULL). */
int gr_avro_value_from_json(avro_value_t *v, json_t *j, int depth) {
        avro_value_t child;

        if (depth > GR_AVRO_DEPTH_MAX)
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
                            gr_avro_value_from_json(
                                &child, json_object_get(j, name), depth + 1))
                                return -1;
                }
                return 0;
        }
        case AVRO_UNION:
                /* A union's default is a value of its first branch. */
                if (avro_value_set_branch(v, 0, &child))
                        return -1;
                return gr_avro_value_from_json(&child, j, depth + 1);
        case AVRO_FIXED:
        case AVRO_MAP:
        case AVRO_ARRAY:
        case AVRO_LINK:
                return 0;
        }
        return -1;
}
