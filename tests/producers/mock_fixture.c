#include "mock_fixture.h"

#include <stdio.h>
#include <string.h>

#include "gr_lookup.h"
#include "gr_restore.h"

gr_broker *mock_start(void) {
        char err[256];
        gr_broker *b = gr_broker_new(1, MOCK_PARTITIONS, NULL, err,
                                     sizeof(err));

        if (!b)
                fprintf(stderr, "embedded broker: %s\n", err);
        return b;
}

struct read_ctx {
        mock_record *out;
        int max, n;
};

static void copy_record(void *opaque, const rd_kafka_message_t *m) {
        struct read_ctx *c = opaque;
        rd_kafka_headers_t *h = NULL;
        mock_record *r;
        const char *name;
        const void *val;
        size_t sz;

        if (c->n >= c->max)
                return;
        r = &c->out[c->n++];
        memset(r, 0, sizeof(*r));
        r->partition = m->partition;
        if (m->key) {
                r->has_key = 1;
                r->key_len = m->key_len < sizeof(r->key) - 1 ? m->key_len
                                                             : sizeof(r->key) - 1;
                memcpy(r->key, m->key, r->key_len);
        }
        if (m->payload) {
                r->value_len = m->len < sizeof(r->value) - 1
                                   ? m->len
                                   : sizeof(r->value) - 1;
                memcpy(r->value, m->payload, r->value_len);
        }
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
                for (size_t i = 0; r->nhdrs < MOCK_MAX_HEADERS &&
                                   !rd_kafka_header_get_all(h, i, &name, &val,
                                                            &sz);
                     i++) {
                        mock_header *d = &r->hdrs[r->nhdrs++];
                        snprintf(d->name, sizeof(d->name), "%s", name);
                        snprintf(d->value, sizeof(d->value), "%.*s", (int)sz,
                                 val ? (const char *)val : "");
                }
}

int mock_read(const char *bootstrap, const char *topic, int32_t partition,
              mock_record *out, int max) {
        char err[512];
        struct read_ctx c = {out, max, 0};
        rd_kafka_t *rc = gr_scan_consumer_new(bootstrap, NULL, 0, err,
                                              sizeof(err));
        int rc2;

        if (!rc) {
                fprintf(stderr, "scan consumer: %s\n", err);
                return -1;
        }
        rc2 = gr_partition_scan(rc, topic, partition, 5000, copy_record, &c,
                                err, sizeof(err));
        if (rc2)
                fprintf(stderr, "scan %s/%d: %s\n", topic, (int)partition,
                        err);
        rd_kafka_consumer_close(rc);
        rd_kafka_destroy(rc);
        return rc2 ? -1 : c.n;
}
