/*
 * producers/gr_topics.c: the topic names of docs/SPEC.md §2 behind a
 * prefix, and the partition of a key.  The partition must be the Java
 * client's (murmur2, positive part, modulo the count), so the expected
 * values come from the murmur2 results Apache Kafka's own client tests
 * use, not from librdkafka, which gr_partition_of() calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gr_topics.h"

static void test_default_names(void **state) {
        gr_topics t;
        (void)state;

        assert_int_equal(gr_topics_init(&t, NULL), 0);
        assert_string_equal(t.name[GR_TOPIC_EVENTS], "gpu.job.events");
        assert_string_equal(t.name[GR_TOPIC_STATE], "gpu.job.state");
        assert_string_equal(t.name[GR_TOPIC_LEDGER], "gpu.job.ledger");
        assert_string_equal(t.name[GR_TOPIC_DECISIONS],
                            "gpu.settlement.decisions");
        assert_string_equal(t.name[GR_TOPIC_DLQ], "gpu.job.events.dlq");
        assert_string_equal(t.name[GR_TOPIC_LEDGER_HEADS],
                            "gpu.job.ledger.heads");
        assert_string_equal(gr_topic_suffix(GR_TOPIC_DECISIONS),
                            "settlement.decisions");
}

static void test_prefix(void **state) {
        char prefix[GR_TOPIC_NAME_MAX + 1];
        gr_topics t;
        size_t longest = 0;
        (void)state;

        assert_int_equal(gr_topics_init(&t, "staging-"), 0);
        assert_string_equal(t.name[GR_TOPIC_EVENTS], "staging-job.events");
        assert_int_equal(gr_topics_init(&t, ""), 0);
        assert_string_equal(t.name[GR_TOPIC_DLQ], "job.events.dlq");

        /* The longest prefix that still fits every name, and one more. */
        for (int i = 0; i < GR_TOPIC__CNT; i++)
                if (strlen(gr_topic_suffix((gr_topic_t)i)) > longest)
                        longest = strlen(gr_topic_suffix((gr_topic_t)i));
        memset(prefix, 'p', sizeof(prefix));
        prefix[GR_TOPIC_NAME_MAX - 1 - longest] = '\0';
        assert_int_equal(gr_topics_init(&t, prefix), 0);
        prefix[GR_TOPIC_NAME_MAX - 1 - longest] = 'p';
        prefix[GR_TOPIC_NAME_MAX - longest] = '\0';
        assert_int_equal(gr_topics_init(&t, prefix), -1);
}

static void test_partition_of(void **state) {
        /* murmur2 of these bytes, as Apache Kafka's client tests state. */
        static const struct {
                const char *key;
                int32_t murmur2;
        } v[] = {
            {"21", -973932308},
            {"foobar", -790332482},
            {"a-little-bit-long-string", -985981536},
            {"a-little-bit-longer-string", -1486304829},
            {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
            {"abc", 479470107},
        };
        static const int32_t counts[] = {1, 2, 3, 7, 12, 64, 1000};
        (void)state;

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]);
                     c++) {
                        int32_t want = (int32_t)(((uint32_t)v[i].murmur2 &
                                                  0x7fffffffu) %
                                                 (uint32_t)counts[c]);
                        int32_t got = gr_partition_of(
                            v[i].key, strlen(v[i].key), counts[c]);
                        if (got != want)
                                fail_msg("%s over %d: %d, want %d", v[i].key,
                                         counts[c], got, want);
                }
        /* The key is its bytes, not a C string. */
        assert_int_equal(gr_partition_of("abcdef", 3, 1000),
                         gr_partition_of("abc", 3, 1000));
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_default_names),
            cmocka_unit_test(test_prefix),
            cmocka_unit_test(test_partition_of),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
