/* The jobs `receiptctl run` is tested with: real processes that fail (or
 * not) in the ways the failure table knows.
 *
 *   run_helper alloc MB           touch MB MiB in 1 MiB steps; when an
 *                                 allocation fails print strerror and exit 1
 *   run_helper segv | abort       crash
 *   run_helper sleep S            sleep S seconds (a job that hangs)
 *   run_helper write PATH TEXT    write TEXT to PATH, exit 0
 *   run_helper say TEXT CODE      TEXT on stderr, exit CODE
 *   run_helper exit CODE          exit CODE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static int usage(void) {
        fprintf(stderr, "usage: run_helper alloc MB | segv | abort | sleep S "
                        "| write PATH TEXT | say TEXT CODE | exit CODE\n");
        return 2;
}

int main(int argc, char **argv) {
        if (argc < 2)
                return usage();
        if (!strcmp(argv[1], "alloc") && argc == 3) {
                long mb = atol(argv[2]);
                fprintf(stderr, "run_helper: started, allocating %ld MiB\n",
                        mb);
                for (long i = 0; i < mb; i++) {
                        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (p == MAP_FAILED) {
                                fprintf(stderr,
                                        "run_helper: allocation %ld MiB: "
                                        "%s\n",
                                        i + 1, strerror(errno));
                                return 1;
                        }
                        memset(p, 0x5a, 1 << 20); /* really use it */
                }
                fprintf(stderr, "run_helper: allocated %ld MiB\n", mb);
                return 0;
        }
        if (!strcmp(argv[1], "segv") && argc == 2) {
                volatile int *p = NULL;
                fprintf(stderr, "run_helper: about to crash\n");
                return *p;
        }
        if (!strcmp(argv[1], "abort") && argc == 2) {
                abort();
        }
        if (!strcmp(argv[1], "sleep") && argc == 3) {
                struct timespec ts = {atol(argv[2]), 0};
                while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
                        ;
                return 0;
        }
        if (!strcmp(argv[1], "write") && argc == 4) {
                FILE *fp = fopen(argv[2], "w");
                if (!fp || fputs(argv[3], fp) == EOF || fclose(fp)) {
                        perror(argv[2]);
                        return 1;
                }
                return 0;
        }
        if (!strcmp(argv[1], "say") && argc == 4) {
                fprintf(stderr, "%s\n", argv[2]);
                return atoi(argv[3]);
        }
        if (!strcmp(argv[1], "exit") && argc == 3)
                return atoi(argv[2]);
        return usage();
}
