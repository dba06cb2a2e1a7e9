#include "gr_restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gr_buf.h"
#include "gr_checkpoint.h"
#include "gr_state_json.h"
#include "gr_topics.h"

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int watermark_retriable(rd_kafka_resp_err_t e) {
        switch (e) {
        case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
        case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
        case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
        case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
        case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR__TRANSPORT:
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
                return 1;
        default:
                return 0;
        }
}

/* The watermark query asks the leader the client has cached, and an
 * answer "not leader" does not refresh that: ask for the topic's metadata,
 * so the next query goes to the partition's leader now. */
static void metadata_refresh(rd_kafka_t *rc, const char *topic,
                             int64_t deadline) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rc, topic, NULL);
        int64_t left = deadline - now_ms();

        if (!rkt)
                return;
        if (!rd_kafka_metadata(rc, 0, rkt, &md,
                               left > 1000 ? 1000 : left > 0 ? (int)left : 1))
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
}

static int cancelled(const atomic_int *cancel) {
        return cancel && atomic_load(cancel);
}

int gr_partition_scan(rd_kafka_t *rc, const char *topic, int32_t partition,
                      int timeout_ms, gr_scan_cb *cb, void *opaque,
                      char *errstr, size_t errstr_size) {
        return gr_partition_scan_cancel(rc, topic, partition, timeout_ms, cb,
                                        opaque, NULL, 0, NULL, errstr,
                                        errstr_size);
}

int gr_partition_scan_cancel(rd_kafka_t *rc, const char *topic,
                             int32_t partition, int timeout_ms, gr_scan_cb *cb,
                             void *opaque, const atomic_int *cancel,
                             unsigned flags, int64_t *settle_ms,
                             char *errstr, size_t errstr_size) {
        rd_kafka_topic_partition_list_t *tp;
        rd_kafka_resp_err_t e;
        int64_t lo = 0, hi = 0, deadline = now_ms() + timeout_ms;
        int64_t unsettled_since = -1;
        int rc_ret = -1, done = 0;
        int settled = (flags & GR_SCAN_SETTLED) != 0;

        if (settle_ms)
                *settle_ms = 0;

        /* A real cluster answers ListOffsets with retriable errors while a
         * partition is new or its leader moves (a broker died): ask again
         * until the deadline. */
        for (;;) {
                int64_t left = deadline - now_ms();
                struct timespec pause = {0, 100 * 1000000L};

                /* Cancellable: ask in slices, a timed-out slice is
                 * asked again. */
                if (cancel && left > 500)
                        left = 500;
                e = rd_kafka_query_watermark_offsets(
                    rc, topic, partition, &lo, &hi,
                    left > 0 ? (int)left : 1);
                if (!e || now_ms() >= deadline || cancelled(cancel) ||
                    !(watermark_retriable(e) ||
                      (cancel && e == RD_KAFKA_RESP_ERR__TIMED_OUT)))
                        break;
                nanosleep(&pause, NULL);
                if (e != RD_KAFKA_RESP_ERR__TIMED_OUT)
                        metadata_refresh(rc, topic, deadline);
        }
        if (cancelled(cancel)) {
                snprintf(errstr, errstr_size, "%s [%d]: cancelled", topic,
                         (int)partition);
                return -1;
        }
        if (e) {
                snprintf(errstr, errstr_size, "%s [%d]: watermarks: %s", topic,
                         (int)partition, rd_kafka_err2str(e));
                return -1;
        }
        /* Under read_committed `hi` is the last stable offset: an empty
         * answer may still hide an open transaction's records. */
        if (hi <= lo && !settled)
                return 0;

        tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, topic, partition)->offset = lo;
        e = rd_kafka_assign(rc, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        if (e) {
                snprintf(errstr, errstr_size, "%s [%d]: assign: %s", topic,
                         (int)partition, rd_kafka_err2str(e));
                return -1;
        }
        while (!done) {
                int64_t left = deadline - now_ms();
                rd_kafka_message_t *m;

                if (cancelled(cancel)) {
                        snprintf(errstr, errstr_size, "%s [%d]: cancelled",
                                 topic, (int)partition);
                        goto out;
                }
                if (left <= 0) {
                        snprintf(errstr, errstr_size,
                                 "%s [%d]: not read to offset %lld within "
                                 "%d ms",
                                 topic, (int)partition, (long long)hi,
                                 timeout_ms);
                        goto out;
                }
                m = rd_kafka_consumer_poll(rc, left < 100 ? (int)left : 100);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        /* Under read_committed the end can sit below the
                         * high watermark (transaction markers, and the
                         * records of a transaction still open). */
                        done = m->partition == partition;
                        if (done && settled) {
                                int64_t l, hw;

                                /* The fetch that reported this end also
                                 * cached the high watermark: the partition
                                 * is settled when nothing lies past the
                                 * stable end.  Otherwise a transaction is
                                 * open; its end (commit or abort) moves
                                 * the stable end and brings a new EOF. */
                                done = !rd_kafka_get_watermark_offsets(
                                           rc, topic, partition, &l, &hw) &&
                                       m->offset >= hw;
                                if (!done && unsettled_since < 0)
                                        unsettled_since = now_ms();
                        }
                } else if (m->err ==
                               RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                           m->err ==
                               RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
                        /* Not transient: say so now, not at the deadline. */
                        snprintf(errstr, errstr_size, "%s [%d]: %s", topic,
                                 (int)partition, rd_kafka_err2str(m->err));
                        rd_kafka_message_destroy(m);
                        goto out;
                } else if (m->err) {
                        /* Transient fetch errors are retried by the client;
                         * only give up on the deadline. */
                } else if (m->partition == partition) {
                        cb(opaque, m);
                        /* Settled scans end on EOF only: past `hi` may
                         * come committed records of a transaction that
                         * was open when `hi` was asked. */
                        done = !settled && m->offset + 1 >= hi;
                }
                rd_kafka_message_destroy(m);
        }
        rc_ret = 0;
