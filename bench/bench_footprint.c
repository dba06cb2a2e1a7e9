/*
 * bench_footprint: memory per job and engine time without decoding
 * (Speed).
 *
 * Replays a JSON-lines workload through gr_engine (gr_engine.h) the way
 * `receiptctl replay` does, but in batches: a batch of lines is decoded
 * into events first (timed as "decode"), then the batch is applied
 * (timed as "engine"), so the engine's time excludes decoding exactly.
 * Times are process CPU time, stable on a shared machine.
 * The sink is empty: no output is rendered beyond what the FSM itself does
 * (ledger row canonical JSON + SHA-256 per applied event, receipt JSON +
 * SHA-256 per decision).
 *
 * Memory: the sum of gr_job_footprint() over all jobs at the end (the
 * replay keeps every job), and the growth of the resident set from before
 * the first event to after the last, both divided by the number of jobs.
 *
 * --repeat K replays the file K times, pass k > 0 with "~k" appended to
 * every job_id and event_id (new jobs, same shapes): K = 28 holds ~1M jobs
 * of the standard 200k-event workload, to see bytes per job at that scale.
 * Decode and engine times then cover all passes.
 *
 * Then (without --repeat) the floor: the workload once more through an
 * engine that counts what the contract hashes, untimed, and SHA-256 alone
 * timed over those byte counts (`hashing:`, hash_census.h).
 *
 * --breakdown adds where the average job's bytes go: the struct, its id,
 * the arena (capacity; live bytes per string field; parties), packets,
 * attempt history, duplicate set and parked events.
 *
 * usage: bench_footprint [--repeat K] [--breakdown] FILE
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gr_engine.h"
#include "gr_intern.h"
#include "gr_json_event.h"
#include "hash_census.h"

enum { BATCH = 512 };

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set in bytes (Linux /proc/self/statm), 0 when unknown. */
static size_t rss_bytes(void) {
        unsigned long size, resident;
        FILE *fp = fopen("/proc/self/statm", "r");
        int n;

        if (!fp)
                return 0;
        n = fscanf(fp, "%lu %lu", &size, &resident);
        fclose(fp);
        return n == 2 ? resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Whole file into memory.  @returns malloc'd buffer or NULL. */
static char *slurp(const char *path, size_t *len) {
        FILE *fp = fopen(path, "rb");
        char *p = NULL;
        long n;

        if (!fp)
                return NULL;
        if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
            fseek(fp, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) &&
            fread(p, 1, (size_t)n, fp) == (size_t)n) {
                p[n] = '\0';
                *len = (size_t)n;
        } else {
                free(p);
                p = NULL;
        }
        fclose(fp);
        return p;
}

/* Pass k of --repeat: "~k" after job_id and event_id.  @returns 1, or 0
 * when an id would grow past its limit (the event is left out). */
static int rename_ids(gr_event *ev, int pass) {
        char buf[512];
        gr_err err;
        int n;

        n = snprintf(buf, sizeof(buf), "%s~%d", ev->job_id, pass);
        if (n < 0 || (size_t)n >= sizeof(buf) ||
            gr_event_set_str(ev, GR_F_job_id, buf, (size_t)n, &err))
                return 0;
        n = snprintf(buf, sizeof(buf), "%s~%d", ev->event_id, pass);
        if (n < 0 || (size_t)n >= sizeof(buf) ||
            gr_event_set_str(ev, GR_F_event_id, buf, (size_t)n, &err))
                return 0;
        return 1;
}

/* Live arena bytes of each string field, summed over jobs. */
#define BD_Q(m) {"quote." #m, offsetof(gr_job, quote.m), 0},
#define BD_A(m) {"cur." #m, offsetof(gr_job, cur.m), 0},
#define BD_S(m) {"seller." #m, offsetof(gr_seller_packet, m), 1},
#define BD_B(m) {"buyer." #m, offsetof(gr_buyer_packet, m), 2},
static const struct {
        const char *name;
        size_t off;
        int where; /* 0 job, 1 seller packet, 2 buyer packet */
} bd_fields[] = {GR_QUOTE_STRINGS(BD_Q) GR_ATTEMPT_STRINGS(BD_A)
                     GR_SELLER_STRINGS(BD_S) GR_BUYER_STRINGS(BD_B)};
#undef BD_Q
#undef BD_A
#undef BD_S
#undef BD_B
#define N_BD (sizeof(bd_fields) / sizeof(bd_fields[0]))

