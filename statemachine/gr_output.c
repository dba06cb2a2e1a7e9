/* Canonical JSON renderings of ledger rows, decisions, receipts, rejects. */
#include "gr_output.h"

#include <stdio.h>
#include <string.h>

/* A piece of the summary line: bytes and their length. */
typedef struct line_part {
        const char *s;
        size_t n;
} line_part;

#define LIT(s) {s, sizeof(s) - 1}

/* A vocabulary's name without the quotes of its JSON spelling. */
static line_part bare(const gr_jname *n) {
        line_part p = {n->json + 1, n->len - 2};
        return p;
}

char *gr_job_line(const gr_job *j, char *buf, size_t size) {
        char att[16];
        size_t na = 0;
        char tmp[16];
        uint32_t v = j->attempt;

        /* Plain concatenation of known lengths: this runs for every
         * decision. */
        do
                tmp[na++] = (char)('0' + v % 10);
        while ((v /= 10));
        for (size_t i = 0; i < na; i++)
                att[i] = tmp[na - 1 - i];
        const line_part parts[] = {
            LIT("job_id="),       {j->job_id, strlen(j->job_id)},
            LIT(" attempt="),     {att, na},
            LIT(" capacity="),    bare(gr_capacity_t_jname(j->cur.capacity)),
            LIT(" execution="),   bare(gr_exec_t_jname(j->cur.execution)),
            LIT(" output="),      bare(gr_output_t_jname(j->cur.output)),
            LIT(" settlement="),  bare(gr_settlement_t_jname(j->settlement)),
            LIT(" reason="),      bare(gr_reason_t_jname(j->reason)),
            LIT(" retry="),       bare(gr_retry_t_jname(j->retry))};
        size_t n = 0;
        if (!size)
                return buf;
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                size_t l = parts[i].n;
                if (n + l >= size)
                        l = size - 1 - n;
                gr_copy_short(buf + n, parts[i].s, l);
                n += l;
        }
        buf[n] = '\0';
        return buf;
}

#undef LIT

/* Field names of the tables in gr_records.h. */
#define KEY_OF(kind, m, key) key,
const char *const gr_ledger_row_keys[] = {GR_LEDGER_ROW_FIELDS(KEY_OF)};
const size_t gr_ledger_row_nkeys =
    sizeof(gr_ledger_row_keys) / sizeof(gr_ledger_row_keys[0]);
const char *const gr_decision_keys[] = {GR_DECISION_FIELDS(KEY_OF)};
const size_t gr_decision_nkeys =
    sizeof(gr_decision_keys) / sizeof(gr_decision_keys[0]);
#undef KEY_OF

/* A vocabulary's name, or null, as its JSON value: copied as it is
 * (gr_jname), no length to find and nothing to escape. */
static const gr_jname jname_null = {"null", 4};

static inline void jw_kname(gr_jw *w, const char *k, const gr_jname *n) {
        gr_jw_kraw(w, k, n->json, n->len);
}

/* Writing one field of a record table (gr_records.h) per kind: `r` is the
 * record, `k` the key literal (its length is known at compile time). */
