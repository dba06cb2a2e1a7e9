/**
 * @file gr_json_event.h
 * @brief JSON codec for lifecycle events (docs/SPEC.md §3): a decoder that
 *        fills a gr_event in place (plain events scanned by its own loop,
 *        everything else by yajl 2, through the same callbacks), and the
 *        canonical encoder.
 *
 * The codec deals with syntax only.  Every value is typed, spelled and
 * size-checked by the setters of gr_event.h, and the whole event by
 * gr_event_validate(), so JSON and Avro input are judged by the same code.
 *
 * Decoding rules (each failure is a reject with a SPEC reason and a detail):
 *  - input longer than GR_EVENT_WIRE_MAX bytes: `too_large`, not parsed;
 *  - invalid JSON, invalid UTF-8 (yajl validates strings; events whose
 *    strings are plain ASCII without escapes take a faster scanner of the
 *    decoder's own, with the same result: gr_json_decoder_plain()), an empty
 *    input,
 *    a truncated object or anything but whitespace after the object:
 *    `invalid_json`, detail is yajl's message and the byte offset;
 *  - top level not an object; actor/body/price/resources not an object;
 *    an object or array where a field expects a scalar; nesting deeper than
 *    GR_JSON_DEPTH_MAX: `schema`;
 *  - a number that does not fit the field: an integer literal outside
 *    int64 for an integer field, or one that overflows a double, is
 *    `schema` (never `invalid_json`: the JSON itself is well formed);
 *    a number literal longer than GR_JSON_NUM_MAX characters is `schema`;
 *  - time fields (occurred_at, window_*) must be RFC 3339 strings in JSON;
 *    a JSON number there is `schema` (the millisecond integer form is
 *    Avro's spelling, not JSON's); a time whose UTC instant falls outside
 *    years 0000-9999 (an offset can push it there) is `schema`, since
 *    RFC 3339 could not write it back;
 *  - unknown keys are ignored at every level, whatever their value
 *    (objects and arrays included, within the depth limit), so producers
 *    may add fields before consumers know them;
 *  - a duplicate key: the later value wins; a repeated actor/body/price/
 *    resources object merges into the earlier one field by field (later
 *    wins); a JSON null makes a field absent again (failure fields: null
 *    means "no failure", GR_FAIL_NONE);
 *  - when several values are wrong, the first one is reported; a later
 *    JSON syntax error takes precedence (`invalid_json`), since then the
 *    message is not an event at all.
 */
#ifndef GR_JSON_EVENT_H
#define GR_JSON_EVENT_H

#include <stddef.h>

#include "gr_buf.h"
#include "gr_event.h"

/** Deepest nesting accepted, counting the envelope object as 1. */
#define GR_JSON_DEPTH_MAX 8
/** Longest number literal accepted for a known field (characters). */
#define GR_JSON_NUM_MAX 64

/** Reusable decoder; one per thread (not thread-safe). */
typedef struct gr_json_decoder gr_json_decoder;

/**
 * @brief Create a decoder.
 * @returns the decoder (caller destroys with gr_json_decoder_destroy()),
 *          or NULL when out of memory.
 */
gr_json_decoder *gr_json_decoder_new(void);

/** @brief Free a decoder; NULL is a no-op. */
void gr_json_decoder_destroy(gr_json_decoder *d);

/**
 * @brief Decode one JSON event (one object, surrounding whitespace allowed)
 *        and run gr_event_validate() on it.
 *
 * @param buf  the encoded event, borrowed; need not be NUL-terminated.
 * @param ev   filled in place (only its present mask is reset first, not
 *             the ~8 KiB payload).
 * @param err  filled on failure.
 * @returns 0 when ev is ready for the FSM; -1 with err filled otherwise.
 *          On failure ev->event_id and ev->job_id (with their present bits)
 *          are still set when they were parsed, so the reject can name
 *          them; other fields of ev are unspecified.
 */
int gr_json_event_decode(gr_json_decoder *d, const char *buf, size_t len,
                         gr_event *ev, gr_err *err);

/**
 * @brief Switch the plain path on (the default) or off.
 *
 * Plain events (ASCII strings without escapes, JSON's usual whitespace) are
 * scanned by the decoder's own loop; anything else, and every syntax error,
 * goes to yajl from the start.  Both give the same event, the same reject
 * and the same detail for every input; off, every event goes to yajl.  For
 * tests and benchmarks that compare the two.
 */
void gr_json_decoder_plain(gr_json_decoder *d, int on);

/** @brief Events the plain path decided (accepted or rejected by a value's
 *         check) and events it handed to yajl, since the decoder was made. */
void gr_json_decoder_counts(const gr_json_decoder *d, unsigned long *plain,
                            unsigned long *given_up);

/**
 * @brief Append the canonical JSON of an event to out.
 *
 * Compact, only present fields, keys in gr_event_fields[] table order;
 * actor, body, body.price and body.resources are nested objects, each
 * written where its first present field falls in the table and omitted
 * when it has none.  decode(encode(ev)) gives back the same event and
 * encode() of that gives the same bytes.
 *
 * @param ev   borrowed.
 * @param out  appended to (not reset); check out->oom afterwards.
 */
void gr_json_event_encode(const gr_event *ev, gr_buf *out);

#endif /* GR_JSON_EVENT_H */
