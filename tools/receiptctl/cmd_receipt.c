/* receiptctl receipt JOB_ID: read the job's latest state from the state
 * topic (its partition by the murmur2 hash of the job_id, or --all) and
 * print its receipt as pretty JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_html.h"
#include "gr_lookup.h"
#include "gr_topics.h"

int cmd_receipt(int argc, char **argv) {
        const char *bootstrap = getenv("GR_BOOTSTRAP"), *prefix = NULL;
        char *kv[64], errstr[512];
        int nkv = 0, c, rc = 1, all = 0, html = 0, timeout_ms = 30000;
        static const struct option opts[] = {
            {"bootstrap", required_argument, NULL, 'b'},
            {"prefix", required_argument, NULL, 'P'},
            {"all", no_argument, NULL, 'a'},
            {"html", no_argument, NULL, 'H'},
            {"timeout-ms", required_argument, NULL, 'T'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        gr_topics topics;
        const char *job_id;
        rd_kafka_t *rk;
        gr_job *job;
        int32_t nparts, part;

        cli_parser cp = {
            .cmd = "receipt", .shortopts = "b:P:aHT:X:h", .longopts = opts};

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'b':
                        bootstrap = optarg;
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                case 'a':
                        all = 1;
                        break;
                case 'H':
                        html = 1;
                        break;
                case 'T':
                        timeout_ms = atoi(optarg);
                        break;
                case 'X':
                        if (nkv == 64) {
                                fprintf(stderr, "receipt: too many -X\n");
                                return 2;
                        }
                        kv[nkv++] = optarg;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("receipt", "need exactly one JOB_ID");
        if (!bootstrap || timeout_ms <= 0)
                return cli_usage_error("receipt", "need --bootstrap (or "
                                                  "GR_BOOTSTRAP) and a "
                                                  "positive --timeout-ms");
        job_id = argv[optind];
        if (gr_topics_init(&topics, prefix) == -1) {
                fprintf(stderr, "receipt: prefix too long\n");
                return 2;
        }
        if (!(rk = gr_scan_consumer_new(bootstrap, kv, nkv, errstr,
                                        sizeof(errstr)))) {
                fprintf(stderr, "receipt: %s\n", errstr);
                return 2;
        }
        nparts = gr_topic_partitions(rk, topics.name[GR_TOPIC_STATE],
                                     timeout_ms, errstr, sizeof(errstr));
        if (nparts < 0) {
                fprintf(stderr, "receipt: %s\n", errstr);
                goto out;
        }
        part = all ? -1 : gr_partition_of(job_id, strlen(job_id), nparts);
        job = gr_state_lookup(rk, topics.name[GR_TOPIC_STATE], part, nparts,
                              job_id, timeout_ms, errstr, sizeof(errstr));
        if (!job) {
                fprintf(stderr, "receipt: %s\n", errstr);
                goto out;
        }
        if (html) {
                gr_buf b;
                gr_buf_init(&b);
                gr_receipt_to_html(job, &b);
                rc = !b.oom && fwrite(b.data, 1, b.len, stdout) == b.len ? 0 : 1;
                gr_buf_free(&b);
        } else {
                rc = gr_receipt_print(job, stdout) == 0 ? 0 : 1;
        }
        gr_job_destroy(job);
out:
        rd_kafka_destroy(rk);
        return rc;
}
