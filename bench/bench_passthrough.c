/* bench_passthrough: the baseline for receiptd's CPU per event (a
 * speed baseline).  A bare librdkafka consume -> produce loop with receiptd's client
 * settings: same group protocol, same transactional batches of N records
 * with send_offsets_to_transaction, each record's value copied to the same
 * partition of the decisions topic.  No decoding, no FSM, no state.
 *
 *   bench_passthrough BOOTSTRAP EXPECTED_RECORDS [BATCH] [TIMEOUT_S] [FANOUT]
 *                     [RUN]
 *
 * FANOUT (default 1) is how many records to produce per record consumed,
 * on average: the extra copies go to the same partition of the ledger
 * topic.  With receiptd's own ratio of records out to records in it is
 * the floor of any processor that writes those outputs.  RUN (default 0)
 * names the run in the consumer group's name, so that repeated runs each
 * read the input from the start.
 *
 * Exits 0 after EXPECTED_RECORDS records, 1 on error or timeout.  On
 * stdout, "window_threads NAME=S ..." (each thread's CPU seconds over the
 * window, threads of one name summed, librdkafka's broker threads as
 * "rdk:broker") then "window_cpu_s S": the process's CPU seconds from the
 * first record consumed to the last commit's return, the group join and
 * the shutdown left out (bench_kafka.py compares receiptd's own window). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <librdkafka/rdkafka.h>

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double cpu_s(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds of this process's threads, summed by name ("rdk:broker3"
 * and the like count as "rdk:broker"), as /proc/self/task reports them. */
#define NAMES_MAX 16
typedef struct {
        int n;
        char name[NAMES_MAX][24];
        double cpu[NAMES_MAX];
} thread_cpu;

static void threads_cpu(thread_cpu *t) {
        DIR *dir = opendir("/proc/self/task");
        const double tck = (double)sysconf(_SC_CLK_TCK);
        struct dirent *de;

        t->n = 0;
        while (dir && (de = readdir(dir))) {
                char path[300], st[512], *l, *r;
                unsigned long ut, stime;
                size_t len;
                FILE *f;
                int i;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
                         de->d_name);
                if (!(f = fopen(path, "r")))
                        continue;
                len = fread(st, 1, sizeof(st) - 1, f);
                fclose(f);
                st[len] = '\0';
                if (!(l = strchr(st, '(')) || !(r = strrchr(st, ')')) ||
                    sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                  "%*u %lu %lu", &ut, &stime) != 2)
                        continue;
                *r = '\0';
                l++;
                if (!strncmp(l, "rdk:broker", 10))
                        l[10] = '\0';
                for (i = 0; i < t->n && strcmp(t->name[i], l); i++)
                        ;
                if (i == t->n) {
                        if (t->n == NAMES_MAX)
                                continue;
                        snprintf(t->name[i], sizeof(t->name[i]), "%s", l);
                        t->cpu[i] = 0;
                        t->n++;
                }
                t->cpu[i] += (double)(ut + stime) / tck;
        }
        if (dir)
                closedir(dir);
}

static double thread_cpu_of(const thread_cpu *t, const char *name) {
        for (int i = 0; i < t->n; i++)
                if (!strcmp(t->name[i], name))
                        return t->cpu[i];
        return 0;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bs,
                          const char *const *kv) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];
        rd_kafka_t *rk;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof(err)))
                goto fail;
        for (; *kv; kv += 2)
                if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)))
                        goto fail;
        if ((rk = rd_kafka_new(type, conf, err, sizeof(err))))
                return rk;
fail:
        fprintf(stderr, "bench_passthrough: %s\n", err);
        exit(1);
}

/* A copy of m's key and value to the same partition of topic (a handle,
 * as receiptd produces: a name is looked up under a lock on every call). */
static int put(rd_kafka_t *p, rd_kafka_topic_t *topic,
               const rd_kafka_message_t *m) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(m->partition),
            RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(m->payload, m->len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e)
                fprintf(stderr, "bench_passthrough: produce: %s\n",
                        rd_kafka_err2str(e));
        return e ? -1 : 0;
}

