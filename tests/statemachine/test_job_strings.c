/*
 * A job's strings (statemachine/gr_job.h): 32-bit handles, read with
 * gr_jstr_get/GR_JS.  gr_job_str_set keeps them in the job's arena and
 * compacts it when full; fields whose values repeat across jobs refer to
 * one shared copy (gr_intern.h), bounded, the same from any thread; both
 * kinds mix in one job through compactions, attempt resets and destroy
 * (run under ASan/valgrind to see a leak or a bad read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_intern.h"
#include "gr_job.h"

#include <pthread.h>

static void test_set_replace_clear(void **state) {
        gr_job *j = gr_job_new("job-1");
        (void)state;

        assert_non_null(j);
        assert_string_equal(j->job_id, "job-1");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, "H100"), 0);
        assert_string_equal(GR_JS(j, j->quote.gpu), "H100");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, "A100-80GB"), 0);
        assert_string_equal(GR_JS(j, j->quote.gpu), "A100-80GB");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, ""), 0);
        assert_string_equal(GR_JS(j, j->quote.gpu), "");
        assert_int_equal(gr_job_str_set(j, &j->quote.gpu, NULL), 0);
        assert_null(GR_JS(j, j->quote.gpu));
        gr_job_destroy(j);
}

/* Many replacements of many fields: every field keeps its latest value
 * through compactions, and the arena does not grow without bound. */
static void test_compaction_keeps_values(void **state) {
        gr_job *j = gr_job_new("job-2");
        gr_jstr *fields[] = {&j->quote.quote_id,
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
                            gr_job_str_set(j, fields[f], v), 0);
                        strcpy(want[f], v);
                }
                for (int f = 0; f < 5; f++)
                        assert_string_equal(GR_JS(j, *fields[f]), want[f]);
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
                                                GR_JS(j, bp->model_hash)),
                                 0);
                assert_string_equal(GR_JS(j, j->cur.model_hash), big);
                assert_int_equal(gr_job_str_set(j, &j->cur.model_hash, NULL),
                                 0);
                assert_int_equal(gr_job_str_set(j, &j->cur.command,
                                                i % 2 ? "run" : "train"),
                                 0);
        }
        assert_int_equal(
            gr_job_str_set(j, &j->cur.model_hash, GR_JS(j, bp->model_hash)), 0);
        assert_string_equal(GR_JS(j, j->cur.model_hash), big);
        gr_job_destroy(j);
}

/* Shared and arena strings in one job: replacing either with the other,
 * compactions with shared values alive, attempt reset, destroy. */
static void test_shared_and_arena_mix(void **state) {
        gr_job *j = gr_job_new("job-4");
        (void)state;

        assert_int_equal(gr_job_str_set(j, &j->quote.region, "eu-west"), 0);
        assert_true(j->quote.region & GR_JSTR_SHARED);
        assert_int_equal(gr_job_str_set(j, &j->cur.check, "vram"), 0);
        assert_int_equal(gr_job_str_set(j, &j->cur.worker_id, "w-1"), 0);
        assert_false(j->cur.worker_id & GR_JSTR_SHARED);
        /* a shared field whose value is too long to share lives in the
         * arena; then shared again */
        {
                char longv[GR_INTERN_MAX_LEN + 10];
                memset(longv, 'r', sizeof(longv) - 1);
                longv[sizeof(longv) - 1] = '\0';
                assert_int_equal(gr_job_str_set(j, &j->quote.region, longv),
                                 0);
                assert_false(j->quote.region & GR_JSTR_SHARED);
                assert_string_equal(GR_JS(j, j->quote.region), longv);
        }
        assert_int_equal(gr_job_str_set(j, &j->quote.region, "us-east"), 0);
        assert_string_equal(GR_JS(j, j->quote.region), "us-east");
        assert_int_equal(gr_job_str_set(j, &j->cur.worker_id, "w-2"), 0);
        assert_string_equal(GR_JS(j, j->cur.worker_id), "w-2");
        /* force compactions with shared and arena strings alive */
        for (int i = 0; i < 50; i++) {
                char v[40];
                snprintf(v, sizeof(v), "note-%d", i);
                assert_int_equal(gr_job_str_set(j, &j->cur.review_note, v),
                                 0);
        }
        assert_string_equal(GR_JS(j, j->cur.check), "vram");
        assert_string_equal(GR_JS(j, j->cur.worker_id), "w-2");
        assert_string_equal(GR_JS(j, j->quote.region), "us-east");
        assert_string_equal(GR_JS(j, j->cur.review_note), "note-49");
        assert_true(gr_job_footprint(j) > sizeof(*j));
        gr_attempt_reset(&j->cur);
        assert_null(GR_JS(j, j->cur.check));
        assert_null(GR_JS(j, j->cur.worker_id));
        assert_null(GR_JS(j, j->cur.review_note));
        assert_string_equal(GR_JS(j, j->quote.region), "us-east");
        assert_int_equal(gr_job_str_set(j, &j->cur.check, "vram"), 0);
        assert_string_equal(GR_JS(j, j->cur.check), "vram");
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
        assert_string_equal(GR_JS(j, j->cur.review_note), "note-15");
        gr_job_destroy(j);
}

/* Two jobs with the same GPU, image and check point at one copy; an
 * identifier does not; the shared copy outlives both jobs and costs them
 * nothing in gr_job_footprint(). */
