/* Framing (Confluent, single-object, JSON) and dispatch to the codecs (see
 * gr_codec.h); the schema table is gr_avro_registry.c. */
#include "gr_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_registry.h"
#include "gr_avro_event.h"
#include "gr_json_event.h"
#include "gr_output.h"

struct gr_codec {
        gr_avro_registry reg;
        int *writer; /* per registry entry: event writer handle, or -1 */
        gr_avro_event_codec *ev;
        gr_avro_decision_codec *dec;
        gr_json_decoder *json;
        uint32_t event_id, decision_id;
        int has_decision;
        gr_wire_t last_wire;
};

gr_codec *gr_codec_new(const char *schema_dir, char *errstr,
                       size_t errstr_size) {
        gr_codec *c = calloc(1, sizeof(*c));
        const gr_avro_schema_entry *cur_event, *cur_decision;
        char sub[256];

        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (gr_avro_registry_load(&c->reg, schema_dir, errstr, errstr_size))
                goto err;
        cur_event = gr_avro_registry_current(&c->reg, GR_SCHEMA_EVENT);
        cur_decision = gr_avro_registry_current(&c->reg, GR_SCHEMA_DECISION);
        if (!cur_event) {
                snprintf(errstr, errstr_size,
                         "registry.txt lists no event schema");
                goto err;
        }
        if (!(c->writer = calloc(c->reg.n + 1, sizeof(*c->writer)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        if (!(c->ev = gr_avro_event_codec_new(cur_event->text, cur_event->len,
                                              sub, sizeof(sub)))) {
                snprintf(errstr, errstr_size, "event schema id %u: %s",
                         cur_event->id, sub);
                goto err;
        }
        c->event_id = cur_event->id;
        for (size_t i = 0; i < c->reg.n; i++) {
                const gr_avro_schema_entry *e = &c->reg.e[i];
                c->writer[i] = -1;
                if (e->kind != GR_SCHEMA_EVENT)
                        continue;
                c->writer[i] = gr_avro_event_writer_add(c->ev, e->text, e->len,
                                                        sub, sizeof(sub));
                if (c->writer[i] < 0) {
                        snprintf(errstr, errstr_size, "event schema id %u: %s",
                                 e->id, sub);
                        goto err;
                }
        }
        if (cur_decision) {
                if (!(c->dec = gr_avro_decision_codec_new(
                          cur_decision->text, cur_decision->len, sub,
                          sizeof(sub)))) {
                        snprintf(errstr, errstr_size,
                                 "decision schema id %u: %s", cur_decision->id,
                                 sub);
                        goto err;
                }
                c->decision_id = cur_decision->id;
                c->has_decision = 1;
        }
        if (!(c->json = gr_json_decoder_new())) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        return c;
err:
        gr_codec_destroy(c);
        return NULL;
}

void gr_codec_destroy(gr_codec *c) {
        if (!c)
                return;
        gr_avro_registry_free(&c->reg);
        free(c->writer);
        gr_avro_event_codec_destroy(c->ev);
        gr_avro_decision_codec_destroy(c->dec);
        gr_json_decoder_destroy(c->json);
        free(c);
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
               (uint32_t)p[2] << 8 | p[3];
}

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

int gr_codec_decode(gr_codec *c, const void *buf, size_t len, gr_event *ev,
                    gr_err *err) {
        const uint8_t *b = buf;

        gr_event_reset(ev);
        if (len > GR_EVENT_WIRE_MAX)
                return gr_err_set(err, GR_REJ_TOO_LARGE,
                                  "message is %zu bytes, limit %d", len,
                                  GR_EVENT_WIRE_MAX);
        if (len > 0 && b[0] == GR_CONFLUENT_MAGIC) {
                uint32_t id;
                c->last_wire = GR_WIRE_AVRO_CONFLUENT;
                if (len < GR_CONFLUENT_HEADER)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "Confluent header truncated: %zu "
                                          "of 5 bytes",
                                          len);
                id = be32(b + 1);
                for (size_t i = 0; i < c->reg.n; i++) {
                        const gr_avro_schema_entry *e = &c->reg.e[i];
                        if (e->id != id)
                                continue;
                        if (e->kind != GR_SCHEMA_EVENT)
                                return gr_err_set(
                                    err, GR_REJ_SCHEMA,
                                    "schema id %u is a %s schema, not an "
                                    "event",
                                    id, gr_schema_kind_names[e->kind]);
                        return gr_avro_event_decode(
                            c->ev, c->writer[i], b + GR_CONFLUENT_HEADER,
                            len - GR_CONFLUENT_HEADER, ev, err);
                }
                return gr_err_set(err, GR_REJ_SCHEMA, "unknown schema id %u",
                                  id);
        }
        if (len > 0 && b[0] == 0xC3) {
                uint64_t fp;
                int w;
                c->last_wire = GR_WIRE_AVRO_SINGLE;
                if (len < 2 || b[1] != 0x01)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "single-object marker is not C3 01");
                if (len < GR_SINGLE_OBJECT_HEADER)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "single-object header truncated: "
                                          "%zu of 10 bytes",
                                          len);
                fp = le64(b + 2);
                if ((w = gr_avro_event_writer_find(c->ev, fp)) < 0)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "unknown writer schema fingerprint "
                                          "%016llx",
                                          (unsigned long long)fp);
                return gr_avro_event_decode(c->ev, w,
                                            b + GR_SINGLE_OBJECT_HEADER,
                                            len - GR_SINGLE_OBJECT_HEADER, ev,
                                            err);
        }
        c->last_wire = GR_WIRE_JSON;
        return gr_json_event_decode(c->json, (const char *)buf, len, ev, err);
}

