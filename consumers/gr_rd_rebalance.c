/* The consumer group's assign/revoke callback and the run loop's handling
 * of what it recorded (gr_rd.h).
 *
 * The callback runs inside rd_kafka_consumer_poll(): it only copies the
 * event (kind, partitions, whether the assignment was lost, protocol)
 * into r->reb and calls rd_kafka_yield(), so the poll returns at once.
 * The group waits for the application's assign/unassign call (librdkafka
 * keeps the member in its wait-for-assign-call state, heartbeating), so
 * the run loop makes it itself, outside any callback, in
 * grd_rebalance_serve():
 *
 *   revoke: commit the batch in hand (or fail it when the assignment was
 *           lost), destroy the partitions (cancelling restores in
 *           flight), then incremental_unassign (COOPERATIVE: those of
 *           them in the consumer's assignment) or assign(NULL) (EAGER);
 *   assign: a partition object per new partition, its restore queued on
 *           the restore thread (gr_rtq.h).  COOPERATIVE: an empty
 *           incremental_assign ends the group's step at once, and each
 *           partition is incrementally assigned at its restored start
 *           when its own restore is done (grd_part_input_start) — the
 *           partitions already owned are processed meanwhile.  EAGER
 *           (every partition was just revoked): the assign() call waits
 *           until all of them are restored, then assigns them at their
 *           starts.
 *
 * A new partition is never assigned before its restore, so no record of
 * it can be fetched, let alone applied, before its jobs are back.  While
 * the consumer is closing nothing is processed any more: the callback
 * then hands partitions over at once (rebalance_now). */
#include "gr_rd.h"

/* ------------------------------------------------------------------ */
/* The pending events                                                  */

int grd_reb_push(grd_reb_queue *q, rd_kafka_resp_err_t err,
                 const rd_kafka_topic_partition_list_t *tps, int lost,
                 int coop) {
        grd_reb_ev *ev = calloc(1, sizeof(*ev));

        if (!ev)
                return -1;
        ev->err = err;
        ev->lost = lost;
        ev->coop = coop;
        if (tps && !(ev->tps = rd_kafka_topic_partition_list_copy(tps))) {
                free(ev);
                return -1;
        }
        if (q->tail)
                q->tail->next = ev;
        else
                q->head = ev;
        q->tail = ev;
        return 0;
}

grd_reb_ev *grd_reb_pop(grd_reb_queue *q) {
        grd_reb_ev *ev = q->head;

        if (!ev)
                return NULL;
        if (!(q->head = ev->next))
                q->tail = NULL;
        ev->next = NULL;
        return ev;
}

void grd_reb_ev_free(grd_reb_ev *ev) {
        if (!ev)
                return;
        if (ev->tps)
                rd_kafka_topic_partition_list_destroy(ev->tps);
        free(ev);
}

void grd_reb_clear(grd_reb_queue *q) {
        grd_reb_ev *ev;

        while ((ev = grd_reb_pop(q)))
                grd_reb_ev_free(ev);
}

/* ------------------------------------------------------------------ */

static void part_list(const rd_kafka_topic_partition_list_t *tps, char *list,
                      size_t size) {
        size_t off = 0;

        list[0] = '\0';
        for (int i = 0; tps && i < tps->cnt && off < size - 16; i++)
                off += (size_t)snprintf(list + off, size - off, "%s%d",
                                        i ? "," : "",
                                        (int)tps->elems[i].partition);
}

static void assign_mark(gr_receiptd *r,
                        const rd_kafka_topic_partition_list_t *tps, char v) {
        for (int i = 0; tps && i < tps->cnt; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn >= 0 && pn < r->nparts)
                        r->assigned[pn] = v;
        }
}

/* (incremental_)assign or unassign tps, keeping r->assigned. */
static void assign_call(gr_receiptd *r, int coop,
                        rd_kafka_topic_partition_list_t *tps, int add) {
        rd_kafka_error_t *e = NULL;
        rd_kafka_resp_err_t err = 0;

        if (coop)
                e = add ? rd_kafka_incremental_assign(r->consumer, tps) :
                          rd_kafka_incremental_unassign(r->consumer, tps);
        else
                err = rd_kafka_assign(r->consumer, add ? tps : NULL);
        if (!add && !coop)
                memset(r->assigned, 0, (size_t)r->nparts);
        else if (!e && !err)
                assign_mark(r, tps, add);
        if (e) {
                rlog(r, 0, "incremental %s: %s", add ? "assign" : "unassign",
                     rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
        } else if (err) {
                rlog(r, 0, "%s: %s", add ? "assign" : "unassign",
                     rd_kafka_err2str(err));
                r->fatal = 1;
        }
}

/* COOPERATIVE unassign: only what is in the consumer's assignment (a
 * partition still restoring never joined it). */
static void unassign_coop(gr_receiptd *r,
                          const rd_kafka_topic_partition_list_t *tps) {
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(tps ? tps->cnt : 0);

        for (int i = 0; tps && i < tps->cnt; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn < 0 || pn >= r->nparts || r->assigned[pn])
                        rd_kafka_topic_partition_list_add(
                            l, tps->elems[i].topic, pn);
        }
        assign_call(r, 1, l, 0);
        rd_kafka_topic_partition_list_destroy(l);
}

