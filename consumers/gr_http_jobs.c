/* The /jobs/ requests: the server's threads queue them and wait; the
 * daemon runs them on its own thread with gr_metrics_dispatch(), because
 * only that thread may read its job tables (see gr_metrics.h). */
#include "gr_metrics_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <microhttpd.h>

#include "gr_html.h"
#include "gr_output.h"

void gr_metrics_job_finder_set(gr_metrics *m, gr_metrics_job_find *find,
                               void *opaque) {
        if (!m)
                return;
        pthread_mutex_lock(&m->lock);
        m->job_find = find;
        m->job_opaque = opaque;
        pthread_mutex_unlock(&m->lock);
}

/* On the daemon thread: find, authorize, render.  rc as job_req.rc. */
static int job_run(gr_metrics_job_find *find, void *opaque, job_req *r) {
        const gr_job *j = find ? find(opaque, r->job_id) : NULL;

        if (!j)
                return 1;
        if (!gr_http_may_read(&r->who, j))
                return 2;
        if (r->json)
                gr_receipt_to_json(j, &r->out);
        else
                gr_receipt_to_html(j, &r->out);
        return r->out.oom ? -1 : 0;
}

int gr_metrics_dispatch(gr_metrics *m) {
        job_req *list, *r;
        gr_metrics_job_find *find;
        void *opaque;
        int n = 0;

        if (!m || !atomic_load_explicit(&m->pending, memory_order_acquire))
                return 0;
        pthread_mutex_lock(&m->lock);
        list = m->queue;
        m->queue = NULL;
        atomic_store(&m->pending, 0);
        find = m->job_find;
        opaque = m->job_opaque;
        for (r = list; r; r = r->next)
                r->state = REQ_RUNNING;
        pthread_mutex_unlock(&m->lock);

        /* The requests stay owned by their HTTP threads, which wait for
         * REQ_DONE and never free a running request. */
        for (r = list; r; r = r->next) {
                r->rc = job_run(find, opaque, r);
                n++;
        }
        pthread_mutex_lock(&m->lock);
        while (list) {
                r = list;
                list = r->next;
                r->state = REQ_DONE;
        }
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        return n;
}

/* Queue a lookup and wait for the daemon.  Returns the HTTP status. */
unsigned gr_http_job_lookup(gr_metrics *m, job_req *r) {
        struct timespec until;
        unsigned status;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += GR_METRICS_JOB_WAIT_MS / 1000;
        until.tv_nsec += (GR_METRICS_JOB_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&m->lock);
        if (!m->job_find || m->stopping) {
                pthread_mutex_unlock(&m->lock);
                return m->job_find ? MHD_HTTP_SERVICE_UNAVAILABLE
                                   : MHD_HTTP_NOT_FOUND;
        }
        r->state = REQ_QUEUED;
        r->next = m->queue;
        m->queue = r;
        atomic_store_explicit(&m->pending, 1, memory_order_release);
        while (r->state != REQ_DONE) {
                int e = 0;
                if (r->state == REQ_RUNNING)
                        /* The callback is running on the daemon thread
                         * and writes into r: wait for it, however long. */
                        pthread_cond_wait(&m->cond, &m->lock);
                else if (m->stopping)
                        e = ETIMEDOUT;
                else
                        e = pthread_cond_timedwait(&m->cond, &m->lock,
                                                   &until);
                if (e == ETIMEDOUT && r->state == REQ_QUEUED) {
                        /* Not picked up: take it back out of the queue. */
                        job_req **pp = &m->queue;
                        while (*pp && *pp != r)
                                pp = &(*pp)->next;
                        if (*pp)
                                *pp = r->next;
                        pthread_mutex_unlock(&m->lock);
                        return MHD_HTTP_SERVICE_UNAVAILABLE;
                }
        }
        pthread_mutex_unlock(&m->lock);
        status = r->rc == 0   ? MHD_HTTP_OK :
                 r->rc == 1   ? MHD_HTTP_NOT_FOUND :
                 r->rc == 2   ? MHD_HTTP_FORBIDDEN :
                                MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (status == MHD_HTTP_OK && r->out.oom)
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return status;
}

