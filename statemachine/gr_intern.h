/**
 * @file gr_intern.h
 * @brief Process-wide table of shared, immutable job strings.
 *
 * Some job fields take few distinct values across all jobs (GPU models,
 * regions, driver families, currencies, check names, worker statuses,
 * container images, commands, stderr classes, evaluation rules): a job
 * points at one shared copy instead of keeping its own (gr_job.c decides
 * which fields).  The table only grows, is bounded (entries, bytes, string
 * length, probes per lookup), and answers NULL when a value does not fit:
 * the caller keeps its own copy then, so a flood of distinct values costs
 * only the bound, never correctness.  Safe from any number of threads
 * without a lock (entries are published with compare-and-swap).
 *
 * Each shared string is preceded by the tag byte GR_INTERN_TAG, as every
 * job string is preceded by its kind (gr_job.c); it is never freed.
 */
#ifndef GR_INTERN_H
#define GR_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define GR_INTERN_TAG 'I'
#define GR_INTERN_MAX_LEN 128     /**< longer values are not shared */
#define GR_INTERN_MAX_ENTRIES 8192 /**< distinct values kept at most */

/** @returns the shared copy of s[0..n) (NUL-terminated, s[-1] ==
 *  GR_INTERN_TAG), or NULL when it is not shared (too long, contains a
 *  NUL, the table is full, or out of memory). */
const char *gr_intern(const char *s, size_t n);

/** A shared value as a 32-bit reference: GR_INTERN_REF | its slot (what a
 *  job's string handle holds, gr_job.h). */
#define GR_INTERN_REF 0x80000000u

/** gr_intern(), answered as a reference: @returns 0 when not shared. */
uint32_t gr_intern_ref(const char *s, size_t n);

/** @returns the value of a reference gr_intern_ref() returned. */
const char *gr_intern_at(uint32_t ref);

/** Entries and bytes (strings with their tag and NUL) held. */
void gr_intern_stats(size_t *entries, size_t *bytes);

#endif
