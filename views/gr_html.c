/* The receipt as a self-contained HTML page (see gr_html.h).
 *
 * The data are exactly those of gr_receipt_to_json(); only the layout
 * differs.  Which lane failed is the core's gr_failed_layer(), and the
 * deciding rule from the job's settlement lane, so the page
 * cannot tell a different story from the JSON receipt. */
#include "gr_html.h"

#include <stdio.h>
#include <string.h>

#include "gr_output.h"
#include "gr_rules.h"

typedef enum {
        LANE_QUOTE,
        LANE_CAPACITY,
        LANE_EXECUTION,
        LANE_OUTPUT,
        LANE_EVALUATION,
        LANE_SETTLEMENT,
        LANE__CNT
} lane_t;

static const char *lane_ids[LANE__CNT] = {
    "quote", "capacity", "execution", "output", "evaluation", "settlement"};
static const char *lane_titles[LANE__CNT] = {
    "Quote", "Capacity", "Execution", "Output", "Evaluation", "Settlement"};

/* How a lane is drawn. */
typedef enum {
        LOOK_OK,      /* done and fine */
        LOOK_FAILED,  /* the failure happened here */
        LOOK_WAITING, /* nothing yet, may still come */
        LOOK_SKIPPED, /* not reached because an earlier lane failed */
        LOOK_NEUTRAL, /* done, neither good nor bad (n/a, decided) */
} look_t;

static const char *look_class(look_t l) {
        switch (l) {
        case LOOK_OK:
                return "ok";
        case LOOK_FAILED:
                return "failed";
        case LOOK_WAITING:
                return "waiting";
        case LOOK_SKIPPED:
                return "skipped";
        case LOOK_NEUTRAL:
                return "neutral";
        }
        return "neutral";
}

void gr_html_escape(gr_buf *out, const char *s, size_t n) {
        size_t run = 0;

        for (size_t i = 0; i < n; i++) {
                const char *ent = NULL;
                switch (s[i]) {
                case '&':
                        ent = "&amp;";
                        break;
                case '<':
                        ent = "&lt;";
                        break;
                case '>':
                        ent = "&gt;";
                        break;
                case '"':
                        ent = "&quot;";
                        break;
                case '\'':
                        ent = "&#39;";
                        break;
                }
                if (!ent)
                        continue;
                gr_buf_append(out, s + run, i - run);
                gr_buf_puts(out, ent);
                run = i + 1;
        }
        gr_buf_append(out, s + run, n - run);
}

static void esc(gr_buf *out, const char *s) {
        if (s)
                gr_html_escape(out, s, strlen(s));
        else
                gr_buf_puts(out, "<span class=\"none\">&mdash;</span>");
}

static void put_time(gr_buf *out, int64_t ms) {
        char t[32];
        if (ms == GR_TIME_NONE) {
                gr_buf_puts(out, "<span class=\"none\">&mdash;</span>");
                return;
        }
        gr_time_format(ms, t, sizeof(t));
        gr_buf_printf(out, "<time datetime=\"%s\">%s</time>", t, t);
}

/* One definition-list row; value escaped, NULL shown as a dash. */
static void row_str(gr_buf *out, const char *label, const char *v) {
        gr_buf_printf(out, "<dt>%s</dt><dd>", label);
        esc(out, v);
        gr_buf_puts(out, "</dd>");
}

static void row_code(gr_buf *out, const char *label, const char *v) {
        gr_buf_printf(out, "<dt>%s</dt><dd>", label);
        if (v) {
                gr_buf_puts(out, "<code>");
                esc(out, v);
                gr_buf_puts(out, "</code>");
        } else {
                esc(out, NULL);
        }
        gr_buf_puts(out, "</dd>");
}

static void row_time(gr_buf *out, const char *label, int64_t ms) {
        gr_buf_printf(out, "<dt>%s</dt><dd>", label);
        put_time(out, ms);
        gr_buf_puts(out, "</dd>");
}

