/**
 * @file gr_avro_pcf.h
 * @brief Avro Parsing Canonical Form of a schema and its CRC-64-AVRO
 *        (64-bit Rabin) fingerprint, as the Avro specification defines them
 *        ("Schema Resolution" / "Parsing Canonical Form for Schemas").
 *
 * avro-c 1.11.1 has neither; single-object encoding (`C3 01` + fingerprint)
 * needs both.  Checked against the Avro project's own cases
 * (test-vectors/avro-schema-tests.txt) by tests/schemas/test_avro_pcf.c.
 */
#ifndef GR_AVRO_PCF_H
#define GR_AVRO_PCF_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"

/**
 * @brief Append the Parsing Canonical Form of a schema to out.
 *
 * Applies PRIMITIVES, FULLNAMES, STRIP, ORDER, STRINGS, INTEGERS and
 * WHITESPACE: primitives in their simple form, every name full, only
 * name/type/fields/symbols/items/values/size kept, in that order, no
 * whitespace.  A named type is written in full where it is defined and as
 * its full name elsewhere.
 *
 * @param json  schema text (borrowed), need not be NUL-terminated.
 * @param out   appended to; check out->oom.
 * @returns 0, or -1 with errstr filled when the text is not JSON or not a
 *          schema (a record without name or fields, ...).
 */
int gr_avro_pcf_write(const char *json, size_t len, gr_buf *out, char *errstr,
                      size_t errstr_size);

/**
 * Flags for gr_avro_pcf_write_flags().  GR_AVRO_PCF_PRIMITIVE_OBJECTS
 * writes a primitive given as an object with other attributes (a logical
 * type: {"type":"long","logicalType":"timestamp-millis"}) as
 * {"type":"long"} instead of "long".  That is not the specification's form
 * (Java, and the published vectors, strip it to "long"), but it is what
 * python-avro 1.11 computes, so fingerprints from such producers can be
 * recognised as aliases (the divergence is AVRO-4004's subject).
 */
#define GR_AVRO_PCF_PRIMITIVE_OBJECTS 1

/** @brief gr_avro_pcf_write() with flags (0 = the specification's form). */
int gr_avro_pcf_write_flags(const char *json, size_t len, int flags,
                            gr_buf *out, char *errstr, size_t errstr_size);

/** @brief Fingerprint of the form gr_avro_pcf_write_flags() gives. */
int gr_avro_fingerprint_compute_flags(const char *json, size_t len, int flags,
                                      uint64_t *fp, char *errstr,
                                      size_t errstr_size);

/** @brief CRC-64-AVRO of n bytes (the fingerprint of canonical text). */
uint64_t gr_avro_crc64_compute(const void *p, size_t n);

/**
 * @brief Fingerprint of a schema: CRC-64-AVRO of its canonical form.
 * @returns 0, or -1 with errstr filled (see gr_avro_pcf_write()).
 */
int gr_avro_fingerprint_compute(const char *json, size_t len, uint64_t *fp,
                                char *errstr, size_t errstr_size);

#endif /* GR_AVRO_PCF_H */
