/* RFC 6962 / RFC 9162 Merkle trees: hashing, an append-only log with
 * proofs, the proof verifiers and a compact frontier. */
#include "gr_merkle.h"

#include "gr_buf.h"
#include "gr_hash.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gr_merkle_leaf_hash(const void *data, size_t len,
                         uint8_t out[GR_HASH_LEN]) {
        static const uint8_t prefix = 0x00;
        crypto_hash_sha256_state st;
        uint8_t buf[2048];

        /* Ledger rows fit the stack buffer: one call to the hot-path
         * SHA-256 (CPU SHA extensions when available).  Longer input takes
         * libsodium's streaming API; the bytes hashed are the same. */
        if (len < sizeof(buf)) {
                buf[0] = prefix;
                memcpy(buf + 1, data, len);
                gr_sha256(buf, len + 1, out);
                return;
        }
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, &prefix, 1);
        crypto_hash_sha256_update(&st, data, len);
        crypto_hash_sha256_final(&st, out);
}

void gr_merkle_node_hash(const uint8_t left[GR_HASH_LEN],
                         const uint8_t right[GR_HASH_LEN],
                         uint8_t out[GR_HASH_LEN]) {
        uint8_t in[1 + 2 * GR_HASH_LEN];

        /* Copy first: out may alias an input. */
        in[0] = 0x01;
        memcpy(in + 1, left, GR_HASH_LEN);
        memcpy(in + 1 + GR_HASH_LEN, right, GR_HASH_LEN);
        gr_sha256(in, sizeof(in), out);
}

/* The largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n) {
        return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int is_pow2(uint64_t n) {
        return n && !(n & (n - 1));
}

static void root_rec(const uint8_t (*leaves)[GR_HASH_LEN], uint64_t n,
                     uint8_t out[GR_HASH_LEN]) {
        uint8_t l[GR_HASH_LEN], r[GR_HASH_LEN];
        uint64_t k;

        if (n == 1) {
                memcpy(out, leaves[0], GR_HASH_LEN);
                return;
        }
        k = split_point(n);
        root_rec(leaves, k, l);
        root_rec(leaves + k, n - k, r);
        gr_merkle_node_hash(l, r, out);
}

void gr_merkle_root_compute(const uint8_t (*leaves)[GR_HASH_LEN], size_t n,
                            uint8_t out[GR_HASH_LEN]) {
        if (n == 0)
                crypto_hash_sha256(out, (const uint8_t *)"", 0);
        else
                root_rec(leaves, n, out);
}

/* ---- the full log ------------------------------------------------------ */

/* level[k] holds the hashes of the complete subtrees of 2^k leaves, in
 * order: level[0] the leaves, level[k][i] = node(level[k-1][2i],
 * level[k-1][2i+1]).  level[k] has size >> k entries. */
typedef struct level {
        uint8_t (*h)[GR_HASH_LEN];
        uint64_t len, cap;
} level;

struct gr_merkle_log {
        uint64_t size;
        level lv[64];
};

gr_merkle_log *gr_merkle_log_new(char *errstr, size_t errstr_size) {
        gr_merkle_log *log = calloc(1, sizeof(*log));

        if (!log) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        return log;
}

void gr_merkle_log_destroy(gr_merkle_log *log) {
        if (!log)
                return;
        for (int k = 0; k < 64; k++)
                free(log->lv[k].h);
        free(log);
}

static int reserve(level *l) {
        uint64_t cap;
        void *p;

        if (l->len < l->cap)
                return 0;
        cap = l->cap ? l->cap * 2 : 64;
        if (cap > SIZE_MAX / GR_HASH_LEN)
                return -1;
        if (!(p = realloc(l->h, (size_t)cap * GR_HASH_LEN)))
                return -1;
        l->h = p;
        l->cap = cap;
        return 0;
}

