/**
 * @file gr_avro_event.h
 * @brief Avro codecs: lifecycle events in and out (LifecycleEvent,
 *        schemas/lifecycle_event.avsc; gr_avro_event.c) and decisions out
 *        (Decision, schemas/decision.avsc; gr_avro_decision.c).  No framing
 *        here: see gr_codec.h for the Confluent and single-object wire
 *        formats.
 *
 * Everything that depends on a schema is built once, when the codec is
 * created or a writer schema is added: a field map of each writer schema
 * (gr_avro_fieldmap.h), the compiled decision writer.  Per message there is
 * no schema lookup, no avro-c value and no allocation on the read path.
 *
 * Decoding: the bytes are read straight from the binary encoding through
 * the writer's field map into the gr_event setters (gr_avro_desc_read()),
 * and the event goes to gr_event_validate(), so Avro and JSON input are
 * judged by the same code.  Every datum is held to the bounds and validity
 * check of gr_avro_scan.h, in one of two ways, decided once per writer
 * schema: when the read itself checks all the scan does (a "one-pass"
 * writer: its map skips no value unread, gr_avro_desc_read_is_strict()),
 * the bytes are read directly and scanned only when the read refuses
 * them, so that the scan words the reject of bad bytes; otherwise they are
 * scanned before anything reads them.  Either way the result, the reject reason
 * and detail and what ev holds after a reject are those of scanning first
 * and then reading.  The body union's branch must be the record of
 * the envelope's `type` (`schema` otherwise; record names:
 * schemas/README.md).
 *
 * Schema evolution: a writer schema must resolve to the codec's own (the
 * reader) — checked once with avro-c's resolved writer against a projection
 * of the reader schema onto the writer's fields (avro-c 1.11.1 cannot fill
 * missing fields from defaults itself; gr_avro_resolve.h).  Reading then
 * follows the writer schema: fields the reader's record lacks are skipped,
 * reader fields the writer lacks get their defaults.
 *
 * Encoding (events) writes with the reader schema on avro-c's value API.
 * A body field that SPEC does not list for the event's type has no place in
 * its body record and is not written; fields of the schema the codec does not know (added by a later
 * schema version) are written with their defaults.
 *
 * Not thread-safe: one codec per thread.
 */
#ifndef GR_AVRO_EVENT_H
#define GR_AVRO_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_event.h"
#include "gr_fsm.h"

/** Event codec: one reader schema, any number of writer schemas. */
typedef struct gr_avro_event_codec gr_avro_event_codec;

/**
 * @brief Create an event codec whose own (reader and write) schema is the
 *        given LifecycleEvent schema text (borrowed).  The schema itself is
 *        writer 0.
 * @returns the codec (caller destroys), or NULL with errstr filled.
 */
gr_avro_event_codec *gr_avro_event_codec_new(const char *schema_json,
                                             size_t len, char *errstr,
                                             size_t errstr_size);

/** @brief Free the codec; NULL is a no-op. */
void gr_avro_event_codec_destroy(gr_avro_event_codec *c);

/**
 * @brief Register a writer schema (text borrowed) that input may use.
 *        A schema with the same fingerprint as one already known returns
 *        that writer.
 * @returns the writer handle (>= 0), or -1 with errstr filled when the
 *          schema is invalid or cannot be resolved to the reader schema.
 */
int gr_avro_event_writer_add(gr_avro_event_codec *c, const char *schema_json,
                             size_t len, char *errstr, size_t errstr_size);

/** @brief Number of writer handles (0 .. n-1 are valid). */
int gr_avro_event_writer_count(const gr_avro_event_codec *c);

/** @brief CRC-64-AVRO fingerprint of a writer schema's canonical form. */
uint64_t gr_avro_event_writer_fingerprint(const gr_avro_event_codec *c,
                                          int writer);

/** @brief Writer handle with this fingerprint, or -1.  Also matches the
 *         fingerprint python-avro 1.11 computes for schemas with logical
 *         types (GR_AVRO_PCF_PRIMITIVE_OBJECTS), so its single-object
 *         messages are recognised. */
int gr_avro_event_writer_find(const gr_avro_event_codec *c, uint64_t fp);

/** @brief 1 when `writer`'s data is read without a scan first (see above),
 *         0 when it is scanned, then read, or the handle is unknown. */
int gr_avro_event_writer_one_pass(const gr_avro_event_codec *c,
                                  int writer);

/**
 * @brief With on = 1, decode every writer by scanning, then reading, as
 *        writers that are not one-pass are; 0 (the default) restores the
 *        one-pass read.  Results are the same either way; this exists so
 *        tests and the fuzzer can hold the two against each other.
 */
void gr_avro_event_codec_two_pass(gr_avro_event_codec *c, int on);

/**
 * @brief Decode one bare Avro datum (no framing) written with `writer`,
 *        then validate it.
 * @param buf borrowed.
 * @param ev  filled in place (gr_event_reset() first).
 * @returns 0 when ev is ready for the FSM; -1 with err filled:
 *          `too_large`, `invalid_avro` (bytes that are not a datum of the
 *          writer schema), `schema` (body branch disagrees with type, an
 *          unknown writer handle, values the setters refuse), or what
 *          gr_event_validate() reports.  event_id and job_id are set when
 *          they were read.
 */
int gr_avro_event_decode(gr_avro_event_codec *c, int writer, const void *buf,
                         size_t len, gr_event *ev, gr_err *err);

/**
 * @brief Append the bare Avro datum (reader schema) of ev to out.
 * @returns 0, or -1 with err filled (`missing_field` when the schema needs
 *          a field ev lacks, `schema` when a value has no Avro spelling,
 *          `too_large`).
 */
int gr_avro_event_encode(gr_avro_event_codec *c, const gr_event *ev,
                         gr_buf *out, gr_err *err);

/** Decision encoder (Decision schema). */
typedef struct gr_avro_decision_codec gr_avro_decision_codec;

/**
 * @brief Create a decision encoder for the given Decision schema (text
 *        borrowed).  Every field of the schema must be one the encoder
 *        knows (docs/SPEC.md §6 names) or have a default.
 * @returns the encoder (caller destroys), or NULL with errstr filled.
 */
gr_avro_decision_codec *gr_avro_decision_codec_new(const char *schema_json,
                                                   size_t len, char *errstr,
                                                   size_t errstr_size);

/** @brief Free the encoder; NULL is a no-op. */
void gr_avro_decision_codec_destroy(gr_avro_decision_codec *c);

/** @brief Fingerprint of the Decision schema's canonical form. */
uint64_t gr_avro_decision_fingerprint(const gr_avro_decision_codec *c);

/**
 * @brief Append the bare Avro datum of a decision to out.
 * @param d        borrowed.
 * @param sig_b64  processor signature or NULL (written as null).
 * @param key_id   processor key id or NULL.
 * @returns 0, or -1 with err filled.
 */
int gr_avro_decision_encode(gr_avro_decision_codec *c, const gr_decision *d,
                            const char *sig_b64, const char *key_id,
                            gr_buf *out, gr_err *err);

#endif /* GR_AVRO_EVENT_H */
