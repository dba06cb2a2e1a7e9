/*
 * bench_load: the load curve (Load).  Streams a JSON-lines
 * workload (bench/gen_load.py, any size, from a file or a pipe) through the
 * JSON decoder and one gr_engine in-process, and prints a row each time the
 * number of jobs seen crosses a checkpoint (default 10k, 30k, 100k, 300k,
 * 1M): events/s over the segment since the previous row and overall, jobs
 * held in memory, jobs evicted, and the resident set (/proc/self/statm).
 *
 * Two modes:
 *   (default)        every job stays in memory (as receiptctl replay): open
 *                    jobs = jobs seen, the curve shows the cost of a big table;
 *   --retention S    policy retention_seconds = S: settled jobs leave memory
 *                    S seconds of event time after they settle (the
 *                    evict hook counts them, as receiptd writes tombstones),
 *                    so memory must stay flat while jobs seen grows.
 *
 * Timing is thread CPU time around decode + apply only: lines are read in
 * batches outside the timed region, so a slow producer on the other end of
 * the pipe does not count.  The sink is empty: what is timed is the
 * decoder, validation, the FSM (which renders ledger rows and receipts and
 * hashes them) and the job table.
 *
 *   python3 bench/gen_load.py --jobs 1000000 | bench_load -
 *   python3 bench/gen_load.py --jobs 1000000 | bench_load --retention 600 -
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gr_engine.h"
#include "gr_output.h"
#include "gr_policy_json.h"
#include "gr_json_event.h"

enum { BATCH = 4096, MAX_CKPT = 32 };

static double cpu_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set in MiB (Linux /proc/self/statm), 0 when unknown. */
static double rss_mib(void) {
        unsigned long size, resident;
        FILE *fp = fopen("/proc/self/statm", "r");
        int n;

        if (!fp)
                return 0;
        n = fscanf(fp, "%lu %lu", &size, &resident);
        fclose(fp);
        return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) /
                            (1024.0 * 1024.0)
                      : 0;
}

static void on_evict(void *opaque, const gr_job *job) {
        (void)job;
        (*(uint64_t *)opaque)++;
}

static void usage(const char *prog) {
        fprintf(stderr,
                "usage: %s [--retention SECONDS] [--checkpoints N,N,...] "
                "[--dump-open N] FILE|-\n",
                prog);
        exit(2);
}

