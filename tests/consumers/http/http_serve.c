/*
 * receiptd's HTTP server without Kafka, for the hostile-HTTP and browser
 * tests: replays a JSON-lines file through one engine, starts the server
 * from receiptd configuration keys (metrics.*, keys.registry) exactly as
 * receiptd does (gr_config_metrics_opts), prints
 *   port=P
 * on one line, and serves — /jobs/ lookups dispatched on the main thread,
 * as receiptd's loop does — until stdin reaches end of file.  Start-up
 * errors (a refused configuration) go to stderr with exit status 2.
 *
 *   http_serve EVENTS.jsonl [key=value ...]
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gr_config.h"
#include "gr_engine.h"
#include "gr_json_event.h"
#include "gr_metrics.h"

static const gr_job *find(void *opaque, const char *job_id) {
        return gr_jobtab_get(gr_engine_jobs(opaque), job_id, 0);
}

int main(int argc, char **argv) {
        char err[512], *line = NULL, buf[256];
        size_t cap = 0;
        ssize_t n;
        gr_fsm_sink sink = {NULL, NULL, NULL, NULL};
        gr_metrics_opts mo;
        gr_config *cfg;
        gr_metrics *m;
        gr_policy pol;
        gr_engine *e;
        gr_json_decoder *d;
        gr_event *ev;
        FILE *fp;

        if (argc < 2 || !(fp = fopen(argv[1], "r"))) {
                fprintf(stderr, "usage: http_serve EVENTS.jsonl [k=v ...]\n");
                return 2;
        }
        if (!(cfg = gr_config_new()))
                return 1;
        for (int i = 2; i < argc; i++)
                if (gr_config_set_kv(cfg, argv[i], err, sizeof(err)) == -1) {
                        fprintf(stderr, "http_serve: %s\n", err);
                        gr_config_destroy(cfg);
                        fclose(fp);
                        return 2;
                }
        if (!cfg->metrics_listen &&
            gr_config_set(cfg, "metrics.listen", "127.0.0.1:0", err,
                          sizeof(err)) == -1)
                return 1;
        gr_config_metrics_opts(cfg, &mo);
        if (!(m = gr_metrics_new_opts(&mo, err, sizeof(err)))) {
                fprintf(stderr, "http_serve: %s\n", err);
                gr_config_destroy(cfg);
                fclose(fp);
                return 2;
        }
        gr_policy_default(&pol);
        e = gr_engine_new(&pol, &sink);
        d = gr_json_decoder_new();
        ev = malloc(sizeof(*ev));
        if (!e || !d || !ev) {
                fprintf(stderr, "http_serve: out of memory\n");
                return 1;
        }
        while ((n = getline(&line, &cap, fp)) > 0) {
                gr_err ge;
                if (gr_json_event_decode(d, line, (size_t)n, ev, &ge) == -1)
                        gr_engine_reject(e, ev, &ge);
                else
                        gr_engine_apply(e, ev);
        }
        fclose(fp);
        free(line);
        gr_metrics_partition_stats_set(m, 0, gr_engine_stats(e),
                                       gr_jobtab_count(gr_engine_jobs(e)));
        gr_metrics_set_ready(m, 1);
        gr_metrics_job_finder_set(m, find, e);
        printf("port=%d\n", gr_metrics_port(m));
        fflush(stdout);
        for (;;) {
                struct pollfd p = {0, POLLIN, 0};
                int r = poll(&p, 1, 5);
                gr_metrics_dispatch(m);
                if (r > 0) {
                        ssize_t k = read(0, buf, sizeof(buf));
                        if (k <= 0)
                                break;
                }
        }
        gr_metrics_destroy(m);
        gr_engine_destroy(e);
        gr_json_decoder_destroy(d);
        free(ev);
        gr_config_destroy(cfg);
        return 0;
}
