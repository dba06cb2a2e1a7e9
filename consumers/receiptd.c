/* receiptd: the processor (docs/SPEC.md §2, §7).
 *
 *   receiptd [--config FILE] [-X key=value ...]
 *
 * Keys are described in gr_config.h; -X overrides the file.  Exit 0 after
 * SIGTERM/SIGINT, 1 when the cluster is unusable or a fatal error
 * stopped processing, 2 when the arguments or the config are unusable. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gr_config.h"
#include "gr_receiptd.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void)sig;
        stop = 1;
}

static void usage(FILE *fp) {
        fprintf(fp, "usage: receiptd [--config FILE] [-X key=value ...]\n"
                    "  keys: topic.prefix group.id policy.file "
                    "processing.guarantee batch.size batch.ms\n"
                    "        startup.timeout.ms restore.timeout.ms log.level "
                    "schema.dir\n"
                    "        keys.registry processor.key verify.threads "
                    "processing.threads,\n        "
                    "and any librdkafka property\n"
                    "        (consumer.<prop> / producer.<prop> for one "
                    "client only)\n");
}

int main(int argc, char **argv) {
        char errstr[1024];
        gr_config *cfg = gr_config_new();
        gr_receiptd *r = NULL;
        struct sigaction sa;
        int rc = 2;

        if (!cfg) {
                fprintf(stderr, "receiptd: out of memory\n");
                return 1;
        }
        /* The file first, whatever the order, so -X always overrides. */
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        usage(stdout);
                        rc = 0;
                        goto out;
                }
                if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
                        if (++i == argc) {
                                usage(stderr);
                                goto out;
                        }
                        if (gr_config_load_file(cfg, argv[i], errstr,
                                                sizeof(errstr)) == -1) {
                                fprintf(stderr, "receiptd: %s\n", errstr);
                                goto out;
                        }
                } else if (!strcmp(argv[i], "-X")) {
                        i++; /* second pass */
                } else {
                        fprintf(stderr, "receiptd: unexpected argument '%s'\n",
                                argv[i]);
                        usage(stderr);
                        goto out;
                }
        }
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
                        i++;
                } else if (!strcmp(argv[i], "-X")) {
                        if (++i == argc) {
                                usage(stderr);
                                goto out;
                        }
                        if (gr_config_set_kv(cfg, argv[i], errstr,
                                             sizeof(errstr)) == -1) {
                                fprintf(stderr, "receiptd: -X %s\n", errstr);
                                goto out;
                        }
                }
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        if (!(r = gr_receiptd_new(cfg, errstr, sizeof(errstr)))) {
                fprintf(stderr, "receiptd: %s\n", errstr);
                rc = 1;
                goto out;
        }
        rc = gr_receiptd_run(r, &stop) == 0 ? 0 : 1;
out:
        gr_receiptd_destroy(r);
        gr_config_destroy(cfg);
        return rc;
}
