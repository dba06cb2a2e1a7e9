#include "gr_emit.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gr_produce.h"

static void emit_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                       void *opaque) {
        gr_emit_result *res = m->_private;

        (void)rk;
        (void)opaque;
        if (!res)
                return;
        if (m->err)
                res->failed++;
        else
                res->delivered++;
}

rd_kafka_t *gr_emit_producer_new(const char *bootstrap, char **kv, int n,
                                 char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "linger.ms", "5", errstr, errstr_size))
                goto err;
        if (gr_conf_set_kvs(conf, kv, n, errstr, errstr_size) == -1)
                goto err;
        rd_kafka_conf_set_dr_msg_cb(conf, emit_dr_cb);
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size)))
                goto err;
        return rk;
err:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

int gr_emit_lines(rd_kafka_t *rk, const char *topic, FILE *fp, int timeout_ms,
                  gr_emit_result *res) {
        return gr_emit_lines_as(rk, topic, fp, timeout_ms, NULL, GR_WIRE_JSON,
                                res, NULL, NULL);
}

int gr_emit_lines_as(rd_kafka_t *rk, const char *topic, FILE *fp,
                     int timeout_ms, gr_codec *codec, gr_wire_t wire,
                     gr_emit_result *res, gr_emit_skip_cb *on_skip,
                     void *opaque) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        gr_event *ev = NULL;
        gr_buf enc;

        memset(res, 0, sizeof(*res));
        gr_buf_init(&enc);
        if (codec && wire != GR_WIRE_JSON && !(ev = malloc(sizeof(*ev))))
                return -1;

        while ((n = getline(&line, &cap, fp)) != -1) {
                json_t *root, *id;
                const char *key = NULL;
                size_t keylen = 0;
                rd_kafka_resp_err_t e;
                int waited = 0;

                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                if (strspn(line, " \t") == (size_t)n)
                        continue;
                res->lines++;
                if (ev) {
                        gr_err err;
                        gr_buf_reset(&enc);
                        /* An event that parses but fails validation (a
                         * wrong role, a missing field) is still sent when it
                         * can be encoded: judging it is receiptd's job, and
                         * its reject belongs in the DLQ, not here. */
                        int parsed = gr_codec_decode(codec, line, (size_t)n,
                                                     ev, &err) == 0 ||
                                     err.reason == GR_REJ_MISSING_FIELD ||
                                     err.reason == GR_REJ_UNAUTHORIZED_ROLE;
                        if (!parsed || gr_codec_encode_event(codec, wire, ev,
                                                             &enc, &err) == -1) {
                                if (on_skip)
                                        on_skip(res->lines, err.detail, opaque);
                                res->failed++;
                                continue;
                        }
                }
                root = json_loadb(line, (size_t)n, 0, NULL);
                id = json_is_object(root) ? json_object_get(root, "job_id")
                                          : NULL;
                if (json_is_string(id)) {
                        key = json_string_value(id);
                        keylen = json_string_length(id);
                } else {
                        res->unkeyed++;
                }
                for (;;) {
                        e = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_KEY(key, keylen),
                            RD_KAFKA_V_VALUE(ev ? enc.data : line,
                                             ev ? enc.len : (size_t)n),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE(res), RD_KAFKA_V_END);
                        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
                            waited >= timeout_ms)
                                break;
                        rd_kafka_poll(rk, 50);
                        waited += 50;
                }
                if (e) {
                        if (on_skip)
                                on_skip(res->lines, rd_kafka_err2str(e),
                                        opaque);
                        res->failed++;
                }
                json_decref(root);
                rd_kafka_poll(rk, 0);
        }
        free(line);
        free(ev);
        gr_buf_free(&enc);
        rd_kafka_flush(rk, timeout_ms);
        return res->delivered == res->lines ? 0 : -1;
}