/* assign(NULL): EAGER's revoke, and the reset after a rebalance error
 * (its result is not checked: there is nothing left to undo). */
static void unassign_all(gr_receiptd *r) {
        rd_kafka_assign(r->consumer, NULL);
        memset(r->assigned, 0, (size_t)r->nparts);
        if (r->eager_wait) {
                rd_kafka_topic_partition_list_destroy(r->eager_wait);
                r->eager_wait = NULL;
        }
}

static void unassign(gr_receiptd *r, int coop,
                     const rd_kafka_topic_partition_list_t *tps) {
        if (coop)
                unassign_coop(r, tps);
        else
                unassign_all(r);
}

static int64_t start_offset(const gr_part *p) {
        return p->next_offset >= 0 ? p->next_offset :
                                     RD_KAFKA_OFFSET_BEGINNING;
}

/* A partition that joins the assignment flows: an application pause
 * (a rewind's) outlives unassign in librdkafka, so a partition paused by
 * a failed batch, then lost and given back, would stay paused. */
static void resume_assigned(gr_receiptd *r,
                            rd_kafka_topic_partition_list_t *l) {
        rd_kafka_resp_err_t e = rd_kafka_resume_partitions(r->consumer, l);

        if (e)
                rlog(r, 2, "resume: %s", rd_kafka_err2str(e));
}

/* EAGER: assign the held-back assignment once each of its partitions is
 * restored (or failed: the instance stops then). */
static void eager_try(gr_receiptd *r) {
        rd_kafka_topic_partition_list_t *l = r->eager_wait;

        if (!l)
                return;
        for (int i = 0; i < l->cnt; i++) {
                int32_t pn = l->elems[i].partition;
                gr_part *p = pn >= 0 && pn < r->nparts ? r->parts[pn] : NULL;
                if (p && !r->fatal && (!p->eng || p->rt))
                        return; /* still restoring */
                l->elems[i].offset = p ? start_offset(p) :
                                         RD_KAFKA_OFFSET_INVALID;
        }
        r->eager_wait = NULL;
        assign_call(r, 0, l, 1);
        if (!r->fatal)
                resume_assigned(r, l);
        for (int i = 0; i < l->cnt && !r->fatal; i++) {
                int32_t pn = l->elems[i].partition;
                gr_part *p = pn >= 0 && pn < r->nparts ? r->parts[pn] : NULL;
                if (p) {
                        p->restoring = 0;
                        gr_metrics_partition_restored(r->metrics, pn, 1);
                }
        }
        rd_kafka_topic_partition_list_destroy(l);
}

void grd_part_input_start(gr_receiptd *r, gr_part *p) {
        rd_kafka_topic_partition_list_t *l;

        if (!r->coop) {
                eager_try(r);
                return;
        }
        l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, r->topics.name[GR_TOPIC_EVENTS],
                                          p->partition)
            ->offset = start_offset(p);
        assign_call(r, 1, l, 1);
        if (!r->fatal)
                resume_assigned(r, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (!r->fatal) {
                p->restoring = 0;
                gr_metrics_partition_restored(r->metrics, p->partition, 1);
        }
}

static void parts_destroy(gr_receiptd *r,
                          const rd_kafka_topic_partition_list_t *tps) {
        for (int i = 0; tps && i < tps->cnt; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn >= 0 && pn < r->nparts && r->parts[pn]) {
                        grd_part_destroy(r->parts[pn]);
                        r->parts[pn] = NULL;
                }
        }
}

static void reb_revoke(gr_receiptd *r, grd_reb_ev *ev, const char *list) {
        for (int i = 0; i < ev->tps->cnt; i++) {
                int32_t pn = ev->tps->elems[i].partition;
                if (pn >= 0 && pn < r->nparts && r->parts[pn])
                        r->parts[pn]->revoking = 1;
        }
        if (ev->lost) {
                rlog(r, 1, "assignment of [%s] lost: abandoning the batch in "
                           "hand",
                     list);
                if (r->batch_records)
                        grd_batch_fail(r);
        } else {
                rlog(r, 1, "revoking [%s]: committing the batch in hand first",
                     list);
                grd_batch_commit(r);
        }
        parts_destroy(r, ev->tps);
        unassign(r, ev->coop, ev->tps);
}

