/* job_id -> gr_job, open addressing with linear probing and tombstones. */
#include "gr_jobtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOMB ((gr_job *)(uintptr_t)1)

/* Slot s holds jobs[s] (NULL empty, TOMB removed) and, beside it in a
 * byte array, tags[s]: 8 bits of the job_id's hash that the slot's
 * position does not use, so a probe rarely has to follow the pointer and
 * strcmp a job_id that is not the one wanted.  9 bytes a slot (a slot of
 * pointer and full hash took 16: at 1M jobs, in 2^21 slots, 33.5 bytes a
 * job against 19). */
struct gr_jobtab {
        gr_job **jobs;
        uint8_t *tags; /* in the same allocation, after jobs */
        size_t cap;    /* power of two */
        size_t count;  /* live jobs */
        size_t used;   /* live + tombstones */
};

static uint8_t tag_of(uint64_t h) { return (uint8_t)(h >> 56); }

/* jobs and tags of ncap slots, zeroed; @returns 0 or -1. */
static int slots_new(gr_job ***jobs, uint8_t **tags, size_t ncap) {
        gr_job **j = calloc(ncap, sizeof(*j) + 1);
        if (!j)
                return -1;
        *jobs = j;
        *tags = (uint8_t *)(j + ncap);
        return 0;
}

/* FNV-1a: the table is private to one process, so its hash never needs to
 * agree with anything else. */
static uint64_t hash_str(const char *s) {
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

gr_jobtab *gr_jobtab_new(void) {
        gr_jobtab *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->cap = 64;
        if (slots_new(&t->jobs, &t->tags, t->cap) == -1) {
                free(t);
                return NULL;
        }
        return t;
}

void gr_jobtab_destroy(gr_jobtab *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->cap; i++)
                if (t->jobs[i] && t->jobs[i] != TOMB)
                        gr_job_destroy(t->jobs[i]);
        free(t->jobs);
        free(t);
}

static int rehash(gr_jobtab *t, size_t ncap) {
        gr_job **nj;
        uint8_t *nt;

        if (slots_new(&nj, &nt, ncap) == -1)
                return -1;
        for (size_t i = 0; i < t->cap; i++) {
                gr_job *j = t->jobs[i];
                uint64_t h;
                size_t s;
                if (!j || j == TOMB)
                        continue;
                h = hash_str(j->job_id);
                for (s = h & (ncap - 1); nj[s]; s = (s + 1) & (ncap - 1))
                        ;
                nj[s] = j;
                nt[s] = tag_of(h);
        }
        free(t->jobs);
        t->jobs = nj;
        t->tags = nt;
        t->cap = ncap;
        t->used = t->count;
        return 0;
}

/* Slot holding job_id, or (when absent) the slot to insert into. */
static size_t find(const gr_jobtab *t, const char *job_id, uint64_t h,
                   int *found) {
        size_t s = h & (t->cap - 1);
        size_t tomb = SIZE_MAX;
        const uint8_t tag = tag_of(h);
        for (;; s = (s + 1) & (t->cap - 1)) {
                gr_job *j = t->jobs[s];
                if (!j) {
                        *found = 0;
                        return tomb != SIZE_MAX ? tomb : s;
                }
                if (j == TOMB) {
                        if (tomb == SIZE_MAX)
                                tomb = s;
                } else if (t->tags[s] == tag && !strcmp(j->job_id, job_id)) {
                        *found = 1;
                        return s;
                }
        }
}

static int reserve(gr_jobtab *t) {
        if ((t->used + 1) * 4 <= t->cap * 3)
                return 0;
        return rehash(t, t->count * 2 + 2 > t->cap / 2 ? t->cap * 2 : t->cap);
}

gr_job *gr_jobtab_get(gr_jobtab *t, const char *job_id, int create) {
        uint64_t h = hash_str(job_id);
        int found;
        size_t s = find(t, job_id, h, &found);
        gr_job *j;

        if (found)
                return t->jobs[s];
        if (!create || reserve(t) == -1)
                return NULL;
        s = find(t, job_id, h, &found);
        if (!(j = gr_job_new(job_id)))
                return NULL;
        if (t->jobs[s] != TOMB)
                t->used++;
        t->jobs[s] = j;
        t->tags[s] = tag_of(h);
        t->count++;
        return j;
}

int gr_jobtab_put(gr_jobtab *t, gr_job *job) {
        uint64_t h = hash_str(job->job_id);
        int found;
        size_t s;

        if (reserve(t) == -1)
                return -1;
        s = find(t, job->job_id, h, &found);
        if (found) {
                gr_job_destroy(t->jobs[s]);
                t->jobs[s] = job;
                return 0;
        }
        if (t->jobs[s] != TOMB)
                t->used++;
        t->jobs[s] = job;
        t->tags[s] = tag_of(h);
        t->count++;
        return 0;
}

int gr_jobtab_remove(gr_jobtab *t, const char *job_id) {
        int found;
        size_t s = find(t, job_id, hash_str(job_id), &found);
        if (!found)
                return 0;
        gr_job_destroy(t->jobs[s]);
        t->jobs[s] = TOMB;
        t->count--;
        return 1;
}

size_t gr_jobtab_count(const gr_jobtab *t) {
        return t->count;
}

gr_job *gr_jobtab_next(const gr_jobtab *t, size_t *iter) {
        for (; *iter < t->cap; (*iter)++) {
                gr_job *j = t->jobs[*iter];
                if (j && j != TOMB) {
                        (*iter)++;
                        return j;
                }
        }
        return NULL;
}

static int cmp_job(const void *a, const void *b) {
        return strcmp((*(gr_job *const *)a)->job_id,
                      (*(gr_job *const *)b)->job_id);
}

gr_job **gr_jobtab_sorted(const gr_jobtab *t, size_t *n) {
        gr_job **v;
        size_t k = 0;

        *n = 0;
        if (!t->count || !(v = malloc(t->count * sizeof(*v))))
                return NULL;
        for (size_t i = 0; i < t->cap; i++)
                if (t->jobs[i] && t->jobs[i] != TOMB)
                        v[k++] = t->jobs[i];
        qsort(v, k, sizeof(*v), cmp_job);
        *n = k;
        return v;
}
