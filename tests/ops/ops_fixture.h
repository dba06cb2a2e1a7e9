/**
 * @file ops_fixture.h
 * @brief Test helper: run a JSON-lines file from tests/data through one
 *        gr_engine (default policy, no sink) with the JSON decoder, as
 *        `receiptctl replay` does.
 */
#ifndef OPS_FIXTURE_H
#define OPS_FIXTURE_H

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

#endif
