/* gr_avro_registry: registry.txt of schemas/ and of the built-in copy
 * list the same ids and texts; every id resolves to its kind (3 and 4
 * retired, without a schema); the current schema of each kind is its last
 * line; every malformed table is refused with the line and the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_file.h"

#include "gr_avro_registry.h"

/* schemas/registry.txt as this build ships it. */
static const struct {
        uint32_t id;
        gr_schema_kind kind;
        const char *file;
} shipped[] = {
    {1, GR_SCHEMA_EVENT, "lifecycle_event.v1.avsc"},
    {2, GR_SCHEMA_DECISION, "decision_v1.avsc"},
    {3, GR_SCHEMA_RETIRED, NULL},
    {4, GR_SCHEMA_RETIRED, NULL},
    {5, GR_SCHEMA_STATE, "state_record.avsc"},
    {6, GR_SCHEMA_DECISION, "decision.avsc"},
    {7, GR_SCHEMA_EVENT, "lifecycle_event.avsc"},
};
#define NSHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static void check_shipped(const gr_avro_registry *r) {
        char path[512];

        assert_int_equal(r->n, NSHIPPED);
        for (size_t i = 0; i < NSHIPPED; i++) {
                const gr_avro_schema_entry *e =
                    gr_avro_registry_get(r, shipped[i].id);
                assert_non_null(e);
                assert_int_equal(e->id, shipped[i].id);
                assert_int_equal(e->kind, shipped[i].kind);
                if (!shipped[i].file) { /* retired: no schema */
                        assert_null(e->text);
                        assert_int_equal(e->len, 0);
                        continue;
                }
                {
                        size_t len;
                        char *want;
                        snprintf(path, sizeof(path), "%s/%s", GR_SCHEMAS_DIR,
                                 shipped[i].file);
                        assert_non_null(want = gr_test_slurp(path, &len));
                        assert_non_null(e->text);
                        assert_int_equal(e->len, len);
                        assert_memory_equal(e->text, want, len);
                        assert_int_equal(e->text[e->len], '\0');
                        free(want);
                }
        }
        assert_null(gr_avro_registry_get(r, 0));
        assert_null(gr_avro_registry_get(r, 8));
        assert_null(gr_avro_registry_get(r, UINT32_MAX));
        assert_int_equal(gr_avro_registry_current(r, GR_SCHEMA_EVENT)->id, 7);
        assert_int_equal(gr_avro_registry_current(r, GR_SCHEMA_DECISION)->id,
                         6);
        assert_int_equal(gr_avro_registry_current(r, GR_SCHEMA_STATE)->id, 5);
        assert_int_equal(gr_avro_registry_current(r, GR_SCHEMA_RETIRED)->id,
                         4);
}

static void test_schemas_dir(void **state) {
        gr_avro_registry r;
        char err[256] = "";

        (void)state;
        memset(&r, 0, sizeof(r));
        assert_int_equal(gr_avro_registry_load(&r, GR_SCHEMAS_DIR, err,
                                               sizeof(err)),
                         0);
        check_shipped(&r);
        gr_avro_registry_free(&r);
        assert_null(r.e);
        assert_int_equal(r.n, 0);
        gr_avro_registry_free(&r); /* twice is harmless */
}

/* The copy compiled into the library is the shipped directory. */
static void test_builtin(void **state) {
        gr_avro_registry r;
        char err[256] = "";

        (void)state;
        memset(&r, 0, sizeof(r));
        assert_int_equal(gr_avro_registry_load(&r, NULL, err, sizeof(err)), 0);
        check_shipped(&r);
        gr_avro_registry_free(&r);
}

static void test_kind_names(void **state) {
        (void)state;
        assert_string_equal(gr_schema_kind_names[GR_SCHEMA_EVENT], "event");
        assert_string_equal(gr_schema_kind_names[GR_SCHEMA_DECISION],
                            "decision");
        assert_string_equal(gr_schema_kind_names[GR_SCHEMA_STATE], "state");
        assert_string_equal(gr_schema_kind_names[GR_SCHEMA_RETIRED],
                            "retired");
}

static char tmpdir[64];

