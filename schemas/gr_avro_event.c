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
        gr_avro_droplist drops;     /* reader fields this writer lacks */
        gr_avro_desc rmap;          /* read map of wschema (decode) */
        int one_pass;               /* rmap's read checks all the scan
                                       does (gr_avro_desc_read_is_strict) */
} writer_ent;

struct gr_avro_event_codec {
        json_t *rjson;              /* the reader schema */
        avro_schema_t rschema;
        uint64_t rfp;
        gr_avro_schemamap rtypes;   /* named types of rschema */
        avro_value_iface_t *riface;
        avro_value_t evalue;        /* encode value, reused */
        gr_avro_namemap rnames;
        gr_avro_desc emap;
        writer_ent *w;
        int nw, wcap;
        avro_writer_t out;
        char *scratch;
        int two_pass;               /* gr_avro_event_codec_two_pass() */
};

static void writer_free(writer_ent *w) {
        gr_avro_desc_free(&w->rmap);
        if (w->wschema)
                avro_schema_decref(w->wschema);
        gr_avro_scan_destroy(w->scan);
        gr_avro_droplist_free(&w->drops);
}

/*
 * Whether avro-c resolves the writer schema to the reader's projection
 * onto it: the schema-compatibility check, done once (decoding itself is
 * gr_avro_desc_read() over the writer's map).  Fills w->drops.
 */
