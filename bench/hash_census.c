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
        free(c->dec);
        gr_buf_free(&c->receipt);
        memset(c, 0, sizeof(*c));
}

/* v, or v moved, with room for element n (elements of size elem); NULL
 * when out of memory (v is still valid then). */
static void *grow(void *v, size_t *cap, size_t n, size_t elem) {
        size_t ncap = *cap ? *cap * 2 : 1024;
        void *p;

        if (n < *cap)
                return v;
        if ((p = realloc(v, ncap * elem)))
                *cap = ncap;
        return p;
}

static void on_row(void *opaque, const gr_job *job, const gr_ledger_row *row) {
        hash_census *c = opaque;
        size_t *v = grow(c->row_len, &c->cap_row, c->nrow, sizeof(*v));

        (void)job;
        if (!v) {
                c->oom = 1;
                return;
        }
        c->row_len = v;
        c->row_len[c->nrow++] = row->canon_len;
        c->row_bytes += row->canon_len;
}

static void on_decision(void *opaque, const gr_job *job, const gr_decision *d) {
        hash_census *c = opaque;
        struct hash_census_dec *v =
            grow(c->dec, &c->cap_dec, c->ndec, sizeof(*v));
        double t0;
        int len;

        if (!v) {
                c->oom = 1;
                return;
        }
        c->dec = v;
        t0 = wall_now();
        for (int k = 0; k < 4; k++) {
                gr_buf_reset(&c->receipt);
                gr_receipt_to_json_line(job, d->line, &c->receipt);
        }
        c->render_s += (wall_now() - t0) / 4;
        /* the decision id hashes "job_id\nattempt\nseq" (gr_fsm.c) */
        len = snprintf(NULL, 0, "%s\n%u\n%llu", d->job_id,
                       (unsigned)d->attempt, (unsigned long long)d->seq);
        c->dec[c->ndec].receipt = c->receipt.len;
        c->dec[c->ndec].id = len > 0 ? (size_t)len : 0;
        c->receipt_bytes += c->receipt.len;
        c->ndec++;
}

gr_fsm_sink hash_census_sink(hash_census *c) {
        gr_fsm_sink s = {c, on_row, on_decision, NULL};
        return s;
}

static size_t clamp(size_t n, size_t max) { return n < max ? n : max; }

double hash_census_time(const hash_census *c, long reps, int runs) {
        static uint8_t bytes[1 << 20]; /* longer records are clamped */
        const size_t max = sizeof(bytes);
        uint8_t h[GR_SHA256_BYTES];
        double best = 0;

        memset(bytes, 'x', sizeof(bytes));
        for (int k = 0; k < runs; k++) {
                double t0 = cpu_now(), t;
                for (long r = 0; r < reps; r++) {
                        for (size_t i = 0; i < c->nrow; i++)
                                gr_sha256(bytes, clamp(c->row_len[i], max), h);
                        for (size_t i = 0; i < c->ndec; i++) {
                                gr_sha256(bytes, clamp(c->dec[i].receipt, max),
                                          h);
                                gr_sha256(bytes, clamp(c->dec[i].id, max), h);
                        }
                }
                t = cpu_now() - t0;
                if (k == 0 || t < best)
                        best = t;
        }
        return best;
}