static void reb_assign(gr_receiptd *r, grd_reb_ev *ev, const char *list) {
        rd_kafka_topic_partition_list_t *tps = ev->tps;
        int held = 0;

        r->assigned_once = 1;
        rlog(r, 1, "assigned partition(s) [%s] of %s (%s)", list,
             r->topics.name[GR_TOPIC_EVENTS], ev->coop ? "COOPERATIVE" :
                                                         "EAGER");
        /* A partition still held (an assign after a failed rebalance) is
         * taken as new: its input position is not known to be ours. */
        for (int i = 0; i < tps->cnt; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn >= 0 && pn < r->nparts && r->parts[pn])
                        held = 1;
        }
        if (held) {
                grd_batch_commit(r);
                parts_destroy(r, tps);
                if (ev->coop)
                        unassign_coop(r, tps);
        }
        for (int i = 0; i < tps->cnt && !r->fatal; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn < 0 || pn >= r->nparts)
                        continue;
                if (!(r->parts[pn] = grd_part_new(r, pn)) ||
                    grd_part_restore_begin(r, r->parts[pn]) == -1) {
                        rlog(r, 0, "partition %d: out of memory", (int)pn);
                        r->fatal = 1;
                }
        }
        if (r->fatal) {
                /* The group waits for the call even so (the consumer
                 * could not close without it); nothing is taken. */
                assign_call(r, ev->coop, tps, 1);
        } else if (ev->coop) {
                /* The group's step ends now; each partition joins the
                 * assignment when restored (grd_part_input_start). */
                rd_kafka_topic_partition_list_t *none =
                    rd_kafka_topic_partition_list_new(0);
                assign_call(r, 1, none, 1);
                rd_kafka_topic_partition_list_destroy(none);
        } else {
                if (r->eager_wait)
                        rd_kafka_topic_partition_list_destroy(r->eager_wait);
                r->eager_wait = ev->tps;
                ev->tps = NULL;
                eager_try(r);
        }
}

/* Closing, or the event could not be recorded: nothing is processed any
 * more, so partitions are handed over at once — given up without a
 * commit (the batch was finished before closing), or assigned without
 * engines (their records are not taken). */
static void rebalance_now(gr_receiptd *r, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *tps, int coop) {
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                r->assigned_once = 1;
                assign_call(r, coop, tps, 1);
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                parts_destroy(r, tps);
                unassign(r, coop, tps);
        } else {
                unassign_all(r);
        }
}

void grd_rebalance_serve(gr_receiptd *r) {
        grd_reb_ev *ev;
        char list[512];

        while ((ev = grd_reb_pop(&r->reb))) {
                part_list(ev->tps, list, sizeof(list));
                r->coop = ev->coop;
                if (r->closing) {
                        rebalance_now(r, ev->err, ev->tps, ev->coop);
                        grd_reb_ev_free(ev);
                        continue;
                }
                switch (ev->err) {
                case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                        if (!r->fatal)
                                reb_assign(r, ev, list);
                        else
                                assign_call(r, ev->coop, ev->tps, 1);
                        break;
                case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                        reb_revoke(r, ev, list);
                        break;
                default:
                        rlog(r, 0, "rebalance error: %s",
                             rd_kafka_err2str(ev->err));
                        if (r->batch_records)
                                grd_batch_fail(r);
                        for (int32_t i = 0; i < r->nparts; i++) {
                                grd_part_destroy(r->parts[i]);
                                r->parts[i] = NULL;
                        }
                        unassign_all(r);
                        break;
                }
                grd_reb_ev_free(ev);
        }
        grd_ready_update(r);
}

void grd_rebalance_close(gr_receiptd *r) {
        r->closing = 1;
        if (!r->parts || !r->assigned)
                return; /* never started */
        grd_rebalance_serve(r);
        if (r->eager_wait && r->consumer) {
                /* The group waits for this call before it lets go. */
                rd_kafka_topic_partition_list_t *l = r->eager_wait;
                r->eager_wait = NULL;
                assign_call(r, 0, l, 1);
                rd_kafka_topic_partition_list_destroy(l);
        }
}

void grd_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *tps, void *opaque) {
        gr_receiptd *r = opaque;
        int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        /* Only valid here: assign/unassign clears it. */
        int lost = err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS &&
                   rd_kafka_assignment_lost(rk);

        if (!r->closing) {
                if (grd_reb_push(&r->reb, err, tps, lost, coop) == 0) {
                        rd_kafka_yield(rk);
                        return;
                }
                rlog(r, 0, "rebalance: out of memory recording the event");
                r->fatal = 1;
        }
        rebalance_now(r, err, tps, coop);
}

void grd_ready_update(gr_receiptd *r) {
        int ready = r->assigned_once && !r->fatal;

        for (int32_t i = 0; ready && i < r->nparts; i++)
                if (r->parts[i] && r->parts[i]->restoring)
                        ready = 0;
        gr_metrics_set_ready(r->metrics, ready);
}