int gr_merkle_log_append(gr_merkle_log *log,
                         const uint8_t leaf_hash[GR_HASH_LEN]) {
        uint64_t idx = log->size;
        int k, levels;

        if (idx == UINT64_MAX)
                return -1;
        /* The new leaf completes one subtree per trailing 1 bit of its
         * index; reserve all of them first so failure leaves no trace. */
        levels = 1 + __builtin_ctzll(~idx);
        for (k = 0; k < levels && k < 64; k++)
                if (reserve(&log->lv[k]) == -1)
                        return -1;

        memcpy(log->lv[0].h[log->lv[0].len++], leaf_hash, GR_HASH_LEN);
        for (k = 0; (idx & 1) && k < 63; k++, idx >>= 1) {
                level *lo = &log->lv[k], *hi = &log->lv[k + 1];
                gr_merkle_node_hash(lo->h[idx - 1], lo->h[idx],
                                    hi->h[hi->len]);
                hi->len++;
        }
        log->size++;
        return 0;
}

int gr_merkle_log_append_data(gr_merkle_log *log, const void *data,
                              size_t len) {
        uint8_t h[GR_HASH_LEN];

        gr_merkle_leaf_hash(data, len, h);
        return gr_merkle_log_append(log, h);
}

uint64_t gr_merkle_log_size(const gr_merkle_log *log) {
        return log->size;
}

const uint8_t *gr_merkle_log_leaf(const gr_merkle_log *log, uint64_t index) {
        return index < log->size ? log->lv[0].h[index] : NULL;
}

/* MTH(D[a : a+n]), n >= 1.  Every subtree the RFC's recursion visits
 * starts at a multiple of its largest power-of-two part, so the perfect
 * pieces are found in the level cache and this costs O(log n). */
static void subtree(const gr_merkle_log *log, uint64_t a, uint64_t n,
                    uint8_t out[GR_HASH_LEN]) {
        uint8_t l[GR_HASH_LEN], r[GR_HASH_LEN];
        uint64_t k;

        if (is_pow2(n) && a % n == 0) {
                int lvl = __builtin_ctzll(n);
                memcpy(out, log->lv[lvl].h[a >> lvl], GR_HASH_LEN);
                return;
        }
        k = split_point(n);
        subtree(log, a, k, l);
        subtree(log, a + k, n - k, r);
        gr_merkle_node_hash(l, r, out);
}

int gr_merkle_log_root(const gr_merkle_log *log, uint64_t size,
                       uint8_t out[GR_HASH_LEN]) {
        if (size > log->size)
                return -1;
        if (size == 0)
                crypto_hash_sha256(out, (const uint8_t *)"", 0);
        else
                subtree(log, 0, size, out);
        return 0;
}

/* RFC 6962 §2.1.1 PATH(m, D[a : a+n]), appended bottom-up. */
static void path_rec(const gr_merkle_log *log, uint64_t m, uint64_t a,
                     uint64_t n, uint8_t path[][GR_HASH_LEN], size_t *len) {
        uint64_t k;

        if (n <= 1)
                return;
        k = split_point(n);
        if (m < k) {
                path_rec(log, m, a, k, path, len);
                subtree(log, a + k, n - k, path[(*len)++]);
        } else {
                path_rec(log, m - k, a + k, n - k, path, len);
                subtree(log, a, k, path[(*len)++]);
        }
}

int gr_merkle_log_inclusion_prove(const gr_merkle_log *log, uint64_t index,
                                  uint64_t size,
                                  uint8_t path[][GR_HASH_LEN],
                                  size_t *path_len) {
        if (size > log->size || index >= size)
                return -1;
        *path_len = 0;
        path_rec(log, index, 0, size, path, path_len);
        return 0;
}

/* RFC 6962 §2.1.2 SUBPROOF(m, D[a : a+n], b). */
static void subproof_rec(const gr_merkle_log *log, uint64_t m, uint64_t a,
                         uint64_t n, int b, uint8_t proof[][GR_HASH_LEN],
                         size_t *len) {
        uint64_t k;

        if (m == n) {
                if (!b)
                        subtree(log, a, n, proof[(*len)++]);
                return;
        }
        k = split_point(n);
        if (m <= k) {
                subproof_rec(log, m, a, k, b, proof, len);
                subtree(log, a + k, n - k, proof[(*len)++]);
        } else {
                subproof_rec(log, m - k, a + k, n - k, 0, proof, len);
                subtree(log, a, k, proof[(*len)++]);
        }
}

