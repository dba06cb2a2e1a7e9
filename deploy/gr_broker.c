#include "gr_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_topics.h"

struct gr_broker {
        rd_kafka_t *rk; /* owns the mock cluster's thread */
        rd_kafka_mock_cluster_t *mc;
        char *bootstraps;
};

gr_broker *gr_broker_new(int nbrokers, int partitions, const char *prefix,
                         char *errstr, size_t errstr_size) {
        gr_broker *b = NULL;
        rd_kafka_conf_t *conf = NULL;
        gr_topics topics;
        const char *bs;

        if (nbrokers < 1 || nbrokers > 16 || partitions < 1 ||
            partitions > 1024) {
                snprintf(errstr, errstr_size,
                         "need 1..16 brokers and 1..1024 partitions");
                return NULL;
        }
        if (gr_topics_init(&topics, prefix) == -1) {
                snprintf(errstr, errstr_size, "topic prefix too long");
                return NULL;
        }
        if (!(b = calloc(1, sizeof(*b)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        /* The mock cluster lives inside a client handle; a producer with
         * no brokers of its own is the lightest one. */
        conf = rd_kafka_conf_new();
        /* The mock brokers' accepted sockets take their options from this
         * handle's configuration: without TCP_NODELAY a response written
         * while an earlier one is unacknowledged waits for the client's
         * delayed ACK (~40 ms), which a real broker (TCP_NODELAY) never
         * does. */
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr, errstr_size) !=
                RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr,
                              errstr_size) != RD_KAFKA_CONF_OK)
                goto err;
        b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (!b->rk)
                goto err;
        conf = NULL;
        b->mc = rd_kafka_mock_cluster_new(b->rk, nbrokers);
        if (!b->mc) {
                snprintf(errstr, errstr_size, "mock cluster failed to start");
                goto err;
        }
        for (int i = 0; i < GR_TOPIC__CNT; i++) {
                rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(
                    b->mc, topics.name[i], partitions, 1);
                if (e) {
                        snprintf(errstr, errstr_size, "create %s: %s",
                                 topics.name[i], rd_kafka_err2str(e));
                        goto err;
                }
        }
        bs = rd_kafka_mock_cluster_bootstraps(b->mc);
        if (!(b->bootstraps = strdup(bs ? bs : ""))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        return b;
err:
        if (conf)
                rd_kafka_conf_destroy(conf);
        gr_broker_destroy(b);
        return NULL;
}

void gr_broker_destroy(gr_broker *b) {
        if (!b)
                return;
        if (b->mc)
                rd_kafka_mock_cluster_destroy(b->mc);
        if (b->rk)
                rd_kafka_destroy(b->rk);
        free(b->bootstraps);
        free(b);
}

const char *gr_broker_bootstraps(const gr_broker *b) {
        return b->bootstraps;
}

rd_kafka_mock_cluster_t *gr_broker_cluster(gr_broker *b) {
        return b->mc;
}

int gr_broker_control(gr_broker *b, const char *line, char *reply,
                      size_t reply_size) {
        char cmd[32], kind[32], name[GR_TOPIC_NAME_MAX];
        long a = 0, c = 0, d = 1;
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        int n;

        n = sscanf(line, "%31s", cmd);
        if (n != 1) {
                snprintf(reply, reply_size, "empty command");
                return -1;
        }
        if (!strcmp(cmd, "down") && sscanf(line, "%*s %ld", &a) == 1) {
                e = rd_kafka_mock_broker_set_down(b->mc, (int32_t)a);
        } else if (!strcmp(cmd, "up") && sscanf(line, "%*s %ld", &a) == 1) {
                e = rd_kafka_mock_broker_set_up(b->mc, (int32_t)a);
        } else if (!strcmp(cmd, "rtt") &&
                   sscanf(line, "%*s %ld %ld", &a, &c) == 2) {
                e = rd_kafka_mock_broker_set_rtt(b->mc, (int32_t)a, (int)c);
        } else if (!strcmp(cmd, "errors") &&
                   (n = sscanf(line, "%*s %ld %ld %ld", &a, &c, &d)) >= 2) {
                rd_kafka_resp_err_t errs[64];
                if (d < 1 || d > 64) {
                        snprintf(reply, reply_size, "count must be 1..64");
                        return -1;
                }
                for (long i = 0; i < d; i++)
                        errs[i] = (rd_kafka_resp_err_t)c;
                rd_kafka_mock_push_request_errors_array(b->mc, (int16_t)a,
                                                        (size_t)d, errs);
        } else if (!strcmp(cmd, "clear") &&
                   sscanf(line, "%*s %ld", &a) == 1) {
                rd_kafka_mock_clear_request_errors(b->mc, (int16_t)a);
        } else if (!strcmp(cmd, "leader") &&
                   sscanf(line, "%*s %255s %ld %ld", name, &a, &c) == 3) {
                e = rd_kafka_mock_partition_set_leader(b->mc, name,
                                                       (int32_t)a, (int32_t)c);
        } else if (!strcmp(cmd, "coordinator") &&
                   sscanf(line, "%*s %31s %255s %ld", kind, name, &a) == 3) {
                e = rd_kafka_mock_coordinator_set(b->mc, kind, name,
                                                  (int32_t)a);
        } else if (!strcmp(cmd, "topic") &&
                   sscanf(line, "%*s %255s %ld", name, &a) == 2) {
                e = rd_kafka_mock_topic_create(b->mc, name, (int)a, 1);
        } else {
                snprintf(reply, reply_size, "unknown or malformed command: %s",
                         cmd);
                return -1;
        }
        if (e) {
                snprintf(reply, reply_size, "%s: %s", cmd, rd_kafka_err2str(e));
                return -1;
        }
        snprintf(reply, reply_size, "ok %s", cmd);
        return 0;
}
