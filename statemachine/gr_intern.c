/* The shared string table (gr_intern.h): open addressing over a fixed
 * array of atomic pointers, twice as many slots as entries allowed.  A
 * lookup hashes, then probes at most MAX_PROBES slots; an empty slot is
 * claimed with compare-and-swap, so two threads adding the same value
 * end with one entry (the loser frees its copy and takes the winner's). */
#include "gr_intern.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * GR_INTERN_MAX_ENTRIES) /* a power of two */
#define MAX_PROBES 32

static _Atomic(char *) slots[SLOTS];
static atomic_size_t n_entries, n_bytes;

/* FNV-1a: values are short and the probe bound caps what a crafted
 * collision can cost. */
static uint64_t hash(const char *s, size_t n) {
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ull;
        }
        return h;
}

/* e is a NUL-terminated entry, s[0..n) holds no NUL: strncmp stops at
 * e's end, so a shorter entry is never read past. */
static int same(const char *e, const char *s, size_t n) {
        return !strncmp(e, s, n) && e[n] == '\0';
}

/* The slot holding s[0..n) (added when absent), or -1. */
static long intern_slot(const char *s, size_t n) {
        uint64_t h;
        char *mine = NULL;

        if (n > GR_INTERN_MAX_LEN || memchr(s, '\0', n))
                return -1;
        h = hash(s, n);
        for (size_t i = 0; i < MAX_PROBES; i++) {
                size_t at = (h + i) & (SLOTS - 1);
                _Atomic(char *) *slot = &slots[at];
                char *e = atomic_load_explicit(slot, memory_order_acquire);

                if (!e) {
                        if (!mine) {
                                if (atomic_fetch_add(&n_entries, 1) >=
                                    GR_INTERN_MAX_ENTRIES) {
                                        atomic_fetch_sub(&n_entries, 1);
                                        return -1;
                                }
                                if (!(mine = malloc(n + 2))) {
                                        atomic_fetch_sub(&n_entries, 1);
                                        return -1;
                                }
                                mine[0] = GR_INTERN_TAG;
                                memcpy(mine + 1, s, n);
                                mine[n + 1] = '\0';
                        }
                        if (atomic_compare_exchange_strong_explicit(
                                slot, &e, mine, memory_order_acq_rel,
                                memory_order_acquire)) {
                                atomic_fetch_add(&n_bytes, n + 2);
                                return (long)at;
                        }
                        /* another thread took the slot: e is its entry */
                }
                if (same(e + 1, s, n)) {
                        if (mine) {
                                free(mine);
                                atomic_fetch_sub(&n_entries, 1);
                        }
                        return (long)at;
                }
        }
        if (mine) {
                free(mine);
                atomic_fetch_sub(&n_entries, 1);
        }
        return -1;
}

const char *gr_intern(const char *s, size_t n) {
        long at = intern_slot(s, n);
        return at < 0 ? NULL : gr_intern_at(GR_INTERN_REF | (uint32_t)at);
}

uint32_t gr_intern_ref(const char *s, size_t n) {
        long at = intern_slot(s, n);
        return at < 0 ? 0 : GR_INTERN_REF | (uint32_t)at;
}

/* A slot, once filled, never changes. */
const char *gr_intern_at(uint32_t ref) {
        return atomic_load_explicit(&slots[(ref & ~GR_INTERN_REF) &
                                           (SLOTS - 1)],
                                    memory_order_acquire) +
               1;
}

void gr_intern_stats(size_t *entries, size_t *bytes) {
        *entries = atomic_load(&n_entries);
        *bytes = atomic_load(&n_bytes);
}
