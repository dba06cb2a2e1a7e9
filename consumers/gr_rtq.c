/* Partition restores on one background thread (gr_rtq.h). */
#include "gr_rtq.h"

#include <pthread.h>
#include <stdlib.h>

#include "gr_fsm.h"

enum { T_QUEUED, T_RUNNING, T_DONE };

struct gr_rtq {
        pthread_t th;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int stop;
        gr_rtask *head, *tail; /* every task the queue holds, oldest first */
        size_t count;          /* of them, not orphaned */
        gr_rtq_run_fn *run;
        gr_rtq_free_fn *free_result;
        gr_rtq_wake_fn *wake;
        void *opaque;
};

/* Under q->mu. */
static void unlink_task(gr_rtq *q, gr_rtask *t) {
        gr_rtask **pp = &q->head, *prev = NULL;

        while (*pp && *pp != t) {
                prev = *pp;
                pp = &(*pp)->next;
        }
        if (!*pp)
                return;
        *pp = t->next;
        if (q->tail == t)
                q->tail = prev;
        t->next = NULL;
}

void gr_rtq_task_free(gr_rtq *q, gr_rtask *t) {
        if (!t)
                return;
        if (q->free_result)
                q->free_result(q->opaque, t);
        free(t);
}

static void *worker(void *arg) {
        gr_rtq *q = arg;

        pthread_mutex_lock(&q->mu);
        for (;;) {
                gr_rtask *t = q->head;

                while (t && t->state != T_QUEUED)
                        t = t->next;
                if (!t) {
                        if (q->stop)
                                break;
                        pthread_cond_wait(&q->cv, &q->mu);
                        continue;
                }
                t->state = T_RUNNING;
                pthread_mutex_unlock(&q->mu);
                q->run(q->opaque, t);
                pthread_mutex_lock(&q->mu);
                if (t->orphan) {
                        unlink_task(q, t);
                        pthread_mutex_unlock(&q->mu);
                        gr_rtq_task_free(q, t);
                        pthread_mutex_lock(&q->mu);
                        continue;
                }
                t->state = T_DONE;
                pthread_mutex_unlock(&q->mu);
                if (q->wake)
                        q->wake(q->opaque);
                pthread_mutex_lock(&q->mu);
        }
        pthread_mutex_unlock(&q->mu);
        /* Restores hash (Merkle leaves) on this thread: free its hashing
         * state, which the core keeps per thread. */
        gr_fsm_thread_done();
        return NULL;
}

gr_rtq *gr_rtq_new(gr_rtq_run_fn *run, gr_rtq_free_fn *free_result,
                   gr_rtq_wake_fn *wake, void *opaque) {
        gr_rtq *q = calloc(1, sizeof(*q));

        if (!q)
                return NULL;
        q->run = run;
        q->free_result = free_result;
        q->wake = wake;
        q->opaque = opaque;
        if (pthread_mutex_init(&q->mu, NULL)) {
                free(q);
                return NULL;
        }
        if (pthread_cond_init(&q->cv, NULL)) {
                pthread_mutex_destroy(&q->mu);
                free(q);
                return NULL;
        }
        if (pthread_create(&q->th, NULL, worker, q)) {
                pthread_cond_destroy(&q->cv);
                pthread_mutex_destroy(&q->mu);
                free(q);
                return NULL;
        }
        return q;
}

gr_rtask *gr_rtq_submit(gr_rtq *q, int32_t partition) {
        gr_rtask *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->partition = partition;
        atomic_init(&t->cancel, 0);
        t->state = T_QUEUED;
        pthread_mutex_lock(&q->mu);
        if (q->tail)
                q->tail->next = t;
        else
                q->head = t;
        q->tail = t;
        q->count++;
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
        return t;
}

void gr_rtq_cancel(gr_rtq *q, gr_rtask *t) {
        if (!t)
                return;
        atomic_store(&t->cancel, 1);
        pthread_mutex_lock(&q->mu);
        q->count--;
        if (t->state == T_RUNNING) {
                t->orphan = 1; /* the worker frees it */
                pthread_mutex_unlock(&q->mu);
                return;
        }
        unlink_task(q, t);
        pthread_mutex_unlock(&q->mu);
        gr_rtq_task_free(q, t);
}

gr_rtask *gr_rtq_take(gr_rtq *q) {
        gr_rtask *t;

        pthread_mutex_lock(&q->mu);
        for (t = q->head; t && t->state != T_DONE; t = t->next)
                ;
        if (t) {
                unlink_task(q, t);
                q->count--;
        }
        pthread_mutex_unlock(&q->mu);
        return t;
}

size_t gr_rtq_count(gr_rtq *q) {
        size_t n;

        pthread_mutex_lock(&q->mu);
        n = q->count;
        pthread_mutex_unlock(&q->mu);
        return n;
}

void gr_rtq_destroy(gr_rtq *q) {
        gr_rtask *t, *next, *drop = NULL;

        if (!q)
                return;
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        for (t = q->head; t; t = next) {
                next = t->next;
                atomic_store(&t->cancel, 1);
                if (t->state == T_RUNNING) {
                        t->orphan = 1;
                        continue;
                }
                unlink_task(q, t);
                t->next = drop;
                drop = t;
        }
        q->count = 0;
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->th, NULL);
        for (t = drop; t; t = next) {
                next = t->next;
                gr_rtq_task_free(q, t);
        }
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q);
}
