/**
 * @file ops_fixture.h
 * @brief Test helper: run a JSON-lines file from tests/data through one
 *        gr_engine (default policy, no sink) with the JSON decoder, as
 *        `receiptctl replay` does.
 */
#ifndef OPS_FIXTURE_H
#define OPS_FIXTURE_H

#include <stddef.h>

#include "gr_engine.h"

typedef struct ops_run {
        gr_policy pol;
        gr_engine *eng; /**< owned */
} ops_run;

/**
 * @brief Replay path (a JSON-lines file) into r->eng.
 * @returns 0, or -1 when the file cannot be read or memory runs out.
 */
int ops_run_file(ops_run *r, const char *path);

/** Frees the engine; the struct may be reused. */
void ops_run_free(ops_run *r);

/**
 * @brief Minimal HTTP/1.0 GET against 127.0.0.1:port (tests only).
 * @param body receives the malloc'd body (caller frees), may be NULL.
 * @param ctype receives the Content-Type value (size bytes), may be NULL.
 * @returns the status code, or -1 when the exchange failed.
 */
int ops_http_get(int port, const char *method, const char *path, char **body,
                 char *ctype, size_t size);

#endif
