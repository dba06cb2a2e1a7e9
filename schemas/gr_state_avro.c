/*
 * Job state <-> the compact state record: the JobState datum of
 * schemas/state_record.avsc in the Avro binary encoding, Confluent-framed
 * (0x00, big-endian schema id GR_STATE_SCHEMA_ID), written and read by hand
 * in the schema's field order (see gr_state_json.h).  The content is that
 * of the JSON document version 2, field for field.
 *
 * Enums are written as their index in the processor's own enums
 * (statemachine/gr_types.h); the schema lists the symbols in that order
 * (tests/schemas/test_state_compact.c holds the two together).  Arrays are
 * written as one block; any block layout is read.
 */
#include "gr_state_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_bin.h"
#include "gr_avro_builtin.h"
#include "gr_avro_scan.h"
#include "gr_json_event.h"

const char *gr_state_schema_text(void) {
        for (size_t i = 0; i < gr_avro_builtins_cnt; i++)
                if (strcmp(gr_avro_builtins[i].name, "state_record.avsc") == 0)
                        return gr_avro_builtins[i].text;
        return NULL;
}

/* ---- encode ------------------------------------------------------------ */

/* The attempt's strings and times and the buyer packet's strings, in
 * record order, are gr_job.h's tables (GR_ATTEMPT_STRINGS, ...). */

/* ["null","string"] */
static void put_ostr(gr_buf *b, const char *s) {
        if (!s) {
                gr_buf_putc(b, 0);
                return;
        }
        gr_buf_putc(b, 2); /* branch 1, zig-zag */
        gr_avro_put_str(b, s);
}

/* ["null", timestamp-millis] */
static void put_otime(gr_buf *b, int64_t t) {
        if (t == GR_TIME_NONE) {
                gr_buf_putc(b, 0);
                return;
        }
        gr_buf_putc(b, 2);
        gr_avro_put_long(b, t);
}

static void put_bool(gr_buf *b, int v) {
        gr_buf_putc(b, v ? 1 : 0);
}

