/**
 * @file run_exec.h
 * @brief `receiptctl run`'s supervisor: start one command (or a function in
 *        a forked child) under a memory limit and a timeout, watch its
 *        stderr, and report what happened (run_classify.h decides what it
 *        means).
 *
 * The memory limit goes, in order of preference, into a fresh control
 * group below the caller's own: cgroup v2 (`memory.max`, oom kills counted
 * in `memory.events`) or cgroup v1 (`memory.limit_in_bytes`, oom kills in
 * `memory.oom_control`); when neither can be created (not root, no
 * writable memory controller) into `RLIMIT_AS` of the child (prlimit), where
 * an allocation past the limit fails instead of being killed.  Which path
 * was taken, and why, is written into the result.  The control group is
 * emptied and removed before gr_run_exec() returns.
 *
 * The child runs in its own process group; on timeout, or when the caller
 * gets SIGINT, SIGTERM or SIGHUP, the group gets SIGTERM, then SIGKILL
 * after a grace period.
 */
#ifndef GR_RUN_EXEC_H
#define GR_RUN_EXEC_H

#include <stdint.h>

#include "run_classify.h"

/** Which limiter the caller asks for. */
typedef enum {
        GR_LIMIT_AUTO,   /**< a cgroup when possible, else rlimit */
        GR_LIMIT_CGROUP, /**< a cgroup or fail */
        GR_LIMIT_RLIMIT, /**< RLIMIT_AS only */
} gr_limit_want_t;

/** @returns 0 and *out for "auto", "cgroup", "rlimit"; -1 otherwise. */
int gr_limit_want_parse(const char *s, gr_limit_want_t *out);

#define GR_RUN_STDOUT_TO_STDERR (-2)

typedef struct gr_run_spec {
        char *const *argv;     /**< command (execvp), unless fn is set */
        int (*fn)(void *arg);  /**< run in the forked child instead */
        void *fn_arg;
        int64_t memory_limit;  /**< bytes; 0 = no limit */
        int64_t timeout_ms;    /**< 0 = none */
        int64_t kill_grace_ms; /**< SIGTERM -> SIGKILL; 0 = 2000 */
        gr_limit_want_t want;
        /** dup'ed onto the child's stdout; -1 keep ours;
         *  GR_RUN_STDOUT_TO_STDERR: into the watched stderr pipe */
        int child_stdout_fd;
        int echo_stderr_fd;    /**< child's stderr is copied here; -1 drop */
        /** nvidia-smi to sample GPU memory with; NULL: "nvidia-smi" from
         *  PATH; "": never. */
        const char *nvidia_smi;
        /** Called once the limit and pipes are ready, just before the
         *  child is started; nonzero: nothing is started, gr_run_exec()
         *  returns -1 (err "not started"). NULL: none. */
        int (*before_start)(void *arg);
        void *before_start_arg;
} gr_run_spec;

typedef struct gr_run_result {
        gr_run_outcome o;            /**< what run_classify.h needs */
        int64_t started_ms, ended_ms; /**< wall clock, ms since the epoch */
        double wall_seconds, cpu_seconds;
        int64_t memory_limit;         /**< as applied; 0 none */
        int64_t peak_mem_bytes;       /**< -1 unknown */
        const char *peak_source;      /**< counter it came from */
        int has_gpu;                  /**< nvidia-smi was sampled */
        int64_t peak_vram_mb;
        double gpu_seconds;
        char limiter_note[512];       /**< where the limit went and why */
} gr_run_result;

/**
 * @brief Run the command to its end (bounded by timeout_ms plus the kill
 *        grace when a timeout is given).
 * @returns 0 when the command ran or could not be executed (then
 *          r->o.exec_errno says why); -1 with err filled when the
 *          supervisor itself failed (no pipes, no fork, cgroup demanded but
 *          unavailable).
 */
int gr_run_exec(const gr_run_spec *s, gr_run_result *r, char *err,
                size_t errsz);

#endif
