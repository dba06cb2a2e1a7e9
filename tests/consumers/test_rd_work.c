/* receiptd's processing workers without a broker: how a batch's records
 * are dealt to workers by partition, and the fork-join pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_rd_work.h"

/* Every record is on exactly one worker, a partition on one worker only,
 * each worker's records ascending (poll order kept). */
static void check_split(const int32_t *part, size_t n, int32_t nparts,
                        int nw, const size_t *order, const size_t *start) {
        int *seen = calloc(n ? n : 1, sizeof(*seen));
        int *owner = malloc(((size_t)nparts + 1) * sizeof(*owner));

        assert_non_null(seen);
        assert_non_null(owner);
        for (int32_t q = 0; q <= nparts; q++)
                owner[q] = -1;
        assert_int_equal(start[0], 0);
        assert_int_equal(start[nw], n);
        for (int w = 0; w < nw; w++) {
                assert_true(start[w] <= start[w + 1]);
                for (size_t k = start[w]; k < start[w + 1]; k++) {
                        size_t i = order[k];
                        int32_t q = part[i] >= 0 && part[i] < nparts ?
                                        part[i] : nparts;
                        assert_true(i < n);
                        assert_int_equal(seen[i], 0);
                        seen[i] = 1;
                        if (k > start[w])
                                assert_true(order[k - 1] < i);
                        if (owner[q] == -1)
                                owner[q] = w;
                        assert_int_equal(owner[q], w);
                }
        }
        free(seen);
        free(owner);
}

static void split_balances_whole_partitions(void **state) {
        /* partition 0: 4 records, 1: 3, 2: 2, 3: 1, interleaved */
        const int32_t part[] = {0, 1, 0, 2, 1, 0, 3, 2, 1, 0};
        size_t order[10], start[3];

        (void)state;
        assert_int_equal(grd_split(part, 10, 4, 2, order, start), 0);
        check_split(part, 10, 4, 2, order, start);
        /* Heaviest first to the least loaded: 0 -> w0, 1 -> w1, 2 -> w1,
         * 3 -> w0: 5 records each. */
        assert_int_equal(start[1], 5);
        {
                const size_t w0[] = {0, 2, 5, 6, 9};
                const size_t w1[] = {1, 3, 4, 7, 8};
                assert_memory_equal(order, w0, sizeof(w0));
                assert_memory_equal(order + 5, w1, sizeof(w1));
        }
}

static void split_one_worker_keeps_poll_order(void **state) {
        const int32_t part[] = {3, 1, 2, 1, 0};
        size_t order[5], start[2];

        (void)state;
        assert_int_equal(grd_split(part, 5, 4, 1, order, start), 0);
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(order[i], i);
        assert_int_equal(start[1], 5);
}

static void split_more_workers_than_partitions(void **state) {
        const int32_t part[] = {2, 2, 2, 5, 5};
        size_t order[5], start[5];

        (void)state;
        assert_int_equal(grd_split(part, 5, 8, 4, order, start), 0);
        check_split(part, 5, 8, 4, order, start);
        /* Two partitions: two workers busy, two idle. */
        assert_int_equal(start[1] - start[0], 3);
        assert_int_equal(start[2] - start[1], 2);
        assert_int_equal(start[3], start[4]);
}

static void split_out_of_range_goes_to_worker0(void **state) {
        const int32_t part[] = {-1, 0, 7, 1, 1};
        size_t order[5], start[3];

        (void)state;
        assert_int_equal(grd_split(part, 5, 2, 2, order, start), 0);
        check_split(part, 5, 2, 2, order, start);
        /* -1 and 7 on worker 0; 1 (two records) on worker 1 first, 0
         * (one) then on worker 0 (load 2) vs worker 1 (load 2): worker 0. */
        {
                const size_t w0[] = {0, 1, 2};
                assert_int_equal(start[1], 3);
                assert_memory_equal(order, w0, sizeof(w0));
        }
}

static void split_random_batches(void **state) {
        enum { N = 1000 };
        int32_t part[N];
        size_t order[N], start[5];

        (void)state;
        srand(7);
        for (int round = 0; round < 50; round++) {
                size_t n = (size_t)(rand() % N);
                int32_t np = 1 + rand() % 16;
                int nw = 1 + rand() % 4;
                for (size_t i = 0; i < n; i++)
                        part[i] = rand() % np;
                assert_int_equal(grd_split(part, n, np, nw, order, start), 0);
                check_split(part, n, np, nw, order, start);
        }
}

static void split_bad_arguments(void **state) {
        const int32_t part[] = {0};
        size_t order[1], start[2];

        (void)state;
        assert_int_equal(grd_split(part, 1, 1, 0, order, start), -1);
        assert_int_equal(grd_split(part, 1, -1, 1, order, start), -1);
        assert_int_equal(grd_split(part, 0, 1, 1, order, start), 0);
        assert_int_equal(start[1], 0);
}

typedef struct {
        int ran[8];
        int round;
} pool_arg;

static void pool_fn(void *arg, int w) {
        pool_arg *a = arg;
        a->ran[w] += a->round;
}

static void pool_runs_every_worker_once(void **state) {
        pool_arg a;
        grd_pool *p = grd_pool_new(4);

        (void)state;
        assert_non_null(p);
        assert_int_equal(grd_pool_threads(p), 4);
        memset(&a, 0, sizeof(a));
        for (a.round = 1; a.round <= 100; a.round++)
                grd_pool_run(p, pool_fn, &a);
        /* Each call returned after every worker finished that round. */
        for (int w = 0; w < 4; w++)
                assert_int_equal(a.ran[w], 5050);
        for (int w = 4; w < 8; w++)
                assert_int_equal(a.ran[w], 0);
        grd_pool_destroy(p);
}

static void pool_bounds(void **state) {
        pool_arg a;
        grd_pool *p;

        (void)state;
        assert_null(grd_pool_new(0));
        assert_null(grd_pool_new(GRD_THREADS_MAX + 1));
        p = grd_pool_new(1); /* the caller only */
        assert_non_null(p);
        memset(&a, 0, sizeof(a));
        a.round = 3;
        grd_pool_run(p, pool_fn, &a);
        assert_int_equal(a.ran[0], 3);
        assert_int_equal(a.ran[1], 0);
        grd_pool_destroy(p);
        grd_pool_destroy(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(split_balances_whole_partitions),
            cmocka_unit_test(split_one_worker_keeps_poll_order),
            cmocka_unit_test(split_more_workers_than_partitions),
            cmocka_unit_test(split_out_of_range_goes_to_worker0),
            cmocka_unit_test(split_random_batches),
            cmocka_unit_test(split_bad_arguments),
            cmocka_unit_test(pool_runs_every_worker_once),
            cmocka_unit_test(pool_bounds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
