/*
 * Prints the /metrics exposition of a gr_metrics instance fed with fake
 * values for every metric family (fetched over HTTP, exactly as served),
 * for `promtool check metrics` (see promtool_check.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_metrics.h"
#include "ops_fixture.h"

int main(void) {
        char err[256], *body = NULL;
        gr_metrics *m = gr_metrics_new("127.0.0.1:0", err, sizeof(err));
        gr_stats s;
        int rc;

        if (!m) {
                fprintf(stderr, "metrics_expo: %s\n", err);
                return 1;
        }
        memset(&s, 0, sizeof(s));
        for (int p = 0; p < 3; p++) {
                s.events_in = 100u * (unsigned)(p + 1);
                s.applied = 90u * (unsigned)(p + 1);
                s.duplicates = 4;
                s.rejected = 6;
                s.rejected_by[GR_REJ_SCHEMA] = 4;
                s.rejected_by[GR_REJ_PRECONDITION_TIMEOUT] = 2;
                s.parked_now = (uint64_t)p;
                s.ledger_rows = s.applied;
                gr_metrics_partition_stats_set(m, p, &s, 10u + (unsigned)p);
                gr_metrics_lag_set(m, p, 7 * p);
                gr_metrics_restore_observe(m, p, 0.25 * (p + 1), 1000, 250);
        }
        for (int t = 0; t < GR_EVT__CNT; t++)
                gr_metrics_event_in(m, t);
        gr_metrics_event_in(m, GR_METRICS_EVT_UNDECODABLE);
        gr_metrics_decision_count(m, GR_SETTLE_HOLD, GR_RULE_R7);
        gr_metrics_decision_count(m, GR_SETTLE_RELEASE, GR_RULE_R10);
        gr_metrics_decision_count(m, GR_SETTLE_PENDING, GR_RULE_NONE);
        gr_metrics_commit_observe(m, 0.004);
        gr_metrics_commit_observe(m, 0.07);
        gr_metrics_abort_count(m);
        gr_metrics_set_ready(m, 1);

        rc = ops_http_get(gr_metrics_port(m), "GET", "/metrics", &body, NULL,
                          0);
        if (rc != 200 || !body) {
                fprintf(stderr, "metrics_expo: GET /metrics gave %d\n", rc);
                gr_metrics_destroy(m);
                return 1;
        }
        fputs(body, stdout);
        free(body);
        gr_metrics_destroy(m);
        return 0;
}