static void breakdown(gr_job **jobs, size_t njobs) {
        double f[N_BD] = {0}, st = 0, id = 0, cap = 0, len = 0, pk = 0,
               hist = 0, seen = 0, park = 0, strs = 0, shared = 0, wide = 0;
        size_t ie, ib, nmore = 0, nwide = 0;
        const double n = (double)njobs;

        for (size_t j = 0; j < njobs; j++) {
                const gr_job *job = jobs[j];
                st += sizeof(*job);
                id += strlen(job->job_id) + 1;
                cap += job->arena_cap;
                len += job->arena_len;
                pk += (job->more && job->more->seller ? sizeof(gr_seller_packet) : 0) +
                      (job->more && job->more->buyer ? sizeof(gr_buyer_packet) : 0);
                hist += gr_job_nhistory(job) * sizeof(gr_attempt_summary) +
                        (job->more ? sizeof(*job->more) : 0);
                nmore += job->more != NULL;
                if (job->more && job->more->wide) {
                        nwide++;
                        wide += GR_JT__CNT * sizeof(int64_t);
                }
                seen += job->seen_cap * sizeof(uint64_t);
                park += (double)gr_job_nparked(job) *
                        (sizeof(gr_event) + sizeof(gr_event *));
                for (size_t k = 0; k < N_BD; k++) {
                        const char *base =
                            bd_fields[k].where == 0 ? (const char *)job :
                            bd_fields[k].where == 1 ?
                                                      (const char *)(job->more ? job->more->seller : NULL) :
                                                      (const char *)(job->more ? job->more->buyer : NULL);
                        gr_jstr h;
                        const char *v;
                        if (!base)
                                continue;
                        memcpy(&h, base + bd_fields[k].off, sizeof(h));
                        v = gr_jstr_get(job, h);
                        if (h & GR_JSTR_SHARED) {
                                shared += strlen(v) + 2;
                        } else if (v) {
                                f[k] += strlen(v) + 2;
                                strs += strlen(v) + 2;
                        }
                }
        }
        gr_intern_stats(&ie, &ib);
        printf("breakdown (bytes/job): struct %.0f, job_id %.0f, arena %.0f "
               "(%.0f used, %.0f in live strings), packets %.0f, rare parts' "
               "piece and history %.0f (%zu jobs have the piece), far times "
               "%.1f (%zu jobs), duplicate set %.0f, parked %.0f; shared "
               "strings pointed at %.0f (not counted: the process holds %zu "
               "values, %zu bytes)\n",
               st / n, id / n, cap / n, len / n, strs / n, pk / n, hist / n,
               nmore, wide / n, nwide, seen / n, park / n, shared / n, ie, ib);
        for (size_t k = 0; k < N_BD; k++)
                if (f[k] / n >= 0.5)
                        printf("  %-28s %6.1f\n", bd_fields[k].name, f[k] / n);
}

/* The floor: the same lines once more through a fresh engine whose sink
 * counts what the contract hashes (hash_census.h), untimed; then SHA-256
 * alone over those byte counts, and the receipts' rendering.  Printed
 * beside decode, so that run_replay_bench.sh can set decode, hashing and
 * rendering against the bare parse. */
static int floor_line(const gr_policy *pol, gr_json_decoder *dec,
                      const char *text, size_t len) {
        hash_census c;
        gr_fsm_sink sink;
        gr_engine *eng;
        gr_event *ev = calloc(1, sizeof(*ev));
        const char *p = text, *end = text + len;
        double t_sha;

        hash_census_init(&c);
        sink = hash_census_sink(&c);
        if (!ev || !(eng = gr_engine_new(pol, &sink))) {
                free(ev);
                return -1;
        }
        gr_engine_keep_all(eng);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
                gr_err err;
                if (ll && gr_json_event_decode(dec, p, ll, ev, &err) == 0)
                        gr_engine_apply(eng, ev);
                p += ll + 1;
        }
        gr_engine_destroy(eng);
        free(ev);
        t_sha = hash_census_time(&c, 1, 3);
        if (!c.oom)
                printf("hashing: %.3f s: SHA-256 of what the contract hashes "
                       "(%zu ledger rows, %.0f B each; %zu receipts, %.0f B "
                       "each; %zu decision ids)\n"
                       "receipts: %.3f s to render them (%.1f MB), warm\n",
                       t_sha, c.nrow,
                       c.nrow ? (double)c.row_bytes / (double)c.nrow : 0,
                       c.ndec,
                       c.ndec ? (double)c.receipt_bytes / (double)c.ndec : 0,
                       c.ndec, c.render_s, (double)c.receipt_bytes / 1e6);
        hash_census_free(&c);
        return 0;
}

