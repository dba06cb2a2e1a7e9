/*
 * receiptd's insides, shared by the files of consumers/ that implement
 * gr_receiptd.h — not an interface for anyone else:
 *
 *   gr_receiptd.c      set-up (clients, policy, keys, topics), the run loop,
 *                      the window clock, shutdown
 *   gr_rd_part.c       one assigned partition: its engine, restore from the
 *                      state topic (on the restore thread, gr_rtq.h;
 *                      installed on the run loop), rewind, and the FSM's
 *                      sinks that turn its actions into output records
 *   gr_rd_batch.c      the batch: records held, decoded, verified, applied;
 *                      state and checkpoints written; commit or fail
 *   gr_rd_txn.c        the transactional producer: begin, commit with the
 *                      input offsets, abort; waiting for acknowledgements
 *   gr_rd_rebalance.c  the consumer group's assign/revoke callback (it
 *                      records the event) and the run loop's handling
 *   gr_rd_work.c       the processing workers: the partition split and
 *                      the fork-join pool (gr_rd_work.h, no Kafka)
 */
#ifndef GR_RD_H
#define GR_RD_H

#include "gr_receiptd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <sodium.h>

#include "gr_buf.h"
#include "gr_codec.h"
#include "gr_engine.h"
#include "gr_html.h"
#include "gr_metrics.h"
#include "gr_json_event.h"
#include "gr_keys.h"
#include "gr_merkle.h"
#include "gr_output.h"
#include "gr_outputs.h"
#include "gr_policy_json.h"
#include "gr_produce.h"
#include "gr_rd_work.h"
#include "gr_restore.h"
#include "gr_rtq.h"
#include "gr_sign.h"
#include "gr_state_json.h"
#include "gr_topics.h"
#include "gr_rules.h"
#include "gr_verify_pool.h"
#include "gr_window_clock.h"

/* Bound for every blocking call on the transactional producer; a batch
 * that cannot commit in this time is aborted and redone. */
#define GR_TXN_TIMEOUT_MS 30000
#define GR_TXN_RETRIES 3
#define GR_PRODUCE_TIMEOUT_MS 10000
#define GR_POLICY_MAX (1024 * 1024)
#define GR_PROGRESS_MS 60000
#define GR_JOIN_FINISH_MS 5000
/* With signatures to verify: records decoded and verified by the pool
 * together before they are applied in order (~11 KiB of gr_event each).
 * Without, a batch is held whole (batch.size records) and dealt to the
 * workers at once. */
#define GR_PEND_MAX 1024
/* A partition's checkpoint opens its batch's transaction (part_open() in
 * gr_rd_batch.c) when the batch holds at least this many of its records. */
#define GR_OPEN_MIN_RECORDS 8

/* One assigned input partition: its engine (the jobs whose events live on
 * this partition number) and what the batch in hand did to it. */
typedef struct gr_part {
        gr_receiptd *r;
        int32_t partition;
        gr_engine *eng;
        int64_t next_offset; /* next input offset to apply; -1 unknown */
        int touched;         /* in the batch in hand */
        int opened;          /* part_open() done for the batch in hand */
        uint32_t taken;      /* its records taken into the batch in hand */
        int failed;          /* out of memory in this batch: redo it */
        int revoking;
        /* Restoring (gr_rd_part.c): eng is NULL while the restore thread
         * works on rt; then, eng installed, until the input starts at
         * next_offset: a new partition is assigned there, one already
         * assigned (rewound) is sought there and resumed (seek_pending).
         * No record of the partition is taken before restoring is 0
         * (grd_part_live). */
        int restoring;
        int seek_pending;
        int64_t seek_deadline;
        double restore_t0;
        struct gr_rtask *rt;
        const gr_job **dirty; /* jobs to write to the state topic */
        size_t ndirty, capdirty;
        char **evicted; /* job_ids to tombstone in the state topic */
        size_t nevicted, capevicted;
        /* The partition's Merkle log over its ledger rows: the
         * frontier after every row produced so far, committed with the
         * checkpoint; head_size = tree_size of the last head published
         * (or restored); head_time = that head's timestamp; batch_latest =
         * latest occurred_at among this batch's rows. */
        gr_merkle_frontier merkle;
        uint64_t head_size;
        int64_t head_time;
        int64_t batch_latest;
} gr_part;

