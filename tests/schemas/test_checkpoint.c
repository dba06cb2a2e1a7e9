/* gr_checkpoint: the checkpoint record of a partition in the state topic.
 * Keys; encode -> decode round trips of next_offset and of the Merkle
 * frontier; every malformed value refused (-1), a checkpoint without a
 * frontier told apart (1), the frontier untouched unless decoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gr_checkpoint.h"

static void test_key(void **state) {
        char buf[64], small[8];

        (void)state;
        assert_string_equal(gr_checkpoint_key(0, buf, sizeof(buf)),
                            "__checkpoint__.0");
        assert_string_equal(gr_checkpoint_key(17, buf, sizeof(buf)),
                            "__checkpoint__.17");
        assert_string_equal(gr_checkpoint_key(INT32_MAX, buf, sizeof(buf)),
                            "__checkpoint__.2147483647");
        assert_int_equal(strncmp(buf, GR_CHECKPOINT_KEY_PREFIX,
                                 strlen(GR_CHECKPOINT_KEY_PREFIX)),
                         0);
        /* a short buffer is truncated and terminated, never overrun */
        memset(small, 'x', sizeof(small));
        assert_ptr_equal(gr_checkpoint_key(5, small, sizeof(small)), small);
        assert_string_equal(small, "__check");
}

static void test_round_trip(void **state) {
        const int64_t offs[] = {0, 1, 42, INT32_MAX, (int64_t)1 << 40,
                                INT64_MAX};
        const char *topics[] = {"gpu.job.events", "", "a\"b\\c\nd",
                                "t\xc3\xa9st"};

        (void)state;
        for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++)
                for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
                        gr_buf b;
                        json_t *root;
                        gr_merkle_frontier f;

                        gr_buf_init(&b);
                        gr_checkpoint_encode(topics[t], (int32_t)i * 7,
                                             offs[i], &b);
                        assert_false(b.oom);
                        assert_true(gr_checkpoint_decode(b.data, b.len) ==
                                    offs[i]);
                        /* the value is the JSON the header describes */
                        root = json_loadb(b.data, b.len, 0, NULL);
                        assert_non_null(root);
                        assert_string_equal(
                            json_string_value(json_object_get(root, "topic")),
                            topics[t]);
                        assert_int_equal(json_integer_value(json_object_get(
                                             root, "partition")),
                                         (int)i * 7);
                        assert_int_equal(json_object_size(root), 3);
                        json_decref(root);
                        /* no frontier in it */
                        memset(&f, 0xab, sizeof(f));
                        assert_int_equal(gr_checkpoint_frontier_decode(
                                             b.data, b.len, &f),
                                         1);
                        assert_int_equal(f.size, 0xababababababababULL);
                        gr_buf_free(&b);
                }
}

static int64_t dec(const char *s) {
        return gr_checkpoint_decode(s, strlen(s));
}

static void test_decode_refusals(void **state) {
        const char good[] = "{\"next_offset\":12}";

        (void)state;
        assert_int_equal(dec("{\"next_offset\":12}"), 12);
        assert_int_equal(dec("{\"next_offset\":0}"), 0);
        assert_int_equal(dec(""), -1);
        assert_int_equal(dec("not json"), -1);
        assert_int_equal(dec("{}"), -1);
        assert_int_equal(dec("{\"next_offset\":-1}"), -1);
        assert_int_equal(dec("{\"next_offset\":-5}"), -1);
        assert_int_equal(dec("{\"next_offset\":\"12\"}"), -1);
        assert_int_equal(dec("{\"next_offset\":12.0}"), -1);
        assert_int_equal(dec("{\"next_offset\":null}"), -1);
        assert_int_equal(dec("{\"next_offset\":true}"), -1);
        assert_int_equal(dec("[12]"), -1);
        assert_int_equal(dec("12"), -1);
        assert_int_equal(dec("{\"next_offset\":99999999999999999999}"), -1);
        assert_int_equal(dec("{\"next_offset\":12} trailing"), -1);
        /* every truncation of a good value */
        for (size_t n = 0; n < sizeof(good) - 1; n++)
                assert_int_equal(gr_checkpoint_decode(good, n), -1);
        /* len bounds the read (no NUL needed) */
        assert_int_equal(gr_checkpoint_decode("{\"next_offset\":12}xyz",
                                              sizeof(good) - 1),
                         12);
}

