/**
 * @file gr_avro_registry.h
 * @brief The schema registration table: `registry.txt` of a schema
 *        directory (or the copy compiled into the library,
 *        gr_avro_builtin.h) and the schema text of every id it lists.
 *
 * Lines are `<id> <kind> <file>`, `#` starts a comment.  Ids are the
 * Confluent schema ids of the wire format and must match the registry the
 * producers use.  Several ids may name the same kind (older writer
 * versions); the last line of a kind is the current one, what this build
 * writes and reads into.  `<id> retired` keeps a withdrawn id taken: a
 * message with it is rejected `schema`, and no later line may reuse it
 * (an id listed twice is an error).
 */
#ifndef GR_AVRO_REGISTRY_H
#define GR_AVRO_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
        GR_SCHEMA_EVENT,
        GR_SCHEMA_DECISION,
        GR_SCHEMA_STATE,
        GR_SCHEMA_RETIRED, /**< withdrawn: no schema, never reused */
        GR_SCHEMA__CNT
} gr_schema_kind;

/** Kind names as registry.txt spells them. */
extern const char *const gr_schema_kind_names[GR_SCHEMA__CNT];

typedef struct gr_avro_schema_entry {
        uint32_t id;
        gr_schema_kind kind;
        char *text; /**< schema JSON, NUL-terminated (owned); NULL when
                         retired */
        size_t len;
} gr_avro_schema_entry;

typedef struct gr_avro_registry {
        gr_avro_schema_entry *e;
        size_t n;
} gr_avro_registry;

/**
 * @brief Load the table (r zeroed by the caller).
 * @param dir directory of registry.txt and the files it names (relative to
 *        it, or absolute); NULL: the built-in copy.
 * @returns 0, or -1 with errstr filled (r holds what was read; free it).
 */
int gr_avro_registry_load(gr_avro_registry *r, const char *dir,
                          char *errstr, size_t errstr_size);

void gr_avro_registry_free(gr_avro_registry *r);

/** The entry of schema id `id`, or NULL. */
const gr_avro_schema_entry *gr_avro_registry_get(const gr_avro_registry *r,
                                                 uint32_t id);

/** The current (last listed) schema of a kind, or NULL. */
const gr_avro_schema_entry *gr_avro_registry_current(const gr_avro_registry *r,
                                                     gr_schema_kind kind);

#endif /* GR_AVRO_REGISTRY_H */
