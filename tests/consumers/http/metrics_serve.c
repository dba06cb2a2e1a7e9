/*
 * A stand-in for receiptd's metrics side, for the Prometheus scrape test:
 * replays a JSON-lines file through one engine, feeding gr_metrics as
 * receiptd is meant to (events in by type, decisions by settlement and
 * rule, the engine snapshot), marks itself ready, prints
 *   port=P applied=A decisions_hold_r7=D
 * on one line and serves until stdin reaches end of file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_engine.h"
#include "gr_json_event.h"
#include "gr_metrics.h"

typedef struct {
        gr_metrics *m;
        unsigned long hold_r7;
} feed;

static void on_decision(void *opaque, const gr_job *job, const gr_decision *d) {
        feed *f = opaque;
        (void)job;
        gr_metrics_decision_count(f->m, d->settlement, d->rule);
        if (d->settlement == GR_SETTLE_HOLD && d->rule == GR_RULE_R7)
                f->hold_r7++;
}

int main(int argc, char **argv) {
        char err[256], *line = NULL;
        size_t cap = 0;
        ssize_t n;
        feed f = {0};
        gr_fsm_sink sink = {&f, NULL, on_decision, NULL};
        gr_policy pol;
        gr_engine *e;
        gr_json_decoder *d;
        gr_event *ev;
        FILE *fp;
        int c;

        if (argc != 2 || !(fp = fopen(argv[1], "r"))) {
                fprintf(stderr, "usage: metrics_serve FILE.jsonl\n");
                return 2;
        }
        if (!(f.m = gr_metrics_new("127.0.0.1:0", err, sizeof(err)))) {
                fprintf(stderr, "metrics_serve: %s\n", err);
                return 1;
        }
        gr_policy_default(&pol);
        e = gr_engine_new(&pol, &sink);
        d = gr_json_decoder_new();
        ev = malloc(sizeof(*ev));
        if (!e || !d || !ev) {
                fprintf(stderr, "metrics_serve: out of memory\n");
                return 1;
        }
        while ((n = getline(&line, &cap, fp)) > 0) {
                gr_err ge;
                if (gr_json_event_decode(d, line, (size_t)n, ev, &ge) == -1) {
                        gr_metrics_event_in(f.m, GR_METRICS_EVT_UNDECODABLE);
                        gr_engine_reject(e, ev, &ge);
                } else {
                        gr_metrics_event_in(f.m, (int)ev->type);
                        gr_engine_apply(e, ev);
                }
        }
        fclose(fp);
        free(line);
        gr_metrics_partition_stats_set(f.m, 0, gr_engine_stats(e),
                                       gr_jobtab_count(gr_engine_jobs(e)));
        gr_metrics_set_ready(f.m, 1);
        printf("port=%d applied=%llu decisions_hold_r7=%lu\n",
               gr_metrics_port(f.m),
               (unsigned long long)gr_engine_stats(e)->applied, f.hold_r7);
        fflush(stdout);
        while ((c = getchar()) != EOF)
                ;
        gr_metrics_destroy(f.m);
        gr_engine_destroy(e);
        gr_json_decoder_destroy(d);
        free(ev);
        return 0;
}
