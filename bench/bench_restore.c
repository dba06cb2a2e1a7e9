/*
 * bench_restore: how fast a restore decodes state records (Speed; the
 * goal is >= 100k records/s per partition, docs/OPERATIONS.md "Restore").
 *
 * The input events (JSON lines, default tests/data/scenarios.jsonl; a
 * larger workload such as bench/gen_workload.py's gives more varied jobs)
 * are replayed through one engine; the final state of every job is what a
 * compacted state topic holds.  Those states are encoded once in each form
 * and cycled to N records in memory, then timed:
 *
 *   compact   gr_state_decode() of the compact record (what receiptd
 *             writes) + gr_job_destroy()
 *   json      the same for the JSON document (what older receiptds wrote)
 *
 * Times are process CPU time.  The last line is the goal:
 * `restore (compact): X records/s (goal >= 100000)`.
 *
 * usage: bench_restore [FILE [N]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gr_codec.h"
#include "gr_engine.h"
#include "gr_state_json.h"

#ifndef GR_BENCH_DATA
#define GR_BENCH_DATA "tests/data/scenarios.jsonl"
#endif

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decode n records cycling over recs; returns CPU seconds. */
static double run(const gr_buf *recs, size_t nrec, long n, long *bad) {
        char errstr[256];
        double t0 = now();

        for (long i = 0; i < n; i++) {
                const gr_buf *b = &recs[(size_t)i % nrec];
                gr_job *j = gr_state_decode(b->data, b->len, errstr,
                                            sizeof(errstr));
                if (!j)
                        (*bad)++;
                gr_job_destroy(j);
        }
        return now() - t0;
}

int main(int argc, char **argv) {
        const char *path = argc > 1 ? argv[1] : GR_BENCH_DATA;
        long n = argc > 2 ? atol(argv[2]) : 200000;
        static char line[70000];
        char errstr[256];
        gr_codec *codec;
        gr_event *ev = calloc(1, sizeof(*ev));
        gr_policy pol;
        gr_engine *eng;
        gr_job **jobs;
        gr_buf *compact, *json;
        size_t njobs, cbytes = 0, jbytes = 0;
        long bad = 0;
        double tc, tj;
        FILE *f = fopen(path, "r");

        if (!f || !ev || n <= 0) {
                fprintf(stderr, "bench_restore: cannot read %s\n", path);
                return 2;
        }
        if (!(codec = gr_codec_new(NULL, errstr, sizeof(errstr)))) {
                fprintf(stderr, "bench_restore: %s\n", errstr);
                return 1;
        }
        gr_policy_default(&pol);
        eng = gr_engine_new(&pol, NULL);
        gr_engine_keep_all(eng);
        while (fgets(line, sizeof(line), f)) {
                gr_err err;
                if (gr_codec_decode(codec, line, strlen(line), ev, &err) == 0)
                        gr_engine_apply(eng, ev);
        }
        fclose(f);
        jobs = gr_jobtab_sorted(gr_engine_jobs(eng), &njobs);
        if (!njobs) {
                fprintf(stderr, "bench_restore: no jobs from %s\n", path);
                return 2;
        }
        compact = calloc(njobs, sizeof(*compact));
        json = calloc(njobs, sizeof(*json));
        for (size_t i = 0; i < njobs; i++) {
                gr_state_encode_compact(jobs[i], &compact[i]);
                gr_state_encode(jobs[i], &json[i]);
                cbytes += compact[i].len;
                jbytes += json[i].len;
        }
        tc = run(compact, njobs, n, &bad);
        tj = run(json, njobs, n, &bad);
        printf("%zu job states from %s, cycled to %ld records; avg %.0f "
               "bytes compact vs %.0f bytes JSON\n",
               njobs, path, n, (double)cbytes / (double)njobs,
               (double)jbytes / (double)njobs);
        printf("decode + free, per record: compact %.2f us, JSON %.2f us%s\n",
               tc * 1e6 / (double)n, tj * 1e6 / (double)n,
               bad ? " (SOME RECORDS DID NOT DECODE)" : "");
        printf("restore (json): %.0f records/s\n", (double)n / tj);
        printf("restore (compact): %.0f records/s (goal >= 100000)\n",
               (double)n / tc);
        for (size_t i = 0; i < njobs; i++) {
                gr_buf_free(&compact[i]);
                gr_buf_free(&json[i]);
        }
        free(compact);
        free(json);
        free(jobs);
        gr_engine_destroy(eng);
        gr_codec_destroy(codec);
        free(ev);
        return bad ? 1 : 0;
}