static void put_amounts(gr_buf *b, const gr_amounts *m) {
        if (!m->present) {
                gr_buf_putc(b, 0);
                return;
        }
        gr_buf_putc(b, 2);
        gr_avro_put_str(b, m->currency);
        gr_avro_put_long(b, m->price_minor);
        gr_avro_put_long(b, m->charge_minor);
        gr_avro_put_long(b, m->refund_minor);
        gr_avro_put_long(b, m->held_minor);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

void gr_state_encode_compact(const gr_job *j, gr_buf *out) {
        const gr_attempt *a = &j->cur;
        uint8_t hdr[5] = {0, (uint8_t)(GR_STATE_SCHEMA_ID >> 24),
                          (uint8_t)(GR_STATE_SCHEMA_ID >> 16),
                          (uint8_t)(GR_STATE_SCHEMA_ID >> 8),
                          (uint8_t)GR_STATE_SCHEMA_ID};

        gr_buf_append(out, hdr, sizeof(hdr));
        gr_avro_put_str(out, j->job_id);
        gr_avro_put_long(out, j->attempt);
        put_otime(out, j->time);
        gr_avro_put_long(out, (int64_t)j->seq);
        gr_buf_append(out, j->chain, sizeof(j->chain));
        gr_avro_put_long(out, j->free_retries_used);
        gr_avro_put_long(out, j->settlement);
        gr_avro_put_long(out, j->retry);
        gr_avro_put_long(out, j->reason);
        gr_avro_put_long(out, j->rule);
        put_bool(out, j->posture_locked);
        {
                const gr_amounts m = gr_job_amounts(j);
                put_amounts(out, &m);
        }
        gr_avro_put_long(out, (int64_t)j->decisions);

        if (!j->quote.present) {
                gr_buf_putc(out, 0);
        } else {
                const gr_quote *q = &j->quote;
                gr_buf_putc(out, 2);
                gr_avro_put_long(out, q->attempt);
                put_ostr(out, GR_JS(j, q->quote_id));
                put_ostr(out, GR_JS(j, q->provider_id));
                put_ostr(out, GR_JS(j, q->gpu));
                put_ostr(out, GR_JS(j, q->region));
                put_ostr(out, GR_JS(j, q->driver_family));
                gr_avro_put_double(out, q->vram_gb);
                gr_avro_put_long(out, GR_JT(j, quote, window_start));
                gr_avro_put_long(out, GR_JT(j, quote, window_end));
                put_bool(out, q->has_price);
                gr_avro_put_long(out, q->price_amount_minor);
                put_ostr(out, GR_JS(j, q->price_currency));
        }
        if (!gr_job_seller(j)->present) {
                gr_buf_putc(out, 0);
        } else {
                const gr_seller_packet *s = gr_job_seller(j);
                gr_buf_putc(out, 2);
                put_ostr(out, GR_JS(j, s->packet_hash));
                put_ostr(out, GR_JS(j, s->quote_id));
                put_ostr(out, GR_JS(j, s->worker_id));
                if (s->has_capacity_result) {
                        gr_buf_putc(out, 2);
                        gr_avro_put_long(out, s->capacity_result);
                } else {
                        gr_buf_putc(out, 0);
                }
                gr_avro_put_long(out, s->failure_class);
        }
        if (!gr_job_buyer(j)->present) {
                gr_buf_putc(out, 0);
        } else {
                const gr_buyer_packet *b = gr_job_buyer(j);
                gr_buf_putc(out, 2);
#define X(f) put_ostr(out, GR_JS(j, b->f));
                GR_BUYER_STRINGS(X)
#undef X
                gr_avro_put_double(out, b->memory_budget_gb);
                gr_avro_put_long(out, b->observed_failure_class);
        }

        gr_avro_put_long(out, a->capacity);
        gr_avro_put_long(out, a->execution);
        gr_avro_put_long(out, a->output);
        gr_avro_put_long(out, a->evaluation);
#define X(f) put_ostr(out, GR_JS(j, a->f));
        GR_ATTEMPT_STRINGS(X)
#undef X
#define X(f) put_otime(out, GR_JT(j, cur, f));
        GR_ATTEMPT_TIMES(X)
#undef X
#define ODOUBLE(has, v)                                                        \
        do {                                                                   \
                gr_buf_putc(out, (has) ? 2 : 0);                               \
                if (has)                                                       \
                        gr_avro_put_double(out, v);                            \
        } while (0)
        ODOUBLE(a->has_vram_declared, a->vram_declared_gb);
        ODOUBLE(a->has_vram_observed, a->vram_observed_gb);
        gr_buf_putc(out, a->has_peak_vram ? 2 : 0);
        if (a->has_peak_vram)
                gr_avro_put_long(out, a->peak_vram_mb);
        ODOUBLE(a->has_gpu_seconds, a->gpu_seconds);
#undef ODOUBLE
        gr_avro_put_long(out, a->failure_class);
        gr_avro_put_long(out, a->output_written);
        put_bool(out, a->cancelled);
        gr_avro_put_long(out, a->cancelled_exec);
        put_bool(out, a->expired);
        put_bool(out, a->reviewed);
        gr_avro_put_long(out, a->review_settlement);

        if (gr_job_nhistory(j)) {
                gr_avro_put_long(out, (int64_t)gr_job_nhistory(j));
                for (size_t i = 0; i < gr_job_nhistory(j); i++) {
                        const gr_attempt_summary *s = &gr_job_history(j)[i];
                        gr_avro_put_long(out, s->attempt);
                        gr_avro_put_long(out, s->capacity);
                        gr_avro_put_long(out, s->execution);
                        gr_avro_put_long(out, s->output);
                        gr_avro_put_long(out, s->evaluation);
                        gr_avro_put_long(out, s->failure_class);
                        gr_avro_put_long(out, s->settlement);
                        gr_avro_put_long(out, s->retry);
                        gr_avro_put_long(out, s->reason);
                        gr_avro_put_long(out, s->rule);
                        put_amounts(out, &s->amounts);
                }
        }
        gr_buf_putc(out, 0);

        if (j->nseen) {
                uint64_t *v = malloc(j->nseen * sizeof(*v));
                size_t n = 0;
                if (!v) {
                        out->oom = 1;
                } else {
                        for (size_t i = 0; i < j->seen_cap; i++)
                                if (gr_job_seen_slots(j)[i])
                                        v[n++] = gr_job_seen_slots(j)[i];
                        qsort(v, n, sizeof(*v), cmp_u64);
                        gr_avro_put_long(out, (int64_t)n);
                        for (size_t i = 0; i < n; i++) {
                                uint8_t be[8];
                                for (int k = 0; k < 8; k++)
                                        be[k] = (uint8_t)(v[i] >> (56 - 8 * k));
                                gr_buf_append(out, be, 8);
                        }
                }
                free(v);
        }
        gr_buf_putc(out, 0);

        if (gr_job_nparked(j)) {
                gr_buf eb;
                gr_buf_init(&eb);
                gr_avro_put_long(out, gr_job_nparked(j));
                for (int i = 0; i < gr_job_nparked(j); i++) {
                        gr_buf_reset(&eb);
                        gr_json_event_encode(gr_job_parked(j)[i], &eb);
                        if (eb.oom)
                                out->oom = 1;
                        else
                                gr_avro_put_bytes(out, eb.data, eb.len);
                }
                gr_buf_free(&eb);
        }
        gr_buf_putc(out, 0);

        if (j->nparties) {
                gr_avro_put_long(out, j->nparties);
                for (int i = 0; i < j->nparties; i++) {
                        gr_role_t role = GR_ROLE_BUYER;
                        const char *id = gr_job_party(j, i, &role);
                        gr_avro_put_long(out, role);
                        gr_avro_put_str(out, id ? id : "");
                }
        }
        gr_buf_putc(out, 0);
}

/* ---- decode ------------------------------------------------------------ */

typedef struct rd {
        gr_avro_in in;
        gr_buf s;          /* the last string read, NUL-terminated */
        gr_job *job;       /* being filled: strings go to its arena */
        char *errstr;
        size_t errstr_size;
        int bad;
} rd;

static int fail(rd *r, const char *what) {
        if (!r->bad)
                snprintf(r->errstr, r->errstr_size,
                         "compact state: bad %s near byte %zu", what,
                         r->in.pos + GR_STATE_COMPACT_HEADER);
        r->bad = 1;
        return -1;
}

static int64_t get_long(rd *r, const char *what) {
        int64_t v = gr_avro_get_long(&r->in);
        if (r->in.bad)
                fail(r, what);
        return v;
}

static int64_t get_range(rd *r, const char *what, int64_t lo, int64_t hi) {
        int64_t v = get_long(r, what);
        if (!r->bad && (v < lo || v > hi))
                fail(r, what);
        return r->bad ? lo : v;
}

#define GET_ENUM(r, what, TYPE, CNT, dst)                                      \
        (*(dst) = (TYPE)get_range(r, what, 0, (CNT)-1))

static int get_bool(rd *r, const char *what) {
        if (r->in.pos >= r->in.len || r->in.p[r->in.pos] > 1) {
                fail(r, what);
                return 0;
        }
        return r->in.p[r->in.pos++];
}

static double get_double(rd *r, const char *what) {
        double d = gr_avro_get_double(&r->in);
        if (r->in.bad)
                fail(r, what);
        return d;
}

/* Union branch of ["null", T]: 0 null, 1 value. */
static int get_opt(rd *r, const char *what) {
        return (int)get_range(r, what, 0, 1);
}

/* A string into r->s: valid UTF-8, no NUL.  Returns r->s.data or NULL. */
static const char *get_str(rd *r, const char *what) {
        size_t n;
        const char *p = gr_avro_get_bytes(&r->in, &n);

        if (r->in.bad || memchr(p, '\0', n) || !gr_avro_utf8_valid(p, n)) {
                fail(r, what);
                return NULL;
        }
        gr_buf_reset(&r->s);
        gr_buf_append(&r->s, p, n);
        if (r->s.oom) {
                fail(r, "string (out of memory)");
                return NULL;
        }
        return r->s.data;
}

static void get_ostr(rd *r, const char *what, gr_jstr *dst) {
        const char *s;
        if (get_opt(r, what) != 1)
                return;
        if ((s = get_str(r, what)) && gr_job_str_set(r->job, dst, s))
                fail(r, what);
}

static int64_t get_otime(rd *r, const char *what) {
        if (get_opt(r, what) != 1)
                return GR_TIME_NONE;
        return get_long(r, what);
}

/* Set a job time (gr_jtime) of r's job: ENOMEM fails the record. */
static void set_time(rd *r, const char *what, gr_jtime *dst, int k, int64_t v) {
        if (gr_jtime_set(r->job, dst, k, v))
                fail(r, what);
}

static void get_amounts(rd *r, const char *what, gr_amounts *m) {
        const char *c;

        memset(m, 0, sizeof(*m));
        if (get_opt(r, what) != 1)
                return;
        m->present = 1;
        if ((c = get_str(r, what))) {
                if (r->s.len >= sizeof(m->currency))
                        fail(r, what);
                else
                        memcpy(m->currency, c, r->s.len + 1);
        }
        m->price_minor = get_long(r, what);
        m->charge_minor = get_long(r, what);
        m->refund_minor = get_long(r, what);
        m->held_minor = get_long(r, what);
        if (m->price_minor < 0 || m->charge_minor < 0 || m->refund_minor < 0 ||
            m->held_minor < 0 || m->charge_minor > m->price_minor ||
            m->refund_minor != m->price_minor - m->charge_minor - m->held_minor)
                fail(r, what);
}

/*
 * Items of the next block of an array, 0 at its end.  Counts are bounded
 * by the bytes left over the least bytes an item takes (min_item), so
 * nothing allocates more than the input can fill.
 */
static int64_t get_block(rd *r, const char *what, size_t min_item) {
        int64_t n = get_long(r, what);

        if (r->bad)
                return 0;
        if (n < 0) {
                if (n == INT64_MIN)
                        return fail(r, what), 0;
                n = -n;
                get_long(r, what); /* block size in bytes */
        }
        if ((uint64_t)n > (r->in.len - r->in.pos) / min_item)
                return fail(r, what), 0;
        return r->bad ? 0 : n;
}

gr_job *gr_state_decode_compact(const char *buf, size_t len, char *errstr,
                                size_t errstr_size) {
        const uint8_t *b = (const uint8_t *)buf;
        rd r = {{0}, {0}, NULL, errstr, errstr_size, 0};
        gr_job *j = NULL;
        gr_attempt *a;
        gr_json_decoder *dec = NULL;
        uint32_t id;
        size_t n, nparty = 0;
        const char *s;

        if (len < GR_STATE_COMPACT_HEADER || b[0] != 0) {
                snprintf(errstr, errstr_size,
                         "compact state: Confluent header missing or "
                         "truncated");
                return NULL;
        }
        id = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
             (uint32_t)b[3] << 8 | b[4];
        if (id != GR_STATE_SCHEMA_ID) {
                snprintf(errstr, errstr_size,
                         "compact state: schema id %u is not the state "
                         "schema (%u)",
                         id, GR_STATE_SCHEMA_ID);
                return NULL;
        }
        r.in = (gr_avro_in){b + GR_STATE_COMPACT_HEADER,
                            len - GR_STATE_COMPACT_HEADER, 0, 0};
        gr_buf_init(&r.s);
        s = get_str(&r, "job_id");
        if (!s || !s[0] || !(j = gr_job_new(s))) {
                fail(&r, "job_id");
                goto err;
        }
        r.job = j;
        j->attempt = (uint32_t)get_range(&r, "attempt", 0, UINT32_MAX);
        j->time = get_otime(&r, "time");
        j->seq = (uint64_t)get_range(&r, "seq", 0, INT64_MAX);
        if (r.in.len - r.in.pos < sizeof(j->chain))
                fail(&r, "chain");
        else {
                memcpy(j->chain, r.in.p + r.in.pos, sizeof(j->chain));
                r.in.pos += sizeof(j->chain);
        }
        j->free_retries_used =
            (uint8_t)get_range(&r, "free_retries_used", 0, UINT8_MAX);
        GET_ENUM(&r, "settlement", gr_settlement_t, GR_SETTLE__CNT,
                 &j->settlement);
        GET_ENUM(&r, "retry", gr_retry_t, GR_RETRY__CNT, &j->retry);
        GET_ENUM(&r, "reason", gr_reason_t, GR_REASON__CNT, &j->reason);
        GET_ENUM(&r, "rule", gr_rule_t, GR_RULE__CNT, &j->rule);
        j->posture_locked = get_bool(&r, "posture_locked");
        {
                gr_amounts m;
                get_amounts(&r, "amounts", &m);
                if (gr_job_amounts_set(j, &m) == -1)
                        fail(&r, "amounts");
        }
        j->decisions = (uint32_t)get_range(&r, "decisions", 0, UINT32_MAX);

        if (get_opt(&r, "quote") == 1) {
                gr_quote *q = &j->quote;
                q->present = 1;
                q->attempt = (uint32_t)get_range(&r, "quote.attempt", 0,
                                                 UINT32_MAX);
                get_ostr(&r, "quote.quote_id", &q->quote_id);
                get_ostr(&r, "quote.provider_id", &q->provider_id);
                get_ostr(&r, "quote.gpu", &q->gpu);
                get_ostr(&r, "quote.region", &q->region);
                get_ostr(&r, "quote.driver_family", &q->driver_family);
                q->vram_gb = get_double(&r, "quote.vram_gb");
                set_time(&r, "quote.window_start", &q->window_start, GR_JT_window_start,
                         get_long(&r, "quote.window_start"));
                set_time(&r, "quote.window_end", &q->window_end, GR_JT_window_end,
                         get_long(&r, "quote.window_end"));
                q->has_price = get_bool(&r, "quote.has_price");
                /* as for events: a price is never negative */
                q->price_amount_minor =
                    get_range(&r, "quote.price_amount_minor", 0, INT64_MAX);
                get_ostr(&r, "quote.price_currency", &q->price_currency);
        }
        if (get_opt(&r, "seller") == 1) {
                gr_seller_packet *sp = gr_job_seller_mut(j);
                if (!sp) {
                        fail(&r, "seller (out of memory)");
                        goto err;
                }
                sp->present = 1;
                get_ostr(&r, "seller.packet_hash", &sp->packet_hash);
                get_ostr(&r, "seller.quote_id", &sp->quote_id);
                get_ostr(&r, "seller.worker_id", &sp->worker_id);
                if (get_opt(&r, "seller.capacity_result") == 1) {
                        sp->has_capacity_result = 1;
                        GET_ENUM(&r, "seller.capacity_result", gr_result_t,
                                 GR_RESULT__CNT,
                                 &sp->capacity_result);
                }
                GET_ENUM(&r, "seller.failure_class", gr_failure_t, GR_FAIL__CNT,
                         &sp->failure_class);
        }
        if (get_opt(&r, "buyer") == 1) {
                gr_buyer_packet *bp = gr_job_buyer_mut(j);
                if (!bp) {
                        fail(&r, "buyer (out of memory)");
                        goto err;
                }
                bp->present = 1;
#define X(f) get_ostr(&r, "buyer." #f, &bp->f);
                GR_BUYER_STRINGS(X)
#undef X
                bp->memory_budget_gb = get_double(&r, "buyer.memory_budget_gb");
                GET_ENUM(&r, "buyer.observed_failure_class", gr_failure_t,
                         GR_FAIL__CNT, &bp->observed_failure_class);
        }

        a = &j->cur;
        GET_ENUM(&r, "cur.capacity", gr_capacity_t, GR_CAP__CNT, &a->capacity);
        GET_ENUM(&r, "cur.execution", gr_exec_t, GR_EXEC__CNT, &a->execution);
        GET_ENUM(&r, "cur.output", gr_output_t, GR_OUT__CNT, &a->output);
        GET_ENUM(&r, "cur.evaluation", gr_eval_t, GR_EVAL__CNT, &a->evaluation);
#define X(f) get_ostr(&r, "cur." #f, &a->f);
        GR_ATTEMPT_STRINGS(X)
#undef X
#define X(f) set_time(&r, "cur." #f, &a->f, GR_JT_##f, get_otime(&r, "cur." #f));
        GR_ATTEMPT_TIMES(X)
#undef X
        if ((a->has_vram_declared = get_opt(&r, "cur.vram_declared_gb") == 1))
                a->vram_declared_gb = get_double(&r, "cur.vram_declared_gb");
        if ((a->has_vram_observed = get_opt(&r, "cur.vram_observed_gb") == 1))
                a->vram_observed_gb = get_double(&r, "cur.vram_observed_gb");
        if ((a->has_peak_vram = get_opt(&r, "cur.peak_vram_mb") == 1))
                a->peak_vram_mb = get_long(&r, "cur.peak_vram_mb");
        if ((a->has_gpu_seconds = get_opt(&r, "cur.gpu_seconds") == 1))
                a->gpu_seconds = get_double(&r, "cur.gpu_seconds");
        GET_ENUM(&r, "cur.failure_class", gr_failure_t, GR_FAIL__CNT,
                 &a->failure_class);
        a->output_written = /* -1 unknown, 0/1 false/true */
            (int8_t)get_range(&r, "cur.output_written", -1, 1);
        a->cancelled = get_bool(&r, "cur.cancelled");
        GET_ENUM(&r, "cur.cancelled_exec", gr_exec_t, GR_EXEC__CNT,
                 &a->cancelled_exec);
        a->expired = get_bool(&r, "cur.expired");
        a->reviewed = get_bool(&r, "cur.reviewed");
        GET_ENUM(&r, "cur.review_settlement", gr_settlement_t, GR_SETTLE__CNT,
                 &a->review_settlement);

        while (!r.bad && (n = (size_t)get_block(&r, "history", 11)) > 0) {
                for (size_t i = 0; i < n && !r.bad; i++) {
                        gr_attempt_summary h;
                        memset(&h, 0, sizeof(h));
                        h.attempt = (uint32_t)get_range(
                            &r, "history.attempt", 0, UINT32_MAX);
                        GET_ENUM(&r, "history.capacity", gr_capacity_t,
                                 GR_CAP__CNT,
                                 &h.capacity);
                        GET_ENUM(&r, "history.execution", gr_exec_t,
                                 GR_EXEC__CNT,
                                 &h.execution);
                        GET_ENUM(&r, "history.output", gr_output_t,
                                 GR_OUT__CNT, &h.output);
                        GET_ENUM(&r, "history.evaluation", gr_eval_t,
                                 GR_EVAL__CNT,
                                 &h.evaluation);
                        GET_ENUM(&r, "history.failure_class", gr_failure_t,
                                 GR_FAIL__CNT,
                                 &h.failure_class);
                        GET_ENUM(&r, "history.settlement", gr_settlement_t,
                                 GR_SETTLE__CNT,
                                 &h.settlement);
                        GET_ENUM(&r, "history.retry", gr_retry_t,
                                 GR_RETRY__CNT, &h.retry);
                        GET_ENUM(&r, "history.reason", gr_reason_t,
                                 GR_REASON__CNT,
                                 &h.reason);
                        GET_ENUM(&r, "history.rule", gr_rule_t, GR_RULE__CNT,
                                 &h.rule);
                        get_amounts(&r, "history.amounts", &h.amounts);
                        if (!r.bad && gr_job_history_push(j, &h) == -1)
                                fail(&r, "history (out of memory)");
                }
        }

        while (!r.bad && (n = (size_t)get_block(&r, "seen", 8)) > 0) {
                for (size_t i = 0; i < n && !r.bad; i++) {
                        uint64_t h = 0;
                        if (r.in.len - r.in.pos < 8) {
                                fail(&r, "seen");
                                break;
                        }
                        for (int k = 0; k < 8; k++)
                                h = h << 8 | r.in.p[r.in.pos++];
                        if (gr_job_seen_add_hash(j, h))
                                fail(&r, "seen (out of memory)");
                }
        }

        while (!r.bad && (n = (size_t)get_block(&r, "parked", 1)) > 0) {
                if (!dec && !(dec = gr_json_decoder_new())) {
                        fail(&r, "parked (out of memory)");
                        break;
                }
                for (size_t i = 0; i < n && !r.bad; i++) {
                        gr_event *ev;
                        gr_err e;
                        size_t elen;
                        const char *ej = gr_avro_get_bytes(&r.in, &elen);
                        if (r.in.bad) {
                                fail(&r, "parked event");
                                break;
                        }
                        if (!(ev = malloc(sizeof(*ev))) ||
                            gr_json_event_decode(dec, ej, elen, ev, &e) == -1) {
                                free(ev);
                                fail(&r, "parked event");
                                break;
                        }
                        if (gr_job_park(j, ev) == -1) {
                                free(ev);
                                fail(&r, "parked (out of memory)");
                                break;
                        }
                }
        }

        while (!r.bad && (n = (size_t)get_block(&r, "parties", 2)) > 0) {
                for (size_t i = 0; i < n && !r.bad; i++) {
                        gr_role_t role = (gr_role_t)get_range(
                            &r, "parties.role", 0, GR_ROLE__CNT - 1);
                        const char *pid = get_str(&r, "parties.id");
                        if (r.bad)
                                break;
                        if (++nparty > GR_JOB_PARTIES_MAX || !pid[0] ||
                            r.s.len >= GR_ID_MAX ||
                            (role != GR_ROLE_BUYER && role != GR_ROLE_SELLER) ||
                            gr_job_party_add(j, role, pid))
                                fail(&r, "parties");
                }
        }
        if (!r.bad && r.in.pos != r.in.len)
                fail(&r, "record (bytes after its end)");
        if (r.bad)
                goto err;
        gr_json_decoder_destroy(dec);
        gr_buf_free(&r.s);
        return j;
err:
        if (!r.bad)
                fail(&r, "record");
        gr_json_decoder_destroy(dec);
        gr_buf_free(&r.s);
        gr_job_destroy(j);
        return NULL;
}
