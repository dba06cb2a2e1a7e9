/* Canonical JSON renderings of ledger rows, decisions, receipts, rejects. */
#include "gr_output.h"

#include <stdio.h>
#include <string.h>

char *gr_job_line(const gr_job *j, char *buf, size_t size) {
        char att[16];

        /* Plain concatenation: this runs for every decision. */
        snprintf(att, sizeof(att), "%u", j->attempt);
        const char *parts[] = {"job_id=",         j->job_id,
                               " attempt=",       att,
                               " capacity=",      gr_capacity_t_name(j->cur.capacity),
                               " execution=",     gr_exec_t_name(j->cur.execution),
                               " output=",        gr_output_t_name(j->cur.output),
                               " settlement=",    gr_settlement_t_name(j->settlement),
                               " reason=",        gr_reason_t_name(j->reason),
                               " retry=",         gr_retry_t_name(j->retry)};
        size_t n = 0;
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                size_t l = strlen(parts[i]);
                if (n + l >= size)
                        l = size - 1 - n;
                memcpy(buf + n, parts[i], l);
                n += l;
        }
        buf[n] = '\0';
        return buf;
}

void gr_ledger_row_to_json(const gr_ledger_row *r, int with_row_hash,
                           gr_buf *out) {
        gr_jw w;
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "job_id", r->job_id);
        gr_jw_kint(&w, "attempt", r->attempt);
        gr_jw_kint(&w, "seq", (int64_t)r->seq);
        gr_jw_kstr(&w, "transition", gr_event_type_t_name(r->transition));
        gr_jw_kstr(&w, "event_id", r->event_id);
        gr_jw_ktime(&w, "occurred_at", r->occurred_at);
        gr_jw_kstr(&w, "capacity_status", gr_capacity_t_name(r->capacity));
        gr_jw_kstr(&w, "execution_status", gr_exec_t_name(r->execution));
        gr_jw_kstr(&w, "output_status", gr_output_t_name(r->output));
        gr_jw_kstr(&w, "evaluation_status", gr_eval_t_name(r->evaluation));
        gr_jw_kstr(&w, "settlement", gr_settlement_t_name(r->settlement));
        gr_jw_kstr(&w, "seller_packet", r->seller_packet);
        gr_jw_kstr(&w, "buyer_packet", r->buyer_packet);
        gr_jw_kstr(&w, "decision", r->decision);
        gr_jw_kstr(&w, "prev_hash", r->prev_hash);
        if (with_row_hash)
                gr_jw_kstr(&w, "row_hash", r->row_hash);
        gr_jw_obj_end(&w);
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

void gr_decision_to_json(const gr_decision *d, const char *sig_b64,
                         const char *key_id, gr_buf *out) {
        gr_jw w;
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "decision_id", d->decision_id);
        gr_jw_kstr(&w, "job_id", d->job_id);
        gr_jw_kint(&w, "attempt", d->attempt);
        gr_jw_kint(&w, "seq", (int64_t)d->seq);
        gr_jw_kstr(&w, "settlement", gr_settlement_t_name(d->settlement));
        gr_jw_kstr(&w, "retry", gr_retry_t_name(d->retry));
        gr_jw_kstr(&w, "reason", gr_reason_t_name(d->reason));
        gr_jw_kstr(&w, "rule", d->rule == GR_RULE_NONE
                                   ? NULL
                                   : gr_rule_t_name(d->rule));
        gr_jw_kstr(&w, "line", d->line);
        gr_jw_kstr(&w, "receipt_hash", d->receipt_hash);
        gr_jw_kstr(&w, "policy_hash", d->policy_hash);
        gr_jw_ktime(&w, "decided_at", d->decided_at);
        gr_jw_kamounts(&w, "amounts", &d->amounts);
        gr_jw_kstr(&w, "key_id", key_id);
        gr_jw_kstr(&w, "sig", sig_b64);
        gr_jw_obj_end(&w);
}

static void ktime_opt(gr_jw *w, const char *k, int64_t ms) {
        if (ms == GR_TIME_NONE)
                gr_jw_kstr(w, k, NULL);
        else
                gr_jw_ktime(w, k, ms);
}

static void failure_opt(gr_jw *w, const char *k, gr_failure_t f) {
        gr_jw_kstr(w, k, f == GR_FAIL_NONE ? NULL : gr_failure_t_name(f));
}

static void attempt_json(gr_jw *w, const gr_attempt_summary *s) {
        gr_jw_obj_begin(w);
        gr_jw_kint(w, "attempt", s->attempt);
        gr_jw_kstr(w, "capacity", gr_capacity_t_name(s->capacity));
        gr_jw_kstr(w, "execution", gr_exec_t_name(s->execution));
        gr_jw_kstr(w, "output", gr_output_t_name(s->output));
        gr_jw_kstr(w, "evaluation", gr_eval_t_name(s->evaluation));
        failure_opt(w, "failure_class", s->failure_class);
        gr_jw_kstr(w, "settlement", gr_settlement_t_name(s->settlement));
        gr_jw_kstr(w, "retry", gr_retry_t_name(s->retry));
        gr_jw_kstr(w, "reason", gr_reason_t_name(s->reason));
        gr_jw_kstr(w, "rule",
                   s->rule == GR_RULE_NONE ? NULL : gr_rule_t_name(s->rule));
        gr_jw_kamounts(w, "amounts", &s->amounts);
        gr_jw_obj_end(w);
}

