/* receiptctl demo: the whole pipeline on one machine (docs/SPEC.md §7).
 *
 * Starts the embedded broker in-process, publishes the canonical case and
 * the other scenarios (scenarios.jsonl, installed with receiptctl or found
 * in the source tree: cli_data_file()) plus one garbled record,
 * runs the processor (gr_receiptd, the code of receiptd) on a thread until
 * its checkpoints have passed every input record, then reads what it wrote
 * back from Kafka and prints: each job's summary line and decisions, the
 * canonical case's ledger rows (key=value lines) and receipt, and the DLQ
 * rejects with their reasons. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "demo_live.h"
#include "gr_broker.h"
#include "gr_config.h"
#include "gr_emit.h"
#include "gr_fsm.h"
#include "gr_output.h"
#include "gr_lookup.h"
#include "gr_produce.h"
#include "gr_receiptd.h"
#include "gr_restore.h"
#include "gr_state_json.h"
#include "gr_ledger_audit.h"
#include "gr_topics.h"
#include "render.h"

/* The scenarios published by default (cli_data_file() finds them). */
#define GR_DEMO_DATA "scenarios.jsonl"

/* A record read back: key, value and the two DLQ headers we show. */
typedef struct demo_rec {
        char *key, *value, *reason, *detail;
        size_t vlen; /* value bytes (a compact state record holds NULs) */
        int32_t partition;
        int64_t offset, src_offset;
} demo_rec;

typedef struct demo_recs {
        demo_rec *v;
        size_t n, cap;
} demo_recs;

static char *dup_n(const void *p, size_t n) {
        char *s = malloc(n + 1);
        if (s) {
                if (n)
                        memcpy(s, p, n);
                s[n] = '\0';
        }
        return s;
}

static char *header_dup(const rd_kafka_message_t *m, const char *name) {
        rd_kafka_headers_t *h;
        const void *v;
        size_t n;

        if (rd_kafka_message_headers(m, &h) ||
            rd_kafka_header_get_last(h, name, &v, &n))
                return NULL;
        return dup_n(v, n);
}

static void collect(void *opaque, const rd_kafka_message_t *m) {
        demo_recs *rs = opaque;
        demo_rec *r;
        char *off;

        if (rs->n == rs->cap) {
                size_t cap = rs->cap ? rs->cap * 2 : 64;
                demo_rec *v = realloc(rs->v, cap * sizeof(*v));
                if (!v)
                        return;
                rs->v = v;
                rs->cap = cap;
        }
        r = &rs->v[rs->n++];
        memset(r, 0, sizeof(*r));
        r->key = m->key ? dup_n(m->key, m->key_len) : NULL;
        r->value = m->payload ? dup_n(m->payload, m->len) : NULL;
        r->vlen = m->payload ? m->len : 0;
        r->reason = header_dup(m, GR_HDR_REASON);
        r->detail = header_dup(m, GR_HDR_DETAIL);
        off = header_dup(m, GR_HDR_OFFSET);
        r->src_offset = off ? atoll(off) : -1;
        free(off);
        r->partition = m->partition;
        r->offset = m->offset;
}

static void recs_free(demo_recs *rs) {
        for (size_t i = 0; i < rs->n; i++) {
                free(rs->v[i].key);
                free(rs->v[i].value);
                free(rs->v[i].reason);
                free(rs->v[i].detail);
        }
        free(rs->v);
        memset(rs, 0, sizeof(*rs));
}

static int read_topic(rd_kafka_t *rc, const char *topic, int32_t nparts,
                      demo_recs *rs) {
        char err[512];

        for (int32_t p = 0; p < nparts; p++)
                if (gr_partition_scan(rc, topic, p, 10000, collect, rs, err,
                                      sizeof(err)) == -1) {
                        fprintf(stderr, "demo: %s\n", err);
                        return -1;
                }
        return 0;
}

typedef struct demo_run {
        gr_receiptd *r;
        volatile sig_atomic_t stop;
        int rc;
} demo_run;

