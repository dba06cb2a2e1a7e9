/*
 * Job state <-> JSON for the state changelog topic.
 *
 * Document (version 2), all keys always present:
 *   {"v":2, "job_id", "attempt", "time", "seq", "chain", "free_retries_used",
 *    "settlement", "retry", "reason", "rule", "posture_locked", "amounts",
 *    "decisions",
 *    "quote":{..}|null, "seller":{..}|null, "buyer":{..}|null,
 *    "cur":{..}, "history":[..], "seen":["<16 hex>",...], "parked":[event..]}
 * Times are integer ms since the epoch (null = none); enums use their SPEC
 * spellings; "seen" is sorted so equal states encode to equal bytes;
 * parked events use the canonical event JSON of gr_json_event.h.
 * Version 1 (before amounts, cancel and review times) is still read: the
 * missing members take their initial values and the amounts are derived
 * from the posture.
 * Optional member "parties":[{"role":"buyer"|"seller","id":ACTOR_ID},..]
 * (written only when the job has any; absent reads as none): the buyer and
 * seller actor ids seen in the job's events, who may read the receipt over
 * HTTP.  Readers that do not know it ignore it.
 */
#include "gr_state_json.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_amounts.h"
#include "gr_json_event.h"
#include "gr_output.h"

/* ---- encode ------------------------------------------------------------ */

static void ktime(gr_jw *w, const char *k, int64_t t) {
        gr_jw_key(w, k);
        if (t == GR_TIME_NONE)
                gr_jw_null(w);
        else
                gr_jw_int(w, t);
}

