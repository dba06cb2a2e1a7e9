/**
 * @file gr_codec.h
 * @brief The wire seam of receiptd: recognise each message's framing
 *        (Confluent Avro, Avro single-object, or JSON), decode and validate
 *        it into a gr_event; write events and decisions in the configured
 *        wire format.
 *
 * Framing, by the first byte of the message:
 *  - `0x00`: Confluent wire format, then a 4-byte big-endian schema id,
 *    then the Avro datum.  Ids come from the registration table
 *    (`registry.txt` of the schema directory: lines `<id> <kind> <file>`);
 *    an id not in it, or of another kind than `event`, is `schema`.
 *    (An HTTP schema registry client is not built in: ids are configured.)
 *  - `0xC3 0x01`: Avro single-object encoding, then the 8-byte
 *    little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing
 *    Canonical Form, then the datum.  Unknown fingerprint: `schema`.
 *  - anything else: JSON (docs/SPEC.md §3 form, gr_json_event.h).
 *
 * Every event schema listed in the table is accepted as a writer schema
 * and resolved to the current one (the last `event` line), which is also
 * what the codec writes.  Not thread-safe: one codec per thread.
 */
#ifndef GR_CODEC_H
#define GR_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_event.h"
#include "gr_fsm.h"

typedef struct gr_codec gr_codec;

typedef enum {
        GR_WIRE_JSON,
        GR_WIRE_AVRO_CONFLUENT,
        GR_WIRE_AVRO_SINGLE,
} gr_wire_t;

/** Magic bytes of the two Avro framings. */
#define GR_CONFLUENT_MAGIC 0x00
#define GR_CONFLUENT_HEADER 5
#define GR_SINGLE_OBJECT_HEADER 10

/**
 * @brief Create a codec.
 * @param schema_dir directory holding registry.txt and the .avsc files it
 *        names (relative to the directory, or absolute); NULL uses the
 *        schemas compiled into the library (schemas/ of this source tree).
 * @returns the codec (caller destroys), or NULL with errstr filled.
 */
gr_codec *gr_codec_new(const char *schema_dir, char *errstr,
                       size_t errstr_size);

/** @brief Free the codec; NULL is a no-op. */
void gr_codec_destroy(gr_codec *c);

/**
 * @brief Recognise the framing of one message, decode and validate it.
 * @param buf borrowed.
 * @param ev  filled in place.
 * @returns 0 when ev may enter the FSM; -1 with err filled: `too_large`,
 *          `invalid_avro` (bad header or datum), `schema` (unknown schema id
 *          or fingerprint, values of the wrong type), `invalid_json`,
 *          `missing_field`, ... as the codecs and gr_event_validate() say.
 */
int gr_codec_decode(gr_codec *c, const void *buf, size_t len, gr_event *ev,
                    gr_err *err);

/** @brief Framing of the message last given to gr_codec_decode(). */
gr_wire_t gr_codec_last_wire(const gr_codec *c);

/** @brief gr_avro_event_codec_two_pass() of the Avro event codec inside:
 *         1 decodes every Avro event by scanning, then reading; 0 (the
 *         default) reads one-pass writers' data directly.  Same results;
 *         for the tests and the fuzzer that compare the two. */
void gr_codec_avro_two_pass(gr_codec *c, int on);

/**
 * @brief Append an event in the given wire format to out.
 * @param err filled on failure (may be NULL).
 * @returns 0, or -1 with out unchanged and err filled (`missing_field`,
 *          `schema`, `too_large`; out of memory is `too_large`).
 */
int gr_codec_encode_event(gr_codec *c, gr_wire_t wire, const gr_event *ev,
                          gr_buf *out, gr_err *err);

/**
 * @brief Append a decision in the given wire format to out (JSON:
 *        gr_decision_to_json()).
 * @param sig_b64, key_id  processor signature and key id, or NULL.
 * @param err filled on failure (may be NULL).
 * @returns 0, or -1 with out unchanged and err filled (`schema` when the
 *          registry lists no decision schema or a value has no spelling).
 */
int gr_codec_encode_decision(gr_codec *c, gr_wire_t wire,
                             const gr_decision *d, const char *sig_b64,
                             const char *key_id, gr_buf *out, gr_err *err);

/**
 * @brief Parse a wire format name: "json", "avro" (= Confluent),
 *        "avro-confluent", "avro-single".
 * @returns 0, or -1 when the name is unknown.
 */
int gr_wire_parse(const char *s, gr_wire_t *out);

/** @brief The name of a wire format (borrowed static string). */
const char *gr_wire_name(gr_wire_t w);

/** @brief Confluent schema id the codec writes events / decisions with. */
uint32_t gr_codec_event_schema_id(const gr_codec *c);
uint32_t gr_codec_decision_schema_id(const gr_codec *c);

#endif /* GR_CODEC_H */
