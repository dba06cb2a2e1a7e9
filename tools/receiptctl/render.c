/* Human-readable forms shared by replay and demo (render.h). */
#include "render.h"

#include "gr_event.h"

static void kv(gr_buf *out, const char *k, const char *v) {
        gr_buf_printf(out, " %s=%s", k, v && *v ? v : "-");
}

void cli_ledger_row_line(const gr_ledger_row *r, gr_buf *out) {
        gr_buf_printf(out, "job_id=%s seq=%llu", r->job_id,
                      (unsigned long long)r->seq);
        kv(out, "transition", gr_event_type_t_name(r->transition));
        kv(out, "capacity_status", gr_capacity_t_name(r->capacity));
        kv(out, "execution_status", gr_exec_t_name(r->execution));
        kv(out, "output_status", gr_output_t_name(r->output));
        kv(out, "evaluation_status", gr_eval_t_name(r->evaluation));
        kv(out, "settlement", gr_settlement_t_name(r->settlement));
        kv(out, "seller_packet", r->seller_packet);
        kv(out, "buyer_packet", r->buyer_packet);
        kv(out, "decision", r->decision);
        kv(out, "prev_hash", r->prev_hash);
        kv(out, "row_hash", r->row_hash);
}

static const char *jstr(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "-";
}

void cli_decision_line(json_t *d, gr_buf *out) {
        gr_buf_printf(out, "decision %-3s settlement=%s retry=%s reason=%s",
                      jstr(d, "rule"), jstr(d, "settlement"),
                      jstr(d, "retry"), jstr(d, "reason"));
        /* The decision's money (docs/SPEC.md §6): what the escrow does. */
        {
                json_t *a = json_object_get(d, "amounts");
                if (json_is_object(a))
                        gr_buf_printf(
                            out, "  %s charge=%lld refund=%lld held=%lld",
                            jstr(a, "currency"),
                            (long long)json_integer_value(
                                json_object_get(a, "charge_minor")),
                            (long long)json_integer_value(
                                json_object_get(a, "refund_minor")),
                            (long long)json_integer_value(
                                json_object_get(a, "held_minor")));
                else
                        gr_buf_puts(out, "  (no quoted price)");
        }
        gr_buf_printf(out,
                      "  (attempt %lld, seq %lld, decided_at %s, id %.12s)",
                      (long long)json_integer_value(
                          json_object_get(d, "attempt")),
                      (long long)json_integer_value(json_object_get(d, "seq")),
                      jstr(d, "decided_at"), jstr(d, "decision_id"));
}
