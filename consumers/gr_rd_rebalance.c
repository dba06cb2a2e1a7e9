/* The consumer group's assign/revoke callback (gr_rd.h). */
#include "gr_rd.h"

void grd_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *tps, void *opaque) {
        gr_receiptd *r = opaque;
        int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        rd_kafka_error_t *e = NULL;
        char list[512];
        size_t off = 0;

        list[0] = '\0';
        for (int i = 0; i < tps->cnt && off < sizeof(list) - 16; i++)
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d",
                                        i ? "," : "",
                                        (int)tps->elems[i].partition);

        switch (err) {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                r->assigned_once = 1;
                gr_metrics_set_ready(r->metrics, 0);
                rlog(r, 1, "assigned partition(s) [%s] of %s", list,
                     r->topics.name[GR_TOPIC_EVENTS]);
                for (int i = 0; i < tps->cnt; i++) {
                        int32_t pn = tps->elems[i].partition;
                        int64_t start;
                        if (pn < 0 || pn >= r->nparts)
                                continue;
                        if (!r->parts[pn] && !(r->parts[pn] = grd_part_new(r, pn))) {
                                r->fatal = 1;
                                break;
                        }
                        /* State first, then input: nothing of this
                         * partition is applied before its jobs are back. */
                        if (grd_part_restore(r, r->parts[pn], &start) == -1) {
                                r->fatal = 1;
                                break;
                        }
                        tps->elems[i].offset = start;
                }
                if (coop)
                        e = rd_kafka_incremental_assign(rk, tps);
                else
                        rd_kafka_assign(rk, tps);
                gr_metrics_set_ready(r->metrics, !r->fatal);
                break;

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                for (int i = 0; i < tps->cnt; i++) {
                        int32_t pn = tps->elems[i].partition;
                        if (pn >= 0 && pn < r->nparts && r->parts[pn])
                                r->parts[pn]->revoking = 1;
                }
                if (rd_kafka_assignment_lost(rk)) {
                        rlog(r, 1, "assignment of [%s] lost: abandoning the "
                                   "batch in hand",
                             list);
                        if (r->batch_records)
                                grd_batch_fail(r);
                } else {
                        rlog(r, 1, "revoking [%s]: committing the batch in "
                                   "hand first",
                             list);
                        grd_batch_commit(r);
                }
                for (int i = 0; i < tps->cnt; i++) {
                        int32_t pn = tps->elems[i].partition;
                        if (pn >= 0 && pn < r->nparts) {
                                grd_part_destroy(r->parts[pn]);
                                r->parts[pn] = NULL;
                        }
                }
                if (coop)
                        e = rd_kafka_incremental_unassign(rk, tps);
                else
                        rd_kafka_assign(rk, NULL);
                break;

        default:
                rlog(r, 0, "rebalance error: %s", rd_kafka_err2str(err));
                rd_kafka_assign(rk, NULL);
                break;
        }
        if (e) {
                rlog(r, 0, "incremental (un)assign: %s",
                     rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
        }
}
