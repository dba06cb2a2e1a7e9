#include "fsm_script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s(gr_event *ev, gr_field_t f, const char *v) {
        gr_err err;
        if (gr_event_set_str(ev, f, v, strlen(v), &err)) {
                fprintf(stderr, "script: %s\n", err.detail);
                abort();
        }
}

static void n(gr_event *ev, gr_field_t f, double v) {
        gr_err err;
        if (gr_event_set_num(ev, f, v, &err))
                abort();
}

static void failure(gr_event *ev, gr_field_t f, const char *v) {
        gr_err err;
        if (!strcmp(v, "null"))
                gr_event_set_null(ev, f, &err);
        else
                s(ev, f, v);
}

int fsm_script_parse(const char *script, gr_event *evs, int max) {
        char *copy = strdup(script), *save = NULL, *tok;
        int count = 0, attempt = 1, minute = 8 * 60 + 1, day = 0, win_days = 0;
        int64_t day0; /* 2026-05-25T00:00:00Z */
        const char *role_override = NULL, *price = NULL;
        char role_buf[32], price_buf[32];

        if (gr_time_parse("2026-05-25T00:00:00Z", 20, &day0))
                abort();
        for (tok = strtok_r(copy, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
                gr_event *ev;
                char id[16], when[32], att[16];
                const char *type = NULL, *role = NULL;
                gr_err err;

                if (tok[0] == '@') {
                        attempt = atoi(tok + 1);
                        continue;
                }
                if (!strncmp(tok, "T:", 2)) {
                        minute = atoi(tok + 2) * 60 + atoi(tok + 5);
                        continue;
                }
                if (!strncmp(tok, "DAY:", 4)) {
                        day = atoi(tok + 4);
                        continue;
                }
                if (!strncmp(tok, "WIN:", 4)) {
                        win_days = atoi(tok + 4);
                        continue;
                }
                if (!strncmp(tok, "PRICE:", 6)) {
                        snprintf(price_buf, sizeof(price_buf), "%s", tok + 6);
                        price = price_buf;
                        continue;
                }
                if (!strncmp(tok, "ROLE:", 5)) {
                        snprintf(role_buf, sizeof(role_buf), "%s", tok + 5);
                        role_override = role_buf;
                        continue;
                }
                if (count >= max)
                        goto bad;
                ev = &evs[count];
                if (!strcmp(tok, "DUP")) {
                        if (!count)
                                goto bad;
                        *ev = evs[count - 1];
                        count++;
                        continue;
                }
                memset(ev, 0, sizeof(*ev));
                snprintf(id, sizeof(id), "e%d", count + 1);
                gr_time_format(day0 + ((int64_t)day * 1440 + minute) * 60000,
                               when, sizeof(when));
                snprintf(att, sizeof(att), "%d", attempt);
                minute++;
                s(ev, GR_F_event_id, id);
                s(ev, GR_F_job_id, "j");
                gr_event_set_int(ev, GR_F_attempt, attempt, &err);
                s(ev, GR_F_occurred_at, when);

                if (!strncmp(tok, "Q", 1) && (tok[1] == 0 || tok[1] == ':')) {
                        type = "quote_accepted", role = "marketplace";
                        s(ev, GR_F_quote_id, "q1");
                        s(ev, GR_F_provider_id, "p1");
                        s(ev, GR_F_gpu, "A100-80GB");
                        n(ev, GR_F_vram_gb, tok[1] ? atof(tok + 2) : 80);
                        s(ev, GR_F_window_start, "2026-05-25T08:00:00Z");
                        if (win_days) {
                                char end[40];
                                gr_time_format(day0 + ((int64_t)win_days * 1440 +
                                                       8 * 60) * 60000,
                                               end, sizeof(end));
                                s(ev, GR_F_window_end, end);
                                win_days = 0;
                        } else {
                                s(ev, GR_F_window_end, "2026-05-25T08:30:00Z");
                        }
                        if (price) {
                                const char *cur = strchr(price, ':');
                                gr_event_set_int(ev, GR_F_price_amount_minor,
                                                 strtoll(price, NULL, 10),
                                                 &err);
                                s(ev, GR_F_price_currency, cur ? cur + 1 : "USD");
                                price = NULL;
                        }
                } else if (!strcmp(tok, "C+") || !strcmp(tok, "C-")) {
                        type = "capacity_checked", role = "verifier";
                        s(ev, GR_F_check, "hourly_capacity_challenge");
                        s(ev, GR_F_result, tok[1] == '+' ? "pass" : "fail");
                } else if (!strcmp(tok, "RA")) {
                        type = "reservation_accepted", role = "seller";
                        s(ev, GR_F_worker_id, "w1");
                } else if (!strcmp(tok, "S")) {
                        type = "execution_started", role = "seller";
                        s(ev, GR_F_container_image, "sha256:img");
                        s(ev, GR_F_command, "python infer.py");
                } else if (!strncmp(tok, "F:", 2)) {
                        type = "execution_failed", role = "seller";
                        s(ev, GR_F_failure_class, tok + 2);
                } else if (!strcmp(tok, "D")) {
                        type = "execution_completed", role = "seller";
                } else if (!strcmp(tok, "O")) {
                        type = "output_delivered", role = "seller";
                        s(ev, GR_F_output_hash, "sha256:out");
                } else if (!strcmp(tok, "E+") || !strcmp(tok, "E-")) {
                        type = "evaluation_reported", role = "buyer";
                        s(ev, GR_F_status, tok[1] == '+' ? "pass" : "fail");
                } else if (!strncmp(tok, "SP:", 3)) {
                        type = "seller_packet", role = "seller";
                        s(ev, GR_F_packet_hash, "sha256:sp");
                        failure(ev, GR_F_failure_class, tok + 3);
                } else if (!strncmp(tok, "BP:", 3)) {
                        char cls[64];
                        const char *colon = strchr(tok + 3, ':');
                        if (!colon)
                                goto bad;
                        snprintf(cls, sizeof(cls), "%.*s",
                                 (int)(colon - (tok + 3)), tok + 3);
                        type = "buyer_packet", role = "buyer";
                        s(ev, GR_F_packet_hash, "sha256:bp");
                        failure(ev, GR_F_observed_failure_class, cls);
                        n(ev, GR_F_memory_budget_gb, atof(colon + 1));
                } else if (!strcmp(tok, "X")) {
                        type = "job_cancelled", role = "buyer";
                } else if (!strcmp(tok, "EXP")) {
                        type = "reservation_expired", role = "marketplace";
                } else if (!strncmp(tok, "RV:", 3)) {
                        type = "review_decided", role = "reviewer";
                        s(ev, GR_F_settlement, tok + 3);
                } else {
                        fprintf(stderr, "script: unknown token %s\n", tok);
                        goto bad;
                }
                s(ev, GR_F_type, type);
                s(ev, GR_F_role, role_override ? role_override : role);
                role_override = NULL;
                count++;
        }
        free(copy);
        return count;
bad:
        free(copy);
        return -1;
}
