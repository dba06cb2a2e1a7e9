/* The consumer group's assign/revoke callback and the run loop's handling
 * of what it recorded (gr_rd.h).
 *
 * The callback runs inside rd_kafka_consumer_poll(): it only copies the
 * event (kind, partitions, whether the assignment was lost) into
 * r->reb and calls rd_kafka_yield(), so the poll returns at once.  The
 * group waits for the application's (incremental_)assign/unassign call
 * (librdkafka keeps the member in its wait-for-assign-call state and the
 * assigned partitions paused meanwhile), so the run loop makes that call
 * itself, outside any callback, with grd_rebalance_serve():
 *
 *   revoke: commit the batch in hand (or fail it when the assignment was
 *           lost), destroy the partitions (cancelling their restores),
 *           then incremental_unassign (COOPERATIVE) or assign(NULL)
 *           (EAGER);
 *   assign: a partition object per new partition, (incremental_)assign
 *           with the new partitions at their end, pause them and queue
 *           their restores on the restore thread (gr_rtq.h); each is
 *           sought to its restored start and resumed by the run loop when
 *           its own restore is done (grd_restores_finish), while the
 *           partitions already owned go on being processed.  A revoke of
 *           a partition still restoring cancels its restore.
 *
 * While the consumer is closing nothing is processed any more: the
 * callback then hands partitions over at once (rebalance_now). */
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

static void assign_call(gr_receiptd *r, int coop,
                        rd_kafka_topic_partition_list_t *tps, int add) {
        rd_kafka_error_t *e = NULL;
        rd_kafka_resp_err_t err = 0;

        if (coop)
                e = add ? rd_kafka_incremental_assign(r->consumer, tps) :
                          rd_kafka_incremental_unassign(r->consumer, tps);
        else
                err = rd_kafka_assign(r->consumer, add ? tps : NULL);
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
        assign_call(r, ev->coop, ev->tps, 0);
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
        }
        for (int i = 0; i < tps->cnt; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn < 0 || pn >= r->nparts)
                        continue;
                if (!(r->parts[pn] = grd_part_new(r, pn))) {
                        rlog(r, 0, "partition %d: out of memory", (int)pn);
                        r->fatal = 1;
                        break;
                }
                /* Nothing of the partition is applied before its jobs are
                 * back: assigned at the end (nothing there to fetch),
                 * paused at once, sought to its restored start and resumed
                 * when its restore is done. */
                tps->elems[i].offset = RD_KAFKA_OFFSET_END;
        }
        /* Even after a failure: the group waits for this call (the
         * consumer could not even close without it). */
        assign_call(r, ev->coop, tps, 1);
        for (int i = 0; i < tps->cnt && !r->fatal; i++) {
                int32_t pn = tps->elems[i].partition;
                if (pn >= 0 && pn < r->nparts && r->parts[pn] &&
                    grd_part_restore_begin(r, r->parts[pn]) == -1)
                        r->fatal = 1;
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
                assign_call(r, coop, tps, 0);
        } else {
                rd_kafka_assign(r->consumer, NULL);
        }
}

void grd_rebalance_serve(gr_receiptd *r) {
        grd_reb_ev *ev;
        char list[512];

        while ((ev = grd_reb_pop(&r->reb))) {
                part_list(ev->tps, list, sizeof(list));
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
                        rd_kafka_assign(r->consumer, NULL);
                        break;
                }
                grd_reb_ev_free(ev);
        }
        grd_ready_update(r);
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
