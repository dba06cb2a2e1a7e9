/* The schema registration table: registry.txt and the .avsc files it
 * names (see gr_avro_registry.h). */
#include "gr_avro_registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_builtin.h"

const char *const gr_schema_kind_names[GR_SCHEMA__CNT] = {
    "event", "decision", "state", "retired"};

#define SCHEMA_FILE_MAX (1024 * 1024)

/* A schema file: from the directory, or the built-in copy. */
static char *load_file(const char *dir, const char *name, size_t *len,
                       char *errstr, size_t errstr_size) {
        char path[4096];
        FILE *f;
        char *buf;
        size_t n;

        if (!dir) {
                for (size_t i = 0; i < gr_avro_builtins_cnt; i++)
                        if (strcmp(gr_avro_builtins[i].name, name) == 0) {
                                if (!(buf = malloc(gr_avro_builtins[i].len + 1)))
                                        break;
                                memcpy(buf, gr_avro_builtins[i].text,
                                       gr_avro_builtins[i].len + 1);
                                *len = gr_avro_builtins[i].len;
                                return buf;
                        }
                snprintf(errstr, errstr_size, "no built-in schema file %s",
                         name);
                return NULL;
        }
        snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir,
                 name[0] == '/' ? "" : "/", name);
        if (!(f = fopen(path, "rb"))) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return NULL;
        }
        if (!(buf = malloc(SCHEMA_FILE_MAX + 1))) {
                fclose(f);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        n = fread(buf, 1, SCHEMA_FILE_MAX + 1, f);
        fclose(f);
        if (n > SCHEMA_FILE_MAX) {
                free(buf);
                snprintf(errstr, errstr_size, "%s: larger than %d bytes", path,
                         SCHEMA_FILE_MAX);
                return NULL;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* registry.txt: "<id> <kind> <file>" or "<id> retired" lines, '#'
 * comments. */
int gr_avro_registry_load(gr_avro_registry *c, const char *dir,
                          char *errstr, size_t errstr_size) {
        size_t len;
        char *text = load_file(dir, "registry.txt", &len, errstr, errstr_size);
        char *line, *save = NULL;
        int lineno = 0;

        if (!text)
                return -1;
        for (line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char kind[32], file[1024];
                unsigned long id = 0;
                int k = -1, nf;
                gr_avro_schema_entry *e;
                void *p;

                lineno++;
                while (*line == ' ' || *line == '\t')
                        line++;
                if (!*line || *line == '#' || *line == '\r')
                        continue;
                nf = sscanf(line, "%lu %31s %1023s", &id, kind, file);
                for (int i = 0; nf >= 2 && i < GR_SCHEMA__CNT; i++)
                        if (strcmp(kind, gr_schema_kind_names[i]) == 0)
                                k = i;
                if (id > UINT32_MAX ||
                    !(nf == 3 || (nf == 2 && k == GR_SCHEMA_RETIRED))) {
                        snprintf(errstr, errstr_size,
                                 "registry.txt line %d: want <id> <kind> "
                                 "<file> or <id> retired",
                                 lineno);
                        goto err;
                }
                if (k < 0) {
                        snprintf(errstr, errstr_size,
                                 "registry.txt line %d: unknown kind %s",
                                 lineno, kind);
                        goto err;
                }
                for (size_t i = 0; i < c->n; i++)
                        if (c->e[i].id == id) {
                                snprintf(errstr, errstr_size,
                                         "registry.txt line %d: id %lu "
                                         "listed twice",
                                         lineno, id);
                                goto err;
                        }
                if (!(p = realloc(c->e, (c->n + 1) * sizeof(*c->e))))
                        goto oom;
                c->e = p;
                e = &c->e[c->n];
                memset(e, 0, sizeof(*e));
                e->id = (uint32_t)id;
                e->kind = (gr_schema_kind)k;
                if (k != GR_SCHEMA_RETIRED &&
                    !(e->text = load_file(dir, file, &e->len, errstr,
                                          errstr_size)))
                        goto err;
                c->n++;
        }
        free(text);
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory");
err:
        free(text);
        return -1;
}

void gr_avro_registry_free(gr_avro_registry *r) {
        for (size_t i = 0; i < r->n; i++)
                free(r->e[i].text);
        free(r->e);
        r->e = NULL;
        r->n = 0;
}

const gr_avro_schema_entry *gr_avro_registry_get(const gr_avro_registry *r,
                                                 uint32_t id) {
        for (size_t i = 0; i < r->n; i++)
                if (r->e[i].id == id)
                        return &r->e[i];
        return NULL;
}

const gr_avro_schema_entry *gr_avro_registry_current(const gr_avro_registry *r,
                                                     gr_schema_kind kind) {
        const gr_avro_schema_entry *cur = NULL;

        for (size_t i = 0; i < r->n; i++)
                if (r->e[i].kind == kind)
                        cur = &r->e[i];
        return cur;
}
