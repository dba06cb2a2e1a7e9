/**
 * @file gr_merkle.h
 * @brief Merkle hash trees in the manner of Certificate Transparency
 *        (RFC 6962 §2.1, RFC 9162 §2.1): one append-only log per ledger
 *        partition, its roots, inclusion proofs (audit paths) and
 *        consistency proofs, and the verifiers a third party runs.
 *
 * Hashing is exactly the RFC's, with SHA-256:
 *   - empty tree:  MTH({})   = SHA-256("")
 *   - leaf:        MTH({d})  = SHA-256(0x00 || d)
 *   - node:        MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
 *                  with k the largest power of two smaller than n.
 * For the ledger, d is the ledger row exactly as published (the bytes of
 * gr_ledger_row_to_json(row, 1, ...), no newline).
 *
 * Two structures:
 *   - gr_merkle_log keeps every leaf hash and every complete subtree hash
 *     (2n hashes): append is O(1) amortised, the root of any prefix and
 *     every proof is O(log n).  Used by auditors and `receiptctl ledger`.
 *   - gr_merkle_frontier keeps only the roots of the complete subtrees on
 *     the right edge (at most 64 hashes, ~2 KiB): enough to append and to
 *     compute the current root, which is all a stateless receiptd needs to
 *     publish tree heads; it serialises into a checkpoint.
 *
 * Pure: no I/O, no allocation outside gr_merkle_log.  Not thread-safe per
 * object; distinct objects are independent.
 */
#ifndef GR_MERKLE_H
#define GR_MERKLE_H

#include <stddef.h>
#include <stdint.h>

struct gr_buf;

#define GR_HASH_LEN 32

/** Longest proof for a tree of at most 2^64 leaves. */
#define GR_MERKLE_PROOF_MAX 64

/** Leaf hash SHA-256(0x00 || data) into out. */
void gr_merkle_leaf_hash(const void *data, size_t len,
                         uint8_t out[GR_HASH_LEN]);

/** Interior node hash SHA-256(0x01 || left || right) into out (out may
 *  alias left or right). */
void gr_merkle_node_hash(const uint8_t left[GR_HASH_LEN],
                         const uint8_t right[GR_HASH_LEN],
                         uint8_t out[GR_HASH_LEN]);

/** MTH of n leaf hashes (borrowed) by the RFC's recursion; SHA-256("") for
 *  n = 0.  The reference the logs are tested against. */
void gr_merkle_root_compute(const uint8_t (*leaves)[GR_HASH_LEN], size_t n,
                            uint8_t out[GR_HASH_LEN]);

/* ---- the full log ------------------------------------------------------ */

typedef struct gr_merkle_log gr_merkle_log;

/** @returns an empty log; caller frees with gr_merkle_log_destroy(), or
 *           NULL with errstr filled. */
gr_merkle_log *gr_merkle_log_new(char *errstr, size_t errstr_size);
/** NULL is a no-op. */
void gr_merkle_log_destroy(gr_merkle_log *log);

/** Append one leaf hash.  @returns 0, or -1 on ENOMEM (log unchanged). */
int gr_merkle_log_append(gr_merkle_log *log,
                         const uint8_t leaf_hash[GR_HASH_LEN]);
/** Append the leaf SHA-256(0x00 || data).  @returns 0 or -1 (ENOMEM). */
int gr_merkle_log_append_data(gr_merkle_log *log, const void *data,
                              size_t len);

/** Number of leaves. */
uint64_t gr_merkle_log_size(const gr_merkle_log *log);

/** Leaf hash at index (borrowed, valid until the next append), or NULL. */
const uint8_t *gr_merkle_log_leaf(const gr_merkle_log *log, uint64_t index);

/** MTH of the first `size` leaves (size <= log size).
 *  @returns 0, or -1 when size is beyond the log. */
int gr_merkle_log_root(const gr_merkle_log *log, uint64_t size,
                       uint8_t out[GR_HASH_LEN]);

