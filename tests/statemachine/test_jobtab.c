/*
 * The job table (statemachine/gr_jobtab.h): lookups, inserts that replace,
 * removals that keep the other jobs findable (open addressing with
 * deletions), iteration and sorting, across many resizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_jobtab.h"

#define N 5000

static void id_of(int i, char *buf, size_t size) {
        snprintf(buf, size, "job-%05d", i);
}

static void test_get_create_and_count(void **state) {
        gr_jobtab *t = gr_jobtab_new();
        char id[32];
        (void)state;

        assert_non_null(t);
        assert_null(gr_jobtab_get(t, "absent", 0));
        assert_int_equal(gr_jobtab_count(t), 0);
        for (int i = 0; i < N; i++) {
                gr_job *j;
                id_of(i, id, sizeof(id));
                j = gr_jobtab_get(t, id, 1);
                assert_non_null(j);
                assert_string_equal(j->job_id, id);
                /* the same job again, not a second one */
                assert_ptr_equal(gr_jobtab_get(t, id, 1), j);
        }
        assert_int_equal(gr_jobtab_count(t), N);
        for (int i = 0; i < N; i++) {
                id_of(i, id, sizeof(id));
                assert_non_null(gr_jobtab_get(t, id, 0));
        }
        gr_jobtab_destroy(t);
}

/* Removing every other job must leave the rest reachable, and their slots
 * reusable. */
static void test_remove_keeps_the_rest(void **state) {
        gr_jobtab *t = gr_jobtab_new();
        char id[32];
        (void)state;

        for (int i = 0; i < N; i++) {
                id_of(i, id, sizeof(id));
                assert_non_null(gr_jobtab_get(t, id, 1));
        }
        for (int i = 0; i < N; i += 2) {
                id_of(i, id, sizeof(id));
                assert_int_equal(gr_jobtab_remove(t, id), 1);
                assert_int_equal(gr_jobtab_remove(t, id), 0);
        }
        assert_int_equal(gr_jobtab_count(t), N / 2);
        for (int i = 0; i < N; i++) {
                id_of(i, id, sizeof(id));
                if (i % 2)
                        assert_non_null(gr_jobtab_get(t, id, 0));
                else
                        assert_null(gr_jobtab_get(t, id, 0));
        }
        for (int i = 0; i < N; i += 2) { /* back in */
                id_of(i, id, sizeof(id));
                assert_non_null(gr_jobtab_get(t, id, 1));
        }
        assert_int_equal(gr_jobtab_count(t), N);
        gr_jobtab_destroy(t);
}

/* put() takes ownership and replaces a job with the same id. */
static void test_put_replaces(void **state) {
        gr_jobtab *t = gr_jobtab_new();
        gr_job *a = gr_job_new("same"), *b = gr_job_new("same");
        (void)state;

        assert_non_null(a);
        assert_non_null(b);
        a->attempt = 1;
        b->attempt = 2;
        assert_int_equal(gr_jobtab_put(t, a), 0);
        assert_ptr_equal(gr_jobtab_get(t, "same", 0), a);
        assert_int_equal(gr_jobtab_put(t, b), 0); /* a is destroyed */
        assert_ptr_equal(gr_jobtab_get(t, "same", 0), b);
        assert_int_equal(gr_jobtab_count(t), 1);
        gr_jobtab_destroy(t);
}

/* Iteration visits every job once; sorted() orders by job_id. */
static void test_iterate_and_sort(void **state) {
        gr_jobtab *t = gr_jobtab_new();
        static unsigned char seen[N];
        char id[32];
        gr_job *j, **v;
        size_t it = 0, n = 0, count = 0;
        (void)state;

        assert_null(gr_jobtab_sorted(t, &n));
        for (int i = N - 1; i >= 0; i--) { /* inserted in reverse */
                id_of(i, id, sizeof(id));
                assert_non_null(gr_jobtab_get(t, id, 1));
        }
        memset(seen, 0, sizeof(seen));
        while ((j = gr_jobtab_next(t, &it))) {
                int i = atoi(j->job_id + 4);
                assert_true(i >= 0 && i < N);
                assert_int_equal(seen[i], 0);
                seen[i] = 1;
                count++;
        }
        assert_int_equal(count, N);
        v = gr_jobtab_sorted(t, &n);
        assert_non_null(v);
        assert_int_equal(n, N);
        for (size_t i = 0; i < n; i++) {
                id_of((int)i, id, sizeof(id));
                assert_string_equal(v[i]->job_id, id);
        }
        free(v);
        gr_jobtab_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_get_create_and_count),
            cmocka_unit_test(test_remove_keeps_the_rest),
            cmocka_unit_test(test_put_replaces),
            cmocka_unit_test(test_iterate_and_sort),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
