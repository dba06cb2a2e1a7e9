/**
 * @file run_classify.h
 * @brief `receiptctl run`: from what was observed about a finished command
 *        (exit status, signal, timeout, control group counters, stderr) to
 *        a SPEC failure_class and a stderr_class naming the evidence.
 *
 * Pure: no I/O, no clocks.  The supervisor (run_exec.c) gathers the
 * observations; this file decides.  The decision is ONE table
 * (run_classify.c, `rules[]`), first matching row wins, mirrored in
 * docs/FAILURE-CLASSES.md; the stderr needles are a second table.
 */
#ifndef GR_RUN_CLASSIFY_H
#define GR_RUN_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "gr_types.h"

/** How the memory limit was enforced. */
typedef enum {
        GR_LIMITER_NONE,      /**< no --memory-limit */
        GR_LIMITER_CGROUP_V2, /**< memory.max, memory.events oom_kill */
        GR_LIMITER_CGROUP_V1, /**< memory.limit_in_bytes, oom_control */
        GR_LIMITER_RLIMIT,    /**< setrlimit(RLIMIT_AS): allocations fail */
} gr_limiter_t;

/** @returns "none", "cgroup-v2", "cgroup-v1" or "rlimit". */
const char *gr_limiter_name(gr_limiter_t l);

/** What a stderr line can show, one bit each (gr_run_scan_line()). */
#define GR_RUN_EVIDENCE_MAP(X)                                                 \
        X(CUDA_OOM, "cuda_oom")                                                \
        X(DRIVER_MISMATCH, "cuda_driver_mismatch")                             \
        X(GPU_LOST, "gpu_lost")                                                \
        X(ALLOC_FAILURE, "alloc_failure")                                      \
        X(IMAGE_PULL, "image_pull_error")

#define GR__EVID_ENUM(N, S) GR_EVID_##N,
typedef enum { GR_RUN_EVIDENCE_MAP(GR__EVID_ENUM) GR_EVID__CNT } gr_evidence_t;
#undef GR__EVID_ENUM

#define GR_EVID_BIT(e) (1u << (GR_EVID_##e))

/** @returns the evidence's name (the stderr_class it usually yields). */
const char *gr_evidence_name(gr_evidence_t e);

/**
 * @brief Which evidence one line of the command's stderr shows (ASCII
 *        case-insensitive substring match against the needle table).
 * @returns a mask of GR_EVID_BIT()s, 0 when nothing matched.
 */
unsigned gr_run_scan_line(const char *line, size_t len);

/** Everything the classification looks at. */
typedef struct gr_run_outcome {
        int exec_errno;      /**< != 0: the command could not be executed */
        int exited;          /**< WIFEXITED */
        int exit_code;       /**< WEXITSTATUS when exited */
        int signaled;        /**< WIFSIGNALED */
        int signo;           /**< WTERMSIG when signaled */
        int timed_out;       /**< the supervisor's --timeout fired */
        gr_limiter_t limiter;
        int64_t oom_kills;   /**< control group oom_kill count; -1 unknown */
        int limit_hit;       /**< usage reached the limit (failcnt, events max) */
        unsigned evidence;   /**< OR of gr_run_scan_line() over stderr */
} gr_run_outcome;

/** The verdict. */
typedef struct gr_run_class {
        gr_failure_t failure; /**< GR_FAIL_NONE: execution_completed */
        char stderr_class[48]; /**< evidence name, e.g. "cgroup_oom_kill" */
        const char *rule;      /**< the table row that matched (its name) */
} gr_run_class;

/** @brief Classify a finished run (first matching row of the table). */
void gr_run_classify(const gr_run_outcome *o, gr_run_class *out);

/**
 * @brief receiptctl run's own exit status for the outcome: the child's
 *        exit code; 128+N for signal N; 124 on timeout; 127 when the
 *        command was not found; 126 when it could not be executed.
 */
int gr_run_exit_status(const gr_run_outcome *o);

#endif
