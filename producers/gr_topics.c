#include "gr_topics.h"

#include <stdio.h>

#include <librdkafka/rdkafka.h>

#define GR__TOPIC_SUFFIX(N, S) S,
static const char *const suffixes[GR_TOPIC__CNT] = {
        GR_TOPIC_MAP(GR__TOPIC_SUFFIX)};

const char *gr_topic_suffix(gr_topic_t id) {
        return suffixes[id];
}

int gr_topics_init(gr_topics *t, const char *prefix) {
        if (!prefix)
                prefix = GR_TOPIC_PREFIX_DEFAULT;
        for (int i = 0; i < GR_TOPIC__CNT; i++) {
                int n = snprintf(t->name[i], sizeof(t->name[i]), "%s%s",
                                 prefix, suffixes[i]);
                if (n < 0 || (size_t)n >= sizeof(t->name[i]))
                        return -1;
        }
        return 0;
}

int32_t gr_partition_of(const char *key, size_t keylen, int32_t partition_cnt) {
        /* librdkafka's murmur2 partitioner ignores the topic and opaques;
         * calling it keeps us bit-compatible with the producer side. */
        return rd_kafka_msg_partitioner_murmur2(NULL, key, keylen,
                                               partition_cnt, NULL, NULL);
}