int main(int argc, char **argv) {
        gr_policy pol;
        gr_engine *eng = NULL;
        gr_json_decoder *dec = NULL;
        gr_event *evs = NULL;
        char *text = NULL, *p, *end;
        size_t len, rss0, rss1, njobs, total = 0, maxfp = 0, open_total = 0,
                                       nopen = 0;
        double t_decode = 0, t_engine = 0, t0;
        unsigned long lines = 0, decoded = 0;
        gr_job **jobs = NULL;
        int rc = 1;

        int repeat = 1, bd = 0;

        for (;;) {
                if (argc >= 3 && !strcmp(argv[1], "--repeat")) {
                        repeat = atoi(argv[2]);
                        argv += 2;
                        argc -= 2;
                } else if (argc >= 2 && !strcmp(argv[1], "--breakdown")) {
                        bd = 1;
                        argv++;
                        argc--;
                } else {
                        break;
                }
        }
        if (argc != 2 || repeat < 1) {
                fprintf(stderr, "usage: bench_footprint [--repeat K] "
                                "[--breakdown] FILE\n");
                return 2;
        }
        if (!(text = slurp(argv[1], &len))) {
                perror(argv[1]);
                return 2;
        }
        gr_policy_default(&pol);
        if (!(dec = gr_json_decoder_new()) ||
            !(evs = malloc(BATCH * sizeof(*evs))) ||
            !(eng = gr_engine_new(&pol, NULL))) {
                fprintf(stderr, "bench_footprint: out of memory\n");
                goto done;
        }
        /* Like receiptctl replay: no retention, every job stays, so bytes
         * per job are measured over all of them. */
        gr_engine_keep_all(eng);
        /* Touch everything allocated up front so the RSS baseline holds it. */
        memset(evs, 0, BATCH * sizeof(*evs));
        rss0 = rss_bytes();

        for (int pass = 0; pass < repeat; pass++) {
                p = text;
                end = text + len;
                while (p < end) {
                        int ok[BATCH];
                        int n = 0;

                        t0 = now();
                        while (n < BATCH && p < end) {
                                char *nl = memchr(p, '\n', (size_t)(end - p));
                                size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
                                gr_err err;
                                if (ll) {
                                        lines++;
                                        ok[n] = gr_json_event_decode(dec, p, ll,
                                                                     &evs[n], &err) == 0;
                                        if (!ok[n])
                                                gr_engine_reject(eng, &evs[n], &err);
                                        else if (pass > 0)
                                                ok[n] = rename_ids(&evs[n], pass);
                                        n++;
                                }
                                p += ll + 1;
                        }
                        t_decode += now() - t0;

                        t0 = now();
                        for (int i = 0; i < n; i++) {
                                if (ok[i]) {
                                        gr_engine_apply(eng, &evs[i]);
                                        decoded++;
                                }
                        }
                        t_engine += now() - t0;
                }
        }
        rss1 = rss_bytes();

        jobs = gr_jobtab_sorted(gr_engine_jobs(eng), &njobs);
        for (size_t i = 0; i < njobs; i++) {
                size_t fp = gr_job_footprint(jobs[i]);
                total += fp;
                if (fp > maxfp)
                        maxfp = fp;
                if (jobs[i]->settlement == GR_SETTLE_PENDING) {
                        open_total += fp;
                        nopen++;
                }
        }
        {
                const gr_stats *s = gr_engine_stats(eng);
                printf("bench_footprint: %lu lines, %lu decoded ok, %llu "
                       "applied, %llu decisions, %zu jobs (%zu pending)\n",
                       lines, decoded, (unsigned long long)s->applied,
                       (unsigned long long)s->decisions, njobs, nopen);
        }
        printf("decode: %.3f s, %.3f us/event\n", t_decode,
               lines ? t_decode * 1e6 / (double)lines : 0.0);
        printf("engine: %.3f s, %.3f us/event (decoding excluded)\n",
               t_engine, decoded ? t_engine * 1e6 / (double)decoded : 0.0);
        if (njobs) {
                printf("footprint: %.0f bytes/job average (gr_job_footprint), "
                       "%zu max, %.0f bytes/job for pending jobs\n",
                       (double)total / (double)njobs, maxfp,
                       nopen ? (double)open_total / (double)nopen : 0.0);
                printf("rss: +%.1f MiB for %zu jobs = %.0f bytes/job\n",
                       (double)(rss1 - rss0) / (1024.0 * 1024.0), njobs,
                       (double)(rss1 - rss0) / (double)njobs);
                if (bd)
                        breakdown(jobs, njobs);
        }
        if (repeat == 1 && floor_line(&pol, dec, text, len))
                fprintf(stderr, "bench_footprint: no floor: out of memory\n");
        rc = 0;
done:
        free(jobs);
        gr_engine_destroy(eng);
        gr_json_decoder_destroy(dec);
        free(evs);
        free(text);
        return rc;
}
