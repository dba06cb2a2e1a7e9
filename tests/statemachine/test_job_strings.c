/*
 * A job's strings (statemachine/gr_job.h): gr_job_str_set keeps them in the
 * job's arena and compacts it when full, gr_str_set gives heap copies (state
 * restore); both kinds mix in one job, attempt resets and destroy release
 * them (run under ASan/valgrind to see a leak or a bad free).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_job.h"

static void test_set_replace_clear(void **state) {
        gr_job *j = gr_job_new("job-1");
        (void)state;

        assert_non_null(j);
        assert_string_equal(j->job_id, "job-1");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, "H100"), 0);
        assert_string_equal(j->quote.gpu, "H100");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, "A100-80GB"), 0);
        assert_string_equal(j->quote.gpu, "A100-80GB");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, ""), 0);
        assert_string_equal(j->quote.gpu, "");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, NULL), 0);
        assert_null(j->quote.gpu);
        gr_job_destroy(j);
}

/* Many replacements of many fields: every field keeps its latest value
 * through compactions, and the arena does not grow without bound. */
static void test_compaction_keeps_values(void **state) {
        gr_job *j = gr_job_new("job-2");
        char *const *fields[] = {&j->quote.quote_id,
                                 &gr_job_seller_mut(j)->packet_hash,
                                 &gr_job_buyer_mut(j)->command,
                                 &j->cur.output_path, &j->cur.review_note};
        char want[5][64], v[64];
        (void)state;

        for (int round = 0; round < 200; round++) {
                for (int f = 0; f < 5; f++) {
                        snprintf(v, sizeof(v), "f%d-round-%d-%.*s", f, round,
                                 round % 30, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
                        assert_int_equal(
                            gr_job_str_set(j, (char **)fields[f], v), 0);
                        strcpy(want[f], v);
                }
                for (int f = 0; f < 5; f++)
                        assert_string_equal(*fields[f], want[f]);
        }
        /* live bytes are 5 strings of < 64: compaction keeps it small */
        assert_true(j->arena_cap < 5 * 66 * 2);
        gr_job_destroy(j);
}

/* A field set from another string of the same job, also when that forces
 * a compaction (which moves the source). */
static void test_source_inside_arena(void **state) {
        gr_job *j = gr_job_new("job-3");
        char big[200];
        (void)state;

        memset(big, 'b', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        gr_buyer_packet *bp = gr_job_buyer_mut(j);
        assert_non_null(bp);
        assert_int_equal(gr_job_str_set(j, &bp->model_hash, big), 0);
        for (int i = 0; i < 20; i++) {
                assert_int_equal(gr_job_str_set(j, &j->cur.model_hash,
                                                bp->model_hash),
                                 0);
                assert_string_equal(j->cur.model_hash, big);
                assert_int_equal(gr_job_str_set(j, &j->cur.model_hash, NULL),
                                 0);
                assert_int_equal(gr_job_str_set(j, &j->cur.command,
                                                i % 2 ? "run" : "train"),
                                 0);
        }
        assert_int_equal(
            gr_job_str_set(j, &j->cur.model_hash, bp->model_hash), 0);
        assert_string_equal(j->cur.model_hash, big);
        gr_job_destroy(j);
}

/* Heap copies (gr_str_set) and arena strings in one job: replacing either
 * with the other, attempt reset, compaction and destroy all work. */
static void test_heap_and_arena_mix(void **state) {
        gr_job *j = gr_job_new("job-4");
        (void)state;

        assert_int_equal(gr_str_set(&j->quote.region, "eu-west"), 0);
        assert_int_equal(gr_str_set(&j->cur.check, "vram"), 0);
        assert_int_equal(gr_job_str_set(j, &j->cur.worker_id, "w-1"), 0);
        /* heap -> arena and arena -> heap */
        assert_int_equal(gr_job_str_set(j, &j->quote.region, "us-east"), 0);
        assert_string_equal(j->quote.region, "us-east");
        assert_int_equal(gr_str_set(&j->cur.worker_id, "w-2"), 0);
        assert_string_equal(j->cur.worker_id, "w-2");
        /* force compactions with a heap string alive */
        for (int i = 0; i < 50; i++) {
                char v[40];
                snprintf(v, sizeof(v), "detail-%d", i);
                assert_int_equal(
                    gr_job_str_set(j, &j->cur.capacity_detail, v), 0);
        }
        assert_string_equal(j->cur.check, "vram");
        assert_string_equal(j->cur.worker_id, "w-2");
        assert_string_equal(j->quote.region, "us-east");
        assert_string_equal(j->cur.capacity_detail, "detail-49");
        assert_true(gr_job_footprint(j) > sizeof(*j));
        gr_attempt_reset(&j->cur);
        assert_null(j->cur.check);
        assert_null(j->cur.worker_id);
        assert_null(j->cur.capacity_detail);
        assert_string_equal(j->quote.region, "us-east");
        assert_int_equal(gr_job_str_set(j, &j->cur.check, "vram"), 0);
        assert_string_equal(j->cur.check, "vram");
        gr_job_destroy(j);
}

/* Party ids are job strings too: they survive compactions. */
static void test_parties_in_arena(void **state) {
        gr_job *j = gr_job_new("job-5");
        char id[40];
        (void)state;

        for (int i = 0; i < GR_JOB_PARTIES_MAX; i++) {
                snprintf(id, sizeof(id), "actor-%d-with-a-longer-name", i);
                assert_int_equal(gr_job_party_add(j, i % 2 ? GR_ROLE_BUYER
                                                           : GR_ROLE_SELLER,
                                                  id),
                                 0);
                snprintf(id, sizeof(id), "note-%d", i);
                assert_int_equal(gr_job_str_set(j, &j->cur.review_note, id),
                                 0);
        }
        assert_int_equal(j->nparties, GR_JOB_PARTIES_MAX);
        for (int i = 0; i < GR_JOB_PARTIES_MAX; i++) {
                snprintf(id, sizeof(id), "actor-%d-with-a-longer-name", i);
                assert_int_equal(
                    gr_job_is_party(j, i % 2 ? GR_ROLE_BUYER : GR_ROLE_SELLER,
                                    id),
                    1);
                assert_int_equal(
                    gr_job_is_party(j, i % 2 ? GR_ROLE_SELLER : GR_ROLE_BUYER,
                                    id),
                    0);
        }
        /* in the order recorded, through the compactions above */
        for (int i = 0; i < GR_JOB_PARTIES_MAX; i++) {
                gr_role_t role = GR_ROLE_MARKETPLACE;
                snprintf(id, sizeof(id), "actor-%d-with-a-longer-name", i);
                assert_string_equal(gr_job_party(j, i, &role), id);
                assert_int_equal(role,
                                 i % 2 ? GR_ROLE_BUYER : GR_ROLE_SELLER);
        }
        {
                gr_role_t role;
                assert_null(gr_job_party(j, GR_JOB_PARTIES_MAX, &role));
                assert_null(gr_job_party(j, -1, &role));
        }
        /* a full list ignores a new party */
        assert_int_equal(gr_job_party_add(j, GR_ROLE_BUYER, "one-too-many"), 0);
        assert_int_equal(j->nparties, GR_JOB_PARTIES_MAX);
        assert_int_equal(gr_job_is_party(j, GR_ROLE_BUYER, "one-too-many"), 0);
        assert_string_equal(j->cur.review_note, "note-15");
        gr_job_destroy(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_set_replace_clear),
            cmocka_unit_test(test_compaction_keeps_values),
            cmocka_unit_test(test_source_inside_arena),
            cmocka_unit_test(test_heap_and_arena_mix),
            cmocka_unit_test(test_parties_in_arena),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
