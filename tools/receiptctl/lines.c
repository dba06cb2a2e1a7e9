#include "lines.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK (256 * 1024)

int gr_lines_init(gr_lines *r, FILE *fp, size_t max) {
        memset(r, 0, sizeof(*r));
        r->fp = fp;
        r->max = max;
        /* room for a whole line of max bytes plus one chunk of read-ahead */
        r->cap = max + 1 + CHUNK;
        return (r->buf = malloc(r->cap)) ? 0 : -1;
}

void gr_lines_free(gr_lines *r) {
        free(r->buf);
        r->buf = NULL;
}

/* Move unread bytes to the front and read more. @returns bytes read, 0 at
 * end of input, -1 on error. */
static long fill(gr_lines *r) {
        size_t n;
        if (r->eof)
                return 0;
        if (r->pos) {
                memmove(r->buf, r->buf + r->pos, r->end - r->pos);
                r->end -= r->pos;
                r->pos = 0;
        }
        n = fread(r->buf + r->end, 1, r->cap - 1 - r->end, r->fp);
        if (n == 0) {
                if (ferror(r->fp))
                        return -1;
                r->eof = 1;
        }
        r->end += n;
        return (long)n;
}

int gr_lines_next(gr_lines *r, const char **line, size_t *len) {
        size_t skipped = 0; /* bytes of an over-long line already dropped */
        size_t scan = r->pos;

        for (;;) {
                char *nl = memchr(r->buf + scan, '\n', r->end - scan);
                size_t n;
                long got;

                if (nl || (r->eof && r->end > r->pos) ||
                    (r->eof && skipped)) {
                        n = nl ? (size_t)(nl - (r->buf + r->pos))
                               : r->end - r->pos;
                        r->lineno++;
                        *line = r->buf + r->pos;
                        *len = skipped + n;
                        if (skipped || n > r->max) {
                                /* report the head we still have */
                                r->buf[r->pos + (n < r->max ? n : r->max)] =
                                    '\0';
                                r->pos += n + (nl ? 1 : 0);
                                return 2;
                        }
                        r->buf[r->pos + n] = '\0';
                        r->pos += n + (nl ? 1 : 0);
                        return 1;
                }
                if (r->eof)
                        return 0;
                /* No newline in what we hold.  A line longer than max is
                 * not kept: drop its bytes (remember how many) but keep its
                 * first max bytes at the front for the report. */
                if (r->end - r->pos > r->max) {
                        size_t keep = r->pos + r->max;
                        skipped += r->end - keep;
                        r->end = keep;
                }
                scan = r->end;
                got = fill(r);
                if (got < 0)
                        return -1;
                scan = r->end - (size_t)got;
        }
}
