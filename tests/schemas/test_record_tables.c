/*
 * The record field tables (statemachine/gr_records.h) against the Avro
 * schemas of the same records: schemas/decision.avsc and
 * schemas/ledger_row.avsc must list the same fields in the same order as
 * the tables, which are also the keys of the canonical JSON (docs/SPEC.md §6).
 *
 * Deliberate differences between a table and its schema: none today.  A
 * field added to one side only fails here; if such a difference is ever
 * wanted, list it in the `allowed` array of that record with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_file.h"

#include <avro.h>
#include <jansson.h>

#include "gr_output.h"
#include "gr_records.h"

/* A field present on one side only, on purpose. */
typedef struct allowed_diff {
        const char *name;
        const char *reason;
} allowed_diff;

static int is_allowed(const char *name, const allowed_diff *allowed,
                      size_t nallowed) {
        for (size_t i = 0; i < nallowed; i++)
                if (!strcmp(allowed[i].name, name))
                        return 1;
        return 0;
}

/*
 * Compares the record fields of an Avro schema (JSON text) with a table's
 * keys, skipping the allowed differences on either side.
 * @returns 0 when they agree, else -1 with what differs in why.
 */
static int compare(const char *json, size_t len, const char *const *keys,
                   size_t nkeys, const allowed_diff *allowed,
                   size_t nallowed, char *why, size_t why_size) {
        avro_schema_t s;
        size_t nf, i = 0, k = 0;
        int rc = -1;

        if (avro_schema_from_json_length(json, len, &s)) {
                snprintf(why, why_size, "schema: %s", avro_strerror());
                return -1;
        }
        if (!is_avro_record(s)) {
                snprintf(why, why_size, "schema is not a record");
                goto out;
        }
        nf = avro_schema_record_size(s);
        for (;;) {
                const char *f = NULL;
                while (i < nf &&
                       is_allowed(f = avro_schema_record_field_name(s, (int)i),
                                  allowed, nallowed))
                        i++;
                while (k < nkeys && is_allowed(keys[k], allowed, nallowed))
                        k++;
                if (i == nf || k == nkeys)
                        break;
                f = avro_schema_record_field_name(s, (int)i);
                if (strcmp(f, keys[k])) {
                        snprintf(why, why_size,
                                 "field %zu: schema has '%s', table has '%s'",
                                 i, f, keys[k]);
                        goto out;
                }
                i++, k++;
        }
        if (i < nf) {
                snprintf(why, why_size, "schema field '%s' is not in the table",
                         avro_schema_record_field_name(s, (int)i));
                goto out;
        }
        if (k < nkeys) {
                snprintf(why, why_size, "table field '%s' is not in the schema",
                         keys[k]);
                goto out;
        }
        rc = 0;
out:
        avro_schema_decref(s);
        return rc;
}

static void check_file(const char *file, const char *const *keys,
                       size_t nkeys, const allowed_diff *allowed,
                       size_t nallowed) {
        char path[1024], why[256] = "";
        size_t len = 0;
        char *json;

        snprintf(path, sizeof(path), "%s/%s", GR_SCHEMAS_DIR, file);
        json = gr_test_slurp(path, &len);
        assert_non_null(json);
        if (compare(json, len, keys, nkeys, allowed, nallowed, why,
                    sizeof(why))) {
                fprintf(stderr, "%s: %s\n", file, why);
                fail();
        }
        free(json);
}

static void decision_table_matches_avsc(void **state) {
        (void)state;
        check_file("decision.avsc", gr_decision_keys, gr_decision_nkeys, NULL,
                   0);
}

static void ledger_row_table_matches_avsc(void **state) {
        (void)state;
        check_file("ledger_row.avsc", gr_ledger_row_keys, gr_ledger_row_nkeys,
                   NULL, 0);
}

/* The comparison itself catches a reorder, a missing and an extra field,
 * and honours an allowed difference. */
#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"
#define F(n) "{\"name\":\"" n "\",\"type\":\"string\"}"

