/* Hand-written Avro event decoder: the binary encoding read straight into
 * a gr_event, driven by the field map of the writer schema (see
 * gr_avro_fieldmap.h, gr_avro_desc_read()).  No avro-c value, no resolver,
 * no allocation per message: strings go from the input to the setters.
 *
 * The leaves (read_leaf()) refuse whatever gr_avro_scan_check() refuses at
 * the same place: int varints longer than 5 bytes or beyond 32 bits, enum
 * indexes without a symbol, booleans other than 0 or 1, strings that are
 * not UTF-8.  A map without skip() nodes therefore accepts only data the
 * scan accepts (gr_avro_desc_read_is_strict()), and the event codec reads
 * such data in one pass.  skip() stays laxer: what it walks is always
 * scanned first. */
#include <stdio.h>
#include <string.h>

#include "gr_avro_bin.h"
#include "gr_avro_fieldmap.h"
#include "gr_avro_scan.h"

static int truncated(const gr_avro_in *in, gr_err *err) {
        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                          "Avro datum truncated or malformed near byte %zu",
                          in->pos);
}

/* Skip one value of schema s (fields nothing maps). */
static int skip(avro_schema_t s, gr_avro_in *in, int depth) {
        int64_t n;
        size_t len;

        if (depth > 64)
                return -1;
        if (is_avro_link(s))
                s = avro_schema_link_target(s);
        switch (avro_typeof(s)) {
        case AVRO_NULL: return 0;
        case AVRO_BOOLEAN:
                if (in->pos >= in->len)
                        return -1;
                in->pos++;
                return 0;
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_ENUM:
                gr_avro_get_long(in);
                return in->bad ? -1 : 0;
        case AVRO_FLOAT: gr_avro_get_float(in); return in->bad ? -1 : 0;
        case AVRO_DOUBLE: gr_avro_get_double(in); return in->bad ? -1 : 0;
        case AVRO_STRING:
        case AVRO_BYTES:
                gr_avro_get_bytes(in, &len);
                return in->bad ? -1 : 0;
        case AVRO_FIXED:
                len = (size_t)avro_schema_fixed_size(s);
                if (in->len - in->pos < len)
                        return -1;
                in->pos += len;
                return 0;
        case AVRO_RECORD:
                for (size_t i = 0; i < avro_schema_record_size(s); i++)
                        if (skip(avro_schema_record_field_get_by_index(
                                     s, (int)i),
                                 in, depth + 1))
                                return -1;
                return 0;
        case AVRO_UNION:
                n = gr_avro_get_long(in);
                if (in->bad || n < 0 ||
                    (size_t)n >= avro_schema_union_size(s))
                        return -1;
                return skip(avro_schema_union_branch(s, (int)n), in,
                            depth + 1);
        case AVRO_ARRAY:
        case AVRO_MAP:
                for (;;) {
                        n = gr_avro_get_long(in);
                        if (in->bad)
                                return -1;
                        if (n == 0)
                                return 0;
                        if (n < 0) {
                                if (n == INT64_MIN)
                                        return -1;
                                n = -n;
                                gr_avro_get_long(in); /* block size */
                        }
                        if ((uint64_t)n > in->len - in->pos)
                                return -1;
                        for (int64_t i = 0; i < n; i++) {
                                if (is_avro_map(s)) {
                                        gr_avro_get_bytes(in, &len);
                                        if (in->bad)
                                                return -1;
                                }
                                if (skip(is_avro_array(s)
                                             ? avro_schema_array_items(s)
                                             : avro_schema_map_values(s),
                                         in, depth + 1))
                                        return -1;
                        }
                }
        case AVRO_LINK:
                break;
        }
        return -1;
}