static void row_num(gr_buf *out, const char *label, int has, double v,
                    const char *unit) {
        gr_buf_printf(out, "<dt>%s</dt><dd>", label);
        if (has)
                gr_buf_printf(out, "%g%s", v, unit);
        else
                esc(out, NULL);
        gr_buf_puts(out, "</dd>");
}

/* The lane where this attempt's failure happened, or LANE__CNT for none:
 * the core's answer (gr_failed_layer()), so the page and the rules agree. */
static lane_t failed_lane(const gr_job *j) {
        switch (gr_failed_layer(j)) {
        case GR_LAYER_CAPACITY:
                return LANE_CAPACITY;
        case GR_LAYER_EXECUTION:
                return LANE_EXECUTION;
        case GR_LAYER_OUTPUT:
                return LANE_OUTPUT;
        case GR_LAYER_EVALUATION:
                return LANE_EVALUATION;
        case GR_LAYER_NONE:
                break;
        }
        return LANE__CNT;
}

static look_t lane_look(const gr_job *j, lane_t l, lane_t failed) {
        const gr_attempt *a = &j->cur;

        if (l == failed)
                return LOOK_FAILED;
        if (failed != LANE__CNT && l > failed && l != LANE_SETTLEMENT)
                return LOOK_SKIPPED;
        switch (l) {
        case LANE_QUOTE:
                return j->quote.present ? LOOK_OK : LOOK_WAITING;
        case LANE_CAPACITY:
                return a->capacity == GR_CAP_PASS ? LOOK_OK : LOOK_WAITING;
        case LANE_EXECUTION:
                return a->execution == GR_EXEC_PASS ? LOOK_OK : LOOK_WAITING;
        case LANE_OUTPUT:
                return a->output == GR_OUT_PRESENT ? LOOK_OK : LOOK_WAITING;
        case LANE_EVALUATION:
                if (a->evaluation == GR_EVAL_PASS)
                        return LOOK_OK;
                if (a->evaluation == GR_EVAL_NOT_APPLICABLE)
                        return LOOK_NEUTRAL;
                return LOOK_WAITING;
        case LANE_SETTLEMENT:
                return j->settlement == GR_SETTLE_PENDING ? LOOK_WAITING
                                                          : LOOK_NEUTRAL;
        case LANE__CNT:
                break;
        }
        return LOOK_NEUTRAL;
}

/* The word shown next to the lane title. */
static const char *lane_status(const gr_job *j, lane_t l) {
        const gr_attempt *a = &j->cur;

        switch (l) {
        case LANE_QUOTE:
                return j->quote.present ? "accepted" : "none";
        case LANE_CAPACITY:
                return gr_capacity_t_name(a->capacity);
        case LANE_EXECUTION:
                if (a->execution == GR_EXEC_NOT_STARTED &&
                    (a->expired ||
                     j->reason == GR_REASON_PROVIDER_NO_SHOW))
                        return "no_show";
                return gr_exec_t_name(a->execution);
        case LANE_OUTPUT:
                return gr_output_t_name(a->output);
        case LANE_EVALUATION:
                return gr_eval_t_name(a->evaluation);
        case LANE_SETTLEMENT:
                return gr_settlement_t_name(j->settlement);
        case LANE__CNT:
                break;
        }
        return "";
}