static void compare_detects_differences(void **state) {
        static const char *const keys[] = {"a", "b", "c"};
        static const allowed_diff allow_x[] = {{"x", "test"}};
        static const char same[] = REC(F("a") "," F("b") "," F("c"));
        static const char swapped[] = REC(F("a") "," F("c") "," F("b"));
        static const char missing[] = REC(F("a") "," F("b"));
        static const char extra[] = REC(F("a") "," F("b") "," F("c") "," F("x"));
        char why[256];
        (void)state;

        assert_int_equal(compare(same, sizeof(same) - 1, keys, 3, NULL, 0, why,
                                 sizeof(why)),
                         0);
        assert_int_equal(compare(swapped, sizeof(swapped) - 1, keys, 3, NULL,
                                 0, why, sizeof(why)),
                         -1);
        assert_non_null(strstr(why, "schema has 'c', table has 'b'"));
        assert_int_equal(compare(missing, sizeof(missing) - 1, keys, 3, NULL,
                                 0, why, sizeof(why)),
                         -1);
        assert_non_null(strstr(why, "'c' is not in the schema"));
        assert_int_equal(compare(extra, sizeof(extra) - 1, keys, 3, NULL, 0,
                                 why, sizeof(why)),
                         -1);
        assert_non_null(strstr(why, "'x' is not in the table"));
        assert_int_equal(compare(extra, sizeof(extra) - 1, keys, 3, allow_x, 1,
                                 why, sizeof(why)),
                         0);
}

/* The top-level keys of a rendering, in order, equal the table's. */
static void assert_keys_in_order(const gr_buf *b, const char *const *keys,
                                 size_t nkeys) {
        json_error_t err;
        json_t *o = json_loadb(b->data, b->len, JSON_PRESERVE_ORDER, &err);
        const char *k;
        json_t *v;
        size_t i = 0;

        assert_non_null(o);
        json_object_foreach(o, k, v) {
                (void)v;
                assert_true(i < nkeys);
                assert_string_equal(k, keys[i]);
                i++;
        }
        assert_int_equal(i, nkeys);
        json_decref(o);
}

static void renderings_follow_tables(void **state) {
        gr_decision d;
        gr_ledger_row r;
        gr_buf b, canon;
        (void)state;

        memset(&d, 0, sizeof(d));
        memset(d.decision_id, 'a', 64);
        memset(d.receipt_hash, 'b', 64);
        d.job_id = "job-1";
        d.attempt = 2;
        d.seq = 7;
        d.settlement = GR_SETTLE_REFUND;
        d.rule = GR_RULE_NONE;
        d.line = "job_id=job-1";
        d.policy_hash = "p";
        d.decided_at = 0;
        d.amounts.present = 1;
        memcpy(d.amounts.currency, "USD", 4);
        gr_buf_init(&b);
        gr_decision_to_json(&d, "c2ln", "k1", &b);
        assert_false(b.oom);
        assert_keys_in_order(&b, gr_decision_keys, gr_decision_nkeys);
        assert_non_null(strstr(b.data, "\"rule\":null"));
        assert_non_null(strstr(b.data, "\"key_id\":\"k1\",\"sig\":\"c2ln\"}"));

        /* Ledger row: the canonical rendering stops before row_hash; a row
         * carrying its canonical bytes renders the same as one without. */
        memset(&r, 0, sizeof(r));
        r.job_id = "job-1";
        r.attempt = 1;
        r.seq = 1;
        r.event_id = "e\"1";
        memset(r.prev_hash, '0', 64);
        memset(r.row_hash, 'f', 64);
        gr_buf_init(&canon);
        gr_ledger_row_to_json(&r, 0, &canon);
        assert_false(canon.oom);
        assert_keys_in_order(&canon, gr_ledger_row_keys,
                             gr_ledger_row_nkeys - 1);
        gr_buf_reset(&b);
        gr_ledger_row_to_json(&r, 1, &b);
        assert_keys_in_order(&b, gr_ledger_row_keys, gr_ledger_row_nkeys);
        {
                gr_buf again;
                gr_buf_init(&again);
                r.canon = canon.data;
                r.canon_len = canon.len;
                gr_ledger_row_to_json(&r, 1, &again);
                assert_int_equal(again.len, b.len);
                assert_memory_equal(again.data, b.data, b.len);
                gr_buf_reset(&again);
                gr_ledger_row_to_json(&r, 0, &again);
                assert_int_equal(again.len, canon.len);
                assert_memory_equal(again.data, canon.data, canon.len);
                gr_buf_free(&again);
        }
        gr_buf_free(&canon);
        gr_buf_free(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(decision_table_matches_avsc),
            cmocka_unit_test(ledger_row_table_matches_avsc),
            cmocka_unit_test(compare_detects_differences),
            cmocka_unit_test(renderings_follow_tables),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
