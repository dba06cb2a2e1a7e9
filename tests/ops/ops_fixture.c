/* Replays a JSON-lines file through one engine (see ops_fixture.h). */
#include "ops_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_json_event.h"

int ops_run_file(ops_run *r, const char *path) {
        static const gr_fsm_sink nosink = {NULL, NULL, NULL, NULL};
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        FILE *fp = NULL;
        gr_json_decoder *d = NULL;
        gr_event *ev = NULL;

        gr_policy_default(&r->pol);
        if (!(r->eng = gr_engine_new(&r->pol, &nosink)) ||
            !(d = gr_json_decoder_new()) || !(ev = malloc(sizeof(*ev))) ||
            !(fp = fopen(path, "r")))
                goto err;
        while ((n = getline(&line, &cap, fp)) > 0) {
                gr_err e;
                if (n == 1 && line[0] == '\n')
                        continue;
                if (gr_json_event_decode(d, line, (size_t)n, ev, &e) == -1)
                        gr_engine_reject(r->eng, ev, &e);
                else
                        gr_engine_apply(r->eng, ev);
        }
        free(line);
        fclose(fp);
        free(ev);
        gr_json_decoder_destroy(d);
        return 0;
err:
        free(ev);
        gr_json_decoder_destroy(d);
        ops_run_free(r);
        return -1;
}

void ops_run_free(ops_run *r) {
        gr_engine_destroy(r->eng);
        r->eng = NULL;
}
