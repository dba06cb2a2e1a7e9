/* receiptd's restore pieces that run without a broker:
 *  - how state records merge (gr_restore_merge): last value per job wins,
 *    tombstones remove, this partition's checkpoint (and its frontier) is
 *    taken, another partition's ignored, bad records counted;
 *  - the restore queue (gr_rtq): FIFO on one thread, a queued restore
 *    cancelled never runs, a running one is told to stop and freed by the
 *    worker, finished ones come back once, destroy frees everything;
 *  - the rebalance events recorded by the callback (grd_reb_*): copied,
 *    in order, with their lost/protocol flags. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gr_rd.h"

/* ------------------------------------------------------------------ */
/* gr_restore_merge                                                    */

static void feed(gr_restore_merge *mg, const char *key, const void *val,
                 size_t len) {
        rd_kafka_message_t m;

        memset(&m, 0, sizeof(m));
        m.key = (void *)key;
        m.key_len = key ? strlen(key) : 0;
        m.payload = (void *)val;
        m.len = val ? len : 0;
        gr_restore_merge_record(mg, &m);
}

static void feed_job(gr_restore_merge *mg, const char *id, uint32_t attempt) {
        gr_job *job = gr_job_new(id);
        gr_buf b;

        assert_non_null(job);
        job->attempt = attempt;
        gr_buf_init(&b);
        gr_state_encode(job, &b);
        feed(mg, id, b.data, b.len);
        gr_buf_free(&b);
        gr_job_destroy(job);
}

static void feed_checkpoint(gr_restore_merge *mg, int32_t partition,
                            int64_t next, const gr_merkle_frontier *f) {
        char key[64];
        gr_buf b;

        gr_buf_init(&b);
        gr_checkpoint_key(partition, key, sizeof(key));
        if (f)
                gr_checkpoint_frontier_encode("gpu.job.events", partition,
                                              next, f, &b);
        else
                gr_checkpoint_encode("gpu.job.events", partition, next, &b);
        feed(mg, key, b.data, b.len);
        gr_buf_free(&b);
}

static void merge_last_value_wins(void **state) {
        gr_jobtab *jobs = gr_jobtab_new();
        gr_restore_result res;
        gr_restore_merge mg;
        gr_job *j;
        (void)state;

        gr_restore_merge_init(&mg, 2, jobs, &res);
        assert_int_equal(res.checkpoint, -1);
        feed_job(&mg, "job-a", 1);
        feed_job(&mg, "job-b", 1);
        feed_job(&mg, "job-a", 3); /* a later state of job-a */
        feed(&mg, "job-b", NULL, 0); /* tombstone: job-b is gone */
        feed_job(&mg, "job-c", 2);
        assert_int_equal(gr_jobtab_count(jobs), 2);
        assert_non_null(j = gr_jobtab_get(jobs, "job-a", 0));
        assert_int_equal(j->attempt, 3);
        assert_null(gr_jobtab_get(jobs, "job-b", 0));
        assert_non_null(gr_jobtab_get(jobs, "job-c", 0));
        assert_int_equal(res.records, 5);
        assert_int_equal(res.tombstones, 1);
        assert_int_equal(res.bad, 0);
        assert_int_equal(res.checkpoint, -1);
        gr_jobtab_destroy(jobs);
}