/* When the lane happened, for its heading. */
static void lane_when(gr_buf *out, const gr_job *j, lane_t l) {
        int64_t t = GR_TIME_NONE;

        switch (l) {
        case LANE_QUOTE:
                if (j->quote.present) {
                        gr_buf_puts(out, "window ");
                        put_time(out, GR_JT(j, quote, window_start));
                        gr_buf_puts(out, " &ndash; ");
                        put_time(out, GR_JT(j, quote, window_end));
                }
                return;
        case LANE_CAPACITY:
                t = GR_JT(j, cur, capacity_at);
                break;
        case LANE_EXECUTION:
                if (GR_JT(j, cur, started_at) != GR_TIME_NONE) {
                        put_time(out, GR_JT(j, cur, started_at));
                        if (GR_JT(j, cur, failed_at) != GR_TIME_NONE ||
                            GR_JT(j, cur, completed_at) != GR_TIME_NONE) {
                                gr_buf_puts(out, " &rarr; ");
                                put_time(out, GR_JT(j, cur, failed_at) != GR_TIME_NONE
                                                  ? GR_JT(j, cur, failed_at)
                                                  : GR_JT(j, cur, completed_at));
                        }
                        return;
                }
                t = GR_JT(j, cur, failed_at);
                break;
        case LANE_OUTPUT:
                t = GR_JT(j, cur, delivered_at);
                break;
        case LANE_EVALUATION:
                t = GR_JT(j, cur, evaluated_at);
                break;
        case LANE_SETTLEMENT:
                if (j->time != GR_TIME_NONE && j->seq > 0) {
                        gr_buf_puts(out, "as of ");
                        t = j->time;
                }
                break;
        case LANE__CNT:
                break;
        }
        if (t != GR_TIME_NONE)
                put_time(out, t);
}

static void marker(gr_buf *out, const char *what) {
        gr_buf_puts(out, "<p class=\"marker\" id=\"failure\">"
                         "<span aria-hidden=\"true\">&#x2716;</span> "
                         "FAILED HERE: <strong>");
        esc(out, what);
        gr_buf_puts(out, "</strong></p>");
}

/* Amounts of the posture (docs/SPEC.md §6): charge, refund and held in
 * the quote's minor units; nothing without a quoted price. */
static void money_rows(gr_buf *out, const gr_amounts *m) {
        static const char *const label[] = {"price", "charged to the buyer",
                                            "refunded to the buyer", "held"};
        const int64_t v[] = {m->price_minor, m->charge_minor, m->refund_minor,
                             m->held_minor};

        if (!m->present) {
                row_str(out, "amounts", "no quoted price");
                return;
        }
        for (size_t i = 0; i < 4; i++) {
                gr_buf_printf(out, "<dt>%s</dt><dd class=\"amount\">%lld ",
                              label[i], (long long)v[i]);
                esc(out, m->currency);
                gr_buf_puts(out, " (minor units)</dd>");
        }
}

