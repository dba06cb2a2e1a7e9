/* Framing (Confluent, single-object, JSON) and the schema table (see
 * gr_codec.h). */
#include "gr_codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_builtin.h"
#include "gr_avro_event.h"
#include "gr_json_event.h"
#include "gr_output.h"

#define SCHEMA_FILE_MAX (1024 * 1024)

typedef enum {
        K_EVENT,
        K_DECISION,
        K_LEDGER_ROW,
        K_RECEIPT,
        K_STATE,
        K__CNT
} schema_kind;

static const char *const kind_names[K__CNT] = {"event", "decision",
                                               "ledger_row", "receipt", "state"};

typedef struct entry {
        uint32_t id;
        schema_kind kind;
        char *text;
        size_t len;
        int writer; /* event writer handle, or -1 */
} entry;

struct gr_codec {
        entry *e;
        size_t n;
        gr_avro_event_codec *ev;
        gr_avro_decision_codec *dec;
        gr_json_decoder *json;
        uint32_t event_id, decision_id;
        int has_decision;
        gr_wire_t last_wire;
        gr_err last_err;
        char last_error[300];
};

/* A schema file: from the directory, or the built-in copy. */
static char *load_file(const char *dir, const char *name, size_t *len,
                       char *errstr, size_t errstr_size) {
        char path[4096];
        FILE *f;
        char *buf;
        size_t n;

        if (!dir) {
                for (size_t i = 0; i < gr_avro_builtins_cnt; i++)
                        if (strcmp(gr_avro_builtins[i].name, name) == 0) {
                                if (!(buf = malloc(gr_avro_builtins[i].len + 1)))
                                        break;
                                memcpy(buf, gr_avro_builtins[i].text,
                                       gr_avro_builtins[i].len + 1);
                                *len = gr_avro_builtins[i].len;
                                return buf;
                        }
                snprintf(errstr, errstr_size, "no built-in schema file %s",
                         name);
                return NULL;
        }
        snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir,
                 name[0] == '/' ? "" : "/", name);
        if (!(f = fopen(path, "rb"))) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return NULL;
        }
        if (!(buf = malloc(SCHEMA_FILE_MAX + 1))) {
                fclose(f);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        n = fread(buf, 1, SCHEMA_FILE_MAX + 1, f);
        fclose(f);
        if (n > SCHEMA_FILE_MAX) {
                free(buf);
                snprintf(errstr, errstr_size, "%s: larger than %d bytes", path,
                         SCHEMA_FILE_MAX);
                return NULL;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* registry.txt: "<id> <kind> <file>" lines, '#' comments. */
static int registry_load(gr_codec *c, const char *dir, char *errstr,
                         size_t errstr_size) {
        size_t len;
        char *text = load_file(dir, "registry.txt", &len, errstr, errstr_size);
        char *line, *save = NULL;
        int lineno = 0;

        if (!text)
                return -1;
        for (line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char kind[32], file[1024];
                unsigned long id;
                int k = -1;
                entry *e;
                void *p;

                lineno++;
                while (*line == ' ' || *line == '\t')
                        line++;
                if (!*line || *line == '#' || *line == '\r')
                        continue;
                if (sscanf(line, "%lu %31s %1023s", &id, kind, file) != 3 ||
                    id > UINT32_MAX) {
                        snprintf(errstr, errstr_size,
                                 "registry.txt line %d: want <id> <kind> "
                                 "<file>",
                                 lineno);
                        goto err;
                }
                for (int i = 0; i < K__CNT; i++)
                        if (strcmp(kind, kind_names[i]) == 0)
                                k = i;
                if (k < 0) {
                        snprintf(errstr, errstr_size,
                                 "registry.txt line %d: unknown kind %s",
                                 lineno, kind);
                        goto err;
                }
                for (size_t i = 0; i < c->n; i++)
                        if (c->e[i].id == id) {
                                snprintf(errstr, errstr_size,
                                         "registry.txt line %d: id %lu "
                                         "listed twice",
                                         lineno, id);
                                goto err;
                        }
                if (!(p = realloc(c->e, (c->n + 1) * sizeof(*c->e))))
                        goto oom;
                c->e = p;
                e = &c->e[c->n];
                memset(e, 0, sizeof(*e));
                e->id = (uint32_t)id;
                e->kind = (schema_kind)k;
                e->writer = -1;
                if (!(e->text = load_file(dir, file, &e->len, errstr,
                                          errstr_size)))
                        goto err;
                c->n++;
        }
        free(text);
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory");
err:
        free(text);
        return -1;
}

gr_codec *gr_codec_new(const char *schema_dir, char *errstr,
                       size_t errstr_size) {
        gr_codec *c = calloc(1, sizeof(*c));
        entry *cur_event = NULL, *cur_decision = NULL;
        char sub[256];

        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (registry_load(c, schema_dir, errstr, errstr_size))
                goto err;
        for (size_t i = 0; i < c->n; i++) {
                if (c->e[i].kind == K_EVENT)
                        cur_event = &c->e[i];
                if (c->e[i].kind == K_DECISION)
                        cur_decision = &c->e[i];
        }
        if (!cur_event) {
                snprintf(errstr, errstr_size,
                         "registry.txt lists no event schema");
                goto err;
        }
        if (!(c->ev = gr_avro_event_codec_new(cur_event->text, cur_event->len,
                                              sub, sizeof(sub)))) {
                snprintf(errstr, errstr_size, "event schema id %u: %s",
                         cur_event->id, sub);
                goto err;
        }
        c->event_id = cur_event->id;
        for (size_t i = 0; i < c->n; i++) {
                if (c->e[i].kind != K_EVENT)
                        continue;
                c->e[i].writer = gr_avro_event_writer_add(
                    c->ev, c->e[i].text, c->e[i].len, sub, sizeof(sub));
                if (c->e[i].writer < 0) {
                        snprintf(errstr, errstr_size, "event schema id %u: %s",
                                 c->e[i].id, sub);
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
        for (size_t i = 0; i < c->n; i++)
                free(c->e[i].text);
        free(c->e);
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
                for (size_t i = 0; i < c->n; i++) {
                        if (c->e[i].id != id)
                                continue;
                        if (c->e[i].kind != K_EVENT)
                                return gr_err_set(err, GR_REJ_SCHEMA,
                                                  "schema id %u is a %s "
                                                  "schema, not an event",
                                                  id,
                                                  kind_names[c->e[i].kind]);
                        return gr_avro_event_decode(
                            c->ev, c->e[i].writer, b + GR_CONFLUENT_HEADER,
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
static int encode_failed(gr_codec *c, gr_buf *out, size_t mark,
                         const char *why) {
        if (out->len > mark) {
                out->len = mark;
                if (out->data)
                        out->data[mark] = '\0';
        }
        snprintf(c->last_error, sizeof(c->last_error), "%s", why);
        return -1;
}

int gr_codec_encode_event(gr_codec *c, gr_wire_t wire, const gr_event *ev,
                          gr_buf *out) {
        size_t mark = out->len;

        switch (wire) {
        case GR_WIRE_JSON:
                gr_json_event_encode(ev, out);
                break;
        case GR_WIRE_AVRO_CONFLUENT:
                put_confluent(out, c->event_id);
                if (gr_avro_event_encode(c->ev, ev, out, &c->last_err))
                        return encode_failed(c, out, mark,
                                             c->last_err.detail);
                break;
        case GR_WIRE_AVRO_SINGLE:
                put_single(out, gr_avro_event_writer_fingerprint(c->ev, 0));
                if (gr_avro_event_encode(c->ev, ev, out, &c->last_err))
                        return encode_failed(c, out, mark,
                                             c->last_err.detail);
                break;
        }
        if (out->oom)
                return encode_failed(c, out, mark, "out of memory");
        return 0;
}

int gr_codec_encode_decision(gr_codec *c, gr_wire_t wire,
                             const gr_decision *d, const char *sig_b64,
                             const char *key_id, gr_buf *out) {
        size_t mark = out->len;

        if (wire != GR_WIRE_JSON && !c->has_decision)
                return encode_failed(c, out, mark,
                                     "registry.txt lists no decision schema");
        switch (wire) {
        case GR_WIRE_JSON:
                gr_decision_to_json(d, sig_b64, key_id, out);
                break;
        case GR_WIRE_AVRO_CONFLUENT:
                put_confluent(out, c->decision_id);
                if (gr_avro_decision_encode(c->dec, d, sig_b64, key_id, out,
                                            &c->last_err))
                        return encode_failed(c, out, mark,
                                             c->last_err.detail);
                break;
        case GR_WIRE_AVRO_SINGLE:
                put_single(out, gr_avro_decision_fingerprint(c->dec));
                if (gr_avro_decision_encode(c->dec, d, sig_b64, key_id, out,
                                            &c->last_err))
                        return encode_failed(c, out, mark,
                                             c->last_err.detail);
                break;
        }
        if (out->oom)
                return encode_failed(c, out, mark, "out of memory");
        return 0;
}

const char *gr_codec_last_error(const gr_codec *c) {
        return c->last_error;
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
