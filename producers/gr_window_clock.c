/* window_clock: reservation_expired for windows passed on the wall clock. */
#include "gr_window_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_hash.h"
#include "gr_json_event.h"
#include "gr_produce.h"

#define GR_CLOCK_PRODUCE_TIMEOUT_MS 5000

/* Jobs published and not yet seen back, as 64-bit hashes of
 * "job_id\nattempt": `prev` from the last sweep, `cur` for this one. */
typedef struct hset {
        uint64_t *v;
        size_t n, cap;
} hset;

struct gr_window_clock {
        rd_kafka_t *rk;
        char *topic;
        hset prev, cur;
        uint64_t published;
        gr_buf buf;
};

static int hset_has(const hset *s, uint64_t h) {
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i] == h)
                        return 1;
        return 0;
}

static int hset_add(hset *s, uint64_t h) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                uint64_t *v = realloc(s->v, cap * sizeof(*v));
                if (!v)
                        return -1;
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = h;
        return 0;
}

gr_window_clock *gr_window_clock_new(rd_kafka_conf_t *conf, const char *topic,
                                     char *errstr, size_t errstr_size) {
        gr_window_clock *c = calloc(1, sizeof(*c));
        char err[512];

        if (!c || !(c->topic = strdup(topic))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (rd_kafka_conf_set(conf, "enable.idempotence", "true", err,
                              sizeof(err)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "window clock producer: %s",
                         err);
                goto fail;
        }
        if (!(c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                snprintf(errstr, errstr_size, "window clock producer: %s",
                         err);
                goto fail;
        }
        gr_buf_init(&c->buf);
        return c;
fail:
        rd_kafka_conf_destroy(conf);
        if (c)
                free(c->topic);
        free(c);
        return NULL;
}

void gr_window_clock_destroy(gr_window_clock *c) {
        if (!c)
                return;
        if (c->rk) {
                rd_kafka_flush(c->rk, GR_CLOCK_PRODUCE_TIMEOUT_MS);
                rd_kafka_destroy(c->rk);
        }
        free(c->prev.v);
        free(c->cur.v);
        gr_buf_free(&c->buf);
        free(c->topic);
        free(c);
}

static uint64_t job_attempt_hash(const gr_job *job, char hex[65]) {
        char tmp[GR_ID_MAX + 16];
        int n = snprintf(tmp, sizeof(tmp), "%s\n%u", job->job_id,
                         (unsigned)job->attempt);
        uint64_t h = 0;

        /* An id too long for tmp (no event can carry it: the event is
         * refused) hashes what fits, never the bytes past tmp. */
        if (n < 0)
                n = 0;
        else if ((size_t)n >= sizeof(tmp))
                n = (int)sizeof(tmp) - 1;
        gr_sha256_hex(tmp, (size_t)n, hex);
        for (int i = 0; i < 16; i++)
                h = h << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0'
                                                      : hex[i] - 'a' + 10);
        return h ? h : 1;
}

int gr_window_clock_event(const gr_job *job, int64_t now_ms, gr_event *ev,
                          gr_err *err) {
        char hex[65], id[64], when[40];

        job_attempt_hash(job, hex);
        snprintf(id, sizeof(id), "window-clock:%.32s", hex);
        gr_time_format(now_ms, when, sizeof(when));
        memset(ev, 0, sizeof(*ev));
#define SET(f, s) gr_event_set_str(ev, GR_F_##f, s, strlen(s), err)
        if (SET(event_id, id) || SET(job_id, job->job_id) ||
            gr_event_set_int(ev, GR_F_attempt, job->attempt, err) ||
            SET(type, "reservation_expired") || SET(occurred_at, when) ||
            SET(role, "marketplace") || SET(actor_id, "receiptd-window-clock"))
                return -1;
#undef SET
        return gr_event_validate(ev, err);
}

void gr_window_clock_sweep_begin(gr_window_clock *c) {
        c->cur.n = 0;
}

int gr_window_clock_publish(gr_window_clock *c, const gr_job *job,
                            int32_t partition, int64_t now_ms, char *errstr,
                            size_t errstr_size) {
        char hex[65];
        uint64_t h = job_attempt_hash(job, hex);
        gr_event ev;
        gr_err err;
        rd_kafka_resp_err_t e;

        if (hset_has(&c->prev, h)) { /* sent, not yet back: keep waiting */
                if (hset_add(&c->cur, h))
                        goto oom;
                return 0;
        }
        if (gr_window_clock_event(job, now_ms, &ev, &err)) {
                snprintf(errstr, errstr_size, "window clock event for %s: %s",
                         job->job_id, err.detail);
                return -1;
        }
        gr_buf_reset(&c->buf);
        gr_json_event_encode(&ev, &c->buf);
        if (c->buf.oom)
                goto oom;
        e = gr_record_produce(c->rk, c->topic, partition, job->job_id,
                              strlen(job->job_id), c->buf.data, c->buf.len,
                              NULL, GR_CLOCK_PRODUCE_TIMEOUT_MS);
        if (e) {
                snprintf(errstr, errstr_size, "window clock produce: %s",
                         rd_kafka_err2str(e));
                return -1;
        }
        if (hset_add(&c->cur, h))
                goto oom;
        c->published++;
        return 1;
oom:
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

uint64_t gr_window_clock_sweep_end(gr_window_clock *c) {
        hset t = c->prev;
        c->prev = c->cur;
        c->cur = t;
        rd_kafka_poll(c->rk, 0);
        return c->published;
}