#define PUT_STR(m, k) gr_jw_kstr_n(w, k, sizeof(k) - 1, r->m)
#define PUT_HEX(m, k) PUT_STR(m, k)
#define PUT_ATTEMPT(m, k) gr_jw_kint_n(w, k, sizeof(k) - 1, (int64_t)r->m)
#define PUT_SEQ(m, k) gr_jw_kint_n(w, k, sizeof(k) - 1, (int64_t)r->m)
#define PUT_TIME(m, k) gr_jw_ktime_n(w, k, sizeof(k) - 1, r->m)
#define PUT_NAME(k, n) gr_jw_kraw_n(w, k, sizeof(k) - 1, (n)->json, (n)->len)
#define PUT_ENUM(m, k, type) PUT_NAME(k, type##_jname(r->m))
#define PUT_EVTYPE(m, k) PUT_ENUM(m, k, gr_event_type_t)
#define PUT_CAPACITY(m, k) PUT_ENUM(m, k, gr_capacity_t)
#define PUT_EXEC(m, k) PUT_ENUM(m, k, gr_exec_t)
#define PUT_OUTPUT(m, k) PUT_ENUM(m, k, gr_output_t)
#define PUT_EVAL(m, k) PUT_ENUM(m, k, gr_eval_t)
#define PUT_SETTLE(m, k) PUT_ENUM(m, k, gr_settlement_t)
#define PUT_RETRY(m, k) PUT_ENUM(m, k, gr_retry_t)
#define PUT_REASON(m, k) PUT_ENUM(m, k, gr_reason_t)
#define PUT_RULE(m, k)                                                         \
        PUT_NAME(k, r->m == GR_RULE_NONE ? &jname_null : gr_rule_t_jname(r->m))
#define PUT_AMOUNTS(m, k) gr_jw_kamounts(w, k, &r->m)
#define PUT_ARG(m, k) gr_jw_kstr_n(w, k, sizeof(k) - 1, m)
#define PUT_ROWHASH(m, k)                                                      \
        do {                                                                   \
                if (with_row_hash)                                             \
                        PUT_HEX(m, k);                                         \
        } while (0)
#define PUT(kind, m, k) PUT_##kind(m, k);

void gr_ledger_row_to_json(const gr_ledger_row *r, int with_row_hash,
                           gr_buf *out) {
        gr_jw jw, *w = &jw;

        if (r->canon && r->canon_len > 1 && r->canon[r->canon_len - 1] == '}') {
                /* Rendered once already: the canonical bytes, then row_hash
                 * (the table's last field) where the closing brace was. */
                gr_buf_append(out, r->canon,
                              with_row_hash ? r->canon_len - 1 : r->canon_len);
                if (with_row_hash) {
                        gr_buf_append(out, ",\"row_hash\":\"", 13);
                        gr_buf_append(out, r->row_hash, 64);
                        gr_buf_append(out, "\"}", 2);
                }
                return;
        }
        gr_jw_init(w, out);
        gr_jw_obj_begin(w);
        GR_LEDGER_ROW_FIELDS(PUT)
        gr_jw_obj_end(w);
}

void gr_jw_kamounts(gr_jw *w, const char *key, const gr_amounts *m) {
        gr_jw_key(w, key);
        if (!m->present) {
                gr_jw_null(w);
                return;
        }
        gr_jw_obj_begin(w);
        gr_jw_kstr(w, "currency", m->currency);
        gr_jw_kint(w, "price_minor", m->price_minor);
        gr_jw_kint(w, "charge_minor", m->charge_minor);
        gr_jw_kint(w, "refund_minor", m->refund_minor);
        gr_jw_kint(w, "held_minor", m->held_minor);
        gr_jw_obj_end(w);
}

void gr_decision_to_json(const gr_decision *r, const char *sig,
                         const char *key_id, gr_buf *out) {
        gr_jw jw, *w = &jw;

        gr_jw_init(w, out);
        gr_jw_obj_begin(w);
        GR_DECISION_FIELDS(PUT)
        gr_jw_obj_end(w);
}

static void ktime_opt(gr_jw *w, const char *k, int64_t ms) {
        if (ms == GR_TIME_NONE)
                gr_jw_kstr(w, k, NULL);
        else
                gr_jw_ktime(w, k, ms);
}

static void failure_opt(gr_jw *w, const char *k, gr_failure_t f) {
        jw_kname(w, k, f == GR_FAIL_NONE ? &jname_null : gr_failure_t_jname(f));
}

