/**
 * @file gr_avro_fieldmap.h
 * @brief The field map between a LifecycleEvent Avro schema and gr_event
 *        (internal to schemas/): built once per schema, then used to fill
 *        a gr_event from an avro-c value (decode) and an avro-c value from a
 *        gr_event (encode).
 *
 * Record fields map to gr_event fields by (parent, key) —
 * gr_event_field_find() — with the records `actor`, `body`, `body.price`
 * and `body.resources` as parents.  The branches of the envelope's `body`
 * union map to event types by record name (gr_avro_body_record_name()).
 * Fields of the schema the map does not know are skipped on decode and
 * written with their defaults on encode.
 */
#ifndef GR_AVRO_FIELDMAP_H
#define GR_AVRO_FIELDMAP_H

#include <avro.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gr_avro_resolve.h"
#include "gr_event.h"

typedef enum { D_SKIP, D_LEAF, D_RECORD, D_UNION } gr_avro_desc_kind;

typedef struct gr_avro_desc gr_avro_desc;
struct gr_avro_desc {
        gr_avro_desc_kind kind;
        avro_schema_t schema; /* this node's schema (borrowed; links
                                 resolved): what a skip walks */
        avro_type_t type;   /* leaf: Avro type */
        int field;          /* leaf: gr_field_t, or -1 when unmapped */
        int evtype;         /* body branch record: gr_event_type_t, or -1 */
        int is_body;        /* the envelope's body union */
        int null_branch;    /* union: index of its null branch, or -1 */
        uint64_t mask;      /* gr fields at or below this node */
        size_t n;
        gr_avro_desc *kids;         /* record fields / union branches */
        avro_schema_t enum_schema; /* leaf enum (borrowed) */
        int nsym;           /* leaf enum: number of symbols */
        int *gr2sym;        /* leaf enum: gr enum value -> symbol, -1 */
        json_t *def;        /* field default (borrowed from schema JSON) */
        size_t ndrop;       /* record: reader fields absent from writer */
        struct {
                int field;
                json_t *def; /* borrowed from the gr_avro_droplist */
        } *drop;
};

typedef struct gr_avro_build_ctx {
        const gr_avro_namemap *names;   /* JSON definitions of the schema */
        const gr_avro_droplist *drops;  /* may be NULL */
        /* Named types of the reader schema, or NULL.  When set (a map built
         * from a writer schema for gr_avro_desc_read()), a field of a
         * record the reader also has, but without that field, is skipped:
         * what the reader schema cannot hold is not read. */
        const gr_avro_schemamap *reader;
        char *errstr;
        size_t errstr_size;
} gr_avro_build_ctx;

/**
 * @brief Build the map of the value at (parent, key) with schema sc;
 *        parent -1 with key NULL is the envelope (fields at GR_P_TOP).
 * @returns 0, or -1 with bc->errstr filled.
 */
int gr_avro_desc_build(gr_avro_desc *d, avro_schema_t sc, int parent,
                       const char *key, json_t *def,
                       const gr_avro_build_ctx *bc, int depth);

void gr_avro_desc_free(gr_avro_desc *d);


/**
 * @brief Decode: read one datum of the schema the map was built from (a
 *        writer schema) straight from its binary encoding into ev, through
 *        the gr_event setters; apply the dropped fields' defaults.
 *        *body_type = the event type of the body branch read (-1 foreign).
 *        Never reads past buf.  Leaves are checked as gr_avro_scan_check()
 *        checks them (int range, enum index, boolean, UTF-8), but values
 *        skipped whole (D_SKIP, unmapped fixed) are not: unless
 *        gr_avro_desc_read_is_strict(d), the bytes must have passed the
 *        scan first.  On failure ev holds what was read until then.
 * @returns 0, or -1 with err filled (`invalid_avro`, or what a setter
 *          says).  On bytes the scan accepts, the result is the same
 *          whether or not they were scanned first.
 */
int gr_avro_desc_read(const gr_avro_desc *d, const void *buf, size_t len,
                      gr_event *ev, int *body_type, gr_err *err);

/**
 * @brief 1 when gr_avro_desc_read() of map d (built from a writer schema)
 *        succeeds only on bytes gr_avro_scan_check() of the same schema
 *        accepts: no D_SKIP node, leaves of the types read_leaf() checks
 *        fully, nesting within GR_AVRO_SCAN_DEPTH.  Such bytes need not be
 *        scanned before they are read.  Decided once per writer schema.
 */
int gr_avro_desc_read_is_strict(const gr_avro_desc *d);

/** Set field f of ev from a JSON default (null, string, number, bool). */
int gr_avro_set_from_json(gr_event *ev, int f, json_t *j, gr_err *err);

/** Encode: fill v from ev (fields in `have`), defaults for the rest. */
int gr_avro_desc_emit(const gr_avro_desc *d, avro_value_t *v,
                      const gr_event *ev, uint64_t have, gr_err *err);

/**
 * @brief Name of the body record of event type t: its name in
 *        UpperCamelCase plus "Body" ("quote_accepted" ->
 *        "QuoteAcceptedBody").  The contract with the .avsc files.
 * @returns 0, or -1 when buf is too small.
 */
int gr_avro_body_record_name(gr_event_type_t t, char *buf, size_t size);

/** Event type whose body record is named record_name (no namespace), or
 *  -1 (a foreign record). */
int gr_avro_body_evtype(const char *record_name);

#endif /* GR_AVRO_FIELDMAP_H */