static int writer_check(gr_avro_event_codec *c, writer_ent *w, char *errstr,
                        size_t errstr_size) {
        gr_avro_schemamap wnames = {0};
        gr_avro_proj_ctx pc;
        json_t *pjson = NULL;
        avro_schema_t pschema = NULL;
        avro_value_iface_t *res = NULL;
        char *ptext = NULL;
        int rc = -1;

        if (gr_avro_schemas_collect(w->wschema, &wnames, 0)) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        pc = (gr_avro_proj_ctx){&wnames, &w->drops, errstr, errstr_size};
        errstr[0] = '\0';
        if (!(pjson = gr_avro_project(c->rjson, NULL, &pc, 0)) ||
            !(ptext = json_dumps(pjson, JSON_COMPACT))) {
                if (!errstr[0])
                        snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        if (gr_avro_schema_parse(ptext, strlen(ptext), &pschema, errstr,
                                 errstr_size))
                goto out;
        if (w->fp != c->rfp &&
            !(res = avro_resolved_writer_new(w->wschema, pschema))) {
                snprintf(errstr, errstr_size,
                         "writer schema cannot be resolved to the reader "
                         "schema: %s",
                         avro_strerror());
                goto out;
        }
        rc = 0;
out:
        if (res)
                avro_value_iface_decref(res);
        if (pschema)
                avro_schema_decref(pschema);
        free(ptext);
        json_decref(pjson);
        free(wnames.v);
        return rc;
}

int gr_avro_event_writer_add(gr_avro_event_codec *c, const char *schema_json,
                             size_t len, char *errstr, size_t errstr_size) {
        writer_ent w;
        gr_avro_namemap nonames = {0};
        gr_avro_build_ctx bc;
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
        if (gr_avro_schema_parse(schema_json, len, &w.wschema, errstr,
                                 errstr_size))
                goto err;
        if (!(w.scan = gr_avro_scan_new(w.wschema, errstr, errstr_size)))
                goto err;
        if (writer_check(c, &w, errstr, errstr_size))
                goto err;
        /* The read map follows the writer's own schema: the body branch
         * the bytes take is the writer's record of that name (never some
         * other reader branch it happens to resolve to); writer fields the
         * reader's record lacks are skipped, reader fields the writer
         * lacks get their defaults (w.drops). */
        bc = (gr_avro_build_ctx){.names = &nonames,
                                 .drops = &w.drops,
                                 .reader = &c->rtypes,
                                 .errstr = errstr,
                                 .errstr_size = errstr_size};
        if (gr_avro_desc_build(&w.rmap, w.wschema, -1, NULL, NULL, &bc, 0))
                goto err;
        if (w.rmap.kind != D_RECORD) {
                snprintf(errstr, errstr_size, "event schema is not a record");
                goto err;
        }
        w.one_pass = gr_avro_desc_read_is_strict(&w.rmap);
        if (c->nw == c->wcap) {
                int ncap = c->wcap ? c->wcap * 2 : 4;
                void *p = realloc(c->w, (size_t)ncap * sizeof(*c->w));
                if (!p) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto err;
                }
                c->w = p;
                c->wcap = ncap;
        }
        c->w[c->nw] = w;
        return c->nw++;
err:
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
            gr_avro_schema_parse(schema_json, len, &c->rschema, errstr,
                                 errstr_size))
                goto err;
        if (gr_avro_names_collect(c->rjson, NULL, &c->rnames, 0) ||
            gr_avro_schemas_collect(c->rschema, &c->rtypes, 0))
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
        bc = (gr_avro_build_ctx){.names = &c->rnames,
                                 .errstr = errstr,
                                 .errstr_size = errstr_size};
        if (gr_avro_desc_build(&c->emap, c->rschema, -1, NULL, NULL, &bc, 0))
                goto err;
        if (c->emap.kind != D_RECORD) {
                snprintf(errstr, errstr_size, "event schema is not a record");
                goto err;
        }
        if (!(c->scratch = malloc(ENC_CAP)) ||
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
        free(c->rtypes.v);
        json_decref(c->rjson);
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

int gr_avro_event_writer_one_pass(const gr_avro_event_codec *c,
                                  int writer) {
        return writer >= 0 && writer < c->nw ? c->w[writer].one_pass : 0;
}

void gr_avro_event_codec_two_pass(gr_avro_event_codec *c, int on) {
        c->two_pass = on != 0;
}

/*
 * Read a datum of a one-pass writer without scanning it first, with the
 * result the scan-then-read order gives.  The read accepts only what the
 * scan accepts, so a success needs no scan.  A failure may be found
 * differently (another detail, or a setter refusing a value before the
 * bad byte the scan would stop at), so then the scan judges: its refusal
 * is what the two-pass order reports, with ev as that order leaves it,
 * reset (callers report the event_id and job_id of a reject when ev has
 * them).  If the scan passes, the two-pass order would have read the same
 * way and failed with the read's error and the same partial ev.  Only
 * rejected messages pay for the second walk.
 */
static int read_one_pass(const writer_ent *w, const void *buf, size_t len,
                         gr_event *ev, int *body_type, gr_err *err) {
        gr_err rerr;

        if (!gr_avro_desc_read(&w->rmap, buf, len, ev, body_type, err))
                return 0;
        if (err)
                rerr = *err;
        if (gr_avro_scan_check(w->scan, buf, len, err)) {
                gr_event_reset(ev);
                return -1;
        }
        if (err)
                *err = rerr;
        return -1;
}

int gr_avro_event_decode(gr_avro_event_codec *c, int writer, const void *buf,
                         size_t len, gr_event *ev, gr_err *err) {
        writer_ent *w;
        int body_type = -1;

        gr_event_reset(ev);
        if (writer < 0 || writer >= c->nw)
                return gr_err_set(err, GR_REJ_SCHEMA, "unknown writer schema");
        if (len > GR_EVENT_WIRE_MAX)
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "event is %zu bytes, limit %d", len,
                                  GR_EVENT_WIRE_MAX);
        w = &c->w[writer];
        if (w->one_pass && !c->two_pass) {
                if (read_one_pass(w, buf, len, ev, &body_type, err))
                        return -1;
        } else {
                /* This writer's read skips values without checking them
                 * (gr_avro_desc_read_is_strict()), or two passes were
                 * asked for: nothing is read before the bytes are known to
                 * be one well-formed datum of the writer schema. */
                if (gr_avro_scan_check(w->scan, buf, len, err))
                        return -1;
                if (gr_avro_desc_read(&w->rmap, buf, len, ev, &body_type,
                                      err))
                        return -1;
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