gr_wire_t gr_codec_last_wire(const gr_codec *c) {
        return c->last_wire;
}

void gr_codec_avro_two_pass(gr_codec *c, int on) {
        gr_avro_event_codec_two_pass(c->ev, on);
}

static void put_confluent(gr_buf *out, uint32_t id) {
        uint8_t h[GR_CONFLUENT_HEADER] = {GR_CONFLUENT_MAGIC,
                                          (uint8_t)(id >> 24),
                                          (uint8_t)(id >> 16),
                                          (uint8_t)(id >> 8), (uint8_t)id};
        gr_buf_append(out, h, sizeof(h));
}

static void put_single(gr_buf *out, uint64_t fp) {
        uint8_t h[GR_SINGLE_OBJECT_HEADER] = {0xC3, 0x01};
        for (int i = 0; i < 8; i++)
                h[2 + i] = (uint8_t)(fp >> (8 * i));
        gr_buf_append(out, h, sizeof(h));
}

/* Undo a partial append so that a failed encode leaves out as it was. */
static int encode_failed(gr_buf *out, size_t mark) {
        if (out->len > mark) {
                out->len = mark;
                if (out->data)
                        out->data[mark] = '\0';
        }
        return -1;
}

int gr_codec_encode_event(gr_codec *c, gr_wire_t wire, const gr_event *ev,
                          gr_buf *out, gr_err *err) {
        size_t mark = out->len;

        switch (wire) {
        case GR_WIRE_JSON:
                gr_json_event_encode(ev, out);
                break;
        case GR_WIRE_AVRO_CONFLUENT:
                put_confluent(out, c->event_id);
                if (gr_avro_event_encode(c->ev, ev, out, err))
                        return encode_failed(out, mark);
                break;
        case GR_WIRE_AVRO_SINGLE:
                put_single(out, gr_avro_event_writer_fingerprint(c->ev, 0));
                if (gr_avro_event_encode(c->ev, ev, out, err))
                        return encode_failed(out, mark);
                break;
        }
        if (out->oom) {
                gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
                return encode_failed(out, mark);
        }
        return 0;
}

int gr_codec_encode_decision(gr_codec *c, gr_wire_t wire,
                             const gr_decision *d, const char *sig_b64,
                             const char *key_id, gr_buf *out, gr_err *err) {
        size_t mark = out->len;

        if (wire != GR_WIRE_JSON && !c->has_decision) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "registry.txt lists no decision schema");
                return encode_failed(out, mark);
        }
        switch (wire) {
        case GR_WIRE_JSON:
                gr_decision_to_json(d, sig_b64, key_id, out);
                break;
        case GR_WIRE_AVRO_CONFLUENT:
                put_confluent(out, c->decision_id);
                if (gr_avro_decision_encode(c->dec, d, sig_b64, key_id, out,
                                            err))
                        return encode_failed(out, mark);
                break;
        case GR_WIRE_AVRO_SINGLE:
                put_single(out, gr_avro_decision_fingerprint(c->dec));
                if (gr_avro_decision_encode(c->dec, d, sig_b64, key_id, out,
                                            err))
                        return encode_failed(out, mark);
                break;
        }
        if (out->oom) {
                gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
                return encode_failed(out, mark);
        }
        return 0;
}

int gr_wire_parse(const char *s, gr_wire_t *out) {
        if (strcmp(s, "json") == 0)
                *out = GR_WIRE_JSON;
        else if (strcmp(s, "avro") == 0 || strcmp(s, "avro-confluent") == 0)
                *out = GR_WIRE_AVRO_CONFLUENT;
        else if (strcmp(s, "avro-single") == 0)
                *out = GR_WIRE_AVRO_SINGLE;
        else
                return -1;
        return 0;
}

const char *gr_wire_name(gr_wire_t w) {
        switch (w) {
        case GR_WIRE_JSON: return "json";
        case GR_WIRE_AVRO_CONFLUENT: return "avro-confluent";
        case GR_WIRE_AVRO_SINGLE: return "avro-single";
        }
        return "?";
}

uint32_t gr_codec_event_schema_id(const gr_codec *c) {
        return c->event_id;
}

uint32_t gr_codec_decision_schema_id(const gr_codec *c) {
        return c->decision_id;
}
