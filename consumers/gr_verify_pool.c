#include "gr_verify_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_sign.h"

/* Events taken per grab of the cursor: ~0.4 ms of work each, small
 * enough to balance a 500-event batch over a few cores. */
#define GR_VERIFY_CHUNK 8

struct gr_verify_pool {
        const gr_policy *pol;
        const gr_keyring *kr;
        int nworkers;
        pthread_t *tids;
        int started; /* workers actually running */
        pthread_mutex_t mu;
        pthread_cond_t work, done;
        unsigned long gen; /* batch generation, under mu */
        int stop;          /* under mu */
        int finished;      /* workers done with gen, under mu */
        /* the batch in hand: written under mu before gen moves */
        gr_event *const *evs;
        int *rc;
        gr_err *errs;
        size_t n;
        atomic_size_t next;
};

static void work_loop(gr_verify_pool *vp) {
        for (;;) {
                size_t i = atomic_fetch_add_explicit(&vp->next, GR_VERIFY_CHUNK,
                                                     memory_order_relaxed);
                size_t end;

                if (i >= vp->n)
                        return;
                end = i + GR_VERIFY_CHUNK < vp->n ? i + GR_VERIFY_CHUNK : vp->n;
                for (; i < end; i++)
                        if (vp->evs[i])
                                vp->rc[i] = gr_event_authenticate(
                                    vp->pol, vp->kr, vp->evs[i], &vp->errs[i]);
        }
}

static void *worker(void *arg) {
        gr_verify_pool *vp = arg;
        unsigned long seen = 0;

        pthread_mutex_lock(&vp->mu);
        for (;;) {
                while (vp->gen == seen && !vp->stop)
                        pthread_cond_wait(&vp->work, &vp->mu);
                if (vp->stop)
                        break;
                seen = vp->gen;
                pthread_mutex_unlock(&vp->mu);
                work_loop(vp);
                pthread_mutex_lock(&vp->mu);
                if (++vp->finished == vp->started)
                        pthread_cond_signal(&vp->done);
        }
        pthread_mutex_unlock(&vp->mu);
        return NULL;
}

gr_verify_pool *gr_verify_pool_new(int threads, const gr_policy *pol,
                                   const gr_keyring *kr, char *errstr,
                                   size_t errstr_size) {
        gr_verify_pool *vp;

        if (threads < 1 || threads > GR_VERIFY_THREADS_MAX) {
                snprintf(errstr, errstr_size,
                         "verify threads: expected 1..%d, got %d",
                         GR_VERIFY_THREADS_MAX, threads);
                return NULL;
        }
        if (!(vp = calloc(1, sizeof(*vp)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        vp->pol = pol;
        vp->kr = kr;
        vp->nworkers = threads - 1;
        atomic_init(&vp->next, 0);
        pthread_mutex_init(&vp->mu, NULL);
        pthread_cond_init(&vp->work, NULL);
        pthread_cond_init(&vp->done, NULL);
        if (vp->nworkers &&
            !(vp->tids = calloc((size_t)vp->nworkers, sizeof(*vp->tids)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        for (int i = 0; i < vp->nworkers; i++) {
                int e = pthread_create(&vp->tids[i], NULL, worker, vp);
                if (e) {
                        snprintf(errstr, errstr_size,
                                 "verify pool: cannot start thread %d of %d: "
                                 "%s",
                                 i + 1, vp->nworkers, strerror(e));
                        goto err;
                }
                pthread_mutex_lock(&vp->mu);
                vp->started++;
                pthread_mutex_unlock(&vp->mu);
        }
        return vp;
err:
        gr_verify_pool_destroy(vp);
        return NULL;
}

void gr_verify_pool_destroy(gr_verify_pool *vp) {
        if (!vp)
                return;
        pthread_mutex_lock(&vp->mu);
        vp->stop = 1;
        pthread_cond_broadcast(&vp->work);
        pthread_mutex_unlock(&vp->mu);
        for (int i = 0; i < vp->started; i++)
                pthread_join(vp->tids[i], NULL);
        pthread_cond_destroy(&vp->done);
        pthread_cond_destroy(&vp->work);
        pthread_mutex_destroy(&vp->mu);
        free(vp->tids);
        free(vp);
}

int gr_verify_pool_threads(const gr_verify_pool *vp) {
        return vp->started + 1;
}

void gr_verify_pool_run(gr_verify_pool *vp, gr_event *const *evs, int *rc,
                        gr_err *errs, size_t n) {
        if (n == 0)
                return;
        pthread_mutex_lock(&vp->mu);
        vp->evs = evs;
        vp->rc = rc;
        vp->errs = errs;
        vp->n = n;
        atomic_store_explicit(&vp->next, 0, memory_order_relaxed);
        vp->finished = 0;
        if (vp->started) {
                vp->gen++;
                pthread_cond_broadcast(&vp->work);
        }
        pthread_mutex_unlock(&vp->mu);

        work_loop(vp);

        pthread_mutex_lock(&vp->mu);
        while (vp->finished < vp->started)
                pthread_cond_wait(&vp->done, &vp->mu);
        pthread_mutex_unlock(&vp->mu);
}