static void kfail(gr_jw *w, const char *k, gr_failure_t f) {
        gr_jw_kstr(w, k, gr_failure_t_name(f));
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* The attempt's strings and times and the buyer packet's strings, in
 * document order, are gr_job.h's tables (GR_ATTEMPT_STRINGS, ...). */

void gr_state_encode(const gr_job *j, gr_buf *out) {
        const gr_attempt *a = &j->cur;
        gr_jw w;
        char hex[65];

        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kint(&w, "v", 2);
        gr_jw_kstr(&w, "job_id", j->job_id);
        gr_jw_kint(&w, "attempt", j->attempt);
        ktime(&w, "time", j->time);
        gr_jw_kint(&w, "seq", (int64_t)j->seq);
        gr_jw_kstr(&w, "chain", gr_hex(j->chain, sizeof(j->chain), hex));
        gr_jw_kint(&w, "free_retries_used", j->free_retries_used);
        gr_jw_kstr(&w, "settlement", gr_settlement_t_name(j->settlement));
        gr_jw_kstr(&w, "retry", gr_retry_t_name(j->retry));
        gr_jw_kstr(&w, "reason", gr_reason_t_name(j->reason));
        gr_jw_kstr(&w, "rule", gr_rule_t_name(j->rule));
        gr_jw_kbool(&w, "posture_locked", j->posture_locked);
        {
                const gr_amounts m = gr_job_amounts(j);
                gr_jw_kamounts(&w, "amounts", &m);
        }
        gr_jw_kint(&w, "decisions", (int64_t)j->decisions);

        gr_jw_key(&w, "quote");
        if (!j->quote.present) {
                gr_jw_null(&w);
        } else {
                gr_jw_obj_begin(&w);
                gr_jw_kint(&w, "attempt", j->quote.attempt);
                gr_jw_kstr(&w, "quote_id", GR_JS(j, j->quote.quote_id));
                gr_jw_kstr(&w, "provider_id", GR_JS(j, j->quote.provider_id));
                gr_jw_kstr(&w, "gpu", GR_JS(j, j->quote.gpu));
                gr_jw_kstr(&w, "region", GR_JS(j, j->quote.region));
                gr_jw_kstr(&w, "driver_family", GR_JS(j, j->quote.driver_family));
                gr_jw_knum(&w, "vram_gb", j->quote.vram_gb);
                gr_jw_kint(&w, "window_start", GR_JT(j, quote, window_start));
                gr_jw_kint(&w, "window_end", GR_JT(j, quote, window_end));
                gr_jw_kbool(&w, "has_price", j->quote.has_price);
                gr_jw_kint(&w, "price_amount_minor",
                           j->quote.price_amount_minor);
                gr_jw_kstr(&w, "price_currency", GR_JS(j, j->quote.price_currency));
                gr_jw_obj_end(&w);
        }
        gr_jw_key(&w, "seller");
        if (!gr_job_seller(j)->present) {
                gr_jw_null(&w);
        } else {
                const gr_seller_packet *sp = gr_job_seller(j);
                gr_jw_obj_begin(&w);
                gr_jw_kstr(&w, "packet_hash", GR_JS(j, sp->packet_hash));
                gr_jw_kstr(&w, "quote_id", GR_JS(j, sp->quote_id));
                gr_jw_kstr(&w, "worker_id", GR_JS(j, sp->worker_id));
                gr_jw_key(&w, "capacity_result");
                if (sp->has_capacity_result)
                        gr_jw_str(&w,
                                  gr_result_t_name(sp->capacity_result));
                else
                        gr_jw_null(&w);
                kfail(&w, "failure_class", sp->failure_class);
                gr_jw_obj_end(&w);
        }
        gr_jw_key(&w, "buyer");
        if (!gr_job_buyer(j)->present) {
                gr_jw_null(&w);
        } else {
                const gr_buyer_packet *bp = gr_job_buyer(j);
                gr_jw_obj_begin(&w);
#define X(f) gr_jw_kstr(&w, #f, GR_JS(j, bp->f));
                GR_BUYER_STRINGS(X)
#undef X
                gr_jw_knum(&w, "memory_budget_gb", bp->memory_budget_gb);
                kfail(&w, "observed_failure_class",
                      bp->observed_failure_class);
                gr_jw_obj_end(&w);
        }

        gr_jw_key(&w, "cur");
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "capacity", gr_capacity_t_name(a->capacity));
        gr_jw_kstr(&w, "execution", gr_exec_t_name(a->execution));
        gr_jw_kstr(&w, "output", gr_output_t_name(a->output));
        gr_jw_kstr(&w, "evaluation", gr_eval_t_name(a->evaluation));
#define X(f) gr_jw_kstr(&w, #f, GR_JS(j, a->f));
        GR_ATTEMPT_STRINGS(X)
#undef X
#define X(f) ktime(&w, #f, GR_JT(j, cur, f));
        GR_ATTEMPT_TIMES(X)
#undef X
        gr_jw_knum_opt(&w, "vram_declared_gb", a->has_vram_declared,
                 a->vram_declared_gb);
        gr_jw_knum_opt(&w, "vram_observed_gb", a->has_vram_observed,
                 a->vram_observed_gb);
        gr_jw_knum_opt(&w, "peak_vram_mb", a->has_peak_vram, (double)a->peak_vram_mb);
        gr_jw_knum_opt(&w, "gpu_seconds", a->has_gpu_seconds, a->gpu_seconds);
        kfail(&w, "failure_class", a->failure_class);
        gr_jw_kint(&w, "output_written", a->output_written);
        gr_jw_kbool(&w, "cancelled", a->cancelled);
        gr_jw_kstr(&w, "cancelled_exec", gr_exec_t_name(a->cancelled_exec));
        gr_jw_kbool(&w, "expired", a->expired);
        gr_jw_kbool(&w, "reviewed", a->reviewed);
        gr_jw_kstr(&w, "review_settlement",
                   gr_settlement_t_name(a->review_settlement));
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "history");
        gr_jw_arr_begin(&w);
        for (size_t i = 0; i < gr_job_nhistory(j); i++) {
                const gr_attempt_summary *s = &gr_job_history(j)[i];
                gr_jw_obj_begin(&w);
                gr_jw_kint(&w, "attempt", s->attempt);
                gr_jw_kstr(&w, "capacity", gr_capacity_t_name(s->capacity));
                gr_jw_kstr(&w, "execution", gr_exec_t_name(s->execution));
                gr_jw_kstr(&w, "output", gr_output_t_name(s->output));
                gr_jw_kstr(&w, "evaluation", gr_eval_t_name(s->evaluation));
                kfail(&w, "failure_class", s->failure_class);
                gr_jw_kstr(&w, "settlement",
                           gr_settlement_t_name(s->settlement));
                gr_jw_kstr(&w, "retry", gr_retry_t_name(s->retry));
                gr_jw_kstr(&w, "reason", gr_reason_t_name(s->reason));
                gr_jw_kstr(&w, "rule", gr_rule_t_name(s->rule));
                gr_jw_kamounts(&w, "amounts", &s->amounts);
                gr_jw_obj_end(&w);
        }
        gr_jw_arr_end(&w);

        gr_jw_key(&w, "seen");
        gr_jw_arr_begin(&w);
        {
                uint64_t *v = j->nseen ? malloc(j->nseen * sizeof(*v)) : NULL;
                size_t n = 0;
                if (j->nseen && !v) {
                        out->oom = 1;
                } else {
                        for (size_t i = 0; i < j->seen_cap; i++)
                                if (gr_job_seen_slots(j)[i])
                                        v[n++] = gr_job_seen_slots(j)[i];
                        if (n)
                                qsort(v, n, sizeof(*v), cmp_u64);
                        for (size_t i = 0; i < n; i++) {
                                char h[17];
                                snprintf(h, sizeof(h), "%016" PRIx64, v[i]);
                                gr_jw_str(&w, h);
                        }
                }
                free(v);
        }
        gr_jw_arr_end(&w);

        gr_jw_key(&w, "parked");
        gr_jw_arr_begin(&w);
        for (int i = 0; i < gr_job_nparked(j); i++) {
                gr_buf eb;
                gr_buf_init(&eb);
                gr_json_event_encode(gr_job_parked(j)[i], &eb);
                if (eb.oom)
                        out->oom = 1;
                else
                        gr_jw_raw(&w, eb.data, eb.len);
                gr_buf_free(&eb);
        }
        gr_jw_arr_end(&w);
        if (j->nparties) {
                gr_jw_key(&w, "parties");
                gr_jw_arr_begin(&w);
                for (int i = 0; i < j->nparties; i++) {
                        gr_role_t role = GR_ROLE_BUYER;
                        const char *id = gr_job_party(j, i, &role);
                        gr_jw_obj_begin(&w);
                        gr_jw_kstr(&w, "role", gr_role_t_name(role));
                        gr_jw_kstr(&w, "id", id);
                        gr_jw_obj_end(&w);
                }
                gr_jw_arr_end(&w);
        }
        gr_jw_obj_end(&w);
}

