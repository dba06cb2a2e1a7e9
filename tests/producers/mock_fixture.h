/* The embedded broker (librdkafka's mock cluster, deploy/gr_broker.h) for
 * the producers' unit tests, and reading a partition back. */
#ifndef GR_TEST_MOCK_FIXTURE_H
#define GR_TEST_MOCK_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "gr_broker.h"

#define MOCK_PARTITIONS 4
#define MOCK_MAX_RECORDS 64
#define MOCK_MAX_HEADERS 16

typedef struct mock_header {
        char name[64];
        char value[256];
} mock_header;

typedef struct mock_record {
        char key[256];
        size_t key_len;
        int has_key;
        char value[4096];
        size_t value_len;
        int32_t partition;
        int nhdrs;
        mock_header hdrs[MOCK_MAX_HEADERS];
} mock_record;

/** Start a one-broker cluster with the default topics (4 partitions). */
gr_broker *mock_start(void);

/** Records of topic/partition, oldest first, into out[max].
 *  @returns how many, -1 on failure (message printed). */
int mock_read(const char *bootstrap, const char *topic, int32_t partition,
              mock_record *out, int max);

#endif
