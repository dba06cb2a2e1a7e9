/* The transactional producer: begin, commit with the input offsets,
 * abort, and waiting for acknowledgements (gr_rd.h). */
#include "gr_rd.h"

void grd_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                      void *opaque) {
        gr_receiptd *r = opaque;

        (void)rk;
        if (!m->err)
                return;
        pthread_mutex_lock(&r->dr_mu);
        if (!r->delivery_failed) {
                r->delivery_failed = 1;
                r->delivery_err = m->err;
        }
        pthread_mutex_unlock(&r->dr_mu);
}

int grd_txn_begin(gr_receiptd *r) {
        rd_kafka_error_t *e;

        if (!r->eos || r->in_txn)
                return 0;
        if ((e = rd_kafka_begin_transaction(r->producer))) {
                rlog(r, 0, "begin_transaction: %s: %s", rd_kafka_error_name(e),
                     rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
                return -1;
        }
        r->in_txn = 1;
        return 0;
}

void grd_txn_abort(gr_receiptd *r) {
        rd_kafka_error_t *e;

        if (!r->in_txn)
                return;
        for (int tries = 0;; tries++) {
                if (!(e = rd_kafka_abort_transaction(r->producer,
                                                     GR_TXN_TIMEOUT_MS)))
                        break;
                if (rd_kafka_error_is_retriable(e) && tries < GR_TXN_RETRIES) {
                        rd_kafka_error_destroy(e);
                        continue;
                }
                rlog(r, 0, "abort_transaction: %s: %s",
                     rd_kafka_error_name(e), rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r->fatal = 1;
                break;
        }
        r->in_txn = 0;
        r->st.aborts++;
}

/* Report a failed transactional call; fatal errors stop the processor,
 * everything else is aborted and redone by the caller. */
static void txn_failed(gr_receiptd *r, const char *what, rd_kafka_error_t *e) {
        /* FENCED_INSTANCE_ID: this static member was replaced (after a
         * group coordinator moved, librdkafka 2.0 can fence itself); the
         * consumer cannot go on, a restart with the same identity can. */
        int fenced = rd_kafka_error_code(e) ==
                     RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID;

        rlog(r, 0, "%s failed: %s: %s (%s)", what, rd_kafka_error_name(e),
             rd_kafka_error_string(e),
             rd_kafka_error_is_fatal(e) || fenced    ? "fatal" :
             rd_kafka_error_txn_requires_abort(e)    ? "aborting the batch" :
                                                       "aborting the batch");
        if (rd_kafka_error_is_fatal(e) || fenced)
                r->fatal = 1;
        rd_kafka_error_destroy(e);
}

int grd_txn_commit(gr_receiptd *r, rd_kafka_topic_partition_list_t *offs) {
        rd_kafka_consumer_group_metadata_t *md;
        rd_kafka_error_t *e;
        int tries;

        if (!(md = rd_kafka_consumer_group_metadata(r->consumer))) {
                rlog(r, 0, "no consumer group metadata: aborting the batch");
                return -1;
        }
        for (tries = 0;; tries++) {
                e = rd_kafka_send_offsets_to_transaction(r->producer, offs, md,
                                                         GR_TXN_TIMEOUT_MS);
                if (!e)
                        break;
                if (rd_kafka_error_is_retriable(e) && tries < GR_TXN_RETRIES) {
                        rd_kafka_error_destroy(e);
                        continue;
                }
                rd_kafka_consumer_group_metadata_destroy(md);
                txn_failed(r, "send_offsets_to_transaction", e);
                return -1;
        }
        rd_kafka_consumer_group_metadata_destroy(md);
        for (tries = 0;; tries++) {
                e = rd_kafka_commit_transaction(r->producer, GR_TXN_TIMEOUT_MS);
                if (!e)
                        break;
                if (rd_kafka_error_is_retriable(e) && tries < GR_TXN_RETRIES) {
                        rd_kafka_error_destroy(e);
                        continue;
                }
                txn_failed(r, "commit_transaction", e);
                return -1;
        }
        r->in_txn = 0;
        return 0;
}

/* Wait until everything produced so far is acknowledged. */
int grd_outputs_wait(gr_receiptd *r, const char *what) {
        rd_kafka_resp_err_t e = rd_kafka_flush(r->producer, GR_TXN_TIMEOUT_MS);

        if (e || r->delivery_failed || r->produce_failed) {
                rlog(r, 0, "%s not acknowledged: %s", what,
                     rd_kafka_err2str(e ? e : r->delivery_failed ?
                                      r->delivery_err :
                                      RD_KAFKA_RESP_ERR__FAIL));
                return -1;
        }
        return 0;
}

void grd_output_failed(gr_receiptd *r) {
        if (!r->produce_failed)
                rlog(r, 1, "%s", r->out.errstr);
        r->produce_failed = 1;
}