/* ---- decode ------------------------------------------------------------ */

typedef struct rd {
        char *errstr;
        size_t errstr_size;
        int bad;
        gr_job *job; /* strings go to its arena (or shared table) */
} rd;

static int fail(rd *r, const char *what) {
        if (!r->bad)
                snprintf(r->errstr, r->errstr_size, "state: bad or missing %s",
                         what);
        r->bad = 1;
        return -1;
}

static json_t *need(rd *r, json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);
        if (!v)
                fail(r, k);
        return v;
}

static int64_t get_int(rd *r, json_t *o, const char *k) {
        json_t *v = need(r, o, k);
        if (v && !json_is_integer(v))
                fail(r, k);
        return v ? json_integer_value(v) : 0;
}

static int64_t get_time(rd *r, json_t *o, const char *k) {
        json_t *v = need(r, o, k);
        if (v && json_is_null(v))
                return GR_TIME_NONE;
        if (v && !json_is_integer(v))
                fail(r, k);
        return v ? json_integer_value(v) : GR_TIME_NONE;
}

/* An integer in [lo, hi] (a job keeps some in narrow members). */
static int64_t get_int_in(rd *r, json_t *o, const char *k, int64_t lo,
                          int64_t hi) {
        int64_t v = get_int(r, o, k);
        if (v < lo || v > hi) {
                fail(r, k);
                return lo;
        }
        return v;
}

