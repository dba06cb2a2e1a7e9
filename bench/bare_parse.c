/*
 * bare_parse: the floor for JSON ingest (Speed).
 *
 * Parses a JSON-lines file the way any event decoder must at least do it:
 * one yajl 2 parse per line (one message = one parse, as for a Kafka
 * record), UTF-8 validation on (yajl's default), callbacks that do
 * nothing.  Lines are split with memchr over large fread() blocks, so the
 * time is yajl's and nothing else's.  Invalid lines are counted, not
 * reported.
 *
 * usage: bare_parse FILE        prints lines, bytes, errors, seconds and
 *                               microseconds per line on stdout
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_parse.h>

static int on_null(void *c) { (void)c; return 1; }
static int on_bool(void *c, int b) { (void)c; (void)b; return 1; }
static int on_number(void *c, const char *s, size_t n) {
        (void)c; (void)s; (void)n;
        return 1;
}
static int on_string(void *c, const unsigned char *s, size_t n) {
        (void)c; (void)s; (void)n;
        return 1;
}
static int on_mark(void *c) { (void)c; return 1; }

static const yajl_callbacks cbs = {
        on_null, on_bool, NULL, NULL, on_number, on_string,
        on_mark, on_string, on_mark, on_mark, on_mark,
};

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* @returns 0 when the line is one valid JSON value, -1 otherwise. */
static int parse_line(const unsigned char *p, size_t n) {
        yajl_handle h = yajl_alloc(&cbs, NULL, NULL);
        int rc = -1;

        if (!h)
                return -1;
        if (yajl_parse(h, p, n) == yajl_status_ok &&
            yajl_complete_parse(h) == yajl_status_ok)
                rc = 0;
        yajl_free(h);
        return rc;
}

int main(int argc, char **argv) {
        enum { BLOCK = 1 << 20 };
        unsigned char *buf = NULL;
        size_t have = 0, cap = 2 * BLOCK;
        unsigned long lines = 0, errors = 0;
        unsigned long long bytes = 0;
        FILE *fp;
        double t0, t;

        if (argc != 2) {
                fprintf(stderr, "usage: bare_parse FILE\n");
                return 2;
        }
        if (!(fp = fopen(argv[1], "rb"))) {
                perror(argv[1]);
                return 2;
        }
        if (!(buf = malloc(cap))) {
                fclose(fp);
                return 1;
        }
        t0 = now();
        for (;;) {
                size_t got, start = 0;
                unsigned char *nl;

                if (cap - have < BLOCK) {
                        unsigned char *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(buf);
                                fclose(fp);
                                return 1;
                        }
                        buf = nb;
                        cap *= 2;
                }
                got = fread(buf + have, 1, cap - have, fp);
                have += got;
                while ((nl = memchr(buf + start, '\n', have - start))) {
                        size_t n = (size_t)(nl - (buf + start));
                        if (n) {
                                lines++;
                                bytes += n;
                                if (parse_line(buf + start, n))
                                        errors++;
                        }
                        start += n + 1;
                }
                memmove(buf, buf + start, have - start);
                have -= start;
                if (got == 0) {
                        if (have) {
                                lines++;
                                bytes += have;
                                if (parse_line(buf, have))
                                        errors++;
                        }
                        break;
                }
        }
        t = now() - t0;
        fclose(fp);
        free(buf);
        printf("bare_parse: %lu lines, %llu bytes, %lu invalid, %.3f s, "
               "%.3f us/line\n",
               lines, bytes, errors, t, lines ? t * 1e6 / (double)lines : 0.0);
        return 0;
}