void gr_receipt_to_json(const gr_job *j, gr_buf *out) {
        const gr_attempt *a = &j->cur;
        gr_jw w;
        char line[GR_ID_MAX + 200], chain[65];

        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "job_id", j->job_id);
        gr_jw_kint(&w, "attempt", j->attempt);
        gr_jw_kstr(&w, "line", gr_job_line(j, line, sizeof(line)));

        gr_jw_key(&w, "quote");
        if (!j->quote.present) {
                gr_jw_null(&w);
        } else {
                char ws[40], we[40], win[80];
                gr_jw_obj_begin(&w);
                gr_jw_kstr(&w, "quote_id", j->quote.quote_id);
                gr_jw_kstr(&w, "provider_id", j->quote.provider_id);
                gr_jw_kstr(&w, "gpu", j->quote.gpu);
                gr_jw_knum(&w, "vram_gb", j->quote.vram_gb);
                gr_jw_kstr(&w, "region", j->quote.region);
                gr_jw_kstr(&w, "driver_family", j->quote.driver_family);
                gr_time_format(j->quote.window_start, ws, sizeof(ws));
                gr_time_format(j->quote.window_end, we, sizeof(we));
                snprintf(win, sizeof(win), "%s/%s", ws, we);
                gr_jw_kstr(&w, "reservation_window", win);
                gr_jw_key(&w, "price");
                if (j->quote.has_price) {
                        gr_jw_obj_begin(&w);
                        gr_jw_kint(&w, "amount_minor",
                                   j->quote.price_amount_minor);
                        gr_jw_kstr(&w, "currency", j->quote.price_currency);
                        gr_jw_obj_end(&w);
                } else {
                        gr_jw_null(&w);
                }
                gr_jw_obj_end(&w);
        }

        gr_jw_key(&w, "capacity");
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "status", gr_capacity_t_name(a->capacity));
        gr_jw_kstr(&w, "check", a->check);
        gr_jw_kstr(&w, "worker_status", a->worker_status);
        gr_jw_knum_opt(&w, "vram_declared_gb", a->has_vram_declared,
                 a->vram_declared_gb);
        gr_jw_knum_opt(&w, "vram_observed_gb", a->has_vram_observed,
                 a->vram_observed_gb);
        gr_jw_kstr(&w, "detail", a->capacity_detail);
        ktime_opt(&w, "checked_at", a->capacity_at);
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "execution");
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "status", gr_exec_t_name(a->execution));
        gr_jw_kstr(&w, "worker_id", a->worker_id);
        gr_jw_kstr(&w, "container_image", a->container_image);
        gr_jw_kstr(&w, "command", a->command);
        gr_jw_kstr(&w, "model_hash", a->model_hash);
        gr_jw_kstr(&w, "input_manifest_hash", a->input_manifest_hash);
        ktime_opt(&w, "started_at", a->started_at);
        ktime_opt(&w, "failed_at", a->failed_at);
        ktime_opt(&w, "completed_at", a->completed_at);
        failure_opt(&w, "failure_class", a->failure_class);
        gr_jw_kstr(&w, "stderr_class", a->stderr_class);
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
        gr_jw_kstr(&w, "status", gr_output_t_name(a->output));
        gr_jw_kstr(&w, "output_hash", a->output_hash);
        gr_jw_kstr(&w, "output_path", a->output_path);
        gr_jw_kstr(&w, "evaluation_status", gr_eval_t_name(a->evaluation));
        gr_jw_kstr(&w, "evaluation_rule", a->evaluation_rule);
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "settlement");
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "posture", gr_settlement_t_name(j->settlement));
        gr_jw_kstr(&w, "retry", gr_retry_t_name(j->retry));
        gr_jw_kstr(&w, "reason", gr_reason_t_name(j->reason));
        gr_jw_kstr(&w, "rule",
                   j->rule == GR_RULE_NONE ? NULL : gr_rule_t_name(j->rule));
        gr_jw_kamounts(&w, "amounts", &j->amounts);
        gr_jw_kint(&w, "free_retries_used", j->free_retries_used);
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "packets");
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "seller", j->seller.packet_hash);
        gr_jw_kstr(&w, "buyer", j->buyer.packet_hash);
        gr_jw_obj_end(&w);

        gr_jw_key(&w, "attempts");
        gr_jw_arr_begin(&w);
        for (size_t i = 0; i < j->nhistory; i++)
                attempt_json(&w, &j->history[i]);
        {
                gr_attempt_summary now = {
                    j->attempt,    a->capacity,  a->execution,
                    a->output,     a->evaluation, a->failure_class,
                    j->settlement, j->retry,     j->reason,
                    j->rule,       j->amounts};
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
        gr_jw_kstr(&w, "reason", gr_reject_t_name(err->reason));
        gr_jw_kstr(&w, "detail", err->detail);
        gr_jw_obj_end(&w);
}
