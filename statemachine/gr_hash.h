/**
 * @file gr_hash.h
 * @brief SHA-256 for the hot path (ledger rows, receipt hashes, decision
 *        ids).
 *
 * libsodium's SHA-256 is portable C (measured here: ~175 MB/s, ~5.8 µs per
 * KiB), which alone would cost more per event than the whole rest of the
 * pipeline.  When built with GR_OPENSSL_SHA256 (the default when libcrypto
 * is found — librdkafka already depends on it) the same function is served
 * by OpenSSL, which uses the CPU's SHA extensions (~2 GB/s here), through
 * SHA256_Init/Update/Final where the headers still offer them (gr_hash.c
 * says why not EVP).  The bytes are identical either way;
 * tests/statemachine/test_hash.c checks both implementations against each
 * other and the FIPS 180-2 vectors.
 */
#ifndef GR_HASH_H
#define GR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GR_SHA256_BYTES 32

void gr_sha256(const void *p, size_t n, uint8_t out[GR_SHA256_BYTES]);

/** The reference implementation (libsodium), whatever the build. */
void gr_sha256_ref(const void *p, size_t n, uint8_t out[GR_SHA256_BYTES]);

/** Free the calling thread's hashing state (gr_sha256 keeps one context per
 *  thread); for threads that end before the process does.  The next
 *  gr_sha256 on the thread makes a new one. */
void gr_hash_thread_done(void);

/** hex SHA-256 of n bytes into out[65]. @returns out. */
char *gr_sha256_hex(const void *p, size_t n, char out[65]);

/** Name of the implementation in use ("openssl" or "libsodium"). */
const char *gr_sha256_impl(void);

#endif
