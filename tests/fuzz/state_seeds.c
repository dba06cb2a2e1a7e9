/*
 * Seed maker for corpus/state: replays event JSON lines through one engine
 * and writes the state document of the job each event touched, after that
 * event, into DIR as state-NNNN (parked events, retries and settled jobs
 * all appear).  Not a test.  --compact writes compact records
 * (gr_state_encode_compact(), for corpus/state_compact) instead.
 *
 *   state_seeds [--compact] tests/data/scenarios.jsonl DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_engine.h"
#include "gr_json_event.h"
#include "gr_state_json.h"

int main(int argc, char **argv) {
        gr_json_decoder *d = gr_json_decoder_new();
        gr_fsm_sink sink = {0};
        gr_policy pol;
        gr_engine *e;
        gr_buf b;
        char line[65536];
        FILE *in;
        int n = 0, compact = argc > 1 && strcmp(argv[1], "--compact") == 0;

        if (compact) {
                argv++;
                argc--;
        }
        if (argc != 3 || !d || !(in = fopen(argv[1], "r"))) {
                fprintf(stderr, "usage: %s [--compact] EVENTS.jsonl DIR\n",
                        argv[0]);
                return 2;
        }
        gr_policy_default(&pol);
        e = gr_engine_new(&pol, &sink);
        gr_buf_init(&b);
        while (fgets(line, sizeof(line), in)) {
                static gr_event ev;
                gr_err err;
                gr_job *job;
                char path[4096];
                FILE *out;

                if (gr_json_event_decode(d, line, strlen(line), &ev, &err)) {
                        gr_engine_reject(e, &ev, &err);
                        continue;
                }
                gr_engine_apply(e, &ev);
                if (!(job = gr_jobtab_get(gr_engine_jobs(e), ev.job_id, 0)))
                        continue;
                gr_buf_reset(&b);
                if (compact)
                        gr_state_encode_compact(job, &b);
                else
                        gr_state_encode(job, &b);
                snprintf(path, sizeof(path), "%s/state-%04d", argv[2], n++);
                if (!(out = fopen(path, "w")) ||
                    fwrite(b.data, 1, b.len, out) != b.len) {
                        perror(path);
                        return 1;
                }
                fclose(out);
        }
        fclose(in);
        gr_buf_free(&b);
        gr_engine_destroy(e);
        gr_json_decoder_destroy(d);
        printf("%d state documents\n", n);
        return 0;
}
