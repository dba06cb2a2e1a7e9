/**
 * @file lines.h
 * @brief Bounded line reader for JSON-lines input: memory stays at one
 *        buffer of `max` bytes however long a line is; an over-long line is
 *        reported (so it can be rejected `too_large`) and skipped.
 */
#ifndef GR_LINES_H
#define GR_LINES_H

#include <stdio.h>
#include <stddef.h>

typedef struct gr_lines {
        FILE *fp;          /**< borrowed */
        char *buf;         /**< owned */
        size_t cap, pos, end; /**< buffer size, unread [pos, end) */
        int eof;
        size_t max;
        unsigned long lineno;
} gr_lines;

/** @returns 0, or -1 when out of memory. */
int gr_lines_init(gr_lines *r, FILE *fp, size_t max);
void gr_lines_free(gr_lines *r);

/**
 * @brief Read the next line (without its newline; a trailing '\r' is kept
 *        for the decoder to treat as whitespace).
 * @returns 1 with line and len set; 2 when the line was longer than max
 *          (*len = its full length, *line = its first max bytes);
 *          0 at end of input; -1 on a read error.
 */
int gr_lines_next(gr_lines *r, const char **line, size_t *len);

#endif