static void merge_checkpoints(void **state) {
        gr_jobtab *jobs = gr_jobtab_new();
        gr_merkle_frontier f;
        uint8_t leaf[GR_HASH_LEN];
        gr_restore_result res;
        gr_restore_merge mg;
        char key[64];
        (void)state;

        gr_merkle_frontier_init(&f);
        memset(leaf, 7, sizeof(leaf));
        gr_merkle_frontier_append(&f, leaf);
        gr_merkle_frontier_append(&f, leaf);

        gr_restore_merge_init(&mg, 1, jobs, &res);
        feed_checkpoint(&mg, 1, 40, NULL);
        assert_int_equal(res.checkpoint, 40);
        assert_int_equal(res.has_frontier, 0);
        feed_checkpoint(&mg, 1, 95, &f); /* the latest one counts */
        assert_int_equal(res.checkpoint, 95);
        assert_int_equal(res.has_frontier, 1);
        assert_int_equal(res.frontier.size, 2);
        /* another partition's checkpoint is not ours */
        feed_checkpoint(&mg, 3, 500, NULL);
        assert_int_equal(res.checkpoint, 95);
        /* checkpoints are not job records */
        assert_int_equal(res.records, 0);
        assert_int_equal(gr_jobtab_count(jobs), 0);
        /* a tombstone deletes the checkpoint and its frontier */
        gr_checkpoint_key(1, key, sizeof(key));
        feed(&mg, key, NULL, 0);
        assert_int_equal(res.checkpoint, -1);
        assert_int_equal(res.has_frontier, 0);
        /* a malformed checkpoint is bad and changes nothing */
        feed_checkpoint(&mg, 1, 7, NULL);
        feed(&mg, key, "{not json", 9);
        assert_int_equal(res.checkpoint, 7);
        assert_int_equal(res.bad, 1);
        gr_jobtab_destroy(jobs);
}

static void merge_bad_records(void **state) {
        gr_jobtab *jobs = gr_jobtab_new();
        gr_restore_result res;
        gr_restore_merge mg;
        (void)state;

        gr_restore_merge_init(&mg, 0, jobs, &res);
        feed(&mg, NULL, "{}", 2);             /* no key */
        feed(&mg, "job-x", "garbage", 7);     /* does not decode */
        feed_job(&mg, "job-y", 1);
        assert_int_equal(res.bad, 2);
        assert_int_equal(gr_jobtab_count(jobs), 1);
        /* jobs NULL: the checkpoint only, records still counted */
        gr_restore_merge_init(&mg, 0, NULL, &res);
        feed_job(&mg, "job-y", 1);
        feed_checkpoint(&mg, 0, 12, NULL);
        assert_int_equal(res.records, 1);
        assert_int_equal(res.checkpoint, 12);
        gr_jobtab_destroy(jobs);
}

/* ------------------------------------------------------------------ */
/* gr_rtq                                                              */

typedef struct fake {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int gate;         /* runs wait while partition == block_part && !gate */
        int32_t block_part;
        int32_t order[16];
        int nrun;
        int running;      /* partition now running, -1 none */
        int saw_cancel;   /* a run ended because it was cancelled */
        int freed;        /* results freed */
        int wakes;
} fake;

static void fake_run(void *opaque, gr_rtask *t) {
        fake *f = opaque;
        int *res = malloc(sizeof(*res));

        pthread_mutex_lock(&f->mu);
        f->order[f->nrun++] = t->partition;
        f->running = t->partition;
        pthread_cond_broadcast(&f->cv);
        /* As a real restore does, look at cancel now and then. */
        while (t->partition == f->block_part && !f->gate &&
               !atomic_load(&t->cancel)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 5 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        if (atomic_load(&t->cancel))
                f->saw_cancel++;
        f->running = -1;
        pthread_mutex_unlock(&f->mu);
        *res = t->partition * 10;
        t->result = res;
        t->rc = 0;
}

static void fake_free(void *opaque, gr_rtask *t) {
        fake *f = opaque;

        if (t->result) {
                pthread_mutex_lock(&f->mu);
                f->freed++;
                pthread_mutex_unlock(&f->mu);
        }
        free(t->result);
        t->result = NULL;
}

static void fake_wake(void *opaque) {
        fake *f = opaque;

        pthread_mutex_lock(&f->mu);
        f->wakes++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
}

static void fake_init(fake *f, int32_t block_part) {
        memset(f, 0, sizeof(*f));
        pthread_mutex_init(&f->mu, NULL);
        pthread_cond_init(&f->cv, NULL);
        f->block_part = block_part;
        f->running = -1;
}

static void fake_fini(fake *f) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
}