static double get_num(rd *r, json_t *o, const char *k, uint8_t *has) {
        json_t *v = need(r, o, k);
        if (has)
                *has = v && !json_is_null(v);
        if (v && json_is_null(v) && has)
                return 0;
        if (v && !json_is_number(v))
                fail(r, k);
        return v ? json_number_value(v) : 0;
}

static int get_bool(rd *r, json_t *o, const char *k) {
        json_t *v = need(r, o, k);
        if (v && !json_is_boolean(v))
                fail(r, k);
        return v && json_is_true(v);
}

/* Set a job time (gr_jtime) of r's job: ENOMEM fails the record. */
static void set_time(rd *r, const char *k, gr_jtime *dst, int slot, int64_t v) {
        if (gr_jtime_set(r->job, dst, slot, v))
                fail(r, k);
}

static void get_str(rd *r, json_t *o, const char *k, gr_jstr *dst) {
        json_t *v = need(r, o, k);
        if (!v || json_is_null(v))
                return;
        if (!json_is_string(v) ||
            gr_job_str_set(r->job, dst, json_string_value(v)))
                fail(r, k);
}

/* dst may be narrower than TYPE (a job keeps enums in a uint8_t). */
#define GET_ENUM(r, o, k, TYPE, dst)                                           \
        do {                                                                   \
                json_t *v_ = need(r, o, k);                                    \
                TYPE e_;                                                       \
                if (v_ && (!json_is_string(v_) ||                              \
                           TYPE##_parse(json_string_value(v_),                 \
                                        json_string_length(v_), &e_) == -1))   \
                        fail(r, k);                                            \
                else if (v_)                                                   \
                        *(dst) = e_;                                           \
        } while (0)

/* Members added in version 2: required there, absent from version 1. */
#define V2(ver, o, k, expr, dflt)                                              \
        ((ver) >= 2 || json_object_get(o, k) ? (expr) : (dflt))

static void get_amounts(rd *r, json_t *o, const char *k, gr_amounts *m) {
        json_t *v = need(r, o, k);

        memset(m, 0, sizeof(*m));
        if (!v || json_is_null(v))
                return;
        if (!json_is_object(v)) {
                fail(r, k);
                return;
        }
        m->present = 1;
        {
                json_t *c = json_object_get(v, "currency");
                if (json_is_string(c) &&
                    json_string_length(c) < sizeof(m->currency))
                        memcpy(m->currency, json_string_value(c),
                               json_string_length(c) + 1);
                else if (!json_is_null(c))
                        fail(r, k);
        }
        m->price_minor = get_int(r, v, "price_minor");
        m->charge_minor = get_int(r, v, "charge_minor");
        m->refund_minor = get_int(r, v, "refund_minor");
        m->held_minor = get_int(r, v, "held_minor");
        if (m->price_minor < 0 || m->charge_minor < 0 || m->refund_minor < 0 ||
            m->held_minor < 0 ||
            m->charge_minor > m->price_minor ||
            m->refund_minor != m->price_minor - m->charge_minor - m->held_minor)
                fail(r, k);
}

static int unhex(const char *s, uint8_t *out, size_t n) {
        if (strlen(s) != 2 * n)
                return -1;
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (sscanf(s + 2 * i, "%2x", &v) != 1)
                        return -1;
                out[i] = (uint8_t)v;
        }
        return 0;
}