/* A rebalance event recorded by the callback for the run loop
 * (gr_rd_rebalance.c): its kind, a copy of its partitions, whether the
 * assignment was lost and the protocol (COOPERATIVE or EAGER). */
typedef struct grd_reb_ev {
        rd_kafka_resp_err_t err;
        rd_kafka_topic_partition_list_t *tps;
        int lost, coop;
        struct grd_reb_ev *next;
} grd_reb_ev;

typedef struct grd_reb_queue {
        grd_reb_ev *head, *tail;
} grd_reb_queue;

/* One processing worker (processing.threads, gr_rd_batch.c): while the
 * run loop waits in grd_pool_run, worker w decodes its share of the held
 * records, then applies the records of the partitions dealt to it
 * (grd_split) and writes their outputs with its own writers; nothing here
 * is shared with another worker.  Worker 0 is the run loop itself. */
typedef struct grd_worker {
        struct gr_receiptd *r;
        gr_codec *codec;      /* worker 0: r->codec; the others own one */
        gr_outputs out;       /* its writers (own rendering buffer) */
        gr_receiptd_stats st; /* its records' counts, added to r->st */
        int failed;           /* a writer failed: out.errstr says why */
        gr_event ev;          /* the record it applies, decoded (when no */
        gr_err err;           /* signatures are to be verified) */
} grd_worker;

struct gr_receiptd {
        const gr_config *cfg;
        gr_topics topics;
        gr_policy policy;
        rd_kafka_t *consumer, *producer;
        /* the producer's handle of every topic (gr_outputs_use_handles):
         * made after it, destroyed before it */
        rd_kafka_topic_t *rkt[GR_TOPIC__CNT];
        rd_kafka_t *restorer;  /* the restore thread's own consumer */
        gr_rtq *rtq;           /* restores, one after another */
        rd_kafka_queue_t *cq;  /* the consumer's queue (woken by rtq) */
        int eos;
        int closed;
        int closing; /* the run loop ended: rebalances handed over at once */
        grd_reb_queue reb; /* rebalance events not yet served */
        int assigned_once; /* a rebalance has assigned partitions */
        int join_unfinished; /* see join_unfinished() */
        int32_t nparts;
        gr_part **parts; /* [nparts], NULL when not assigned */
        /* In the consumer's assignment [nparts] (gr_rd_rebalance.c): a new
         * partition joins it only when restored. */
        char *assigned;
        int coop; /* the group's protocol is COOPERATIVE */
        /* EAGER: the assignment held back until its partitions are
         * restored (assign() replaces the whole assignment). */
        rd_kafka_topic_partition_list_t *eager_wait;
        int in_txn;
        int batch_records;
        double batch_t0;     /* when the batch took its first record */
        double batch_apply0; /* st.apply_ms then */
        double batch_end;    /* when the last batch ended, committed or
                                not (0: none yet) */
        int produce_failed;  /* a produce call failed in this batch */
        int delivery_failed; /* a delivery report failed in this batch */
        rd_kafka_resp_err_t delivery_err;
        rd_kafka_resp_err_t last_consume_err;
        int fatal;
        gr_codec *codec; /* JSON or Avro, by each record's framing */
        /* Records polled but not yet applied (owned), [cappend]; with
         * signatures to verify also their decoded events and decode/verify
         * results, [cappend] each (else NULL: workers decode as they
         * apply). */
        rd_kafka_message_t **pend;
        gr_event *evs;
        gr_event **pevs; /* events the pool verifies (NULL: skip) */
        int *prc;
        gr_err *perr;
        size_t npend, cappend;
        int need_auth;             /* the policy requires some signature */
        gr_verify_pool *vpool;     /* NULL when need_auth is 0 */
        const gr_keypair *kp;      /* processor key (cfg's), or NULL */
        gr_buf buf;
        gr_outputs out; /* the Kafka writers (producers/gr_outputs.h) */
        /* processing.threads workers; order/wstart: the split of the held
         * records (grd_split), ppart: their partitions, [cappend] each. */
        grd_pool *pool;
        grd_worker *workers;
        int nworkers;
        size_t *order, *wstart;
        int32_t *ppart;
        /* Delivery reports may be served on a worker (a produce call
         * waiting for queue space polls the producer). */
        pthread_mutex_t dr_mu;
        int dr_mu_init;
        gr_receiptd_stats st;
        gr_metrics *metrics; /* NULL when metrics.listen is unset */
        gr_window_clock *wclock; /* NULL unless the policy's window_clock */
};