/* Until the worker runs partition p (no clock: waits on the condition). */
static void wait_running(fake *f, int32_t p) {
        pthread_mutex_lock(&f->mu);
        while (f->running != p)
                pthread_cond_wait(&f->cv, &f->mu);
        pthread_mutex_unlock(&f->mu);
}

static void wait_wakes(fake *f, int n) {
        pthread_mutex_lock(&f->mu);
        while (f->wakes < n)
                pthread_cond_wait(&f->cv, &f->mu);
        pthread_mutex_unlock(&f->mu);
}

static void open_gate(fake *f) {
        pthread_mutex_lock(&f->mu);
        f->gate = 1;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
}

static void rtq_fifo_and_take(void **state) {
        fake f;
        gr_rtq *q;
        gr_rtask *t;
        (void)state;

        fake_init(&f, 0); /* partition 0 blocks until the gate opens */
        assert_non_null(q = gr_rtq_new(fake_run, fake_free, fake_wake, &f));
        assert_non_null(gr_rtq_submit(q, 0));
        assert_non_null(gr_rtq_submit(q, 5));
        assert_non_null(gr_rtq_submit(q, 2));
        wait_running(&f, 0);
        assert_int_equal(gr_rtq_count(q), 3);
        assert_null(gr_rtq_take(q)); /* nothing finished yet */
        open_gate(&f);
        wait_wakes(&f, 3);
        for (int i = 0; i < 3; i++) {
                static const int32_t want[] = {0, 5, 2};
                assert_non_null(t = gr_rtq_take(q));
                assert_int_equal(t->partition, want[i]);
                assert_int_equal(t->rc, 0);
                assert_int_equal(*(int *)t->result, want[i] * 10);
                gr_rtq_task_free(q, t);
        }
        assert_null(gr_rtq_take(q));
        assert_int_equal(gr_rtq_count(q), 0);
        assert_int_equal(f.nrun, 3);
        assert_int_equal(f.order[0], 0);
        assert_int_equal(f.order[1], 5);
        assert_int_equal(f.order[2], 2);
        gr_rtq_destroy(q);
        assert_int_equal(f.freed, 3);
        fake_fini(&f);
}

static void rtq_cancel(void **state) {
        fake f;
        gr_rtq *q;
        gr_rtask *a, *b, *c, *t;
        (void)state;

        fake_init(&f, 1); /* partition 1 blocks until cancelled */
        assert_non_null(q = gr_rtq_new(fake_run, fake_free, fake_wake, &f));
        assert_non_null(a = gr_rtq_submit(q, 1));
        assert_non_null(b = gr_rtq_submit(q, 2));
        assert_non_null(c = gr_rtq_submit(q, 3));
        wait_running(&f, 1);
        /* queued: never runs */
        gr_rtq_cancel(q, b);
        assert_int_equal(gr_rtq_count(q), 2);
        /* running: told to stop, freed by the worker, never taken */
        gr_rtq_cancel(q, a);
        wait_wakes(&f, 1); /* partition 3 finished */
        assert_non_null(t = gr_rtq_take(q));
        assert_int_equal(t->partition, 3);
        assert_ptr_equal(t, c);
        gr_rtq_task_free(q, t);
        assert_null(gr_rtq_take(q));
        assert_int_equal(f.nrun, 2);
        assert_int_equal(f.order[0], 1);
        assert_int_equal(f.order[1], 3);
        assert_int_equal(f.saw_cancel, 1);
        /* finished but not taken: cancel frees it */
        assert_non_null(a = gr_rtq_submit(q, 4));
        wait_wakes(&f, 2);
        gr_rtq_cancel(q, a);
        assert_null(gr_rtq_take(q));
        assert_int_equal(gr_rtq_count(q), 0);
        gr_rtq_destroy(q);
        /* 1 (orphan), 3 (taken), 4 (cancelled when done) */
        assert_int_equal(f.freed, 3);
        fake_fini(&f);
}

