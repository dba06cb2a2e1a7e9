/**
 * @file gr_checkpoint.h
 * @brief The checkpoint record of a partition in the state topic: where
 *        its input resumes and the ledger's Merkle frontier after the rows
 *        committed with it.
 *
 *   key = "__checkpoint__.<p>"   value = {"topic":T,"partition":p,
 *                                         "next_offset":N,
 *                                         "merkle":{"size":S,"nodes":[..]}}
 *
 * `merkle` is absent in checkpoints written before tree heads existed.
 */
#ifndef GR_CHECKPOINT_H
#define GR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "gr_buf.h"
#include "gr_merkle.h"

/** Key of the checkpoint record of input partition p in the state topic. */
#define GR_CHECKPOINT_KEY_PREFIX "__checkpoint__."

/** Key of the checkpoint record of partition p into buf. @returns buf. */
char *gr_checkpoint_key(int32_t partition, char *buf, size_t size);

/** Value of a checkpoint record into out (appended). */
void gr_checkpoint_encode(const char *topic, int32_t partition,
                          int64_t next_offset, gr_buf *out);

/** @returns next_offset from a checkpoint value, or -1 when malformed. */
int64_t gr_checkpoint_decode(const void *buf, size_t len);

/** Value of a checkpoint record with the ledger's Merkle frontier f
 *  (borrowed) into out (appended). */
void gr_checkpoint_frontier_encode(const char *topic, int32_t partition,
                                   int64_t next_offset,
                                   const gr_merkle_frontier *f, gr_buf *out);

/** The `merkle` member of a checkpoint value into *f.
 *  @returns 0, 1 when the checkpoint has none, -1 when it is malformed
 *           (*f unchanged unless 0). */
int gr_checkpoint_frontier_decode(const void *buf, size_t len,
                                  gr_merkle_frontier *f);

#endif