int gr_merkle_log_consistency_prove(const gr_merkle_log *log, uint64_t size1,
                                    uint64_t size2,
                                    uint8_t proof[][GR_HASH_LEN],
                                    size_t *proof_len) {
        if (size1 == 0 || size1 > size2 || size2 > log->size)
                return -1;
        *proof_len = 0;
        subproof_rec(log, size1, 0, size2, 1, proof, proof_len);
        return 0;
}

/* ---- verifiers --------------------------------------------------------- */

int gr_merkle_inclusion_verify(uint64_t index, uint64_t size,
                               const uint8_t leaf_hash[GR_HASH_LEN],
                               const uint8_t path[][GR_HASH_LEN],
                               size_t path_len,
                               const uint8_t root[GR_HASH_LEN]) {
        uint8_t r[GR_HASH_LEN];
        uint64_t fn, sn;

        if (index >= size || path_len > GR_MERKLE_PROOF_MAX)
                return 0;
        fn = index;
        sn = size - 1;
        memcpy(r, leaf_hash, GR_HASH_LEN);
        for (size_t i = 0; i < path_len; i++) {
                if (sn == 0)
                        return 0;
                if ((fn & 1) || fn == sn) {
                        gr_merkle_node_hash(path[i], r, r);
                        if (!(fn & 1))
                                while (fn && !(fn & 1)) {
                                        fn >>= 1;
                                        sn >>= 1;
                                }
                } else {
                        gr_merkle_node_hash(r, path[i], r);
                }
                fn >>= 1;
                sn >>= 1;
        }
        return sn == 0 && crypto_verify_32(r, root) == 0;
}

int gr_merkle_consistency_verify(uint64_t size1, uint64_t size2,
                                 const uint8_t root1[GR_HASH_LEN],
                                 const uint8_t root2[GR_HASH_LEN],
                                 const uint8_t proof[][GR_HASH_LEN],
                                 size_t proof_len) {
        uint8_t fr[GR_HASH_LEN], sr[GR_HASH_LEN];
        uint64_t fn, sn;
        size_t i = 0;

        if (size1 > size2 || proof_len > GR_MERKLE_PROOF_MAX)
                return 0;
        if (size1 == size2)
                return proof_len == 0 && crypto_verify_32(root1, root2) == 0;
        if (size1 == 0)
                return proof_len == 0;
        if (proof_len == 0)
                return 0;

        /* RFC 9162 §2.1.4.2.  When size1 is a power of two the first tree
         * is a complete subtree and the proof omits its root: start from
         * root1 itself instead of prepending it to the array. */
        fn = size1 - 1;
        sn = size2 - 1;
        while (fn & 1) {
                fn >>= 1;
                sn >>= 1;
        }
        if (is_pow2(size1)) {
                memcpy(fr, root1, GR_HASH_LEN);
        } else {
                memcpy(fr, proof[0], GR_HASH_LEN);
                i = 1;
        }
        memcpy(sr, fr, GR_HASH_LEN);
        for (; i < proof_len; i++) {
                if (sn == 0)
                        return 0;
                if ((fn & 1) || fn == sn) {
                        gr_merkle_node_hash(proof[i], fr, fr);
                        gr_merkle_node_hash(proof[i], sr, sr);
                        if (!(fn & 1))
                                while (fn && !(fn & 1)) {
                                        fn >>= 1;
                                        sn >>= 1;
                                }
                } else {
                        gr_merkle_node_hash(sr, proof[i], sr);
                }
                fn >>= 1;
                sn >>= 1;
        }
        return sn == 0 && crypto_verify_32(fr, root1) == 0 &&
               crypto_verify_32(sr, root2) == 0;
}