out:
        if (settle_ms && unsettled_since >= 0)
                *settle_ms = now_ms() - unsettled_since;
        rd_kafka_assign(rc, NULL);
        return rc_ret;
}

void gr_restore_merge_init(gr_restore_merge *c, int32_t partition,
                           gr_jobtab *jobs, gr_restore_result *res) {
        memset(c, 0, sizeof(*c));
        c->jobs = jobs;
        c->res = res;
        memset(res, 0, sizeof(*res));
        res->checkpoint = -1;
        gr_checkpoint_key(partition, c->ckey, sizeof(c->ckey));
        c->ckeylen = strlen(c->ckey);
}

void gr_restore_merge_record(gr_restore_merge *c,
                             const rd_kafka_message_t *m) {
        char err[256], id[GR_ID_MAX];
        gr_job *job;

        if (!m->key || m->key_len == 0) {
                c->res->bad++;
                return;
        }
        if (m->key_len == c->ckeylen && !memcmp(m->key, c->ckey, c->ckeylen)) {
                int64_t off =
                    m->payload ? gr_checkpoint_decode(m->payload, m->len) : -1;
                if (!m->payload) {
                        /* A tombstone deletes the checkpoint, as compaction
                         * will: the input resumes at the group's committed
                         * offset then. */
                        c->res->checkpoint = -1;
                        c->res->has_frontier = 0;
                } else if (off >= 0) {
                        c->res->checkpoint = off;
                        c->res->has_frontier =
                            gr_checkpoint_frontier_decode(
                                m->payload, m->len, &c->res->frontier) == 0;
                } else {
                        c->res->bad++;
                }
                return;
        }
        if (m->key_len >= sizeof(GR_CHECKPOINT_KEY_PREFIX) - 1 &&
            !memcmp(m->key, GR_CHECKPOINT_KEY_PREFIX,
                    sizeof(GR_CHECKPOINT_KEY_PREFIX) - 1))
                return; /* another partition's checkpoint: not ours */
        c->res->records++;
        if (!c->jobs)
                return;
        if (!m->payload) {
                if (m->key_len < sizeof(id)) {
                        memcpy(id, m->key, m->key_len);
                        id[m->key_len] = '\0';
                        gr_jobtab_remove(c->jobs, id);
                }
                c->res->tombstones++;
                return;
        }
        job = gr_state_decode(m->payload, m->len, err, sizeof(err));
        if (!job || gr_jobtab_put(c->jobs, job) == -1) {
                if (job)
                        gr_job_destroy(job);
                c->res->bad++;
                return;
        }
}

static void restore_record(void *opaque, const rd_kafka_message_t *m) {
        gr_restore_merge_record(opaque, m);
}

int gr_restore_partition(rd_kafka_t *rc, const char *state_topic,
                         int32_t partition, gr_jobtab *jobs, int timeout_ms,
                         gr_restore_result *res, char *errstr,
                         size_t errstr_size) {
        return gr_restore_partition_cancel(rc, state_topic, partition, jobs,
                                           timeout_ms, NULL, 0, res, errstr,
                                           errstr_size);
}

int gr_restore_partition_cancel(rd_kafka_t *rc, const char *state_topic,
                                int32_t partition, gr_jobtab *jobs,
                                int timeout_ms, const atomic_int *cancel,
                                unsigned flags, gr_restore_result *res,
                                char *errstr, size_t errstr_size) {
        gr_restore_merge c;
        int64_t t0 = now_ms(), settle = 0;
        int r;

        gr_restore_merge_init(&c, partition, jobs, res);
        r = gr_partition_scan_cancel(rc, state_topic, partition, timeout_ms,
                                     restore_record, &c, cancel, flags,
                                     &settle, errstr, errstr_size);
        res->settle_ms = (double)settle;
        if (jobs)
                res->jobs = gr_jobtab_count(jobs);
        res->ms = (double)(now_ms() - t0);
        return r;
}