static void lane_body(gr_buf *out, const gr_job *j, lane_t l, look_t look) {
        const gr_attempt *a = &j->cur;
        const gr_quote *q = &j->quote;

        if (look == LOOK_SKIPPED) {
                gr_buf_puts(out, "<p class=\"note\">not reached: an earlier "
                                 "lane failed</p>");
                return;
        }
        switch (l) {
        case LANE_QUOTE:
                if (!q->present) {
                        gr_buf_puts(out, "<p class=\"note\">no quote "
                                         "received</p>");
                        return;
                }
                gr_buf_puts(out, "<dl>");
                row_str(out, "quote", GR_JS(j, q->quote_id));
                row_str(out, "provider", GR_JS(j, q->provider_id));
                row_str(out, "gpu", GR_JS(j, q->gpu));
                row_num(out, "vram", 1, q->vram_gb, " GB");
                row_str(out, "region", GR_JS(j, q->region));
                row_str(out, "driver family", GR_JS(j, q->driver_family));
                gr_buf_puts(out, "<dt>price</dt><dd>");
                if (q->has_price) {
                        gr_buf_printf(out, "%lld ",
                                      (long long)q->price_amount_minor);
                        esc(out, GR_JS(j, q->price_currency));
                        gr_buf_puts(out, " (minor units)");
                } else {
                        esc(out, NULL);
                }
                gr_buf_puts(out, "</dd></dl>");
                return;
        case LANE_CAPACITY:
                if (look == LOOK_FAILED)
                        marker(out, "capacity check failed");
                gr_buf_puts(out, "<dl>");
                row_str(out, "check", GR_JS(j, a->check));
                row_str(out, "worker status", GR_JS(j, a->worker_status));
                row_num(out, "vram declared", a->has_vram_declared,
                        a->vram_declared_gb, " GB");
                row_num(out, "vram observed", a->has_vram_observed,
                        a->vram_observed_gb, " GB");
                row_str(out, "detail", GR_JS(j, a->capacity_detail));
                gr_buf_puts(out, "</dl>");
                return;
        case LANE_EXECUTION:
                if (look == LOOK_FAILED)
                        marker(out, a->execution == GR_EXEC_FAIL
                                        ? gr_failure_t_name(a->failure_class)
                                        : "provider did not start within "
                                          "the window");
                gr_buf_puts(out, "<dl>");
                row_str(out, "worker", GR_JS(j, a->worker_id));
                row_code(out, "container image", GR_JS(j, a->container_image));
                row_code(out, "command", GR_JS(j, a->command));
                row_code(out, "model hash", GR_JS(j, a->model_hash));
                row_code(out, "input manifest hash", GR_JS(j, a->input_manifest_hash));
                row_time(out, "started", GR_JT(j, cur, started_at));
                if (GR_JT(j, cur, failed_at) != GR_TIME_NONE)
                        row_time(out, "failed", GR_JT(j, cur, failed_at));
                if (GR_JT(j, cur, completed_at) != GR_TIME_NONE)
                        row_time(out, "completed", GR_JT(j, cur, completed_at));
                row_str(out, "failure class",
                        a->failure_class == GR_FAIL_NONE
                            ? NULL
                            : gr_failure_t_name(a->failure_class));
                row_str(out, "stderr class", GR_JS(j, a->stderr_class));
                row_str(out, "output written",
                        a->output_written < 0 ? NULL :
                        a->output_written     ? "yes" :
                                                "no");
                row_num(out, "peak vram", a->has_peak_vram,
                        (double)a->peak_vram_mb, " MB");
                row_num(out, "gpu seconds", a->has_gpu_seconds,
                        a->gpu_seconds, " s");
                gr_buf_puts(out, "</dl>");
                return;
        case LANE_OUTPUT:
                if (look == LOOK_FAILED)
                        marker(out, "execution passed but no output was "
                                    "delivered");
                gr_buf_puts(out, "<dl>");
                row_code(out, "output hash", GR_JS(j, a->output_hash));
                row_code(out, "output path", GR_JS(j, a->output_path));
                gr_buf_puts(out, "</dl>");
                return;
        case LANE_EVALUATION:
                if (look == LOOK_FAILED)
                        marker(out, "evaluation failed");
                gr_buf_puts(out, "<dl>");
                row_str(out, "rule", GR_JS(j, a->evaluation_rule));
                gr_buf_puts(out, "</dl>");
                return;
        case LANE_SETTLEMENT:
                gr_buf_puts(out, "<dl>");
                row_str(out, "posture", gr_settlement_t_name(j->settlement));
                row_str(out, "retry", gr_retry_t_name(j->retry));
                row_str(out, "reason", gr_reason_t_name(j->reason));
                gr_buf_puts(out, "<dt>decided by</dt><dd>");
                if (j->rule == GR_RULE_NONE)
                        gr_buf_puts(out, "no rule yet (in progress)");
                else
                        gr_buf_printf(out,
                                      "rule <strong class=\"rule\">%s"
                                      "</strong> (docs/SPEC.md &sect;5)",
                                      gr_rule_t_name(j->rule));
                gr_buf_puts(out, "</dd>");
                {
                        const gr_amounts m = gr_job_amounts(j);
                        money_rows(out, &m);
                }
                gr_buf_printf(out, "<dt>free retries used</dt><dd>%d</dd>",
                              j->free_retries_used);
                if (a->reviewed)
                        row_str(out, "review note", GR_JS(j, a->review_note));
                if (a->cancelled)
                        row_str(out, "cancelled", "by the buyer");
                gr_buf_puts(out, "</dl>");
                return;
        case LANE__CNT:
                return;
        }
}

