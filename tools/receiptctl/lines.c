#include "lines.h"

#include <stdlib.h>

int gr_lines_init(gr_lines *r, FILE *fp, size_t max) {
        r->fp = fp;
        r->max = max;
        r->lineno = 0;
        return (r->buf = malloc(max + 1)) ? 0 : -1;
}

void gr_lines_free(gr_lines *r) {
        free(r->buf);
        r->buf = NULL;
}

int gr_lines_next(gr_lines *r, const char **line, size_t *len) {
        size_t n = 0;
        int c;

        while ((c = getc_unlocked(r->fp)) != EOF && c != '\n') {
                if (n < r->max)
                        r->buf[n] = (char)c;
                n++;
        }
        if (c == EOF && n == 0) {
                if (ferror(r->fp))
                        return -1;
                return 0;
        }
        r->lineno++;
        r->buf[n < r->max ? n : r->max] = '\0';
        *line = r->buf;
        *len = n;
        return n > r->max ? 2 : 1;
}
