/**
 * @file test_file.h
 * @brief Test helpers: a whole file into memory, and each file of a
 *        directory in turn.
 */
#ifndef TEST_FILE_H
#define TEST_FILE_H

#include <stddef.h>

/**
 * @brief Read the file at path whole.
 * @returns its bytes, NUL-terminated (caller frees), with *len set; NULL
 *          when it cannot be opened or memory runs out.
 */
char *gr_test_slurp(const char *path, size_t *len);

/** Called with a file's entry name, its bytes (NUL-terminated) and length. */
typedef void gr_test_file_fn(const char *name, const char *buf, size_t len,
                             void *arg);

/**
 * @brief For each entry NAME of dir not starting with '.', read
 *        dir/NAME/sub (dir/NAME when sub is NULL) whole and call fn with
 *        it; entries without that file are skipped.
 * @returns how many files fn was called with; -1 when dir cannot be opened.
 */
int gr_test_each_file(const char *dir, const char *sub, gr_test_file_fn *fn,
                      void *arg);

#endif
