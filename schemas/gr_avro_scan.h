/**
 * @file gr_avro_scan.h
 * @brief A bounds and validity check of Avro binary data against its
 *        writer schema: what any Avro datum must pass before it is used.
 *
 * Decoders then need not re-validate; and avro-c 1.11.1, which trusts
 * lengths (a negative or huge string, bytes or block length makes it
 * attempt a matching allocation or read past the input), can be given the
 * bytes safely.  The event decoder, gr_avro_desc_read(), is memory-safe on
 * any bytes and, for writer schemas whose every value it reads itself
 * (gr_avro_desc_read_is_strict()), refuses everything the scan refuses;
 * the event codec then reads without scanning first and runs the scan only
 * to word the reject of data the read refused (gr_avro_event.h).
 *
 * The scan walks the datum exactly as a decoder would, without
 * allocating, and accepts it only when every varint is well formed and in
 * range, every length fits in the bytes that remain, every enum index and
 * union branch exists, booleans are 0 or 1, strings are valid UTF-8,
 * collections hold no more items than bytes remain, nesting stays under
 * GR_AVRO_SCAN_DEPTH and the datum ends exactly at the end of the input.
 */
#ifndef GR_AVRO_SCAN_H
#define GR_AVRO_SCAN_H

#include <stddef.h>

#include <avro.h>

#include "gr_event.h"

/** Deepest nesting of records, unions and collections walked. */
#define GR_AVRO_SCAN_DEPTH 32

/** A writer schema compiled for scanning (immutable, shareable). */
typedef struct gr_avro_scan gr_avro_scan;

/**
 * @brief Compile a schema (borrowed; not kept) for scanning.
 * @returns the program (caller destroys), or NULL with errstr filled.
 */
gr_avro_scan *gr_avro_scan_new(avro_schema_t schema, char *errstr,
                               size_t errstr_size);

/** @brief Free a program; NULL is a no-op. */
void gr_avro_scan_destroy(gr_avro_scan *s);

/**
 * @brief Check that buf holds exactly one datum of the schema.
 * @returns 0, or -1 with err filled (`invalid_avro`, detail naming the
 *          byte offset and what was wrong).
 */
int gr_avro_scan_check(const gr_avro_scan *s, const void *buf, size_t len,
                       gr_err *err);

/** 1 when the n bytes are valid UTF-8 (no overlongs, surrogates or code
 *  points beyond U+10FFFF), else 0. */
int gr_avro_utf8_valid(const void *p, size_t n);

#endif /* GR_AVRO_SCAN_H */
