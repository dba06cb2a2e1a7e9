/* receiptctl broker: the embedded Kafka-protocol broker for local use
 * (docs/SPEC.md §7).  First stdout line: bootstrap.servers=HOST:PORT[,...].
 * Then it reads control commands on stdin (see gr_broker_control()) and
 * answers each with one line on stdout, until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "gr_broker.h"

static volatile sig_atomic_t broker_run = 1;

static void broker_stop(int sig) {
        (void)sig;
        broker_run = 0;
}

int cmd_broker(int argc, char **argv) {
        int partitions = 4, nbrokers = 1, stdin_open = 1;
        const char *prefix = NULL;
        char errstr[512], line[512], reply[512];
        static const struct option opts[] = {
            {"partitions", required_argument, NULL, 'p'},
            {"brokers", required_argument, NULL, 'b'},
            {"prefix", required_argument, NULL, 'P'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        struct sigaction sa;
        gr_broker *b;
        int c;

        cli_parser cp = {
            .cmd = "broker", .shortopts = "p:b:P:h", .longopts = opts};

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'p':
                        partitions = atoi(optarg);
                        break;
                case 'b':
                        nbrokers = atoi(optarg);
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind != argc)
                return cli_usage_error("broker", "unexpected argument '%s'",
                                       argv[optind]);
        if (!(b = gr_broker_new(nbrokers, partitions, prefix, errstr,
                                sizeof(errstr)))) {
                fprintf(stderr, "broker: %s\n", errstr);
                return 2;
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = broker_stop; /* no SA_RESTART: poll() returns EINTR */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        printf("bootstrap.servers=%s\n", gr_broker_bootstraps(b));
        fflush(stdout);
        fprintf(stderr,
                "broker: %d broker(s), %d partitions per topic; serving "
                "until SIGTERM\n",
                nbrokers, partitions);

        while (broker_run) {
                struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
                int r;

                if (!stdin_open) {
                        /* stdin closed: nothing left to do but serve. */
                        struct timespec ts = {0, 100 * 1000 * 1000};
                        nanosleep(&ts, NULL);
                        continue;
                }
                r = poll(&pfd, 1, 200);
                if (r <= 0)
                        continue;
                if (!fgets(line, sizeof(line), stdin)) {
                        stdin_open = 0;
                        continue;
                }
                line[strcspn(line, "\r\n")] = '\0';
                if (!line[0] || line[0] == '#')
                        continue;
                gr_broker_control(b, line, reply, sizeof(reply));
                printf("%s\n", reply);
                fflush(stdout);
        }
        fprintf(stderr, "broker: stopping\n");
        gr_broker_destroy(b);
        return 0;
}