static int mkdir_tmp(void **state) {
        (void)state;
        strcpy(tmpdir, "/tmp/gr_registry_XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_tmp(void **state) {
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        assert_non_null(f = fopen(path, "wb"));
        fputs(text, f);
        fclose(f);
}

/* Load tmpdir's registry.txt: 0, or -1 with an error containing want. */
static int load(const char *table, const char *want, gr_avro_registry *r) {
        char err[256] = "";
        int rc;

        put("registry.txt", table);
        memset(r, 0, sizeof(*r));
        rc = gr_avro_registry_load(r, tmpdir, err, sizeof(err));
        if (want) {
                assert_int_equal(rc, -1);
                if (!strstr(err, want))
                        fail_msg("table \"%s\": error \"%s\" lacks \"%s\"",
                                 table, err, want);
                gr_avro_registry_free(r);
        }
        return rc;
}

/* Comments, blank and indented lines, CRLF ends, absolute paths, several
 * ids of a kind (the last is current). */
static void test_layout(void **state) {
        gr_avro_registry r;
        char table[512];

        (void)state;
        put("a.avsc", "\"int\"");
        put("b.avsc", "\"long\"");
        snprintf(table, sizeof(table),
                 "# comment\n\n   \t\n\r\n  10 event a.avsc\r\n"
                 "\t11 retired\n12 event %s/b.avsc # trailing words\n"
                 "4294967295 state a.avsc\n",
                 tmpdir);
        assert_int_equal(load(table, NULL, &r), 0);
        assert_int_equal(r.n, 4);
        assert_string_equal(gr_avro_registry_get(&r, 10)->text, "\"int\"");
        assert_null(gr_avro_registry_get(&r, 11)->text);
        assert_string_equal(gr_avro_registry_get(&r, 12)->text, "\"long\"");
        assert_int_equal(gr_avro_registry_get(&r, UINT32_MAX)->kind,
                         GR_SCHEMA_STATE);
        assert_int_equal(gr_avro_registry_current(&r, GR_SCHEMA_EVENT)->id,
                         12);
        assert_null(gr_avro_registry_current(&r, GR_SCHEMA_DECISION));
        gr_avro_registry_free(&r);

        assert_int_equal(load("# nothing\n", NULL, &r), 0);
        assert_int_equal(r.n, 0);
        assert_null(gr_avro_registry_get(&r, 1));
        assert_null(gr_avro_registry_current(&r, GR_SCHEMA_EVENT));
        gr_avro_registry_free(&r);
}

static void test_refusals(void **state) {
        gr_avro_registry r;
        char big[128];

        (void)state;
        put("a.avsc", "\"int\"");
        load("1 event\n", "registry.txt line 1: want <id> <kind> <file> or "
                          "<id> retired", &r);
        load("1\n", "line 1: want", &r);
        load("# c\n1 event a.avsc\nevent a.avsc\n", "line 3: want", &r);
        load("x1 event a.avsc\n", "line 1: want", &r);
        load("4294967296 event a.avsc\n", "line 1: want", &r);
        load("-1 event a.avsc\n", "line 1: want", &r);
        load("1 bogus\n", "line 1: want", &r);
        load("1 bogus a.avsc\n", "registry.txt line 1: unknown kind bogus",
             &r);
        load("1 Event a.avsc\n", "unknown kind Event", &r);
        load("1 event a.avsc\n1 state a.avsc\n",
             "registry.txt line 2: id 1 listed twice", &r);
        load("3 retired\n3 event a.avsc\n", "line 2: id 3 listed twice", &r);
        load("1 event missing.avsc\n", "missing.avsc: No such file", &r);
        load("1 event /nonexistent/x.avsc\n", "/nonexistent/x.avsc", &r);
        /* a schema file over 1 MiB */
        {
                char path[256];
                FILE *f;
                snprintf(path, sizeof(path), "%s/big.avsc", tmpdir);
                assert_non_null(f = fopen(path, "wb"));
                for (int i = 0; i < (1 << 20) + 1; i++)
                        fputc(' ', f);
                fclose(f);
        }
        load("1 event big.avsc\n", "big.avsc: larger than 1048576 bytes", &r);
        snprintf(big, sizeof(big), "%s/nowhere", tmpdir);
        {
                char err[256] = "";
                memset(&r, 0, sizeof(r));
                assert_int_equal(gr_avro_registry_load(&r, big, err,
                                                       sizeof(err)),
                                 -1);
                assert_non_null(strstr(err, "nowhere/registry.txt"));
                gr_avro_registry_free(&r);
        }
}

/* What was read before a refusal is kept for the caller to free. */
static void test_partial_on_error(void **state) {
        gr_avro_registry r;

        (void)state;
        put("a.avsc", "\"int\"");
        assert_int_equal(load("1 event a.avsc\n2 retired\n2 state a.avsc\n",
                              NULL, &r),
                         -1);
        assert_int_equal(r.n, 2);
        assert_string_equal(gr_avro_registry_get(&r, 1)->text, "\"int\"");
        gr_avro_registry_free(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_schemas_dir),
            cmocka_unit_test(test_builtin),
            cmocka_unit_test(test_kind_names),
            cmocka_unit_test_setup_teardown(test_layout, mkdir_tmp, rm_tmp),
            cmocka_unit_test_setup_teardown(test_refusals, mkdir_tmp, rm_tmp),
            cmocka_unit_test_setup_teardown(test_partial_on_error, mkdir_tmp,
                                            rm_tmp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
