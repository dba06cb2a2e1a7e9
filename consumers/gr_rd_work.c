/* receiptd's processing workers: the partition split and the fork-join
 * pool (gr_rd_work.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "gr_rd_work.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_fsm.h"
#include "gr_hash.h"

typedef struct {
        int32_t part;
        size_t cnt;
} part_count;

static int cmp_count(const void *a, const void *b) {
        const part_count *x = a, *y = b;

        if (x->cnt != y->cnt)
                return x->cnt > y->cnt ? -1 : 1;
        return x->part < y->part ? -1 : x->part > y->part;
}

int grd_split(const int32_t *part, size_t n, int32_t nparts, int nw,
              size_t *order, size_t *start) {
        size_t *cnt, *load, *fill;
        int *owner;
        part_count *pc;
        size_t npc = 0;
        int rc = -1;

        if (nw < 1 || nparts < 0)
                return -1;
        cnt = calloc((size_t)nparts + 1, sizeof(*cnt));
        owner = calloc((size_t)nparts + 1, sizeof(*owner));
        pc = calloc((size_t)nparts + 1, sizeof(*pc));
        load = calloc((size_t)nw, sizeof(*load));
        fill = calloc((size_t)nw, sizeof(*fill));
        if (!cnt || !owner || !pc || !load || !fill)
                goto out;
        /* Slot nparts: every partition outside the range, on worker 0. */
        for (size_t i = 0; i < n; i++) {
                int32_t q = part[i];
                cnt[q >= 0 && q < nparts ? q : nparts]++;
        }
        for (int32_t q = 0; q < nparts; q++)
                if (cnt[q])
                        pc[npc++] = (part_count){q, cnt[q]};
        qsort(pc, npc, sizeof(*pc), cmp_count);
        owner[nparts] = 0;
        load[0] = cnt[nparts];
        for (size_t k = 0; k < npc; k++) {
                int best = 0;
                for (int w = 1; w < nw; w++)
                        if (load[w] < load[best])
                                best = w;
                owner[pc[k].part] = best;
                load[best] += pc[k].cnt;
        }
        start[0] = 0;
        for (int w = 0; w < nw; w++) {
                start[w + 1] = start[w] + load[w];
                fill[w] = start[w];
        }
        for (size_t i = 0; i < n; i++) {
                int32_t q = part[i];
                int w = owner[q >= 0 && q < nparts ? q : nparts];
                order[fill[w]++] = i;
        }
        rc = 0;
out:
        free(cnt);
        free(owner);
        free(pc);
        free(load);
        free(fill);
        return rc;
}

struct grd_pool {
        int threads;
        int started; /* threads actually running */
        pthread_t *tids;
        pthread_mutex_t mu;
        pthread_cond_t work, done;
        unsigned long gen; /* under mu */
        int stop;          /* under mu */
        int finished;      /* threads done with gen, under mu */
        grd_pool_fn fn;    /* written under mu before gen moves */
        void *arg;
};

typedef struct {
        grd_pool *p;
        int w;
} pool_slot;

static void *pool_thread(void *arg) {
        pool_slot slot = *(pool_slot *)arg;
        grd_pool *p = slot.p;
        unsigned long seen = 0;

        char name[16];

        free(arg);
        /* Named, so per-thread CPU (top -H, /proc) tells workers apart. */
        snprintf(name, sizeof(name), "rd-work%d", slot.w);
        pthread_setname_np(pthread_self(), name);
        pthread_mutex_lock(&p->mu);
        for (;;) {
                while (p->gen == seen && !p->stop)
                        pthread_cond_wait(&p->work, &p->mu);
                if (p->stop)
                        break;
                seen = p->gen;
                pthread_mutex_unlock(&p->mu);
                p->fn(p->arg, slot.w);
                pthread_mutex_lock(&p->mu);
                if (++p->finished == p->started)
                        pthread_cond_signal(&p->done);
        }
        pthread_mutex_unlock(&p->mu);
        gr_fsm_thread_done();
        gr_hash_thread_done();
        return NULL;
}

grd_pool *grd_pool_new(int threads) {
        grd_pool *p;

        if (threads < 1 || threads > GRD_THREADS_MAX)
                return NULL;
        if (!(p = calloc(1, sizeof(*p))))
                return NULL;
        p->threads = threads;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->work, NULL);
        pthread_cond_init(&p->done, NULL);
        if (threads > 1 &&
            !(p->tids = calloc((size_t)threads - 1, sizeof(*p->tids))))
                goto err;
        for (int w = 1; w < threads; w++) {
                pool_slot *s = malloc(sizeof(*s));
                if (!s)
                        goto err;
                *s = (pool_slot){p, w};
                if (pthread_create(&p->tids[w - 1], NULL, pool_thread, s)) {
                        free(s);
                        goto err;
                }
                p->started++;
        }
        return p;
err:
        grd_pool_destroy(p);
        return NULL;
}

int grd_pool_threads(const grd_pool *p) {
        return p->threads;
}

void grd_pool_run(grd_pool *p, grd_pool_fn fn, void *arg) {
        if (p->started) {
                pthread_mutex_lock(&p->mu);
                p->fn = fn;
                p->arg = arg;
                p->finished = 0;
                p->gen++;
                pthread_cond_broadcast(&p->work);
                pthread_mutex_unlock(&p->mu);
        }
        fn(arg, 0);
        if (p->started) {
                pthread_mutex_lock(&p->mu);
                while (p->finished < p->started)
                        pthread_cond_wait(&p->done, &p->mu);
                pthread_mutex_unlock(&p->mu);
        }
}

void grd_pool_destroy(grd_pool *p) {
        if (!p)
                return;
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->started; i++)
                pthread_join(p->tids[i], NULL);
        free(p->tids);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->done);
        free(p);
}