/**
 * @brief Inclusion proof (RFC 6962 §2.1.1 PATH) of leaf `index` in the tree
 *        of the first `size` leaves, ordered from the leaf upwards.
 * @param path receives up to GR_MERKLE_PROOF_MAX hashes (caller's array).
 * @returns 0 with *path_len set, or -1 when index >= size or size is beyond
 *          the log.
 */
int gr_merkle_log_inclusion_prove(const gr_merkle_log *log, uint64_t index,
                                  uint64_t size,
                                  uint8_t path[][GR_HASH_LEN],
                                  size_t *path_len);

/**
 * @brief Consistency proof (RFC 6962 §2.1.2 PROOF) between the trees of the
 *        first size1 and the first size2 leaves, 0 < size1 <= size2.
 *        Empty when size1 == size2.
 * @returns 0 with *proof_len set, or -1 on bad sizes.
 */
int gr_merkle_log_consistency_prove(const gr_merkle_log *log, uint64_t size1,
                                    uint64_t size2,
                                    uint8_t proof[][GR_HASH_LEN],
                                    size_t *proof_len);

/* ---- verifiers (RFC 9162 §2.1.3.2, §2.1.4.2) --------------------------- */

/**
 * @brief Verify that leaf_hash is leaf `index` of the tree of `size`
 *        leaves whose root is `root`, given the audit path.
 * @returns 1 when the proof holds, 0 otherwise (any malformed input).
 */
int gr_merkle_inclusion_verify(uint64_t index, uint64_t size,
                               const uint8_t leaf_hash[GR_HASH_LEN],
                               const uint8_t path[][GR_HASH_LEN],
                               size_t path_len,
                               const uint8_t root[GR_HASH_LEN]);

/**
 * @brief Verify that the tree (size2, root2) extends the tree
 *        (size1, root1).  size1 == 0 is consistent with anything given an
 *        empty proof; size1 == size2 needs an empty proof and equal roots.
 * @returns 1 when the proof holds, 0 otherwise.
 */
int gr_merkle_consistency_verify(uint64_t size1, uint64_t size2,
                                 const uint8_t root1[GR_HASH_LEN],
                                 const uint8_t root2[GR_HASH_LEN],
                                 const uint8_t proof[][GR_HASH_LEN],
                                 size_t proof_len);

/* ---- the compact frontier ---------------------------------------------- */

/**
 * Roots of the complete subtrees along the right edge: node[k] is the root
 * of the perfect subtree of 2^k leaves when bit k of size is set.  Plain
 * value type (copy it freely); zero-initialise or gr_merkle_frontier_init().
 */
typedef struct gr_merkle_frontier {
        uint64_t size;
        uint8_t node[64][GR_HASH_LEN];
} gr_merkle_frontier;

void gr_merkle_frontier_init(gr_merkle_frontier *f);
/** Append one leaf hash; O(log n) worst case, O(1) amortised.
 *  @returns 0, or -1 when the tree is full (2^64 - 1 leaves). */
int gr_merkle_frontier_append(gr_merkle_frontier *f,
                              const uint8_t leaf_hash[GR_HASH_LEN]);
/** Current root (SHA-256("") when empty). */
void gr_merkle_frontier_root(const gr_merkle_frontier *f,
                             uint8_t out[GR_HASH_LEN]);

/**
 * @brief Append the frontier as JSON, for a partition checkpoint:
 *        `{"size":N,"nodes":["<hex>",...]}` with one hash per set bit of
 *        N, largest subtree first (at most 64, ~4.3 KiB).
 */
void gr_merkle_frontier_to_json(const gr_merkle_frontier *f,
                                struct gr_buf *out);

/** Parse gr_merkle_frontier_to_json() output.
 *  @returns 0, or -1 with errstr filled (*f unchanged). */
int gr_merkle_frontier_from_json(gr_merkle_frontier *f, const char *json,
                                 size_t len, char *errstr,
                                 size_t errstr_size);

#endif /* GR_MERKLE_H */