static const char css[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:"
    "56em;padding:0 1em;color:#1d1d1f;background:#fff}"
    "h1{font-size:1.5em;margin:0 0 .3em}"
    "code{font:13px ui-monospace,monospace;word-break:break-all}"
    ".line{background:#f4f4f6;padding:.5em .7em;border-radius:4px}"
    ".verdict{font-size:1.1em}"
    "ol.timeline{list-style:none;margin:1.5em 0;padding:0 0 0 1.4em;"
    "border-left:3px solid #c9c9d1}"
    "ol.timeline>li{position:relative;margin:0 0 1em}"
    "ol.timeline>li::before{content:'';position:absolute;left:-2.05em;"
    "top:.9em;width:.9em;height:.9em;border-radius:50%;background:#c9c9d1;"
    "border:2px solid #fff}"
    "ol.timeline>li:has(.failed)::before{background:#b3261e}"
    ".lane{border:1px solid #d8d8de;border-radius:6px;padding:.6em .9em}"
    ".lane h2{font-size:1.05em;margin:0 0 .3em;display:flex;gap:.8em;"
    "flex-wrap:wrap;align-items:baseline}"
    ".lane h2 .when{font-weight:normal;color:#555;font-size:.9em}"
    ".status{font-size:.8em;padding:.1em .5em;border-radius:3px;"
    "background:#e6e6ea;text-transform:uppercase;letter-spacing:.04em}"
    ".ok .status{background:#d5f0dc;color:#14532d}"
    ".failed{border:2px solid #b3261e;background:#fdf0ef}"
    ".failed .status{background:#b3261e;color:#fff}"
    ".skipped{opacity:.55;border-style:dashed}"
    ".waiting .status{background:#fff4d6;color:#6b4e00}"
    ".marker{color:#b3261e;font-weight:bold;margin:.2em 0 .5em}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;"
    "margin:0}"
    "dt{color:#555}dd{margin:0}"
    ".none{color:#999}.note{color:#666;margin:0}"
    ".rule{font-size:1.1em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #d8d8de;padding:.25em .6em;text-align:left}"
    "footer{color:#555;font-size:.85em;margin-top:2em}";

static void attempt_row(gr_buf *out, const gr_attempt_summary *s) {
        gr_buf_printf(out,
                      "<tr><td>%u</td><td>%s</td><td>%s</td><td>%s</td>"
                      "<td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                      "<td>%s</td><td>%s</td></tr>",
                      (unsigned)s->attempt, gr_capacity_t_name(s->capacity),
                      gr_exec_t_name(s->execution),
                      gr_output_t_name(s->output),
                      gr_eval_t_name(s->evaluation),
                      s->failure_class == GR_FAIL_NONE
                          ? "&mdash;"
                          : gr_failure_t_name(s->failure_class),
                      gr_settlement_t_name(s->settlement),
                      gr_retry_t_name(s->retry), gr_reason_t_name(s->reason),
                      s->rule == GR_RULE_NONE ? "&mdash;"
                                              : gr_rule_t_name(s->rule));
}

void gr_receipt_to_html(const gr_job *j, gr_buf *out) {
        const gr_attempt *a = &j->cur;
        char line[GR_ID_MAX + 200], chain[65];
        lane_t failed = failed_lane(j);

        gr_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                         "<meta charset=\"utf-8\">"
                         "<meta name=\"viewport\" content=\"width=device-"
                         "width,initial-scale=1\">"
                         "<title>Receipt ");
        esc(out, j->job_id);
        gr_buf_puts(out, "</title><style>");
        gr_buf_puts(out, css);
        gr_buf_puts(out, "</style></head>\n<body>\n<header><h1>Receipt "
                         "<code>");
        esc(out, j->job_id);
        gr_buf_printf(out, "</code> &middot; attempt %u</h1>\n",
                      (unsigned)j->attempt);
        gr_buf_puts(out, "<p class=\"line\"><code>");
        esc(out, gr_job_line(j, line, sizeof(line)));
        gr_buf_puts(out, "</code></p>\n<p class=\"verdict\">Settlement <b>");
        esc(out, gr_settlement_t_name(j->settlement));
        gr_buf_puts(out, "</b>, retry <b>");
        esc(out, gr_retry_t_name(j->retry));
        gr_buf_puts(out, "</b>, reason <b>");
        esc(out, gr_reason_t_name(j->reason));
        if (j->rule != GR_RULE_NONE)
                gr_buf_printf(out, "</b>, decided by rule <b class=\"rule\">"
                                   "%s</b>.",
                              gr_rule_t_name(j->rule));
        else
                gr_buf_puts(out, "</b>; no rule has decided yet.");
        if (failed != LANE__CNT)
                gr_buf_printf(out, " The failure happened in the <a "
                                   "href=\"#lane-%s\">%s</a> lane.",
                              lane_ids[failed], lane_ids[failed]);
        gr_buf_puts(out, "</p></header>\n<ol class=\"timeline\">\n");

        for (int l = 0; l < LANE__CNT; l++) {
                look_t look = lane_look(j, (lane_t)l, failed);
                gr_buf_printf(out,
                              "<li><section class=\"lane %s\" "
                              "id=\"lane-%s\"><h2><span class=\"name\">%s"
                              "</span> <span class=\"status\">%s</span> "
                              "<span class=\"when\">",
                              look_class(look), lane_ids[l], lane_titles[l],
                              look == LOOK_SKIPPED
                                  ? "not reached"
                                  : lane_status(j, (lane_t)l));
                if (look != LOOK_SKIPPED)
                        lane_when(out, j, (lane_t)l);
                gr_buf_puts(out, "</span></h2>");
                lane_body(out, j, (lane_t)l, look);
                gr_buf_puts(out, "</section></li>\n");
        }
        gr_buf_puts(out, "</ol>\n");

        gr_buf_puts(out, "<section class=\"packets\"><h2>Packets</h2><dl>");
        row_code(out, "seller packet", GR_JS(j, gr_job_seller(j)->packet_hash));
        row_code(out, "buyer packet", GR_JS(j, gr_job_buyer(j)->packet_hash));
        if (gr_job_buyer(j)->present)
                row_num(out, "buyer memory budget", 1,
                        gr_job_buyer(j)->memory_budget_gb, " GB");
        gr_buf_puts(out, "</dl></section>\n");

        gr_buf_puts(out, "<section class=\"attempts\"><h2>Attempts</h2>"
                         "<table><thead><tr><th>attempt</th><th>capacity"
                         "</th><th>execution</th><th>output</th><th>"
                         "evaluation</th><th>failure</th><th>settlement"
                         "</th><th>retry</th><th>reason</th><th>rule</th>"
                         "</tr></thead><tbody>");
        for (size_t i = 0; i < gr_job_nhistory(j); i++)
                attempt_row(out, &gr_job_history(j)[i]);
        {
                gr_attempt_summary now = {
                    j->attempt,    a->capacity,   a->execution,
                    a->output,     a->evaluation, a->failure_class,
                    j->settlement, j->retry,      j->reason,
                    j->rule,       gr_job_amounts(j)};
                attempt_row(out, &now);
        }
        gr_buf_puts(out, "</tbody></table></section>\n");

        gr_buf_printf(out,
                      "<footer>Ledger: %llu row(s), chain head <code>%s"
                      "</code>.</footer>\n</body></html>\n",
                      (unsigned long long)j->seq,
                      gr_hex(j->chain, sizeof(j->chain), chain));
}
