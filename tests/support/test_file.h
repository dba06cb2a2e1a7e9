/**
 * @file test_file.h
 * @brief Test helper: a whole file into memory.
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

#endif
