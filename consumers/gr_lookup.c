#include "gr_lookup.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gr_buf.h"
#include "gr_output.h"
#include "gr_produce.h"
#include "gr_restore.h"
#include "gr_state_json.h"

struct lookup_ctx {
        const char *job_id;
        size_t len;
        char *value; /* last value seen, owned */
        size_t vlen;
        int found;
};

static void lookup_record(void *opaque, const rd_kafka_message_t *m) {
        struct lookup_ctx *c = opaque;

        if (m->key_len != c->len || memcmp(m->key, c->job_id, c->len))
                return;
        free(c->value);
        c->value = NULL;
        c->vlen = 0;
        c->found = m->payload != NULL; /* a tombstone deletes */
        if (m->payload && (c->value = malloc(m->len))) {
                memcpy(c->value, m->payload, m->len);
                c->vlen = m->len;
        }
}

gr_job *gr_state_lookup(rd_kafka_t *rc, const char *state_topic,
                        int32_t partition, int32_t nparts, const char *job_id,
                        int timeout_ms, char *errstr, size_t errstr_size) {
        struct lookup_ctx c = {.job_id = job_id, .len = strlen(job_id)};
        int32_t first = partition < 0 ? 0 : partition;
        int32_t last = partition < 0 ? nparts - 1 : partition;
        gr_job *job = NULL;

        for (int32_t p = first; p <= last; p++)
                if (gr_partition_scan(rc, state_topic, p, timeout_ms,
                                      lookup_record, &c, errstr,
                                      errstr_size) == -1)
                        goto out;
        if (!c.found || !c.value) {
                snprintf(errstr, errstr_size, "job %s not found in %s",
                         job_id, state_topic);
                goto out;
        }
        job = gr_state_decode(c.value, c.vlen, errstr, errstr_size);
out:
        free(c.value);
        return job;
}

int gr_receipt_print(const gr_job *job, FILE *fp) {
        gr_buf b;
        json_t *root;
        char *s;
        int rc = -1;

        gr_buf_init(&b);
        gr_receipt_to_json(job, &b);
        if (b.oom)
                goto out;
        if (!(root = json_loadb(b.data, b.len, 0, NULL))) {
                /* Not expected; show the canonical bytes rather than
                 * nothing. */
                fprintf(fp, "%s\n", b.data);
                rc = 0;
                goto out;
        }
        s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!s)
                goto out;
        fprintf(fp, "%s\n", s);
        free(s);
        rc = 0;
out:
        gr_buf_free(&b);
        return rc;
}

rd_kafka_t *gr_scan_consumer_new(const char *bootstrap, char **kv, int n,
                                 char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", errstr,
                              errstr_size) ||
            /* assign() needs a group.id; this one never joins or commits. */
            rd_kafka_conf_set(conf, "group.id", "receiptctl-scan", errstr,
                              errstr_size))
                goto err;
        if (gr_conf_set_kvs(conf, kv, n, errstr, errstr_size) == -1)
                goto err;
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size)))
                goto err;
        return rk;
err:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

int32_t gr_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                            char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t e;
        int32_t n = -1;

        if (!rkt) {
                snprintf(errstr, errstr_size, "%s: bad topic", topic);
                return -1;
        }
        e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (e) {
                snprintf(errstr, errstr_size,
                         "cannot read metadata of %s within %d ms: %s", topic,
                         timeout_ms, rd_kafka_err2str(e));
                return -1;
        }
        if (md->topic_cnt == 1 && !md->topics[0].err &&
            md->topics[0].partition_cnt > 0)
                n = md->topics[0].partition_cnt;
        else
                snprintf(errstr, errstr_size, "topic %s: %s", topic,
                         md->topic_cnt == 1 ?
                             rd_kafka_err2str(md->topics[0].err) :
                             "not found");
        rd_kafka_metadata_destroy(md);
        return n;
}