static void *run_thread(void *arg) {
        demo_run *d = arg;
        d->rc = gr_receiptd_run(d->r, &d->stop);
        /* the thread's scratch state would otherwise outlive it */
        gr_fsm_thread_done();
        return NULL;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *jstr(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "-";
}

/* Every job: summary line from its state, then its decisions in order. */
static void print_jobs(demo_recs *state, demo_recs *dec) {
        char **ids = NULL, line[1024];
        size_t n = 0;
        gr_buf b;

        ids = calloc(state->n + 1, sizeof(*ids));
        if (!ids)
                return;
        gr_buf_init(&b);
        for (size_t i = 0; i < state->n; i++) {
                const char *k = state->v[i].key;
                int seen = 0;
                if (!k || !state->v[i].value ||
                    !strncmp(k, GR_CHECKPOINT_KEY_PREFIX,
                             strlen(GR_CHECKPOINT_KEY_PREFIX)))
                        continue;
                for (size_t j = 0; j < n && !seen; j++)
                        seen = !strcmp(ids[j], k);
                if (!seen)
                        ids[n++] = state->v[i].key;
        }
        qsort(ids, n, sizeof(*ids), cmp_str);

        printf("== %zu jobs: summary line, then each decision "
               "(gpu.settlement.decisions) ==\n\n",
               n);
        for (size_t j = 0; j < n; j++) {
                const char *val = NULL;
                size_t vlen = 0;
                char err[256];
                gr_job *job;

                /* the last state record of the job wins */
                for (size_t i = 0; i < state->n; i++)
                        if (state->v[i].key &&
                            !strcmp(state->v[i].key, ids[j])) {
                                val = state->v[i].value;
                                vlen = state->v[i].vlen;
                        }
                job = val ? gr_state_decode(val, vlen, err, sizeof(err))
                          : NULL;
                printf("%s\n", job ? gr_job_line(job, line, sizeof(line))
                                   : "(state unreadable)");
                gr_job_destroy(job);
                for (size_t i = 0; i < dec->n; i++) {
                        json_t *d;
                        if (!dec->v[i].key || strcmp(dec->v[i].key, ids[j]) ||
                            !dec->v[i].value)
                                continue;
                        if (!(d = json_loads(dec->v[i].value, 0, NULL)))
                                continue;
                        gr_buf_reset(&b);
                        cli_decision_line(d, &b);
                        printf("    %s\n", b.oom ? "(out of memory)" : b.data);
                        json_decref(d);
                }
        }
        free(ids);
        gr_buf_free(&b);
}

/* The canonical job's ledger rows, in the key=value form of `receiptctl
 * replay --emit ledger --format lines` (one renderer, render.c). */
static void print_ledger(demo_recs *ledger, const char *job_id,
                         const char *topic) {
        gr_ledger_row_buf rb;
        char err[256];
        gr_buf b;

        printf("\n== the canonical case %s: ledger rows (%s) ==\n\n", job_id,
               topic);
        gr_buf_init(&b);
        for (size_t i = 0; i < ledger->n; i++) {
                const demo_rec *r = &ledger->v[i];
                if (!r->key || strcmp(r->key, job_id) || !r->value)
                        continue;
                gr_buf_reset(&b);
                if (gr_ledger_row_parse(r->value, strlen(r->value), &rb, err,
                                        sizeof(err)) == -1) {
                        printf("(unreadable row at partition %d offset "
                               "%lld: %s)\n",
                               (int)r->partition, (long long)r->offset, err);
                        continue;
                }
                cli_ledger_row_line(&rb.row, &b);
                printf("%s\n", b.oom ? "(out of memory)" : b.data);
        }
        gr_buf_free(&b);
}

static void print_dlq(demo_recs *dlq, const char *topic) {
        printf("\n== %zu rejected events (%s, reason in headers) ==\n\n",
               dlq->n, topic);
        for (size_t i = 0; i < dlq->n; i++) {
                demo_rec *r = &dlq->v[i];
                json_t *v = r->value ? json_loads(r->value, 0, NULL) : NULL;
                printf("  %-16s %-20s %-22s %s  [input partition %d offset "
                       "%lld]\n",
                       r->key ? r->key : "(no key)",
                       v ? jstr(v, "event_id") : "(not JSON)",
                       r->reason ? r->reason : "?",
                       r->detail ? r->detail : "", (int)r->partition,
                       (long long)r->src_offset);
                json_decref(v);
        }
}

int cmd_demo(int argc, char **argv) {
        const char *file = NULL, *canonical = "run_8841";
        int partitions = 4, timeout_s = 25, verbose = 0, c, rc = 1, live = 0;
        static const struct option opts[] = {
            {"file", required_argument, NULL, 'f'},
            {"data", required_argument, NULL, 'f'},
            {"partitions", required_argument, NULL, 'p'},
            {"canonical", required_argument, NULL, 'c'},
            {"timeout", required_argument, NULL, 't'},
            {"verbose", no_argument, NULL, 'v'},
            {"live", no_argument, NULL, 'L'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        static const char garbled[] =
            "{\"event_id\":\"run_garbled-1\",\"job_id\":\"run_garbled\","
            "\"type\":\"execution_sta";
        char errstr[1024], path[4096];
        gr_broker *b = NULL;
        rd_kafka_t *prod = NULL, *rc_scan = NULL;
        gr_config *cfg = NULL;
        demo_run run = {0};
        demo_recs state = {0}, dec = {0}, dlq = {0}, ledger = {0};
        int64_t *end = NULL, deadline;
        gr_emit_result er;
        gr_topics topics;
        pthread_t th;
        int started = 0, done = 0;
        FILE *fp;
        gr_job *job;
        demo_live *dl = NULL;

        cli_parser cp = {
            .cmd = "demo", .shortopts = "f:p:c:t:vLh", .longopts = opts};

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'f':
                        file = optarg;
                        break;
                case 'p':
                        partitions = atoi(optarg);
                        break;
                case 'c':
                        canonical = optarg;
                        break;
                case 't':
                        timeout_s = atoi(optarg);
                        break;
                case 'v':
                        verbose = 1;
                        break;
                case 'L':
                        live = 1;
                        break;
                case CLI_HELP:
                        /* where the default data comes from, so that an
                         * install can be checked without running it */
                        printf("\nbundled scenarios: %s\n",
                               cli_data_file(GR_DEMO_DATA, path, sizeof(path))
                                   ? path
                                   : "NOT FOUND (give --data FILE)");
                        return 0;
                default:
                        return cli_exit(c);
                }
        }
        if (optind != argc)
                return cli_usage_error("demo", "unexpected argument '%s'",
                                       argv[optind]);
        if (timeout_s < 1 || partitions < 1)
                return cli_usage_error("demo", "--timeout and --partitions "
                                               "must be positive");
        if (!file && !(file = cli_data_file(GR_DEMO_DATA, path,
                                            sizeof(path)))) {
                fprintf(stderr,
                        "receiptctl demo: the bundled %s is not installed "
                        "(looked in $GR_DATA_DIR, the install's data "
                        "directory and the source tree); give --data "
                        "FILE\n",
                        GR_DEMO_DATA);
                return 2;
        }
        if (!(fp = fopen(file, "r"))) {
                fprintf(stderr, "receiptctl demo: cannot open %s\n", file);
                return 2;
        }
        gr_topics_init(&topics, NULL);
        /* --live: the canonical case from a real run, before any thread */
        if (live) {
                if (!(dl = demo_live_run(errstr, sizeof(errstr)))) {
                        fprintf(stderr, "demo: live job: %s\n", errstr);
                        fclose(fp);
                        return 1;
                }
                canonical = DEMO_LIVE_JOB;
        }

        if (!(b = gr_broker_new(1, partitions, NULL, errstr, sizeof(errstr)))) {
                fprintf(stderr, "demo: broker: %s\n", errstr);
                fclose(fp);
                return 2;
        }
        printf("gpu-receipts demo: embedded broker at %s, %d partitions per "
               "topic\n",
               gr_broker_bootstraps(b), partitions);

        /* 1. publish */
        if (!(prod = gr_emit_producer_new(gr_broker_bootstraps(b), NULL, 0,
                                          errstr, sizeof(errstr)))) {
                fprintf(stderr, "demo: %s\n", errstr);
                goto out;
        }
        if (gr_emit_lines(prod, topics.name[GR_TOPIC_EVENTS], fp, 10000,
                          &er) == -1) {
                fprintf(stderr, "demo: only %llu of %llu events delivered\n",
                        (unsigned long long)er.delivered,
                        (unsigned long long)er.lines);
                goto out;
        }
        if (gr_record_produce(prod, topics.name[GR_TOPIC_EVENTS],
                              RD_KAFKA_PARTITION_UA, "run_garbled", 11,
                              garbled, sizeof(garbled) - 1, NULL, 1000) ||
            rd_kafka_flush(prod, 10000)) {
                fprintf(stderr, "demo: could not publish the garbled record\n");
                goto out;
        }
        printf("published %llu events from %s, plus 1 garbled record, to "
               "%s (keyed by job_id, murmur2)\n\n",
               (unsigned long long)er.lines, file,
               topics.name[GR_TOPIC_EVENTS]);
        if (dl) {
                int n = demo_live_publish(dl, prod,
                                          topics.name[GR_TOPIC_EVENTS]);
                if (n < 0) {
                        fprintf(stderr, "demo: live events not delivered\n");
                        goto out;
                }
                printf("published %d events of the live job %s\n\n", n,
                       DEMO_LIVE_JOB);
        }

        /* 2. where the input ends, per partition */
        if (!(rc_scan = gr_scan_consumer_new(gr_broker_bootstraps(b), NULL, 0,
                                             errstr, sizeof(errstr))) ||
            !(end = calloc((size_t)partitions, sizeof(*end)))) {
                fprintf(stderr, "demo: %s\n", errstr);
                goto out;
        }
        for (int32_t p = 0; p < partitions; p++) {
                int64_t lo;
                if (rd_kafka_query_watermark_offsets(
                        rc_scan, topics.name[GR_TOPIC_EVENTS], p, &lo, &end[p],
                        5000)) {
                        fprintf(stderr, "demo: cannot read watermarks\n");
                        goto out;
                }
        }

        /* 3. run the processor on a thread */
        if (!(cfg = gr_config_new()))
                goto out;
        {
                const char *kv[][2] = {
                    {"bootstrap.servers", gr_broker_bootstraps(b)},
                    {"consumer.fetch.wait.max.ms", "10"},
                    {"consumer.session.timeout.ms", "6000"},
                    {"consumer.heartbeat.interval.ms", "500"},
                    {"batch.ms", "20"},
                    {"log.level", verbose ? "1" : "0"},
                    {"log_level", verbose ? "6" : "3"},
                };
                for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
                        if (gr_config_set(cfg, kv[i][0], kv[i][1], errstr,
                                          sizeof(errstr)) == -1) {
                                fprintf(stderr, "demo: %s\n", errstr);
                                goto out;
                        }
        }
        if (!(run.r = gr_receiptd_new(cfg, errstr, sizeof(errstr)))) {
                fprintf(stderr, "demo: receiptd: %s\n", errstr);
                goto out;
        }
        if (pthread_create(&th, NULL, run_thread, &run)) {
                fprintf(stderr, "demo: cannot start a thread\n");
                goto out;
        }
        started = 1;

        /* 4. done when every partition's checkpoint has passed its input */
        deadline = now_ms() + (int64_t)timeout_s * 1000;
        while (!done && now_ms() < deadline) {
                done = 1;
                for (int32_t p = 0; p < partitions && done; p++) {
                        gr_restore_result res;
                        if (!end[p])
                                continue;
                        if (gr_restore_partition(
                                rc_scan, topics.name[GR_TOPIC_STATE], p, NULL,
                                5000, &res, errstr, sizeof(errstr)) == -1 ||
                            res.checkpoint < end[p])
                                done = 0;
                }
                if (!done)
                        sleep_ms(200);
        }
        run.stop = 1;
        pthread_join(th, NULL);
        started = 0;
        if (!done) {
                fprintf(stderr,
                        "demo: receiptd did not process every event within "
                        "%d s\n",
                        timeout_s);
                goto out;
        }
        if (run.rc != 0) {
                fprintf(stderr, "demo: receiptd stopped with an error\n");
                goto out;
        }

        /* 5. read back what it wrote and show it */
        if (read_topic(rc_scan, topics.name[GR_TOPIC_STATE], partitions,
                       &state) == -1 ||
            read_topic(rc_scan, topics.name[GR_TOPIC_DECISIONS], partitions,
                       &dec) == -1 ||
            read_topic(rc_scan, topics.name[GR_TOPIC_DLQ], partitions,
                       &dlq) == -1 ||
            read_topic(rc_scan, topics.name[GR_TOPIC_LEDGER], partitions,
                       &ledger) == -1)
                goto out;
        print_jobs(&state, &dec);
        print_ledger(&ledger, canonical, topics.name[GR_TOPIC_LEDGER]);

        job = gr_state_lookup(rc_scan, topics.name[GR_TOPIC_STATE],
                              gr_partition_of(canonical, strlen(canonical),
                                              partitions),
                              partitions, canonical, 10000, errstr,
                              sizeof(errstr));
        if (!job) {
                fprintf(stderr, "demo: canonical case: %s\n", errstr);
                goto out;
        }
        printf("\n== the canonical case %s: receipt (%s) ==\n\n", canonical,
               topics.name[GR_TOPIC_STATE]);
        gr_receipt_print(job, stdout);
        gr_job_destroy(job);

        print_dlq(&dlq, topics.name[GR_TOPIC_DLQ]);
        {
                const gr_receiptd_stats *st = gr_receiptd_stats_get(run.r);
                printf("\nreceiptd: %llu records: %llu applied, %llu parked, "
                       "%llu duplicates, %llu rejected; %llu decisions, %llu "
                       "ledger rows, %llu transactions\n",
                       (unsigned long long)st->records,
                       (unsigned long long)st->applied,
                       (unsigned long long)st->parked,
                       (unsigned long long)st->duplicates,
                       (unsigned long long)st->rejected,
                       (unsigned long long)st->decisions,
                       (unsigned long long)st->ledger_rows,
                       (unsigned long long)st->commits);
        }
        rc = 0;
out:
        if (started) {
                run.stop = 1;
                pthread_join(th, NULL);
        }
        fflush(stdout);
        recs_free(&state);
        recs_free(&dec);
        recs_free(&dlq);
        recs_free(&ledger);
        gr_receiptd_destroy(run.r);
        gr_config_destroy(cfg);
        free(end);
        if (rc_scan)
                rd_kafka_destroy(rc_scan);
        if (prod)
                rd_kafka_destroy(prod);
        gr_broker_destroy(b);
        demo_live_free(dl);
        fclose(fp);
        return rc;
}
