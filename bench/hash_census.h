/*
 * hash_census: what docs/SPEC.md makes the engine hash, counted, and the
 * time SHA-256 alone takes over the same byte counts.
 *
 * Every applied event hashes its ledger row's canonical bytes; every
 * decision hashes its receipt and its decision id (statemachine/gr_fsm.c).
 * A census is an engine sink: run the workload once through an engine
 * with it (untimed), then hash_census_time() hashes buffers of the
 * recorded lengths, which is what any implementation of the contract pays
 * whatever it does around that.  The benches print it as their floor.
 * receipt_hash is the hash of the receipt's bytes, so those bytes must be
 * rendered too: render_s times that, with this build's renderer.
 */
#ifndef BENCH_HASH_CENSUS_H
#define BENCH_HASH_CENSUS_H

#include <stddef.h>

#include "gr_buf.h"
#include "gr_fsm.h"

typedef struct hash_census {
        size_t nrow, ndec;       /**< rows, decisions seen */
        size_t row_bytes, receipt_bytes;
        /* lengths, in the order the engine hashed them */
        size_t *row_len;
        struct hash_census_dec {
                size_t receipt, id; /**< the receipt's, the decision id's */
        } *dec;
        size_t cap_row, cap_dec;
        gr_buf receipt; /**< scratch: each receipt rendered to measure it */
        /** seconds to render the receipts once (each rendered 4 times in
         *  a row and timed together, so warm caches: a lower bound) */
        double render_s;
        int oom;
} hash_census;

void hash_census_init(hash_census *c);
void hash_census_free(hash_census *c);

/** A sink that records into c (ledger rows and decisions; no rejects). */
gr_fsm_sink hash_census_sink(hash_census *c);

/** CPU seconds to hash every recorded length once, `reps` times over;
 *  best of `runs`. */
double hash_census_time(const hash_census *c, long reps, int runs);

#endif
