/* hash_census: see hash_census.h. */
#include "hash_census.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gr_hash.h"
#include "gr_output.h"

static double cpu_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Monotonic clock: read twice per four renders, cheap (vDSO) next to
 * them; the process CPU clock would be a system call each time. */
static double wall_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hash_census_init(hash_census *c) {
        memset(c, 0, sizeof(*c));
        gr_buf_init(&c->receipt);
}

void hash_census_free(hash_census *c) {
        free(c->row_len);
        free(c->receipt_len);
        free(c->id_len);
        gr_buf_free(&c->receipt);
        memset(c, 0, sizeof(*c));
}

static int grow(size_t **v, size_t *cap, size_t n) {
        size_t *p;
        if (n < *cap)
                return 0;
        if (!(p = realloc(*v, (*cap ? *cap * 2 : 1024) * sizeof(**v))))
                return -1;
        *v = p;
        *cap = *cap ? *cap * 2 : 1024;
        return 0;
}

static void on_row(void *opaque, const gr_job *job, const gr_ledger_row *row) {
        hash_census *c = opaque;
        (void)job;
        if (grow(&c->row_len, &c->cap_row, c->nrow)) {
                c->oom = 1;
                return;
        }
        c->row_len[c->nrow++] = row->canon_len;
        c->row_bytes += row->canon_len;
}

static void on_decision(void *opaque, const gr_job *job, const gr_decision *d) {
        hash_census *c = opaque;
        size_t cap = c->cap_dec;
        double t0;
        int len;

        if (grow(&c->receipt_len, &cap, c->ndec) ||
            grow(&c->id_len, &c->cap_dec, c->ndec)) {
                c->oom = 1;
                return;
        }
        t0 = wall_now();
        for (int k = 0; k < 4; k++) {
                gr_buf_reset(&c->receipt);
                gr_receipt_to_json_line(job, d->line, &c->receipt);
        }
        c->render_s += (wall_now() - t0) / 4;
        /* the decision id hashes "job_id\nattempt\nseq" (gr_fsm.c) */
        len = snprintf(NULL, 0, "%s\n%u\n%llu", d->job_id,
                       (unsigned)d->attempt, (unsigned long long)d->seq);
        c->receipt_len[c->ndec] = c->receipt.len;
        c->id_len[c->ndec] = len > 0 ? (size_t)len : 0;
        c->receipt_bytes += c->receipt.len;
        c->id_bytes += c->id_len[c->ndec];
        c->ndec++;
}

gr_fsm_sink hash_census_sink(hash_census *c) {
        gr_fsm_sink s = {c, on_row, on_decision, NULL};
        return s;
}

static size_t clamp(size_t n, size_t max) { return n < max ? n : max; }

double hash_census_time(const hash_census *c, long reps, int runs) {
        static uint8_t bytes[1 << 20]; /* longer records are clamped */
        uint8_t h[GR_SHA256_BYTES];
        double best = 0;

        memset(bytes, 'x', sizeof(bytes));
        for (int k = 0; k < runs; k++) {
                double t0 = cpu_now(), t;
                for (long r = 0; r < reps; r++) {
                        for (size_t i = 0; i < c->nrow; i++)
                                gr_sha256(bytes, clamp(c->row_len[i], sizeof(bytes)),
                                          h);
                        for (size_t i = 0; i < c->ndec; i++) {
                                gr_sha256(bytes,
                                          clamp(c->receipt_len[i], sizeof(bytes)), h);
                                gr_sha256(bytes, clamp(c->id_len[i], sizeof(bytes)),
                                          h);
                        }
                }
                t = cpu_now() - t0;
                if (k == 0 || t < best)
                        best = t;
        }
        return best;
}
