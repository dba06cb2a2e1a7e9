/*
 * receiptctl ledger export: write what receiptd published to the ledger
 * and its tree-head topic as an audit file.
 *
 *   receiptctl ledger export --bootstrap B [--prefix P] [--timeout-ms MS]
 *       [-X k=v ...] > FILE
 *
 * For each partition P of gpu.job.ledger, in partition order:
 *   {"type":"partition","partition":P}
 *   every row of P, offset order (the message values, byte for byte)
 *   every signed tree head of P from gpu.job.ledger.heads
 * which is the file format of evidence/gr_ledger_audit.h, so
 * `receiptctl ledger verify --keys REGISTRY FILE` audits it.  Reads with
 * isolation.level=read_committed (librdkafka's default; -X may not change
 * it): rows of aborted transactions are not part of the log.  A missing
 * heads topic is a warning (rows only: chains can be checked, nothing
 * proves they are the ones published).
 * Exit 0 ok, 1 when the cluster cannot be read, 2 on bad arguments.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_lookup.h"
#include "gr_restore.h"
#include "gr_topics.h"

struct export_ctx {
        FILE *out;
        uint64_t n;
        int bad; /* a record without a value, or a value with a newline */
};

static void export_record(void *opaque, const rd_kafka_message_t *m) {
        struct export_ctx *c = opaque;

        if (!m->payload || m->len == 0 ||
            memchr(m->payload, '\n', m->len)) {
                c->bad++;
                return;
        }
        fwrite(m->payload, 1, m->len, c->out);
        fputc('\n', c->out);
        c->n++;
}

int cmd_ledger_export(int argc, char **argv) {
        const char *bootstrap = getenv("GR_BOOTSTRAP"), *prefix = NULL;
        static const struct option opts[] = {
            {"bootstrap", required_argument, NULL, 'b'},
            {"prefix", required_argument, NULL, 'P'},
            {"timeout-ms", required_argument, NULL, 'T'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        struct export_ctx rows = {.out = stdout}, heads = {.out = stdout};
        char *kv[64], errstr[512];
        int nkv = 0, c, rc = 1, timeout_ms = 30000;
        int32_t nparts, nheads;
        gr_topics topics;
        rd_kafka_t *rk;

        cli_parser cp = {
            .cmd = "ledger export", .shortopts = "b:P:T:X:h", .longopts = opts};

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'b':
                        bootstrap = optarg;
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                case 'T':
                        timeout_ms = atoi(optarg);
                        break;
                case 'X':
                        if (nkv == 64) {
                                fprintf(stderr,
                                        "ledger export: too many -X\n");
                                return 2;
                        }
                        kv[nkv++] = optarg;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind != argc)
                return cli_usage_error("ledger export",
                                       "unexpected argument '%s'",
                                       argv[optind]);
        if (!bootstrap || timeout_ms <= 0)
                return cli_usage_error("ledger export",
                                       "need --bootstrap (or GR_BOOTSTRAP) "
                                       "and a positive --timeout-ms");
        for (int i = 0; i < nkv; i++)
                if (!strncmp(kv[i], "isolation.level=", 16)) {
                        fprintf(stderr, "ledger export: isolation.level is "
                                        "always read_committed\n");
                        return 2;
                }
        if (gr_topics_init(&topics, prefix) == -1) {
                fprintf(stderr, "ledger export: --prefix too long\n");
                return 2;
        }
        if (!(rk = gr_scan_consumer_new(bootstrap, kv, nkv, errstr,
                                        sizeof(errstr)))) {
                fprintf(stderr, "ledger export: %s\n", errstr);
                return 2;
        }
        nparts = gr_topic_partitions(rk, topics.name[GR_TOPIC_LEDGER],
                                     timeout_ms, errstr, sizeof(errstr));
        if (nparts < 0) {
                fprintf(stderr, "ledger export: %s\n", errstr);
                goto out;
        }
        nheads = gr_topic_partitions(rk, topics.name[GR_TOPIC_LEDGER_HEADS],
                                     timeout_ms, errstr, sizeof(errstr));
        if (nheads < 0)
                fprintf(stderr,
                        "ledger export: warning: %s: no tree heads exported "
                        "(%s)\n",
                        topics.name[GR_TOPIC_LEDGER_HEADS], errstr);
        for (int32_t p = 0; p < nparts; p++) {
                printf("{\"type\":\"partition\",\"partition\":%d}\n", (int)p);
                if (gr_partition_scan(rk, topics.name[GR_TOPIC_LEDGER], p,
                                      timeout_ms, export_record, &rows,
                                      errstr, sizeof(errstr)) == -1 ||
                    (p < nheads &&
                     gr_partition_scan(rk, topics.name[GR_TOPIC_LEDGER_HEADS],
                                       p, timeout_ms, export_record, &heads,
                                       errstr, sizeof(errstr)) == -1)) {
                        fprintf(stderr, "ledger export: %s\n", errstr);
                        goto out;
                }
        }
        if (fflush(stdout) == EOF || ferror(stdout)) {
                fprintf(stderr, "ledger export: write error\n");
                goto out;
        }
        if (rows.bad || heads.bad)
                fprintf(stderr,
                        "ledger export: warning: %llu records skipped (no "
                        "value, or a newline in it)\n",
                        (unsigned long long)(rows.bad + heads.bad));
        fprintf(stderr,
                "ledger export: %llu rows and %llu tree heads from %d "
                "partitions\n",
                (unsigned long long)rows.n, (unsigned long long)heads.n,
                (int)nparts);
        rc = 0;
out:
        rd_kafka_destroy(rk);
        return rc;
}
