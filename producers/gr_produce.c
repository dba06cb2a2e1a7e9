#include "gr_produce.h"

#include <stdio.h>
#include <string.h>

/* By name (rkt NULL) or by handle: librdkafka looks a name up under the
 * client's write lock on every call, a handle costs a reference count. */
static rd_kafka_resp_err_t produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                                   const char *topic, int32_t partition,
                                   const void *key, size_t keylen,
                                   const void *value, size_t valuelen,
                                   rd_kafka_headers_t *hdrs, int timeout_ms) {
        rd_kafka_vu_t vu[6];
        size_t n = 0;
        rd_kafka_resp_err_t e;
        int waited = 0;

        memset(vu, 0, sizeof(vu));
        if (rkt) {
                vu[n].vtype = RD_KAFKA_VTYPE_RKT;
                vu[n++].u.rkt = rkt;
        } else {
                vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
                vu[n++].u.cstr = topic;
        }
        vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
        vu[n++].u.i32 = partition;
        vu[n].vtype = RD_KAFKA_VTYPE_KEY;
        vu[n].u.mem.ptr = (void *)key;
        vu[n++].u.mem.size = keylen;
        vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[n].u.mem.ptr = (void *)value;
        vu[n++].u.mem.size = valuelen;
        vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
        if (hdrs) {
                vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
                vu[n++].u.headers = hdrs;
        }
        for (;;) {
                rd_kafka_error_t *err = rd_kafka_produceva(rk, vu, n);
                e = err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR_NO_ERROR;
                rd_kafka_error_destroy(err);
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || waited >= timeout_ms)
                        break;
                /* Serve delivery reports so the queue drains. */
                rd_kafka_poll(rk, 50);
                waited += 50;
        }
        /* On success librdkafka owns the headers; on failure we do. */
        if (e && hdrs)
                rd_kafka_headers_destroy(hdrs);
        return e;
}

rd_kafka_resp_err_t gr_record_produce(rd_kafka_t *rk, const char *topic,
                                      int32_t partition, const void *key,
                                      size_t keylen, const void *value,
                                      size_t valuelen,
                                      rd_kafka_headers_t *hdrs,
                                      int timeout_ms) {
        return produce(rk, NULL, topic, partition, key, keylen, value,
                       valuelen, hdrs, timeout_ms);
}

rd_kafka_resp_err_t gr_record_produce_rkt(rd_kafka_t *rk,
                                          rd_kafka_topic_t *rkt,
                                          int32_t partition, const void *key,
                                          size_t keylen, const void *value,
                                          size_t valuelen,
                                          rd_kafka_headers_t *hdrs,
                                          int timeout_ms) {
        return produce(rk, rkt, NULL, partition, key, keylen, value,
                       valuelen, hdrs, timeout_ms);
}

rd_kafka_headers_t *gr_dlq_headers_new(const rd_kafka_headers_t *orig,
                                       const gr_err *err, const char *topic,
                                       int32_t partition, int64_t offset) {
        rd_kafka_headers_t *h;
        char num[32];
        const char *reason = gr_reject_t_name(err->reason);

        h = orig ? rd_kafka_headers_copy(orig) : rd_kafka_headers_new(6);
        if (!h)
                return NULL;
        rd_kafka_header_add(h, GR_HDR_REASON, -1, reason, -1);
        rd_kafka_header_add(h, GR_HDR_DETAIL, -1, err->detail, -1);
        rd_kafka_header_add(h, GR_HDR_TOPIC, -1, topic, -1);
        snprintf(num, sizeof(num), "%d", (int)partition);
        rd_kafka_header_add(h, GR_HDR_PARTITION, -1, num, -1);
        snprintf(num, sizeof(num), "%lld", (long long)(offset < 0 ? -1 : offset));
        rd_kafka_header_add(h, GR_HDR_OFFSET, -1, num, -1);
        return h;
}

int gr_conf_set_kvs(rd_kafka_conf_t *conf, char **kv, int n, char *errstr,
                    size_t errstr_size) {
        for (int i = 0; i < n; i++) {
                char key[256];
                const char *eq = strchr(kv[i], '=');
                if (!eq || eq == kv[i] || (size_t)(eq - kv[i]) >= sizeof(key)) {
                        snprintf(errstr, errstr_size,
                                 "expected key=value, got \"%s\"", kv[i]);
                        return -1;
                }
                memcpy(key, kv[i], (size_t)(eq - kv[i]));
                key[eq - kv[i]] = '\0';
                if (rd_kafka_conf_set(conf, key, eq + 1, errstr, errstr_size))
                        return -1;
        }
        return 0;
}