static int commit(rd_kafka_t *c, rd_kafka_t *p,
                  rd_kafka_topic_partition_list_t *offs) {
        rd_kafka_consumer_group_metadata_t *md =
            rd_kafka_consumer_group_metadata(c);
        rd_kafka_error_t *e =
            rd_kafka_send_offsets_to_transaction(p, offs, md, 30000);
        rd_kafka_consumer_group_metadata_destroy(md);
        if (!e)
                e = rd_kafka_commit_transaction(p, 30000);
        if (e) {
                fprintf(stderr, "bench_passthrough: %s\n",
                        rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv) {
        char group[64];
        const char *ckv[] = {
            "group.id", group,
            "partition.assignment.strategy", "cooperative-sticky",
            "enable.auto.commit", "false",
            "enable.auto.offset.store", "false",
            "auto.offset.reset", "earliest",
            "isolation.level", "read_committed",
            "fetch.wait.max.ms", "10",
            "session.timeout.ms", "6000",
            "heartbeat.interval.ms", "500",
            "log_level", "3",
            NULL};
        static const char *const pkv[] = {
            "transactional.id", "bench-passthrough", "log_level", "3", NULL};
        rd_kafka_t *c, *p;
        rd_kafka_topic_t *decisions, *ledger;
        rd_kafka_topic_partition_list_t *sub, *offs = NULL;
        rd_kafka_error_t *e;
        long expected, batch = 500, done = 0, in_batch = 0, produced = 0;
        double fanout = 1, extra = 0;
        int64_t deadline, batch_end = 0;
        int in_txn = 0, rc = 1;
        double cpu0 = -1, cpu1 = -1;
        thread_cpu th0 = {0}, th1 = {0};

        if (argc < 3) {
                fprintf(stderr, "usage: bench_passthrough BOOTSTRAP "
                                "EXPECTED [BATCH] [TIMEOUT_S] [FANOUT] "
                                "[RUN]\n");
                return 2;
        }
        expected = atol(argv[2]);
        if (argc > 3)
                batch = atol(argv[3]);
        deadline = now_ms() + (argc > 4 ? atol(argv[4]) : 60) * 1000;
        if (argc > 5)
                fanout = atof(argv[5]);
        if (expected <= 0 || batch <= 0 || !(fanout >= 1 && fanout <= 16)) {
                fprintf(stderr, "bench_passthrough: EXPECTED and BATCH must "
                                "be positive, FANOUT within 1..16\n");
                return 2;
        }

        /* A group per fanout and run: each run reads the input from the
         * start (a real broker keeps the offsets a run commits). */
        snprintf(group, sizeof(group), "bench-passthrough-%g-%s", fanout,
                 argc > 6 ? argv[6] : "0");
        c = client(RD_KAFKA_CONSUMER, argv[1], ckv);
        p = client(RD_KAFKA_PRODUCER, argv[1], pkv);
        decisions = rd_kafka_topic_new(p, "gpu.settlement.decisions", NULL);
        ledger = rd_kafka_topic_new(p, "gpu.job.ledger", NULL);
        if (!decisions || !ledger) {
                fprintf(stderr, "bench_passthrough: topic handle: %s\n",
                        rd_kafka_err2str(rd_kafka_last_error()));
                return 1;
        }
        rd_kafka_poll_set_consumer(c);
        if ((e = rd_kafka_init_transactions(p, 30000))) {
                fprintf(stderr, "init: %s\n", rd_kafka_error_string(e));
                return 1;
        }
        sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, "gpu.job.events",
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(c, sub);
        rd_kafka_topic_partition_list_destroy(sub);

        while (done < expected && now_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 20);
                if (m && !m->err) {
                        if (cpu0 < 0) {
                                threads_cpu(&th0);
                                cpu0 = cpu_s();
                        }
                        if (!in_txn) {
                                if ((e = rd_kafka_begin_transaction(p))) {
                                        fprintf(stderr, "bench_passthrough: "
                                                "begin: %s\n",
                                                rd_kafka_error_string(e));
                                        rd_kafka_error_destroy(e);
                                        rd_kafka_message_destroy(m);
                                        goto out;
                                }
                                in_txn = 1;
                                offs = rd_kafka_topic_partition_list_new(4);
                                batch_end = now_ms() + 20;
                        }
                        if (put(p, decisions, m) == -1) {
                                rd_kafka_message_destroy(m);
                                goto out;
                        }
                        produced++;
                        for (extra += fanout - 1; extra >= 1; extra -= 1) {
                                if (put(p, ledger, m) == -1) {
                                        rd_kafka_message_destroy(m);
                                        goto out;
                                }
                                produced++;
                        }
                        {
                                rd_kafka_topic_partition_t *tp =
                                    rd_kafka_topic_partition_list_find(
                                        offs, rd_kafka_topic_name(m->rkt),
                                        m->partition);
                                if (!tp)
                                        tp = rd_kafka_topic_partition_list_add(
                                            offs, rd_kafka_topic_name(m->rkt),
                                            m->partition);
                                tp->offset = m->offset + 1;
                        }
                        done++;
                        in_batch++;
                }
                if (m)
                        rd_kafka_message_destroy(m);
                if (in_txn && (in_batch >= batch || now_ms() >= batch_end ||
                               done >= expected)) {
                        if (commit(c, p, offs) == -1)
                                goto out;
                        rd_kafka_topic_partition_list_destroy(offs);
                        offs = NULL;
                        in_txn = 0;
                        in_batch = 0;
                        cpu1 = cpu_s();
                        if (done >= expected) /* the last commit */
                                threads_cpu(&th1);
                }
        }
        rc = done >= expected ? 0 : 1;
        if (rc == 0) {
                printf("window_threads");
                for (int i = 0; i < th1.n; i++)
                        printf(" %s=%.3f", th1.name[i],
                               th1.cpu[i] - thread_cpu_of(&th0, th1.name[i]));
                printf("\nwindow_cpu_s %.3f\n", cpu1 - cpu0);
        }
out:
        if (offs)
                rd_kafka_topic_partition_list_destroy(offs);
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        rd_kafka_topic_destroy(decisions);
        rd_kafka_topic_destroy(ledger);
        rd_kafka_destroy(p);
        fprintf(stderr, "bench_passthrough: %ld of %ld records, %ld "
                        "produced\n", done, expected, produced);
        return rc;
}
