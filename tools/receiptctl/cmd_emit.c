/* receiptctl emit: publish JSON-lines events keyed by job_id with the
 * murmur2 partitioner (docs/SPEC.md §2) and wait until the broker has them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_codec.h"
#include "gr_emit.h"
#include "gr_topics.h"

static void emit_skipped(uint64_t line, const char *why, void *opaque) {
        (void)opaque;
        fprintf(stderr, "emit: line %llu not sent: %s\n",
                (unsigned long long)line, why);
}

int cmd_emit(int argc, char **argv) {
        const char *bootstrap = getenv("GR_BOOTSTRAP"), *topic = NULL,
                   *prefix = NULL, *path = "-";
        char *kv[64], errstr[512];
        int nkv = 0, c, rc = 1, timeout_ms = 30000;
        static const struct option opts[] = {
            {"bootstrap", required_argument, NULL, 'b'},
            {"topic", required_argument, NULL, 't'},
            {"prefix", required_argument, NULL, 'P'},
            {"timeout-ms", required_argument, NULL, 'T'},
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        gr_topics topics;
        gr_wire_t wire = GR_WIRE_JSON;
        gr_codec *codec = NULL;
        gr_emit_result res;
        rd_kafka_t *rk;
        FILE *fp;

        cli_parser cp = {
            .cmd = "emit", .shortopts = "b:t:P:T:X:f:h", .longopts = opts};

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'b':
                        bootstrap = optarg;
                        break;
                case 't':
                        topic = optarg;
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                case 'T':
                        timeout_ms = atoi(optarg);
                        break;
                case 'f':
                        if (gr_wire_parse(optarg, &wire) == -1) {
                                fprintf(stderr, "emit: --format json|avro|"
                                                "avro-confluent|avro-single\n");
                                return 2;
                        }
                        break;
                case 'X':
                        if (nkv == 64) {
                                fprintf(stderr, "emit: too many -X\n");
                                return 2;
                        }
                        kv[nkv++] = optarg;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind < argc)
                path = argv[optind++];
        if (optind != argc)
                return cli_usage_error("emit", "unexpected argument '%s'",
                                       argv[optind]);
        if (!bootstrap || timeout_ms <= 0)
                return cli_usage_error("emit", "need --bootstrap (or "
                                               "GR_BOOTSTRAP) and a positive "
                                               "--timeout-ms");
        if (gr_topics_init(&topics, prefix) == -1) {
                fprintf(stderr, "emit: prefix too long\n");
                return 2;
        }
        if (!topic)
                topic = topics.name[GR_TOPIC_EVENTS];
        fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
        if (!fp) {
                fprintf(stderr, "emit: cannot open %s\n", path);
                return 2;
        }
        if (!(rk = gr_emit_producer_new(bootstrap, kv, nkv, errstr,
                                        sizeof(errstr)))) {
                fprintf(stderr, "emit: %s\n", errstr);
                rc = 2;
                goto out;
        }
        if (wire != GR_WIRE_JSON &&
            !(codec = gr_codec_new(NULL, errstr, sizeof(errstr)))) {
                fprintf(stderr, "emit: %s\n", errstr);
                rd_kafka_destroy(rk);
                rc = 2;
                goto out;
        }
        rc = gr_emit_lines_as(rk, topic, fp, timeout_ms, codec, wire, &res,
                              emit_skipped, NULL) == 0
                 ? 0
                 : 1;
        gr_codec_destroy(codec);
        fprintf(stderr,
                "emit: %llu of %llu lines delivered to %s (%llu without a "
                "job_id key)%s\n",
                (unsigned long long)res.delivered,
                (unsigned long long)res.lines, topic,
                (unsigned long long)res.unkeyed,
                rc ? ": delivery FAILED or timed out" : "");
        rd_kafka_destroy(rk);
out:
        if (fp != stdin)
                fclose(fp);
        return rc;
}
