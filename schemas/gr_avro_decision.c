/* Avro decision encoder on avro-c's value API (see gr_avro_event.h). */
#include "gr_avro_event.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_pcf.h"
#include "gr_avro_resolve.h"

/* Scratch for one encoded datum. */
#define ENC_CAP (GR_EVENT_WIRE_MAX + 64)

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
            gr_avro_schema_parse(schema_json, len, &c->schema, errstr, errstr_size))
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
                        return gr_avro_fail(err, "decision");
                if (c->field_of[i] < 0) {
                        if (gr_avro_value_from_json(&f, c->defs[i], 0))
                                return gr_avro_fail(err, "decision default");
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
                return gr_avro_fail(err, "Avro write");
        gr_buf_append(out, c->scratch, (size_t)avro_writer_tell(c->out));
        return 0;
}
