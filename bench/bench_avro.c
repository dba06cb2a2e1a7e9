/*
 * bench_avro: Avro codec cost per event (Speed), side by side
 * with JSON on the same events.
 *
 * The input (JSON lines, default tests/data/scenarios.jsonl) is decoded
 * once; the valid events are then encoded once per wire format and the
 * timed loops run over those messages, `reps` times:
 *
 *   avro decode      gr_codec_decode() of the Confluent message:
 *                    hand-written read into the setters (one pass for the
 *                    current schema; gr_avro_event.h), gr_event_validate()
 *   avro encode      gr_codec_encode_event(GR_WIRE_AVRO_CONFLUENT)
 *   json decode/encode the same through the JSON codec
 *   pipeline         Avro decode + gr_engine_apply() + Avro encode of every
 *                    decision the FSM emits (job ids made unique per rep
 *                    so every event is applied, not a duplicate; one
 *                    engine, so the job table grows to reps/10 * events)
 *   fsm alone        the same applies on pre-decoded events, no decision
 *                    encode: what the codec cannot remove
 *   floor            Avro decode alone plus the SHA-256 the contract asks
 *                    for (ledger rows, receipts, decision ids), timed on
 *                    the byte counts of one untimed pass of the pipeline,
 *                    plus rendering the receipts that are hashed (this
 *                    build's renderer, warm): what an implementation of
 *                    docs/SPEC.md pays before any state machine work
 *
 * Times are process CPU time divided by the events processed; the pipeline
 * and the floor's parts are each the best of 3 runs (the harness's own work,
 * making ids unique per rep, is done outside the timer).  The last line is
 * the speed goal: `avro decode+fsm+encode: X us/event (goal <= 2)`.
 *
 * usage: bench_avro [FILE [REPS [pipeline]]]   ("pipeline": only that loop,
 * for profiling)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gr_codec.h"
#include "gr_engine.h"
#include "hash_census.h"

#ifndef GR_BENCH_DATA
#define GR_BENCH_DATA "tests/data/scenarios.jsonl"
#endif

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct msg {
        gr_buf avro, json;
} msg;

static gr_codec *codec;
static gr_buf dec_out;
static uint64_t ndecisions;

static void on_decision(void *opaque, const gr_job *job, const gr_decision *d) {
        (void)opaque;
        (void)job;
        gr_buf_reset(&dec_out);
        if (gr_codec_encode_decision(codec, GR_WIRE_AVRO_CONFLUENT, d, NULL,
                                     NULL, &dec_out, NULL) == 0)
                ndecisions++;
}

/* Per-rep id suffixes, made outside the timed loops: the snprintf and
 * strlen they cost are the harness's, not the pipeline's. */
typedef struct ids {
        size_t *job_len, *ev_len; /* per message, as decoded */
        char suffix[24];
        size_t suffix_len;
} ids;

static void ids_suffix(ids *x, long r) {
        int k = snprintf(x->suffix, sizeof(x->suffix), "#%ld", r);
        x->suffix_len = k > 0 ? (size_t)k : 0;
}

static void ids_apply(const ids *x, size_t i, gr_event *ev) {
        if (x->job_len[i] + x->suffix_len < sizeof(ev->job_id))
                memcpy(ev->job_id + x->job_len[i], x->suffix,
                       x->suffix_len + 1);
        if (x->ev_len[i] + x->suffix_len < sizeof(ev->event_id))
                memcpy(ev->event_id + x->ev_len[i], x->suffix,
                       x->suffix_len + 1);
}

/* Apply every message once per rep to one engine, job and event ids made
 * unique per rep.  fsm_only: decode outside the timer, no decision encode.
 * counts (not timed): the sink records what the contract hashes instead
 * of encoding decisions. */
static double pipeline(const msg *m, size_t n, ids *x, gr_event *ev,
                       long reps, int fsm_only, hash_census *counts) {
        gr_policy pol;
        gr_fsm_sink sink = {NULL, NULL, fsm_only ? NULL : on_decision, NULL};
        gr_engine *eng;
        gr_event *pre = NULL;
        gr_err err;
        double t = 0, t0;

        if (counts)
                sink = hash_census_sink(counts);
        gr_policy_default(&pol);
        eng = gr_engine_new(&pol, &sink);
        if (fsm_only && !(pre = calloc(n, sizeof(*pre))))
                return 0;
        for (size_t i = 0; fsm_only && i < n; i++)
                gr_codec_decode(codec, m[i].avro.data, m[i].avro.len, &pre[i],
                                &err);
        gr_buf_init(&dec_out);
        ndecisions = 0;
        for (long r = 0; r < reps; r++) {
                ids_suffix(x, r);
                t0 = now();
                for (size_t i = 0; i < n; i++) {
                        if (fsm_only) {
                                if (!gr_event_has(&pre[i], GR_F_job_id))
                                        continue;
                                *ev = pre[i];
                        } else if (gr_codec_decode(codec, m[i].avro.data,
                                                   m[i].avro.len, ev, &err)) {
                                continue;
                        }
                        ids_apply(x, i, ev); /* this rep's jobs are new */
                        gr_engine_apply(eng, ev);
                }
                t += now() - t0;
        }
        gr_engine_destroy(eng);
        gr_buf_free(&dec_out);
        free(pre);
        return t;
}