static int read_leaf(const gr_avro_desc *d, gr_avro_in *in, gr_event *ev,
                     gr_err *err) {
        gr_field_t f = (gr_field_t)d->field;
        int mapped = d->field >= 0;

        switch (d->type) {
        case AVRO_NULL:
                return mapped ? gr_event_set_null(ev, f, err) : 0;
        case AVRO_BOOLEAN: {
                int b;
                if (in->pos >= in->len || in->p[in->pos] > 1)
                        return truncated(in, err);
                b = in->p[in->pos++];
                return mapped ? gr_event_set_bool(ev, f, b, err) : 0;
        }
        case AVRO_INT32:
        case AVRO_INT64: {
                int64_t v = d->type == AVRO_INT32 ? gr_avro_get_int(in)
                                                  : gr_avro_get_long(in);
                if (in->bad)
                        return truncated(in, err);
                return mapped ? gr_event_set_int(ev, f, v, err) : 0;
        }
        case AVRO_FLOAT: {
                float x = gr_avro_get_float(in);
                if (in->bad)
                        return truncated(in, err);
                return mapped ? gr_event_set_num(ev, f, x, err) : 0;
        }
        case AVRO_DOUBLE: {
                double x = gr_avro_get_double(in);
                if (in->bad)
                        return truncated(in, err);
                return mapped ? gr_event_set_num(ev, f, x, err) : 0;
        }
        case AVRO_STRING:
        case AVRO_BYTES: {
                size_t n;
                const char *s = gr_avro_get_bytes(in, &n);
                if (in->bad)
                        return truncated(in, err);
                if (d->type == AVRO_STRING && !gr_avro_utf8_valid(s, n))
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "string is not valid UTF-8 before "
                                          "byte %zu",
                                          in->pos);
                return mapped ? gr_event_set_str(ev, f, s, n, err) : 0;
        }
        case AVRO_ENUM: {
                int32_t sym = gr_avro_get_int(in);
                const char *name;
                if (in->bad)
                        return truncated(in, err);
                /* Checked before avro_schema_enum_get(), which must only
                 * be asked for a symbol that exists. */
                if (sym < 0 || sym >= d->nsym)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "enum index %d out of range",
                                          (int)sym);
                if (!mapped)
                        return 0;
                name = avro_schema_enum_get(d->enum_schema, (int)sym);
                if (!name)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "enum index %d has no symbol",
                                          (int)sym);
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
        if (!mapped)
                return skip(d->schema, in, 0) ? truncated(in, err) : 0;
        return gr_err_set(err, GR_REJ_SCHEMA,
                          "%s: Avro type %d cannot carry it",
                          gr_event_fields[f].key, (int)d->type);
}

static int walk(const gr_avro_desc *d, gr_avro_in *in, gr_event *ev,
                int *body_type, gr_err *err) {
        switch (d->kind) {
        case D_SKIP:
                return skip(d->schema, in, 0) ? truncated(in, err) : 0;
        case D_RECORD:
                for (size_t i = 0; i < d->n; i++)
                        if (walk(&d->kids[i], in, ev, body_type, err))
                                return -1;
                for (size_t i = 0; i < d->ndrop; i++)
                        if (gr_avro_set_from_json(ev, d->drop[i].field,
                                                  d->drop[i].def, err))
                                return -1;
                return 0;
        case D_UNION: {
                int64_t b = gr_avro_get_long(in);
                if (in->bad)
                        return truncated(in, err);
                if (b < 0 || (uint64_t)b >= d->n)
                        return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                          "union branch %lld out of range",
                                          (long long)b);
                if (d->is_body)
                        *body_type = d->kids[b].evtype;
                return walk(&d->kids[b], in, ev, body_type, err);
        }
        case D_LEAF:
                break;
        }
        return read_leaf(d, in, ev, err);
}

int gr_avro_desc_read(const gr_avro_desc *d, const void *buf, size_t len,
                      gr_event *ev, int *body_type, gr_err *err) {
        gr_avro_in in = {buf, len, 0, 0};

        *body_type = -1;
        if (walk(d, &in, ev, body_type, err))
                return -1;
        if (in.pos != len)
                return gr_err_set(err, GR_REJ_INVALID_AVRO,
                                  "%zu bytes after the datum", len - in.pos);
        return 0;
}

/* Which nodes the read checks as strictly as the scan walks them: records
 * and unions (same varint, same branch range, same field order), and the
 * leaves read_leaf() reads itself.  Not: D_SKIP (skip() neither checks
 * UTF-8, booleans, int or enum ranges nor map keys), fixed (read by skip()
 * too) and anything deeper than the scan's limit, which refuses such data
 * whatever it holds. */
static int is_strict(const gr_avro_desc *d, int depth) {
        if (depth > GR_AVRO_SCAN_DEPTH)
                return 0;
        switch (d->kind) {
        case D_SKIP: return 0;
        case D_RECORD:
        case D_UNION:
                for (size_t i = 0; i < d->n; i++)
                        if (!is_strict(&d->kids[i], depth + 1))
                                return 0;
                return 1;
        case D_LEAF:
                break;
        }
        switch (d->type) {
        case AVRO_NULL:
        case AVRO_BOOLEAN:
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_FLOAT:
        case AVRO_DOUBLE:
        case AVRO_STRING:
        case AVRO_BYTES:
        case AVRO_ENUM:
                return 1;
        case AVRO_FIXED:
        case AVRO_RECORD:
        case AVRO_MAP:
        case AVRO_ARRAY:
        case AVRO_UNION:
        case AVRO_LINK:
                break;
        }
        return 0;
}

int gr_avro_desc_read_is_strict(const gr_avro_desc *d) {
        return is_strict(d, 0);
}
