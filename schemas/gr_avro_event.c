/* Avro event codec on avro-c's value API (see gr_avro_event.h). */
#include "gr_avro_event.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_fieldmap.h"
#include "gr_avro_pcf.h"
#include "gr_avro_resolve.h"
#include "gr_avro_scan.h"

/* Scratch for one encoded datum: the wire limit plus room for framing. */
#define ENC_CAP (GR_EVENT_WIRE_MAX + 64)

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
        gr_avro_droplist drops;
        gr_avro_namemap names;              /* definitions in pjson */
        gr_avro_desc map;
} writer_ent;

struct gr_avro_event_codec {
        json_t *rjson;              /* the reader schema */
        avro_schema_t rschema;
        uint64_t rfp;
        avro_value_iface_t *riface;
        avro_value_t evalue;        /* encode value, reused */
        gr_avro_namemap rnames;
        gr_avro_desc emap;
        writer_ent *w;
        int nw, wcap;
        avro_reader_t reader;
        avro_writer_t out;
        char *scratch;
};

static void writer_free(writer_ent *w) {
        gr_avro_desc_free(&w->map);
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
        gr_avro_droplist_free(&w->drops);
        gr_avro_namemap_free(&w->names);
}


int gr_avro_event_writer_add(gr_avro_event_codec *c, const char *schema_json,
                             size_t len, char *errstr, size_t errstr_size) {
        writer_ent w;
        gr_avro_schemamap wnames = {0};
        gr_avro_proj_ctx pc;
        gr_avro_build_ctx bc;
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
        if (gr_avro_schema_parse(schema_json, len, &w.wschema, errstr, errstr_size))
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
                                         ? gr_avro_body_evtype(avro_schema_name(b))
                                         : -1;
                }
        }
        if (gr_avro_schemas_collect(w.wschema, &wnames, 0))
                goto oom;
        pc = (gr_avro_proj_ctx){&wnames, &w.drops, errstr, errstr_size};
        errstr[0] = '\0';
        if (!(w.pjson = gr_avro_project(c->rjson, NULL, &pc, 0))) {
                if (!errstr[0])
                        snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        if (!(ptext = json_dumps(w.pjson, JSON_COMPACT)))
                goto oom;
        if (gr_avro_schema_parse(ptext, strlen(ptext), &w.pschema, errstr,
                         errstr_size))
                goto err;
        if (gr_avro_names_collect(w.pjson, NULL, &w.names, 0))
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
        bc = (gr_avro_build_ctx){&w.names, &w.drops, errstr, errstr_size};
        if (gr_avro_desc_build(&w.map, w.pschema, -1, NULL, NULL, &bc, 0))
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
        gr_avro_build_ctx bc;

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
            gr_avro_schema_parse(schema_json, len, &c->rschema, errstr, errstr_size))
                goto err;
        if (gr_avro_names_collect(c->rjson, NULL, &c->rnames, 0))
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
        bc = (gr_avro_build_ctx){&c->rnames, NULL, errstr, errstr_size};
        if (gr_avro_desc_build(&c->emap, c->rschema, -1, NULL, NULL, &bc, 0))
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
        gr_avro_desc_free(&c->emap);
        if (c->riface) {
                avro_value_decref(&c->evalue);
                avro_value_iface_decref(c->riface);
        }
        if (c->rschema)
                avro_schema_decref(c->rschema);
        gr_avro_namemap_free(&c->rnames);
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
                return gr_avro_fail(err, "Avro read");
        if (gr_avro_desc_fill(&w->map, &w->pvalue, ev, &body_type, err))
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
        if (gr_avro_desc_emit(&c->emap, &c->evalue, ev, have, err))
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