static double best_of(int k, const msg *m, size_t n, ids *x,
                      gr_event *ev, long reps, int fsm_only) {
        double best = 0;
        for (int i = 0; i < k; i++) {
                double t = pipeline(m, n, x, ev, reps, fsm_only, NULL);
                if (i == 0 || t < best)
                        best = t;
        }
        return best;
}

/* The floor under the pipeline: Avro decode of every message and the
 * SHA-256 the contract asks for (each ledger row's canonical bytes, each
 * decision's receipt and decision id), timed on the byte counts one
 * untimed pass of the same pipeline produced, and the rendering of the
 * receipts it hashes.  Whatever the pipeline costs above it is the state
 * machine, the ledger rows and the decision encode.  Prints the line;
 * returns the floor in seconds for reps. */
static double floor_line(const msg *m, size_t n, ids *x, gr_event *ev,
                         long reps, double t_pipe) {
        hash_census c;
        long creps = reps < 20 ? reps : 20; /* reps of the census pass */
        double t_dec = 0, t_sha, t_ren, k = 1e6 / ((double)reps * (double)n);
        gr_err err;

        hash_census_init(&c);
        pipeline(m, n, x, ev, creps, 0, &c);
        for (int b = 0; b < 3; b++) {
                double t0 = now(), td;
                for (long r = 0; r < reps; r++)
                        for (size_t i = 0; i < n; i++)
                                gr_codec_decode(codec, m[i].avro.data,
                                                m[i].avro.len, ev, &err);
                td = now() - t0;
                if (b == 0 || td < t_dec)
                        t_dec = td;
        }
        t_sha = hash_census_time(&c, reps / creps, 3) * (double)reps /
                (double)(reps / creps * creps);
        /* the census pass rendered creps reps' receipts: scale to reps */
        t_ren = c.render_s * (double)reps / (double)creps;
        printf("floor: Avro decode %.3f + SHA-256 of what the contract hashes "
               "%.3f + rendering the receipts %.3f = %.3f us/event\n"
               "  (per event: %.2f ledger rows of %.0f B, %.2f decisions with "
               "a %.0f B receipt and a decision id)\n"
               "  state machine, rows and decision encode: %.3f us/event "
               "now; under the goal they would have %.3f\n",
               t_dec * k, t_sha * k, t_ren * k, (t_dec + t_sha + t_ren) * k,
               (double)c.nrow / (double)(n * (size_t)creps),
               c.nrow ? (double)c.row_bytes / (double)c.nrow : 0,
               (double)c.ndec / (double)(n * (size_t)creps),
               c.ndec ? (double)c.receipt_bytes / (double)c.ndec : 0,
               (t_pipe - t_dec - t_sha - t_ren) * k,
               2.0 - (t_dec + t_sha + t_ren) * k);
        hash_census_free(&c);
        return t_dec + t_sha + t_ren;
}