gr_job *gr_state_decode(const char *buf, size_t len, char *errstr,
                        size_t errstr_size) {
        rd r = {errstr, errstr_size, 0, NULL};
        json_error_t jerr;
        json_t *root, *o, *v;
        gr_job *j = NULL;
        gr_attempt *a;
        int64_t ver;
        gr_json_decoder *dec = NULL;
        size_t i;

        if (len > 0 && buf[0] == 0) /* the compact form (Confluent magic) */
                return gr_state_decode_compact(buf, len, errstr, errstr_size);
        if (!(root = json_loadb(buf, len, 0, &jerr))) {
                snprintf(errstr, errstr_size, "state: %s", jerr.text);
                return NULL;
        }
        if (!json_is_object(root) ||
            ((ver = get_int(&r, root, "v")) != 1 && ver != 2)) {
                fail(&r, "v (version 1 or 2)");
                goto err;
        }
        v = need(&r, root, "job_id");
        if (!v || !json_is_string(v) || !json_string_length(v) ||
            !(j = gr_job_new(json_string_value(v)))) {
                fail(&r, "job_id");
                goto err;
        }
        r.job = j;
        j->attempt = (uint32_t)get_int(&r, root, "attempt");
        j->time = get_time(&r, root, "time");
        j->seq = (uint64_t)get_int(&r, root, "seq");
        v = need(&r, root, "chain");
        if (!v || !json_is_string(v) ||
            unhex(json_string_value(v), j->chain, sizeof(j->chain)))
                fail(&r, "chain");
        j->free_retries_used = (uint8_t)get_int_in(&r, root, "free_retries_used",
                                                   0, UINT8_MAX);
        GET_ENUM(&r, root, "settlement", gr_settlement_t, &j->settlement);
        GET_ENUM(&r, root, "retry", gr_retry_t, &j->retry);
        GET_ENUM(&r, root, "reason", gr_reason_t, &j->reason);
        GET_ENUM(&r, root, "rule", gr_rule_t, &j->rule);
        j->posture_locked = get_bool(&r, root, "posture_locked");
        if (ver >= 2) {
                gr_amounts m;
                get_amounts(&r, root, "amounts", &m);
                if (gr_job_amounts_set(j, &m) == -1)
                        fail(&r, "amounts");
        }
        j->decisions = (uint32_t)get_int_in(&r, root, "decisions", 0,
                                            UINT32_MAX);

        if ((o = need(&r, root, "quote")) && json_is_object(o)) {
                j->quote.present = 1;
                j->quote.attempt = (uint32_t)get_int(&r, o, "attempt");
                get_str(&r, o, "quote_id", &j->quote.quote_id);
                get_str(&r, o, "provider_id", &j->quote.provider_id);
                get_str(&r, o, "gpu", &j->quote.gpu);
                get_str(&r, o, "region", &j->quote.region);
                get_str(&r, o, "driver_family", &j->quote.driver_family);
                j->quote.vram_gb = get_num(&r, o, "vram_gb", NULL);
                set_time(&r, "window_start", &j->quote.window_start,
                         GR_JT_window_start, get_int(&r, o, "window_start"));
                set_time(&r, "window_end", &j->quote.window_end, GR_JT_window_end,
                         get_int(&r, o, "window_end"));
                j->quote.has_price = get_bool(&r, o, "has_price");
                j->quote.price_amount_minor =
                    get_int(&r, o, "price_amount_minor");
                /* as for events (gr_event_validate): a price is never
                 * negative, so amounts derived from it cannot be either */
                if (j->quote.price_amount_minor < 0)
                        fail(&r, "price_amount_minor");
                get_str(&r, o, "price_currency", &j->quote.price_currency);
        }
        if ((o = need(&r, root, "seller")) && json_is_object(o)) {
                gr_seller_packet *sp = gr_job_seller_mut(j);
                if (!sp) {
                        fail(&r, "seller (out of memory)");
                } else {
                        sp->present = 1;
                        get_str(&r, o, "packet_hash", &sp->packet_hash);
                        get_str(&r, o, "quote_id", &sp->quote_id);
                        get_str(&r, o, "worker_id", &sp->worker_id);
                        v = need(&r, o, "capacity_result");
                        if (v && !json_is_null(v)) {
                                sp->has_capacity_result = 1;
                                GET_ENUM(&r, o, "capacity_result", gr_result_t,
                                         &sp->capacity_result);
                        }
                        GET_ENUM(&r, o, "failure_class", gr_failure_t,
                                 &sp->failure_class);
                }
        }
        if ((o = need(&r, root, "buyer")) && json_is_object(o)) {
                gr_buyer_packet *bp = gr_job_buyer_mut(j);
                if (!bp) {
                        fail(&r, "buyer (out of memory)");
                } else {
                        bp->present = 1;
#define X(f) get_str(&r, o, #f, &bp->f);
                        GR_BUYER_STRINGS(X)
#undef X
                        bp->memory_budget_gb =
                            get_num(&r, o, "memory_budget_gb", NULL);
                        GET_ENUM(&r, o, "observed_failure_class", gr_failure_t,
                                 &bp->observed_failure_class);
                }
        }

        a = &j->cur;
        if ((o = need(&r, root, "cur")) && json_is_object(o)) {
                GET_ENUM(&r, o, "capacity", gr_capacity_t, &a->capacity);
                GET_ENUM(&r, o, "execution", gr_exec_t, &a->execution);
                GET_ENUM(&r, o, "output", gr_output_t, &a->output);
                GET_ENUM(&r, o, "evaluation", gr_eval_t, &a->evaluation);
#define X(f) get_str(&r, o, #f, &a->f);
                GR_ATTEMPT_STRINGS(X)
#undef X
#define X(f)                                                                   \
        set_time(&r, #f, &a->f, GR_JT_##f,                                     \
                 V2(ver, o, #f, get_time(&r, o, #f), GR_TIME_NONE));
                GR_ATTEMPT_TIMES(X)
#undef X
                uint8_t has;
                a->vram_declared_gb =
                    get_num(&r, o, "vram_declared_gb", &has);
                a->has_vram_declared = has;
                a->vram_observed_gb =
                    get_num(&r, o, "vram_observed_gb", &has);
                a->has_vram_observed = has;
                a->peak_vram_mb =
                    (int64_t)get_num(&r, o, "peak_vram_mb", &has);
                a->has_peak_vram = has;
                a->gpu_seconds = get_num(&r, o, "gpu_seconds", &has);
                a->has_gpu_seconds = has;
                GET_ENUM(&r, o, "failure_class", gr_failure_t,
                         &a->failure_class);
                {
                        /* -1 unknown, 0/1 false/true */
                        int64_t ow = get_int(&r, o, "output_written");
                        if (ow < -1 || ow > 1)
                                fail(&r, "output_written");
                        a->output_written = (int8_t)ow;
                }
                a->cancelled = get_bool(&r, o, "cancelled");
                if (ver >= 2 || json_object_get(o, "cancelled_exec"))
                        GET_ENUM(&r, o, "cancelled_exec", gr_exec_t,
                                 &a->cancelled_exec);
                else /* version 1 knew only R2: a cancel before start */
                        a->cancelled_exec = GR_EXEC_NOT_STARTED;
                a->expired = get_bool(&r, o, "expired");
                a->reviewed = get_bool(&r, o, "reviewed");
                GET_ENUM(&r, o, "review_settlement", gr_settlement_t,
                         &a->review_settlement);
        } else {
                fail(&r, "cur");
        }

        if ((o = need(&r, root, "history")) && json_is_array(o)) {
                json_array_foreach(o, i, v) {
                        gr_attempt_summary s;
                        memset(&s, 0, sizeof(s));
                        s.attempt = (uint32_t)get_int(&r, v, "attempt");
                        GET_ENUM(&r, v, "capacity", gr_capacity_t, &s.capacity);
                        GET_ENUM(&r, v, "execution", gr_exec_t, &s.execution);
                        GET_ENUM(&r, v, "output", gr_output_t, &s.output);
                        GET_ENUM(&r, v, "evaluation", gr_eval_t,
                                 &s.evaluation);
                        GET_ENUM(&r, v, "failure_class", gr_failure_t,
                                 &s.failure_class);
                        GET_ENUM(&r, v, "settlement", gr_settlement_t,
                                 &s.settlement);
                        GET_ENUM(&r, v, "retry", gr_retry_t, &s.retry);
                        GET_ENUM(&r, v, "reason", gr_reason_t, &s.reason);
                        GET_ENUM(&r, v, "rule", gr_rule_t, &s.rule);
                        if (ver >= 2)
                                get_amounts(&r, v, "amounts", &s.amounts);
                        if (gr_job_history_push(j, &s) == -1) {
                                fail(&r, "history (out of memory)");
                                goto err;
                        }
                }
        }

        if ((o = need(&r, root, "seen")) && json_is_array(o)) {
                json_array_foreach(o, i, v) {
                        uint64_t h;
                        char *end;
                        if (!json_is_string(v)) {
                                fail(&r, "seen");
                                break;
                        }
                        h = strtoull(json_string_value(v), &end, 16);
                        if (*end || gr_job_seen_add_hash(j, h)) {
                                fail(&r, "seen");
                                break;
                        }
                }
        }

        if ((o = need(&r, root, "parked")) && json_is_array(o) &&
            json_array_size(o)) {
                if (!(dec = gr_json_decoder_new())) {
                        fail(&r, "parked (out of memory)");
                        goto err;
                }
                json_array_foreach(o, i, v) {
                        char *text = json_dumps(v, JSON_COMPACT);
                        gr_event *ev = malloc(sizeof(*ev));
                        gr_err e;
                        if (!text || !ev ||
                            gr_json_event_decode(dec, text, strlen(text), ev,
                                                 &e) == -1) {
                                free(text);
                                free(ev);
                                fail(&r, "parked event");
                                break;
                        }
                        free(text);
                        if (gr_job_park(j, ev) == -1) {
                                free(ev);
                                fail(&r, "parked (out of memory)");
                                goto err;
                        }
                }
        }
        if ((o = json_object_get(root, "parties"))) {
                if (!json_is_array(o) ||
                    json_array_size(o) > GR_JOB_PARTIES_MAX) {
                        fail(&r, "parties");
                } else {
                        json_array_foreach(o, i, v) {
                                gr_role_t role = GR_ROLE_MARKETPLACE;
                                json_t *id = json_object_get(v, "id");
                                json_t *ro = json_object_get(v, "role");
                                if (!json_is_string(ro) ||
                                    gr_role_t_parse(json_string_value(ro),
                                                    json_string_length(ro),
                                                    &role) == -1 ||
                                    !json_is_string(id) ||
                                    !json_string_length(id) ||
                                    json_string_length(id) >= GR_ID_MAX ||
                                    strlen(json_string_value(id)) !=
                                        json_string_length(id) ||
                                    (role != GR_ROLE_BUYER &&
                                     role != GR_ROLE_SELLER) ||
                                    gr_job_party_add(j, role,
                                                     json_string_value(id))) {
                                        fail(&r, "parties");
                                        break;
                                }
                        }
                }
        }
        if (r.bad)
                goto err;
        if (ver == 1) { /* derive what version 1 did not keep */
                gr_verdict v1 = {j->settlement, j->retry, j->reason, j->rule};
                const gr_amounts m = gr_amounts_of(j, &v1, j->time);
                if (gr_job_amounts_set(j, &m) == -1) {
                        fail(&r, "amounts (out of memory)");
                        goto err;
                }
        }
        gr_json_decoder_destroy(dec);
        json_decref(root);
        return j;
err:
        gr_json_decoder_destroy(dec);
        gr_job_destroy(j);
        json_decref(root);
        return NULL;
}