static inline int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline double now_ms_f(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void grd_log(const gr_receiptd *r, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define rlog grd_log

/* The input record in hand and its decoded event, handed to the FSM's
 * sinks while it is applied (gr_engine_set_sink), with the worker whose
 * writers and counters they use. */
typedef struct grd_record {
        gr_part *part;
        grd_worker *w;
        const rd_kafka_message_t *m;
        const gr_event *ev;
} grd_record;

/* gr_rd_part.c */
/* The sinks of one record: ledger rows, decisions and rejects to the
 * writers, with rec (borrowed) as their opaque. */
void grd_record_sink(grd_record *rec, gr_fsm_sink *sink);
gr_part *grd_part_new(gr_receiptd *r, int32_t partition);
/* Cancels the partition's restore if one is in flight. */
void grd_part_destroy(gr_part *p);
void grd_part_batch_clear(gr_part *p);
void grd_part_dirty(gr_part *p, const gr_job *job);
/* Its records may be taken and applied: restored and sought. */
static inline int grd_part_live(const gr_part *p) {
        return p && p->eng && !p->restoring;
}
/* Drop the partition's engine, pause its input and queue its restore
 * from the state topic on the restore thread.  -1: out of memory. */
int grd_part_restore_begin(gr_receiptd *r, gr_part *p);
/* On the run loop: install the restores that finished, seek their input
 * to the restored start and resume it.  Cheap when none finished. */
void grd_restores_finish(gr_receiptd *r);
/* The restore thread's work and its result's release (gr_rtq.h). */
void grd_restore_run(void *opaque, gr_rtask *t);
void grd_restore_free(void *opaque, gr_rtask *t);
void grd_restore_wake(void *opaque);
void grd_rewind_touched(gr_receiptd *r);

/* gr_rd_txn.c */
void grd_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
int grd_txn_begin(gr_receiptd *r);
void grd_txn_abort(gr_receiptd *r);
int grd_txn_commit(gr_receiptd *r, rd_kafka_topic_partition_list_t *offs);
int grd_outputs_wait(gr_receiptd *r, const char *what);
/* A writer (producers/gr_outputs.h) failed: say why once per batch and
 * fail the batch. */
void grd_output_failed(gr_receiptd *r);

/* gr_rd_batch.c */
rd_kafka_message_t *grd_pend_add(gr_receiptd *r, rd_kafka_message_t *m);
void grd_pend_drop(gr_receiptd *r);
int grd_batch_commit(gr_receiptd *r);
/* processing.threads workers (set-up, after r->out); -1 with errstr. */
int grd_workers_init(gr_receiptd *r, char *errstr, size_t errstr_size);
void grd_workers_free(gr_receiptd *r);
void grd_batch_fail(gr_receiptd *r);

/* gr_rd_rebalance.c */
void grd_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *tps, void *opaque);
/* Serve the recorded events in order, outside any callback. */
void grd_rebalance_serve(gr_receiptd *r);
/* The run loop ended: serve what is pending by handing partitions over
 * at once, and from now on in the callback itself. */
void grd_rebalance_close(gr_receiptd *r);
/* A restored partition not yet assigned: assign it at its start
 * (COOPERATIVE), or the held-back assignment once all of it is restored
 * (EAGER). */
void grd_part_input_start(gr_receiptd *r, gr_part *p);
/* /readyz and gr_ready: assigned once, no fatal error, every owned
 * partition restored. */
void grd_ready_update(gr_receiptd *r);
/* The event queue: push copies tps (NULL allowed); -1 out of memory. */
int grd_reb_push(grd_reb_queue *q, rd_kafka_resp_err_t err,
                 const rd_kafka_topic_partition_list_t *tps, int lost,
                 int coop);
grd_reb_ev *grd_reb_pop(grd_reb_queue *q);
void grd_reb_ev_free(grd_reb_ev *ev);
void grd_reb_clear(grd_reb_queue *q);

#endif