int main(int argc, char **argv) {
        const char *path = argc > 1 ? argv[1] : GR_BENCH_DATA;
        long reps = argc > 2 ? atol(argv[2]) : 20000;
        static char line[70000];
        char errstr[256];
        msg *m = NULL;
        size_t n = 0, cap = 0, avro_bytes = 0, json_bytes = 0;
        gr_event *ev = calloc(1, sizeof(*ev));
        gr_err err;
        gr_buf out;
        ids x = {NULL, NULL, "", 0};
        FILE *f = fopen(path, "r");
        double t0, t_ad = 0, t_ae = 0, t_jd = 0, t_je = 0, t_pipe = 0, t_fsm = 0;
        int pipe_only = argc > 3 && strcmp(argv[3], "pipeline") == 0;
        long pipe_reps;
        uint64_t pipe_decisions;
        uint64_t checksum = 0;

        if (!f || !ev) {
                fprintf(stderr, "bench_avro: cannot read %s\n", path);
                return 2;
        }
        if (!(codec = gr_codec_new(NULL, errstr, sizeof(errstr)))) {
                fprintf(stderr, "bench_avro: %s\n", errstr);
                return 1;
        }
        while (fgets(line, sizeof(line), f)) {
                if (gr_codec_decode(codec, line, strlen(line), ev, &err))
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        m = realloc(m, cap * sizeof(*m));
                }
                gr_buf_init(&m[n].avro);
                gr_buf_init(&m[n].json);
                gr_codec_encode_event(codec, GR_WIRE_AVRO_CONFLUENT, ev,
                                      &m[n].avro, NULL);
                gr_codec_encode_event(codec, GR_WIRE_JSON, ev, &m[n].json, NULL);
                avro_bytes += m[n].avro.len;
                json_bytes += m[n].json.len;
                n++;
        }
        fclose(f);
        if (!n) {
                fprintf(stderr, "bench_avro: no valid events in %s\n", path);
                return 2;
        }
        gr_buf_init(&out);
        if (pipe_only)
                goto pipe;

        t0 = now();
        for (long r = 0; r < reps; r++)
                for (size_t i = 0; i < n; i++)
                        checksum += (uint64_t)gr_codec_decode(
                                        codec, m[i].avro.data, m[i].avro.len,
                                        ev, &err) +
                                    ev->present;
        t_ad = now() - t0;

        t0 = now();
        for (long r = 0; r < reps; r++)
                for (size_t i = 0; i < n; i++) {
                        gr_codec_decode(codec, m[i].avro.data, m[i].avro.len,
                                        ev, &err);
                }
        t_ad = (t_ad + (now() - t0)) / 2;

        /* encode: decode once per message outside the timer */
        t_ae = 0;
        for (size_t i = 0; i < n; i++) {
                gr_codec_decode(codec, m[i].avro.data, m[i].avro.len, ev,
                                &err);
                t0 = now();
                for (long r = 0; r < reps; r++) {
                        gr_buf_reset(&out);
                        gr_codec_encode_event(codec, GR_WIRE_AVRO_CONFLUENT,
                                              ev, &out, NULL);
                }
                t_ae += now() - t0;
                checksum += out.len;
        }

        t0 = now();
        for (long r = 0; r < reps; r++)
                for (size_t i = 0; i < n; i++)
                        checksum += (uint64_t)gr_codec_decode(
                            codec, m[i].json.data, m[i].json.len, ev, &err);
        t_jd = now() - t0;

        t_je = 0;
        for (size_t i = 0; i < n; i++) {
                gr_codec_decode(codec, m[i].json.data, m[i].json.len, ev,
                                &err);
                t0 = now();
                for (long r = 0; r < reps; r++) {
                        gr_buf_reset(&out);
                        gr_codec_encode_event(codec, GR_WIRE_JSON, ev, &out, NULL);
                }
                t_je += now() - t0;
                checksum += out.len;
        }

pipe:
        /* pipeline: decode + FSM + decision encode, fresh jobs per rep */
        pipe_reps = reps / 10 > 0 ? reps / 10 : 1;
        if (!(x.job_len = calloc(n, sizeof(*x.job_len))) ||
            !(x.ev_len = calloc(n, sizeof(*x.ev_len)))) {
                fprintf(stderr, "bench_avro: out of memory\n");
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                gr_codec_decode(codec, m[i].avro.data, m[i].avro.len, ev, &err);
                x.job_len[i] = strlen(ev->job_id);
                x.ev_len[i] = strlen(ev->event_id);
        }
        t_pipe = best_of(3, m, n, &x, ev, pipe_reps, 0);
        pipe_decisions = ndecisions; /* the later loops encode none */
        t_fsm = pipe_only ? 0 : best_of(3, m, n, &x, ev, pipe_reps, 1);
        if (pipe_only) {
                printf("avro decode+fsm+encode: %.3f us/event (goal <= 2)\n",
                       t_pipe * 1e6 / ((double)pipe_reps * (double)n));
                goto out;
        }

        {
                double k = 1e6 / ((double)reps * (double)n);
                printf("events: %zu distinct, avg %.0f bytes Avro (Confluent) "
                       "vs %.0f bytes JSON, %ld reps\n",
                       n, (double)avro_bytes / (double)n,
                       (double)json_bytes / (double)n, reps);
                printf("%-34s %8s %8s\n", "per event (us, CPU)", "Avro",
                       "JSON");
                printf("%-34s %8.3f %8.3f\n", "decode + validate", t_ad * k,
                       t_jd * k);
                printf("%-34s %8.3f %8.3f\n", "encode", t_ae * k, t_je * k);
                printf("%-34s %8.3f %8.3f\n", "decode + encode", (t_ad + t_ae) * k,
                       (t_jd + t_je) * k);
                printf("pipeline Avro decode + FSM + Avro decision encode: "
                       "%.3f us/event (%ld events, %llu decisions)\n",
                       t_pipe * 1e6 / ((double)pipe_reps * (double)n),
                       (long)(pipe_reps * (long)n),
                       (unsigned long long)pipe_decisions);
                printf("  of which FSM alone (pre-decoded, no encode): %.3f "
                       "us/event\n",
                       t_fsm * 1e6 / ((double)pipe_reps * (double)n));
                floor_line(m, n, &x, ev, pipe_reps, t_pipe);
                printf("avro decode+fsm+encode: %.3f us/event (goal <= 2)\n",
                       t_pipe * 1e6 / ((double)pipe_reps * (double)n));
        }
out:
        free(x.job_len);
        free(x.ev_len);
        fprintf(stderr, "(checksum %llu)\n", (unsigned long long)checksum);
        for (size_t i = 0; i < n; i++) {
                gr_buf_free(&m[i].avro);
                gr_buf_free(&m[i].json);
        }
        free(m);
        free(ev);
        gr_buf_free(&out);
        gr_codec_destroy(codec);
        return 0;
}
