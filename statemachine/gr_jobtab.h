/**
 * @file gr_jobtab.h
 * @brief job_id -> gr_job hash table (open addressing, owns its jobs).
 */
#ifndef GR_JOBTAB_H
#define GR_JOBTAB_H

#include <stddef.h>

#include "gr_job.h"

typedef struct gr_jobtab gr_jobtab;

gr_jobtab *gr_jobtab_new(void);
/** Destroys every job in it. NULL is a no-op. */
void gr_jobtab_destroy(gr_jobtab *t);

/** @returns the job (borrowed), or NULL when absent and !create or ENOMEM. */
gr_job *gr_jobtab_get(gr_jobtab *t, const char *job_id, int create);

/** Insert a job built elsewhere (state restore); takes ownership and
 *  replaces (destroys) any job with the same id. @returns 0 or -1 ENOMEM. */
int gr_jobtab_put(gr_jobtab *t, gr_job *job);

/** Remove and destroy. @returns 1 if it was there. */
int gr_jobtab_remove(gr_jobtab *t, const char *job_id);

size_t gr_jobtab_count(const gr_jobtab *t);

/**
 * Iterate in table order: start with *iter = 0; @returns the next job or
 * NULL at the end.  The table must not change during the iteration.
 */
gr_job *gr_jobtab_next(const gr_jobtab *t, size_t *iter);

/** @returns a malloc'd array of the jobs sorted by job_id (caller frees the
 *  array, not the jobs), *n set; NULL when empty or ENOMEM. */
gr_job **gr_jobtab_sorted(const gr_jobtab *t, size_t *n);

#endif