static void test_shared_fields(void **state) {
        gr_job *a = gr_job_new("job-s1"), *b = gr_job_new("job-s2");
        size_t fa, fb;
        (void)state;

        fa = gr_job_footprint(a);
        assert_int_equal(gr_job_str_set(a, &a->quote.gpu, "H200-141GB"), 0);
        assert_int_equal(gr_job_str_set(b, &b->quote.gpu, "H200-141GB"), 0);
        assert_int_equal(a->quote.gpu, b->quote.gpu);
        assert_true(a->quote.gpu & GR_JSTR_SHARED);
        assert_ptr_equal(GR_JS(a, a->quote.gpu), GR_JS(b, b->quote.gpu));
        assert_int_equal(GR_JS(a, a->quote.gpu)[-1], GR_INTERN_TAG);
        assert_int_equal(gr_job_footprint(a), fa);
        assert_int_equal(
            gr_job_str_set(a, &gr_job_buyer_mut(a)->container_image, "img:1"),
            0);
        assert_int_equal(gr_job_str_set(b, &b->cur.container_image, "img:1"),
                         0);
        assert_ptr_equal(GR_JS(a, gr_job_buyer(a)->container_image),
                         GR_JS(b, b->cur.container_image));
        assert_int_equal(gr_job_str_set(a, &a->quote.quote_id, "q-1"), 0);
        assert_int_equal(gr_job_str_set(b, &b->quote.quote_id, "q-1"), 0);
        assert_ptr_not_equal(GR_JS(a, a->quote.quote_id),
                             GR_JS(b, b->quote.quote_id));
        assert_string_equal(GR_JS(b, b->quote.quote_id), "q-1");
        fb = gr_job_footprint(b);
        /* replacing a shared value by an arena one and back */
        assert_int_equal(gr_job_str_set(b, &b->quote.gpu, NULL), 0);
        assert_null(GR_JS(b, b->quote.gpu));
        assert_int_equal(gr_job_str_set(b, &b->quote.gpu, "H200-141GB"), 0);
        assert_int_equal(a->quote.gpu, b->quote.gpu);
        assert_int_equal(gr_job_footprint(b), fb);
        gr_job_destroy(b);
        assert_string_equal(GR_JS(a, a->quote.gpu), "H200-141GB");
        gr_job_destroy(a);
}

/* Too long to share, or an embedded NUL: NULL, and the job keeps its own
 * copy in the arena. */
static void test_shared_limits(void **state) {
        char longv[GR_INTERN_MAX_LEN + 2];
        gr_job *j = gr_job_new("job-s3");
        (void)state;

        memset(longv, 'c', sizeof(longv) - 1);
        longv[sizeof(longv) - 1] = '\0';
        assert_null(gr_intern(longv, strlen(longv)));
        assert_null(gr_intern("a\0b", 3));
        assert_non_null(gr_intern(longv, GR_INTERN_MAX_LEN));
        assert_int_equal(gr_job_str_set(j, &j->cur.command, longv), 0);
        assert_string_equal(GR_JS(j, j->cur.command), longv);
        assert_false(j->cur.command & GR_JSTR_SHARED);
        assert_int_equal(GR_JS(j, j->cur.command)[-1], 'A'); /* arena tag */
        gr_job_destroy(j);
}

enum { NVAL = 300, NTHREAD = 4 };
static const char *seen_by[NTHREAD][NVAL];

static void *intern_many(void *arg) {
        int t = (int)(intptr_t)arg;
        char v[32];
        for (int i = 0; i < NVAL; i++) {
                int k = (i * 7 + t * 13) % NVAL; /* a different order each */
                snprintf(v, sizeof(v), "region-%d", k);
                seen_by[t][k] = gr_intern(v, strlen(v));
        }
        return NULL;
}

/* Threads adding the same values at once agree on one copy of each. */
static void test_shared_threads(void **state) {
        pthread_t th[NTHREAD];
        size_t e0, b0, e1, b1;
        (void)state;

        gr_intern_stats(&e0, &b0);
        for (int t = 0; t < NTHREAD; t++)
                assert_int_equal(pthread_create(&th[t], NULL, intern_many,
                                                (void *)(intptr_t)t),
                                 0);
        for (int t = 0; t < NTHREAD; t++)
                pthread_join(th[t], NULL);
        for (int k = 0; k < NVAL; k++) {
                assert_non_null(seen_by[0][k]);
                for (int t = 1; t < NTHREAD; t++)
                        assert_ptr_equal(seen_by[t][k], seen_by[0][k]);
        }
        gr_intern_stats(&e1, &b1);
        assert_int_equal(e1 - e0, NVAL);
}

/* Full: new values are refused (the caller keeps its own copy), values
 * already shared are still found. */
static void test_shared_bound(void **state) {
        char v[32];
        size_t e, b;
        const char *first = gr_intern("bound-first", 11);
        (void)state;

        assert_non_null(first);
        for (int i = 0;; i++) {
                gr_intern_stats(&e, &b);
                if (e >= GR_INTERN_MAX_ENTRIES)
                        break;
                snprintf(v, sizeof(v), "fill-%d", i);
                (void)gr_intern(v, strlen(v)); /* may miss: probe bound */
                assert_true(i < 10 * GR_INTERN_MAX_ENTRIES);
        }
        assert_null(gr_intern("never-seen-before", 17));
        assert_ptr_equal(gr_intern("bound-first", 11), first);
        gr_intern_stats(&e, &b);
        assert_int_equal(e, GR_INTERN_MAX_ENTRIES);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_set_replace_clear),
            cmocka_unit_test(test_compaction_keeps_values),
            cmocka_unit_test(test_source_inside_arena),
            cmocka_unit_test(test_shared_and_arena_mix),
            cmocka_unit_test(test_parties_in_arena),
            cmocka_unit_test(test_shared_fields),
            cmocka_unit_test(test_shared_limits),
            cmocka_unit_test(test_shared_threads),
            cmocka_unit_test(test_shared_bound),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