static void attempt_json(gr_jw *w, const gr_attempt_summary *s) {
        gr_jw_obj_begin(w);
        gr_jw_kint(w, "attempt", s->attempt);
        jw_kname(w, "capacity", gr_capacity_t_jname(s->capacity));
        jw_kname(w, "execution", gr_exec_t_jname(s->execution));
        jw_kname(w, "output", gr_output_t_jname(s->output));
        jw_kname(w, "evaluation", gr_eval_t_jname(s->evaluation));
        failure_opt(w, "failure_class", s->failure_class);
        jw_kname(w, "settlement", gr_settlement_t_jname(s->settlement));
        jw_kname(w, "retry", gr_retry_t_jname(s->retry));
        jw_kname(w, "reason", gr_reason_t_jname(s->reason));
        jw_kname(w, "rule", s->rule == GR_RULE_NONE ? &jname_null
                                                    : gr_rule_t_jname(s->rule));
        gr_jw_kamounts(w, "amounts", &s->amounts);
        gr_jw_obj_end(w);
}

void gr_receipt_to_json(const gr_job *j, gr_buf *out) {
        char line[GR_ID_MAX + 200];
        gr_receipt_to_json_line(j, gr_job_line(j, line, sizeof(line)), out);
}

void gr_receipt_to_json_line(const gr_job *j, const char *line, gr_buf *out) {
        const gr_attempt *a = &j->cur;
        gr_jw w;
        char chain[65];

        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "job_id", j->job_id);
        gr_jw_kint(&w, "attempt", j->attempt);
        gr_jw_kstr(&w, "line", line);

        gr_jw_key(&w, "quote");
        if (!j->quote.present) {
                gr_jw_null(&w);
        } else {
                char win[2 * GR_TIME_TEXT_MAX];
                size_t nw;
                gr_jw_obj_begin(&w);
                gr_jw_kstr(&w, "quote_id", GR_JS(j, j->quote.quote_id));
                gr_jw_kstr(&w, "provider_id", GR_JS(j, j->quote.provider_id));
                gr_jw_kstr(&w, "gpu", GR_JS(j, j->quote.gpu));
                gr_jw_knum(&w, "vram_gb", j->quote.vram_gb);
                gr_jw_kstr(&w, "region", GR_JS(j, j->quote.region));
                gr_jw_kstr(&w, "driver_family", GR_JS(j, j->quote.driver_family));
                nw = gr_time_format_n(GR_JT(j, quote, window_start), win);
                win[nw++] = '/';
                gr_time_format_n(GR_JT(j, quote, window_end), win + nw);
                gr_jw_kstr(&w, "reservation_window", win);
                gr_jw_key(&w, "price");
                if (j->quote.has_price) {
                        gr_jw_obj_begin(&w);
                        gr_jw_kint(&w, "amount_minor",
                                   j->quote.price_amount_minor);
                        gr_jw_kstr(&w, "currency", GR_JS(j, j->quote.price_currency));
                        gr_jw_obj_end(&w);
                } else {
                        gr_jw_null(&w);
                }
                gr_jw_obj_end(&w);
        }

        gr_jw_key(&w, "capacity");
        gr_jw_obj_begin(&w);
        jw_kname(&w, "status", gr_capacity_t_jname(a->capacity));
        gr_jw_kstr(&w, "check", GR_JS(j, a->check));
        gr_jw_kstr(&w, "worker_status", GR_JS(j, a->worker_status));
        gr_jw_knum_opt(&w, "vram_declared_gb", a->has_vram_declared,
                 a->vram_declared_gb);
        gr_jw_knum_opt(&w, "vram_observed_gb", a->has_vram_observed,
                 a->vram_observed_gb);
        gr_jw_kstr(&w, "detail", GR_JS(j, a->capacity_detail));
        ktime_opt(&w, "checked_at", GR_JT(j, cur, capacity_at));
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "execution");
        gr_jw_obj_begin(&w);
        jw_kname(&w, "status", gr_exec_t_jname(a->execution));
        gr_jw_kstr(&w, "worker_id", GR_JS(j, a->worker_id));
        gr_jw_kstr(&w, "container_image", GR_JS(j, a->container_image));
        gr_jw_kstr(&w, "command", GR_JS(j, a->command));
        gr_jw_kstr(&w, "model_hash", GR_JS(j, a->model_hash));
        gr_jw_kstr(&w, "input_manifest_hash", GR_JS(j, a->input_manifest_hash));
        ktime_opt(&w, "started_at", GR_JT(j, cur, started_at));
        ktime_opt(&w, "failed_at", GR_JT(j, cur, failed_at));
        ktime_opt(&w, "completed_at", GR_JT(j, cur, completed_at));
        failure_opt(&w, "failure_class", a->failure_class);
        gr_jw_kstr(&w, "stderr_class", GR_JS(j, a->stderr_class));
        gr_jw_key(&w, "output_written");
        if (a->output_written < 0)
                gr_jw_null(&w);
        else
                gr_jw_bool(&w, a->output_written);
        gr_jw_key(&w, "resources");
        gr_jw_obj_begin(&w);
        gr_jw_knum_opt(&w, "peak_vram_mb", a->has_peak_vram, (double)a->peak_vram_mb);
        gr_jw_knum_opt(&w, "gpu_seconds", a->has_gpu_seconds, a->gpu_seconds);
        gr_jw_obj_end(&w);
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "output");
        gr_jw_obj_begin(&w);
        jw_kname(&w, "status", gr_output_t_jname(a->output));
        gr_jw_kstr(&w, "output_hash", GR_JS(j, a->output_hash));
        gr_jw_kstr(&w, "output_path", GR_JS(j, a->output_path));
        jw_kname(&w, "evaluation_status", gr_eval_t_jname(a->evaluation));
        gr_jw_kstr(&w, "evaluation_rule", GR_JS(j, a->evaluation_rule));
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "settlement");
        gr_jw_obj_begin(&w);
        jw_kname(&w, "posture", gr_settlement_t_jname(j->settlement));
        jw_kname(&w, "retry", gr_retry_t_jname(j->retry));
        jw_kname(&w, "reason", gr_reason_t_jname(j->reason));
        jw_kname(&w, "rule", j->rule == GR_RULE_NONE ? &jname_null
                                                     : gr_rule_t_jname(j->rule));
        {
                const gr_amounts m = gr_job_amounts(j);
                gr_jw_kamounts(&w, "amounts", &m);
        }
        gr_jw_kint(&w, "free_retries_used", j->free_retries_used);
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "packets");
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "seller", GR_JS(j, gr_job_seller(j)->packet_hash));
        gr_jw_kstr(&w, "buyer", GR_JS(j, gr_job_buyer(j)->packet_hash));
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "attempts");
        gr_jw_arr_begin(&w);
        for (size_t i = 0; i < gr_job_nhistory(j); i++)
                attempt_json(&w, &gr_job_history(j)[i]);
        {
                gr_attempt_summary now = {
                    j->attempt,    a->capacity,  a->execution,
                    a->output,     a->evaluation, a->failure_class,
                    j->settlement, j->retry,     j->reason,
                    j->rule,       gr_job_amounts(j)};
                attempt_json(&w, &now);
        }
        gr_jw_arr_end(&w);

        gr_jw_key(&w, "ledger");
        gr_jw_obj_begin(&w);
        gr_jw_kint(&w, "seq", (int64_t)j->seq);
        gr_jw_kstr(&w, "head", gr_hex(j->chain, sizeof(j->chain), chain));
        gr_jw_obj_end(&w);
        gr_jw_obj_end(&w);
}

void gr_reject_to_json(const char *event_id, const char *job_id,
                       const gr_err *err, gr_buf *out) {
        gr_jw w;
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "event_id", event_id);
        gr_jw_kstr(&w, "job_id", job_id);
        jw_kname(&w, "reason", gr_reject_t_jname(err->reason));
        gr_jw_kstr(&w, "detail", err->detail);
        gr_jw_obj_end(&w);
}
