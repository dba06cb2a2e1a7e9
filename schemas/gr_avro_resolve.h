/**
 * @file gr_avro_resolve.h
 * @brief Generic writer -> reader schema resolution on schema JSON and
 *        avro-c schemas, shared by the Avro codecs (internal to schemas/).
 *
 * avro-c 1.11.1's resolved writer cannot fill reader fields the writer
 * lacks from their defaults (it rejects such pairs), so a reader schema is
 * resolved against a *projection* of itself: the reader schema without the
 * record fields its writer counterpart (same full name) lacks.  The dropped
 * fields and their defaults are listed (gr_avro_droplist) so the codec can
 * apply them after reading.  Nothing here knows about gr_event.
 */
#ifndef GR_AVRO_RESOLVE_H
#define GR_AVRO_RESOLVE_H

#include <avro.h>
#include <jansson.h>
#include <stddef.h>

#include "gr_event.h"

/** Longest full name of a named schema, with its namespace. */
#define GR_AVRO_NAME_MAX 512
/** Deepest schema / default nesting the codecs walk. */
#define GR_AVRO_DEPTH_MAX 16

/* Named definitions of a schema: fullname -> JSON object (borrowed). */
typedef struct gr_avro_namemap {
        struct {
                char *name;
                json_t *def;
        } *v;
        size_t n, cap;
} gr_avro_namemap;

/* Named types of an avro-c schema: fullname -> schema (borrowed). */
typedef struct gr_avro_schemamap {
        struct {
                char name[GR_AVRO_NAME_MAX];
                avro_schema_t s;
        } *v;
        size_t n, cap;
} gr_avro_schemamap;

/* Reader fields the writer lacks: dropped from the projection, their
 * defaults applied after reading. */
typedef struct gr_avro_droplist {
        struct {
                char record[GR_AVRO_NAME_MAX];
                char *field;
                json_t *def; /* owned reference */
        } *v;
        size_t n, cap;
} gr_avro_droplist;

typedef struct gr_avro_proj_ctx {
        const gr_avro_schemamap *writer;
        gr_avro_droplist *drops;
        char *errstr;
        size_t errstr_size;
} gr_avro_proj_ctx;

/** Full name ("ns.Name") of a named avro-c schema into full
 *  (GR_AVRO_NAME_MAX bytes). */
void gr_avro_schema_fullname(avro_schema_t s, char *full);

/** Collect the named definitions of schema JSON s (namespace ns). */
int gr_avro_names_collect(json_t *s, const char *ns, gr_avro_namemap *m,
                          int depth);
json_t *gr_avro_namemap_get(const gr_avro_namemap *m, const char *name);
void gr_avro_namemap_free(gr_avro_namemap *m);

/** Collect the named types of an avro-c schema (free m->v when done). */
int gr_avro_schemas_collect(avro_schema_t s, gr_avro_schemamap *m,
                            int depth);

/** The named type of that full name, or NULL. */
avro_schema_t gr_avro_schemamap_get(const gr_avro_schemamap *m,
                                    const char *name);

void gr_avro_droplist_free(gr_avro_droplist *d);

/**
 * @brief The reader schema JSON s without the record fields its writer
 *        counterpart (pc->writer) lacks; those go to pc->drops.  A dropped
 *        field without a default is an error (pc->errstr).
 * @returns a new reference, or NULL (errstr filled, or empty: out of memory).
 */
json_t *gr_avro_project(json_t *s, const char *ns, gr_avro_proj_ctx *pc,
                        int depth);

/** Parse schema text with avro-c; -1 with errstr filled. */
int gr_avro_schema_parse(const char *json, size_t len, avro_schema_t *out,
                         char *errstr, size_t errstr_size);

/** err = `invalid_avro` "what: <avro-c's error>"; returns -1. */
int gr_avro_fail(gr_err *err, const char *what);

/** Fill v from a JSON default (the type's zero when j is NULL); a union
 *  takes its first branch, as Avro defaults do. */
int gr_avro_value_from_json(avro_value_t *v, json_t *j, int depth);

#endif /* GR_AVRO_RESOLVE_H */