static void rtq_destroy_in_flight(void **state) {
        fake f;
        gr_rtq *q;
        (void)state;

        fake_init(&f, 7); /* blocks until cancelled */
        assert_non_null(q = gr_rtq_new(fake_run, fake_free, NULL, &f));
        assert_non_null(gr_rtq_submit(q, 7));
        assert_non_null(gr_rtq_submit(q, 8));
        wait_running(&f, 7);
        gr_rtq_destroy(q); /* cancels 7, drops 8, joins */
        assert_int_equal(f.nrun, 1);
        assert_int_equal(f.saw_cancel, 1);
        assert_int_equal(f.freed, 1);
        gr_rtq_destroy(NULL);
        fake_fini(&f);
}

/* ------------------------------------------------------------------ */
/* the recorded rebalance events                                       */

static void reb_queue(void **state) {
        grd_reb_queue q = {0};
        rd_kafka_topic_partition_list_t *tps =
            rd_kafka_topic_partition_list_new(2);
        grd_reb_ev *ev;
        (void)state;

        rd_kafka_topic_partition_list_add(tps, "gpu.job.events", 1);
        rd_kafka_topic_partition_list_add(tps, "gpu.job.events", 3);
        assert_null(grd_reb_pop(&q));
        assert_int_equal(grd_reb_push(&q, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS,
                                      tps, 1, 0),
                         0);
        /* the callback's list is librdkafka's: the event holds a copy */
        tps->elems[0].partition = 9;
        rd_kafka_topic_partition_list_add(tps, "gpu.job.events", 0);
        assert_int_equal(grd_reb_push(&q, RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS,
                                      tps, 0, 1),
                         0);
        assert_int_equal(grd_reb_push(&q, RD_KAFKA_RESP_ERR__FAIL, NULL, 0, 1),
                         0);
        rd_kafka_topic_partition_list_destroy(tps);

        assert_non_null(ev = grd_reb_pop(&q));
        assert_int_equal(ev->err, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS);
        assert_int_equal(ev->lost, 1);
        assert_int_equal(ev->coop, 0);
        assert_int_equal(ev->tps->cnt, 2);
        assert_int_equal(ev->tps->elems[0].partition, 1);
        assert_int_equal(ev->tps->elems[1].partition, 3);
        assert_string_equal(ev->tps->elems[1].topic, "gpu.job.events");
        grd_reb_ev_free(ev);

        assert_non_null(ev = grd_reb_pop(&q));
        assert_int_equal(ev->err, RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS);
        assert_int_equal(ev->lost, 0);
        assert_int_equal(ev->coop, 1);
        assert_int_equal(ev->tps->cnt, 3);
        assert_int_equal(ev->tps->elems[0].partition, 9);
        assert_int_equal(ev->tps->elems[2].partition, 0);
        grd_reb_ev_free(ev);

        /* what is left is freed by clear */
        assert_non_null(q.head);
        assert_int_equal(grd_reb_push(&q, RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS,
                                      NULL, 0, 1),
                         0);
        grd_reb_clear(&q);
        assert_null(q.head);
        assert_null(q.tail);
        assert_null(grd_reb_pop(&q));
        /* and the queue is usable again */
        assert_int_equal(grd_reb_push(&q, RD_KAFKA_RESP_ERR__FAIL, NULL, 0, 0),
                         0);
        assert_non_null(ev = grd_reb_pop(&q));
        assert_null(ev->tps);
        grd_reb_ev_free(ev);
        assert_null(q.tail);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(merge_last_value_wins),
            cmocka_unit_test(merge_checkpoints),
            cmocka_unit_test(merge_bad_records),
            cmocka_unit_test(rtq_fifo_and_take),
            cmocka_unit_test(rtq_cancel),
            cmocka_unit_test(rtq_destroy_in_flight),
            cmocka_unit_test(reb_queue),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