/* A frontier of n leaves (leaf i hashes to bytes i). */
static void frontier_of(gr_merkle_frontier *f, uint64_t n) {
        uint8_t leaf[GR_HASH_LEN];

        gr_merkle_frontier_init(f);
        for (uint64_t i = 0; i < n; i++) {
                memset(leaf, (int)(i & 0xff), sizeof(leaf));
                leaf[0] = (uint8_t)(i >> 8);
                assert_int_equal(gr_merkle_frontier_append(f, leaf), 0);
        }
}

static void test_frontier_round_trip(void **state) {
        const uint64_t sizes[] = {0, 1, 2, 3, 5, 64, 255, 1000};

        (void)state;
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                gr_merkle_frontier f, g;
                uint8_t r1[GR_HASH_LEN], r2[GR_HASH_LEN];
                gr_buf b;

                frontier_of(&f, sizes[i]);
                gr_buf_init(&b);
                gr_checkpoint_frontier_encode("gpu.job.events", 3,
                                              (int64_t)sizes[i] + 100, &f, &b);
                assert_false(b.oom);
                /* next_offset reads the same from either encoding */
                assert_true(gr_checkpoint_decode(b.data, b.len) ==
                            (int64_t)sizes[i] + 100);
                memset(&g, 0, sizeof(g));
                assert_int_equal(gr_checkpoint_frontier_decode(b.data, b.len,
                                                               &g),
                                 0);
                assert_true(g.size == sizes[i]);
                for (int k = 0; k < 64; k++)
                        if ((sizes[i] >> k) & 1)
                                assert_memory_equal(g.node[k], f.node[k],
                                                    GR_HASH_LEN);
                gr_merkle_frontier_root(&f, r1);
                gr_merkle_frontier_root(&g, r2);
                assert_memory_equal(r1, r2, GR_HASH_LEN);
                gr_buf_free(&b);
        }
}

static void test_frontier_refusals(void **state) {
        static const char *bad[] = {
            "",
            "nope",
            "{\"next_offset\":1,\"merkle\":null}",
            "{\"next_offset\":1,\"merkle\":[]}",
            "{\"next_offset\":1,\"merkle\":\"x\"}",
            "{\"next_offset\":1,\"merkle\":{}}",
            "{\"next_offset\":1,\"merkle\":{\"size\":1,\"nodes\":[]}}",
            "{\"next_offset\":1,\"merkle\":{\"size\":-1,\"nodes\":[]}}",
            "{\"next_offset\":1,\"merkle\":{\"size\":0,\"nodes\":[\"00\"]}}",
            "{\"next_offset\":1,\"merkle\":{\"size\":1,\"nodes\":[\"zz\"]}}",
            "{\"next_offset\":1,\"merkle\":{\"size\":1,\"nodes\":[1]}}",
        };
        gr_merkle_frontier f, keep;
        gr_buf b;

        (void)state;
        frontier_of(&keep, 3);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                f = keep;
                if (gr_checkpoint_frontier_decode(bad[i], strlen(bad[i]), &f) !=
                    -1)
                        fail_msg("accepted: %s", bad[i]);
                assert_memory_equal(&f, &keep, sizeof(f));
        }
        /* a node one hex digit short, then every truncation */
        frontier_of(&f, 1);
        gr_buf_init(&b);
        gr_checkpoint_frontier_encode("t", 0, 1, &f, &b);
        {
                char *p = strstr(b.data, "\"]");
                assert_non_null(p);
                p[-1] = 'G'; /* not hex */
                f = keep;
                assert_int_equal(gr_checkpoint_frontier_decode(b.data, b.len,
                                                               &f),
                                 -1);
                assert_memory_equal(&f, &keep, sizeof(f));
                p[-1] = '0';
        }
        for (size_t n = 0; n < b.len; n++) {
                f = keep;
                assert_int_equal(gr_checkpoint_frontier_decode(b.data, n, &f),
                                 -1);
                assert_memory_equal(&f, &keep, sizeof(f));
        }
        gr_buf_free(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_key),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_decode_refusals),
            cmocka_unit_test(test_frontier_round_trip),
            cmocka_unit_test(test_frontier_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
