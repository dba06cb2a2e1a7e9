/**
 * @file keyfile.h
 * @brief File helpers shared by the evidence commands (keygen, verify,
 *        ledger): the library itself never touches files.
 */
#ifndef GR_RECEIPTCTL_KEYFILE_H
#define GR_RECEIPTCTL_KEYFILE_H

#include <stddef.h>

#include "gr_keys.h"

/**
 * @brief Read a whole file (at most 16 MiB) into memory.
 * @returns a NUL-terminated buffer the caller frees, or NULL with errno
 *          set (EFBIG when too large).
 */
char *cli_file_read(const char *path, size_t *len);

/**
 * @brief Read a secret key file: like cli_file_read, but refuses a file
 *        that is not a regular file or that group or others may access
 *        (as receiptd's key settings and ssh do).
 * @returns the text (the caller wipes and frees it), or NULL after
 *          printing why to stderr prefixed with `cmd`.
 */
char *cli_secret_read(const char *cmd, const char *path, size_t *len);

/** Initialise libsodium; on failure print why, prefixed with `cmd`.
 *  @returns 0 or -1. */
int cli_crypto_init(const char *cmd);

/**
 * @brief Load a key registry, or a single public key file, from path.
 * @returns the keyring (caller destroys), or NULL after printing why to
 *          stderr prefixed with `cmd`.
 */
gr_keyring *cli_keyring_load(const char *cmd, const char *path);

#endif
