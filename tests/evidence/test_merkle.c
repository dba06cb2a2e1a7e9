/* RFC 6962 / 9162 Merkle log: published vectors and exhaustive proofs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gr_buf.h"
#include "gr_keys.h"
#include "gr_merkle.h"

typedef uint8_t hash_t[GR_HASH_LEN];

static void hx(const char *s, uint8_t *out, size_t n) {
        assert_int_equal(gr_hex_decode(s, strlen(s), out, n), 0);
}

/* Certificate Transparency reference inputs (RFC 6962 test data as used
 * by the CT implementations, transparency-dev/merkle testonly). */
static const char *const ct_inputs[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"};
static const char *const ct_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
/* Their leaf hashes (level 0 of the reference node hashes). */
static const char *const ct_leaf_hashes[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"};

static gr_merkle_log *ct_log(size_t n) {
        char es[64];
        gr_merkle_log *log = gr_merkle_log_new(es, sizeof(es));
        uint8_t in[16];

        assert_non_null(log);
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(ct_inputs[i]) / 2;
                if (len)
                        hx(ct_inputs[i], in, len);
                assert_int_equal(gr_merkle_log_append_data(log, in, len), 0);
        }
        return log;
}

static void test_ct_roots(void **state) {
        hash_t leaves[8], root, want;
        gr_merkle_frontier f;
        (void)state;

        for (size_t i = 0; i < 8; i++)
                hx(ct_leaf_hashes[i], leaves[i], 32);
        gr_merkle_frontier_init(&f);
        for (size_t n = 0; n <= 8; n++) {
                gr_merkle_log *log = ct_log(n);
                hx(ct_roots[n], want, 32);
                /* the RFC recursion, the full log and the frontier agree
                 * with the published roots */
                gr_merkle_root_compute((const hash_t *)leaves, n, root);
                assert_memory_equal(root, want, 32);
                assert_int_equal(gr_merkle_log_root(log, n, root), 0);
                assert_memory_equal(root, want, 32);
                gr_merkle_frontier_root(&f, root);
                assert_memory_equal(root, want, 32);
                if (n < 8)
                        assert_int_equal(
                            gr_merkle_frontier_append(&f, leaves[n]), 0);
                gr_merkle_log_destroy(log);
        }
}

static void test_ct_leaf_hashes(void **state) {
        gr_merkle_log *log = ct_log(8);
        hash_t want;
        (void)state;

        for (size_t i = 0; i < 8; i++) {
                hx(ct_leaf_hashes[i], want, 32);
                assert_memory_equal(gr_merkle_log_leaf(log, i), want, 32);
        }
        assert_null(gr_merkle_log_leaf(log, 8));
        gr_merkle_log_destroy(log);
}

/* Published proofs (transparency-dev/merkle proof/verify_test.go). */
static const struct {
        uint64_t index, size;
        const char *path[3];
} ct_incl[] = {
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3,
     {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const struct {
        uint64_t size1, size2;
        const char *proof[3];
} ct_cons[] = {
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void test_ct_inclusion_vectors(void **state) {
        gr_merkle_log *log = ct_log(8);
        hash_t path[GR_MERKLE_PROOF_MAX], want[3], root;
        size_t n, k;
        (void)state;

        for (size_t t = 0; t < sizeof(ct_incl) / sizeof(ct_incl[0]); t++) {
                for (k = 0; k < 3 && ct_incl[t].path[k]; k++)
                        hx(ct_incl[t].path[k], want[k], 32);
                assert_int_equal(gr_merkle_log_inclusion_prove(
                                     log, ct_incl[t].index, ct_incl[t].size,
                                     path, &n),
                                 0);
                assert_int_equal(n, k);
                assert_memory_equal(path, want, 32 * k);
                hx(ct_roots[ct_incl[t].size], root, 32);
                assert_true(gr_merkle_inclusion_verify(
                    ct_incl[t].index, ct_incl[t].size,
                    gr_merkle_log_leaf(log, ct_incl[t].index),
                    (const hash_t *)want, k, root));
        }
        gr_merkle_log_destroy(log);
}

static void test_ct_consistency_vectors(void **state) {
        gr_merkle_log *log = ct_log(8);
        hash_t proof[GR_MERKLE_PROOF_MAX], want[3], r1, r2;
        size_t n, k;
        (void)state;

        for (size_t t = 0; t < sizeof(ct_cons) / sizeof(ct_cons[0]); t++) {
                for (k = 0; k < 3 && ct_cons[t].proof[k]; k++)
                        hx(ct_cons[t].proof[k], want[k], 32);
                assert_int_equal(gr_merkle_log_consistency_prove(
                                     log, ct_cons[t].size1, ct_cons[t].size2,
                                     proof, &n),
                                 0);
                assert_int_equal(n, k);
                assert_memory_equal(proof, want, 32 * k);
                hx(ct_roots[ct_cons[t].size1], r1, 32);
                hx(ct_roots[ct_cons[t].size2], r2, 32);
                assert_true(gr_merkle_consistency_verify(
                    ct_cons[t].size1, ct_cons[t].size2, r1, r2,
                    (const hash_t *)want, k));
                /* swapped roots must fail */
                assert_false(gr_merkle_consistency_verify(
                    ct_cons[t].size1, ct_cons[t].size2, r2, r1,
                    (const hash_t *)want, k));
        }
        gr_merkle_log_destroy(log);
}

static void test_consistency_edges(void **state) {
        hash_t a, b, e;
        (void)state;

        memset(a, 0xaa, 32);
        memset(b, 0xbb, 32);
        hx(ct_roots[0], e, 32);
        /* sizes that are always consistent, given an empty proof */
        assert_true(gr_merkle_consistency_verify(0, 0, a, a, NULL, 0));
        assert_true(gr_merkle_consistency_verify(0, 1, a, b, NULL, 0));
        assert_true(gr_merkle_consistency_verify(1, 1, b, b, NULL, 0));
        /* equal sizes, different roots */
        assert_false(gr_merkle_consistency_verify(0, 0, a, b, NULL, 0));
        assert_false(gr_merkle_consistency_verify(1, 1, a, b, NULL, 0));
        /* time travel */
        assert_false(gr_merkle_consistency_verify(1, 0, a, b, NULL, 0));
        assert_false(gr_merkle_consistency_verify(2, 1, a, b, NULL, 0));
        /* empty proof where one is needed */
        assert_false(gr_merkle_consistency_verify(1, 2, a, b, NULL, 0));
        /* roots match but a proof is given */
        assert_false(gr_merkle_consistency_verify(0, 0, e, e,
                                                  (const hash_t *)&e, 1));
        assert_false(gr_merkle_consistency_verify(0, 1, e, e,
                                                  (const hash_t *)&e, 1));
        assert_false(gr_merkle_consistency_verify(1, 1, e, e,
                                                  (const hash_t *)&e, 1));
        /* inclusion: index out of range, empty tree */
        assert_false(gr_merkle_inclusion_verify(0, 0, a, NULL, 0, a));
        assert_false(gr_merkle_inclusion_verify(1, 1, a, NULL, 0, a));
        assert_true(gr_merkle_inclusion_verify(0, 1, a, NULL, 0, a));
        assert_false(gr_merkle_inclusion_verify(0, 1, a, NULL, 0, b));
}

static void test_bad_arguments(void **state) {
        gr_merkle_log *log = ct_log(4);
        hash_t h[GR_MERKLE_PROOF_MAX];
        size_t n;
        (void)state;

        assert_int_equal(gr_merkle_log_root(log, 5, h[0]), -1);
        assert_int_equal(gr_merkle_log_inclusion_prove(log, 4, 4, h, &n), -1);
        assert_int_equal(gr_merkle_log_inclusion_prove(log, 0, 5, h, &n), -1);
        assert_int_equal(gr_merkle_log_consistency_prove(log, 0, 4, h, &n),
                         -1);
        assert_int_equal(gr_merkle_log_consistency_prove(log, 3, 2, h, &n),
                         -1);
        assert_int_equal(gr_merkle_log_consistency_prove(log, 2, 5, h, &n),
                         -1);
        assert_int_equal(gr_merkle_log_consistency_prove(log, 4, 4, h, &n), 0);
        assert_int_equal(n, 0);
        gr_merkle_log_destroy(NULL);
        gr_merkle_log_destroy(log);
}

/* Every size 1..64, every leaf and every earlier size: the log's root
 * equals the RFC recursion and the frontier, every proof verifies, and
 * every single-point corruption of a proof is refused. */
static void test_all_sizes(void **state) {
        enum { N = 64 };
        hash_t leaves[N], roots[N + 1], root, path[GR_MERKLE_PROOF_MAX],
            bad[GR_MERKLE_PROOF_MAX + 1];
        gr_merkle_frontier f;
        gr_merkle_log *log;
        char es[64], label[16];
        size_t n, k;
        (void)state;

        assert_non_null(log = gr_merkle_log_new(es, sizeof(es)));
        gr_merkle_frontier_init(&f);
        for (size_t i = 0; i < N; i++) {
                snprintf(label, sizeof(label), "leaf-%zu", i);
                gr_merkle_leaf_hash(label, strlen(label), leaves[i]);
        }
        gr_merkle_log_root(log, 0, roots[0]);
        for (size_t size = 1; size <= N; size++) {
                assert_int_equal(gr_merkle_log_append(log, leaves[size - 1]),
                                 0);
                assert_int_equal(gr_merkle_frontier_append(&f,
                                                           leaves[size - 1]),
                                 0);
                gr_merkle_root_compute((const hash_t *)leaves, size,
                                       roots[size]);
                assert_int_equal(gr_merkle_log_root(log, size, root), 0);
                assert_memory_equal(root, roots[size], 32);
                gr_merkle_frontier_root(&f, root);
                assert_memory_equal(root, roots[size], 32);
        }
        for (uint64_t size = 1; size <= N; size++) {
                /* the log answers for every earlier size as well */
                assert_int_equal(gr_merkle_log_root(log, size, root), 0);
                assert_memory_equal(root, roots[size], 32);
                for (uint64_t m = 0; m < size; m++) {
                        assert_int_equal(gr_merkle_log_inclusion_prove(
                                             log, m, size, path, &n),
                                         0);
                        assert_true(gr_merkle_inclusion_verify(
                            m, size, leaves[m], (const hash_t *)path, n,
                            roots[size]));
                        if (size > 1)
                                assert_false(gr_merkle_inclusion_verify(
                                    m, size, leaves[(m + 1) % size],
                                    (const hash_t *)path, n, roots[size]));
                        if (size > 1)
                                assert_false(gr_merkle_inclusion_verify(
                                    (m + 1) % size, size, leaves[m],
                                    (const hash_t *)path, n, roots[size]));
                        /* a wrong tree height (the RFC algorithm cannot
                         * tell sizes with the same path shape apart, e.g.
                         * 3 and 4 for leaf 0, so probe 2x and x/2 as the
                         * CT test suite does) */
                        assert_false(gr_merkle_inclusion_verify(
                            m, size * 2, leaves[m], (const hash_t *)path, n,
                            roots[size]));
                        if (m < size / 2)
                                assert_false(gr_merkle_inclusion_verify(
                                    m, size / 2, leaves[m],
                                    (const hash_t *)path, n, roots[size]));
                        if (n > 0)
                                assert_false(gr_merkle_inclusion_verify(
                                    m, size, leaves[m], (const hash_t *)path,
                                    n - 1, roots[size]));
                        memcpy(bad, path, n * 32);
                        memcpy(bad[n], roots[size], 32);
                        assert_false(gr_merkle_inclusion_verify(
                            m, size, leaves[m], (const hash_t *)bad, n + 1,
                            roots[size]));
                        for (k = 0; k < n; k++) {
                                memcpy(bad, path, n * 32);
                                bad[k][0] ^= 8;
                                assert_false(gr_merkle_inclusion_verify(
                                    m, size, leaves[m], (const hash_t *)bad,
                                    n, roots[size]));
                        }
                }
                for (uint64_t s1 = 1; s1 <= size; s1++) {
                        assert_int_equal(gr_merkle_log_consistency_prove(
                                             log, s1, size, path, &n),
                                         0);
                        assert_true(gr_merkle_consistency_verify(
                            s1, size, roots[s1], roots[size],
                            (const hash_t *)path, n));
                        if (s1 == size) {
                                assert_int_equal(n, 0);
                                continue;
                        }
                        assert_false(gr_merkle_consistency_verify(
                            s1, size, roots[size], roots[s1],
                            (const hash_t *)path, n));
                        assert_false(gr_merkle_consistency_verify(
                            s1, size, roots[s1], roots[size],
                            (const hash_t *)path, n - 1));
                        if (s1 + 1 < size)
                                assert_false(gr_merkle_consistency_verify(
                                    s1 + 1, size, roots[s1], roots[size],
                                    (const hash_t *)path, n));
                        for (k = 0; k < n; k++) {
                                memcpy(bad, path, n * 32);
                                bad[k][0] ^= 16;
                                assert_false(gr_merkle_consistency_verify(
                                    s1, size, roots[s1], roots[size],
                                    (const hash_t *)bad, n));
                        }
                }
        }
        gr_merkle_log_destroy(log);
}

/* A frontier checkpointed mid-log and restored keeps producing the same
 * roots as one that never stopped. */
static void test_frontier_checkpoint(void **state) {
        gr_merkle_frontier a, b;
        uint8_t leaf[GR_HASH_LEN], ra[32], rb[32];
        char es[128];
        gr_buf js;
        (void)state;

        gr_merkle_frontier_init(&a);
        gr_buf_init(&js);
        for (int i = 0; i < 300; i++) {
                gr_merkle_leaf_hash(&i, sizeof(i), leaf);
                gr_merkle_frontier_append(&a, leaf);
                if (i == 136) {
                        gr_merkle_frontier_to_json(&a, &js);
                        assert_int_equal(gr_merkle_frontier_from_json(
                                             &b, js.data, js.len, es,
                                             sizeof(es)),
                                         0);
                } else if (i > 136) {
                        gr_merkle_frontier_append(&b, leaf);
                }
        }
        gr_merkle_frontier_root(&a, ra);
        gr_merkle_frontier_root(&b, rb);
        assert_memory_equal(ra, rb, 32);
        assert_int_equal(a.size, b.size);
        /* malformed checkpoints are refused */
        static const char short_nodes[] = "{\"size\":3,\"nodes\":[]}";
        assert_int_equal(gr_merkle_frontier_from_json(
                             &b, short_nodes, strlen(short_nodes), es,
                             sizeof(es)),
                         -1);
        assert_non_null(strstr(es, "do not agree"));
        js.data[js.len - 5] = 'X';
        assert_int_equal(gr_merkle_frontier_from_json(&b, js.data, js.len, es,
                                                      sizeof(es)),
                         -1);
        gr_buf_free(&js);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ct_roots),
            cmocka_unit_test(test_ct_leaf_hashes),
            cmocka_unit_test(test_ct_inclusion_vectors),
            cmocka_unit_test(test_ct_consistency_vectors),
            cmocka_unit_test(test_consistency_edges),
            cmocka_unit_test(test_bad_arguments),
            cmocka_unit_test(test_all_sizes),
            cmocka_unit_test(test_frontier_checkpoint),
        };
        if (gr_crypto_init() == -1)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
