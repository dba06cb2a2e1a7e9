/*
 * The body-record naming contract between the event codec and the .avsc
 * files (schemas/README.md): the body of event type t is the record named
 * gr_avro_body_record_name(t).  Every event type must have its record in
 * each event schema this source tree ships, and every body branch of
 * those schemas must be the record of some type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gr_avro_fieldmap.h"

static const char *const event_schemas[] = {"lifecycle_event.avsc",
                                            "lifecycle_event.v1.avsc"};

/* The branches of the envelope's `body` union (borrowed from root). */
static json_t *body_union(json_t *root) {
        size_t i;
        json_t *f;

        json_array_foreach(json_object_get(root, "fields"), i, f) {
                if (strcmp(json_string_value(json_object_get(f, "name")),
                           "body") == 0)
                        return json_object_get(f, "type");
        }
        return NULL;
}

static int has_record(json_t *branches, const char *name) {
        size_t i;
        json_t *b;

        json_array_foreach(branches, i, b) {
                const char *n = json_string_value(json_object_get(b, "name"));
                if (n && strcmp(n, name) == 0)
                        return 1;
        }
        return 0;
}

static void mangling(void **state) {
        char buf[64];
        (void)state;

        assert_int_equal(gr_avro_body_record_name(GR_EVT_QUOTE_ACCEPTED, buf,
                                                  sizeof(buf)),
                         0);
        assert_string_equal(buf, "QuoteAcceptedBody");
        assert_int_equal(gr_avro_body_record_name(GR_EVT_REVIEW_DECIDED, buf,
                                                  sizeof(buf)),
                         0);
        assert_string_equal(buf, "ReviewDecidedBody");
        assert_int_equal(gr_avro_body_evtype("ReviewDecidedBody"),
                         GR_EVT_REVIEW_DECIDED);
        assert_int_equal(gr_avro_body_evtype("reviewDecidedBody"), -1);
        assert_int_equal(gr_avro_body_evtype("Price"), -1);
        /* too small a buffer is refused, not overrun */
        assert_int_equal(gr_avro_body_record_name(GR_EVT_QUOTE_ACCEPTED, buf,
                                                  8),
                         -1);
}

static void every_type_has_its_record(void **state) {
        (void)state;

        for (size_t s = 0; s < sizeof(event_schemas) / sizeof(*event_schemas);
             s++) {
                char path[1024];
                json_error_t jerr;
                json_t *root, *branches, *b;
                size_t i;

                snprintf(path, sizeof(path), "%s/%s", GR_SCHEMAS_DIR,
                         event_schemas[s]);
                root = json_load_file(path, 0, &jerr);
                if (!root)
                        fail_msg("%s: %s", path, jerr.text);
                branches = body_union(root);
                assert_true(json_is_array(branches));
                for (int t = 0; t < GR_EVT__CNT; t++) {
                        char name[64];
                        assert_int_equal(gr_avro_body_record_name(
                                             (gr_event_type_t)t, name,
                                             sizeof(name)),
                                         0);
                        if (!has_record(branches, name))
                                fail_msg("%s: event type %s has no body "
                                         "record %s",
                                         event_schemas[s],
                                         gr_event_type_t_name(
                                             (gr_event_type_t)t),
                                         name);
                }
                json_array_foreach(branches, i, b) {
                        const char *n =
                            json_string_value(json_object_get(b, "name"));
                        if (!n || gr_avro_body_evtype(n) < 0)
                                fail_msg("%s: body branch %zu (%s) is the "
                                         "record of no event type",
                                         event_schemas[s], i, n ? n : "?");
                }
                json_decref(root);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(mangling),
            cmocka_unit_test(every_type_has_its_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