int main(int argc, char **argv) {
        uint64_t ckpt[MAX_CKPT] = {10000, 30000, 100000, 300000, 1000000};
        size_t nckpt = 5, next = 0;
        long retention = -1, dump = 0;
        const char *path = NULL;
        char polbuf[128], errstr[256];
        gr_policy pol;
        gr_fsm_sink sink = {0};
        gr_json_decoder *dec;
        gr_engine *e;
        FILE *in;
        char **lines;
        size_t *lens, *caps;
        uint64_t events = 0, evicted_hook = 0, seg_events = 0;
        double cpu = 0, seg_cpu = 0, wall0;
        static gr_event ev;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--retention") && i + 1 < argc) {
                        retention = strtol(argv[++i], NULL, 10);
                } else if (!strcmp(argv[i], "--dump-open") && i + 1 < argc) {
                        dump = strtol(argv[++i], NULL, 10);
                } else if (!strcmp(argv[i], "--checkpoints") && i + 1 < argc) {
                        char *s = argv[++i], *end;
                        nckpt = 0;
                        while (*s && nckpt < MAX_CKPT) {
                                ckpt[nckpt++] = strtoull(s, &end, 10);
                                s = *end == ',' ? end + 1 : end;
                                if (end == s && *s)
                                        usage(argv[0]);
                        }
                } else if (!path) {
                        path = argv[i];
                } else {
                        usage(argv[0]);
                }
        }
        if (!path)
                usage(argv[0]);
        in = strcmp(path, "-") ? fopen(path, "r") : stdin;
        if (!in) {
                perror(path);
                return 1;
        }
        if (retention >= 0) {
                snprintf(polbuf, sizeof(polbuf), "{\"retention_seconds\":%ld}",
                         retention);
                if (gr_policy_load(&pol, polbuf, strlen(polbuf), errstr,
                                   sizeof(errstr))) {
                        fprintf(stderr, "%s\n", errstr);
                        return 1;
                }
        } else {
                gr_policy_default(&pol);
        }
        dec = gr_json_decoder_new();
        e = gr_engine_new(&pol, &sink);
        lines = calloc(BATCH, sizeof(*lines));
        lens = calloc(BATCH, sizeof(*lens));
        caps = calloc(BATCH, sizeof(*caps));
        if (!dec || !e || !lines || !lens || !caps) {
                fprintf(stderr, "out of memory\n");
                return 1;
        }
        if (retention > 0)
                gr_engine_set_evict(e, on_evict, &evicted_hook);
        else
                gr_engine_keep_all(e);

        printf("# bench_load: %s, retention %s\n", path,
               retention > 0 ? "on" : "off (every job kept)");
        if (retention > 0)
                printf("# retention_seconds %ld\n", retention);
        printf("%10s %10s %10s %11s %12s %12s %9s\n", "jobs_seen",
               "in_memory", "evicted", "events", "ev/s(seg)", "ev/s(all)",
               "rss_MiB");
        wall0 = wall_now();
        for (;;) {
                size_t n = 0;
                double t0;

                while (n < BATCH) {
                        ssize_t r = getline(&lines[n], &caps[n], in);
                        if (r < 0)
                                break;
                        lens[n++] = (size_t)r;
                }
                if (n == 0)
                        break;
                t0 = cpu_now();
                for (size_t i = 0; i < n; i++) {
                        gr_err err;
                        if (gr_json_event_decode(dec, lines[i], lens[i], &ev,
                                                 &err))
                                gr_engine_reject(e, &ev, &err);
                        else
                                gr_engine_apply(e, &ev);
                }
                t0 = cpu_now() - t0;
                cpu += t0;
                seg_cpu += t0;
                events += n;
                seg_events += n;
                {
                        const gr_stats *st = gr_engine_stats(e);
                        size_t mem = gr_jobtab_count(gr_engine_jobs(e));
                        uint64_t seen = mem + st->evicted;
                        while (next < nckpt && seen >= ckpt[next]) {
                                printf("%10llu %10zu %10llu %11llu %12.0f "
                                       "%12.0f %9.1f\n",
                                       (unsigned long long)seen, mem,
                                       (unsigned long long)st->evicted,
                                       (unsigned long long)events,
                                       seg_cpu > 0 ? seg_events / seg_cpu : 0,
                                       cpu > 0 ? events / cpu : 0, rss_mib());
                                fflush(stdout);
                                seg_cpu = 0;
                                seg_events = 0;
                                next++;
                        }
                }
        }
        {
                const gr_stats *st = gr_engine_stats(e);
                size_t mem = gr_jobtab_count(gr_engine_jobs(e));
                printf("# end: %llu events (%llu applied, %llu duplicates, "
                       "%llu rejected, %llu parked), %llu decisions, "
                       "%zu jobs in memory, %llu evicted (hook %llu)\n",
                       (unsigned long long)st->events_in,
                       (unsigned long long)st->applied,
                       (unsigned long long)st->duplicates,
                       (unsigned long long)st->rejected,
                       (unsigned long long)st->parked_now,
                       (unsigned long long)st->decisions, mem,
                       (unsigned long long)st->evicted,
                       (unsigned long long)evicted_hook);
                printf("# %.0f events/s over %.1f s CPU (decode+apply), "
                       "%.1f s wall, final rss %.1f MiB\n",
                       cpu > 0 ? events / cpu : 0, cpu, wall_now() - wall0,
                       rss_mib());
        }
        /* What is still in memory at the end, and why (posture not final,
         * or events parked): the first `dump` summary lines. */
        if (dump > 0) {
                size_t it = 0;
                gr_job *j;
                char line[1024];
                while (dump-- > 0 &&
                       (j = gr_jobtab_next(gr_engine_jobs(e), &it)))
                        printf("# open: %s locked=%d parked=%zu\n",
                               gr_job_line(j, line, sizeof(line)),
                               j->posture_locked, (size_t)gr_job_nparked(j));
        }
        for (size_t i = 0; i < BATCH; i++)
                free(lines[i]);
        free(lines);
        free(lens);
        free(caps);
        gr_engine_destroy(e);
        gr_json_decoder_destroy(dec);
        if (in != stdin)
                fclose(in);
        return 0;
}