/* ---- the compact frontier ---------------------------------------------- */

void gr_merkle_frontier_init(gr_merkle_frontier *f) {
        memset(f, 0, sizeof(*f));
}

int gr_merkle_frontier_append(gr_merkle_frontier *f,
                              const uint8_t leaf_hash[GR_HASH_LEN]) {
        uint8_t h[GR_HASH_LEN];
        int k = 0;

        if (f->size == UINT64_MAX)
                return -1;
        /* Binary carry: every set low bit is a complete subtree that the
         * new leaf's subtree merges with. */
        memcpy(h, leaf_hash, GR_HASH_LEN);
        while ((f->size >> k) & 1) {
                gr_merkle_node_hash(f->node[k], h, h);
                k++;
        }
        memcpy(f->node[k], h, GR_HASH_LEN);
        f->size++;
        return 0;
}

void gr_merkle_frontier_root(const gr_merkle_frontier *f,
                             uint8_t out[GR_HASH_LEN]) {
        int k, first = 1;

        if (f->size == 0) {
                crypto_hash_sha256(out, (const uint8_t *)"", 0);
                return;
        }
        /* Fold from the smallest subtree on the right up to the largest on
         * the left: MTH nests right-heavy remainders inside. */
        for (k = 0; k < 64; k++) {
                if (!((f->size >> k) & 1))
                        continue;
                if (first) {
                        memcpy(out, f->node[k], GR_HASH_LEN);
                        first = 0;
                } else {
                        gr_merkle_node_hash(f->node[k], out, out);
                }
        }
}

void gr_merkle_frontier_to_json(const gr_merkle_frontier *f, gr_buf *out) {
        char hex[2 * GR_HASH_LEN + 1];
        gr_jw w;

        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kint(&w, "size", (int64_t)f->size);
        gr_jw_key(&w, "nodes");
        gr_jw_arr_begin(&w);
        for (int k = 63; k >= 0; k--)
                if ((f->size >> k) & 1)
                        gr_jw_str(&w, gr_hex(f->node[k], GR_HASH_LEN, hex));
        gr_jw_arr_end(&w);
        gr_jw_obj_end(&w);
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int gr_merkle_frontier_from_json(gr_merkle_frontier *f, const char *json,
                                 size_t len, char *errstr,
                                 size_t errstr_size) {
        gr_merkle_frontier nf;
        json_error_t jerr;
        json_t *o, *v, *nodes;
        size_t i = 0;
        int rc = -1;

        if (!(o = json_loadb(json, len, 0, &jerr))) {
                snprintf(errstr, errstr_size, "frontier: %s", jerr.text);
                return -1;
        }
        memset(&nf, 0, sizeof(nf));
        v = json_object_get(o, "size");
        nodes = json_object_get(o, "nodes");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            !json_is_array(nodes) ||
            json_array_size(nodes) !=
                (size_t)__builtin_popcountll(
                    (uint64_t)json_integer_value(v))) {
                snprintf(errstr, errstr_size,
                         "frontier: size and nodes do not agree");
                goto out;
        }
        nf.size = (uint64_t)json_integer_value(v);
        for (int k = 63; k >= 0; k--) {
                const char *h;
                if (!((nf.size >> k) & 1))
                        continue;
                v = json_array_get(nodes, i++);
                h = json_string_value(v);
                if (!h || json_string_length(v) != 2 * GR_HASH_LEN)
                        goto bad;
                for (int b = 0; b < GR_HASH_LEN; b++) {
                        int hi = hexval(h[2 * b]), lo = hexval(h[2 * b + 1]);
                        if (hi < 0 || lo < 0)
                                goto bad;
                        nf.node[k][b] = (uint8_t)(hi << 4 | lo);
                }
        }
        *f = nf;
        rc = 0;
        goto out;
bad:
        snprintf(errstr, errstr_size,
                 "frontier: nodes[%zu] is not 64 lower-case hex digits",
                 i - 1);
out:
        json_decref(o);
        return rc;
}
