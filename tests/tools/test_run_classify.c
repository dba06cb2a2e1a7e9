/* receiptctl run's failure table (tools/receiptctl/run_classify.c): one row
 * per observation, as docs/FAILURE-CLASSES.md lists them. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "run_classify.h"

#define V1 GR_LIMITER_CGROUP_V1
#define V2 GR_LIMITER_CGROUP_V2
#define RL GR_LIMITER_RLIMIT
#define NO GR_LIMITER_NONE

/* stderr text -> evidence */
static const struct {
        const char *line;
        unsigned evidence;
} scan_rows[] = {
    {"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
     GR_EVID_BIT(CUDA_OOM)},
    {"RuntimeError: CUDA error: out of memory", GR_EVID_BIT(CUDA_OOM)},
    {"fatal: out of memory", GR_EVID_BIT(ALLOC_FAILURE)},
    {"cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY", GR_EVID_BIT(CUDA_OOM)},
    {"error: cudaErrorMemoryAllocation", GR_EVID_BIT(CUDA_OOM)},
    {"CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate",
     GR_EVID_BIT(CUDA_OOM)},
    {"ResourceExhaustedError: OOM when allocating tensor with shape",
     GR_EVID_BIT(CUDA_OOM)},
    {"CUDA driver version is insufficient for CUDA runtime version",
     GR_EVID_BIT(DRIVER_MISMATCH)},
    {"cudaErrorInsufficientDriver", GR_EVID_BIT(DRIVER_MISMATCH)},
    {"Failed to initialize NVML: Driver/library version mismatch",
     GR_EVID_BIT(DRIVER_MISMATCH)},
    {"CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", GR_EVID_BIT(DRIVER_MISMATCH)},
    {"The NVIDIA driver on your system is too old (found version 10010)",
     GR_EVID_BIT(DRIVER_MISMATCH)},
    {"NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.",
     GR_EVID_BIT(GPU_LOST)},
    {"run_helper: allocation 40 MiB: Cannot allocate memory",
     GR_EVID_BIT(ALLOC_FAILURE)},
    {"MemoryError", GR_EVID_BIT(ALLOC_FAILURE)},
    {"terminate called after throwing an instance of 'std::bad_alloc'",
     GR_EVID_BIT(ALLOC_FAILURE)},
    {"Error response from daemon: pull access denied for x, repository "
     "does not exist",
     GR_EVID_BIT(IMAGE_PULL)},
    {"Failed to pull image \"x\": rpc error: ErrImagePull",
     GR_EVID_BIT(IMAGE_PULL)},
    {"cuda out of MEMORY", GR_EVID_BIT(CUDA_OOM)}, /* case-insensitive */
    {"epoch 3 loss 0.12", 0},
    {"", 0},
};

static void test_scan_rows(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(scan_rows) / sizeof(scan_rows[0]); i++) {
                unsigned got = gr_run_scan_line(scan_rows[i].line,
                                                strlen(scan_rows[i].line));
                if (got != scan_rows[i].evidence)
                        fail_msg("row %zu \"%s\": evidence 0x%x, want 0x%x", i,
                                 scan_rows[i].line, got,
                                 scan_rows[i].evidence);
        }
        /* not NUL-terminated, and NULL */
        assert_int_equal(gr_run_scan_line("MemoryErrorXX", 11),
                         GR_EVID_BIT(ALLOC_FAILURE));
        assert_int_equal(gr_run_scan_line("MemoryErrorXX", 10), 0);
        assert_int_equal(gr_run_scan_line(NULL, 5), 0);
}

#define CUDA GR_EVID_BIT(CUDA_OOM)
#define DRV GR_EVID_BIT(DRIVER_MISMATCH)
#define LOST GR_EVID_BIT(GPU_LOST)
#define ALLOC GR_EVID_BIT(ALLOC_FAILURE)
#define PULL GR_EVID_BIT(IMAGE_PULL)

/* observation -> failure_class, stderr_class, exit status of run */
static const struct {
        const char *name;
        gr_run_outcome o; /* exec_errno exited code signaled signo timed_out
                             limiter oom_kills limit_hit evidence */
        gr_failure_t failure;
        const char *stderr_class;
        int exit_status;
} rows[] = {
    {"clean exit", {0, 1, 0, 0, 0, 0, NO, -1, 0, 0}, GR_FAIL_NONE, "none", 0},
    {"exit 0 despite a sub-process OOM",
     {0, 1, 0, 0, 0, 0, V1, 1, 1, 0}, GR_FAIL_NONE, "none", 0},
    {"cgroup v1 oom kill", {0, 0, 0, 1, SIGKILL, 0, V1, 1, 1, 0},
     GR_FAIL_CONTAINER_OOM, "cgroup_oom_kill", 137},
    {"cgroup v2 oom kill seen by a shell (exit 137)",
     {0, 1, 137, 0, 0, 0, V2, 2, 1, 0}, GR_FAIL_CONTAINER_OOM,
     "cgroup_oom_kill", 137},
    {"oom kill wins over the timeout", {0, 0, 0, 1, SIGKILL, 1, V1, 1, 1, 0},
     GR_FAIL_CONTAINER_OOM, "cgroup_oom_kill", 124},
    {"SIGKILL at the limit, no oom counter",
     {0, 0, 0, 1, SIGKILL, 0, V1, -1, 1, 0}, GR_FAIL_CONTAINER_OOM,
     "memory_limit_kill", 137},
    {"SIGKILL below the limit is not OOM",
     {0, 0, 0, 1, SIGKILL, 0, V1, 0, 0, 0}, GR_FAIL_RUNTIME_ERROR,
     "signal_sigkill", 137},
    {"timeout", {0, 0, 0, 1, SIGTERM, 1, NO, -1, 0, 0}, GR_FAIL_TIMEOUT,
     "wall_timeout", 124},
    {"timeout, job exited 0 on SIGTERM", {0, 1, 0, 0, 0, 1, NO, -1, 0, 0},
     GR_FAIL_TIMEOUT, "wall_timeout", 124},
    {"CUDA OOM on stderr", {0, 1, 1, 0, 0, 0, NO, -1, 0, CUDA | ALLOC},
     GR_FAIL_CONTAINER_OOM, "cuda_oom", 1},
    {"CUDA OOM then abort", {0, 0, 0, 1, SIGABRT, 0, V2, 0, 0, CUDA},
     GR_FAIL_CONTAINER_OOM, "cuda_oom", 134},
    {"driver too old", {0, 1, 1, 0, 0, 0, NO, -1, 0, DRV},
     GR_FAIL_DRIVER_MISMATCH, "cuda_driver_mismatch", 1},
    {"GPU fell off the bus", {0, 0, 0, 1, SIGSEGV, 0, NO, -1, 0, LOST},
     GR_FAIL_WORKER_LOST, "gpu_lost", 139},
    {"rlimit: allocation failed", {0, 1, 1, 0, 0, 0, RL, -1, 0, ALLOC},
     GR_FAIL_CONTAINER_OOM, "rlimit_alloc_failure", 1},
    {"allocation failed without our limit",
     {0, 1, 1, 0, 0, 0, NO, -1, 0, ALLOC}, GR_FAIL_CONTAINER_OOM,
     "alloc_failure", 1},
    {"image pull error on stderr", {0, 1, 125, 0, 0, 0, NO, -1, 0, PULL},
     GR_FAIL_IMAGE_PULL_FAILED, "image_pull_error", 125},
    {"command not found", {ENOENT, 0, 0, 0, 0, 0, NO, -1, 0, 0},
     GR_FAIL_IMAGE_PULL_FAILED, "exec_enoent", 127},
    {"not executable", {EACCES, 0, 0, 0, 0, 0, V1, -1, 0, 0},
     GR_FAIL_IMAGE_PULL_FAILED, "exec_eacces", 126},
    {"exec out of memory (RLIMIT_AS)", {ENOMEM, 0, 0, 0, 0, 0, RL, -1, 0, 0},
     GR_FAIL_CONTAINER_OOM, "exec_enomem", 126},
    {"exec other error", {E2BIG, 0, 0, 0, 0, 0, NO, -1, 0, 0},
     GR_FAIL_IMAGE_PULL_FAILED, "exec_failed", 126},
    {"SIGSEGV", {0, 0, 0, 1, SIGSEGV, 0, NO, -1, 0, 0},
     GR_FAIL_RUNTIME_ERROR, "signal_sigsegv", 139},
    {"SIGABRT", {0, 0, 0, 1, SIGABRT, 0, V1, 0, 0, 0}, GR_FAIL_RUNTIME_ERROR,
     "signal_sigabrt", 134},
    {"unnamed signal", {0, 0, 0, 1, 40, 0, NO, -1, 0, 0},
     GR_FAIL_RUNTIME_ERROR, "signal_40", 168},
    {"a shell reporting SIGSEGV (exit 139)",
     {0, 1, 139, 0, 0, 0, NO, -1, 0, 0}, GR_FAIL_RUNTIME_ERROR,
     "exit_signal_sigsegv", 139},
    {"exit 137 below the limit", {0, 1, 137, 0, 0, 0, V1, 0, 0, 0},
     GR_FAIL_RUNTIME_ERROR, "exit_signal_sigkill", 137},
    {"exit 3", {0, 1, 3, 0, 0, 0, NO, -1, 0, 0}, GR_FAIL_NONZERO_EXIT,
     "exit_3", 3},
    {"exit 1 with an unrelated stderr", {0, 1, 1, 0, 0, 0, V1, 0, 0, 0},
     GR_FAIL_NONZERO_EXIT, "exit_1", 1},
    {"neither exited nor signaled", {0, 0, 0, 0, 0, 0, NO, -1, 0, 0},
     GR_FAIL_UNKNOWN, "unknown", 1},
};

static void test_rows(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                gr_run_class c;
                memset(&c, 0, sizeof(c));
                gr_run_classify(&rows[i].o, &c);
                if (c.failure != rows[i].failure ||
                    strcmp(c.stderr_class, rows[i].stderr_class))
                        fail_msg("row \"%s\": %s/%s (rule %s), want %s/%s",
                                 rows[i].name, gr_failure_t_name(c.failure),
                                 c.stderr_class, c.rule,
                                 gr_failure_t_name(rows[i].failure),
                                 rows[i].stderr_class);
                if (gr_run_exit_status(&rows[i].o) != rows[i].exit_status)
                        fail_msg("row \"%s\": exit status %d, want %d",
                                 rows[i].name, gr_run_exit_status(&rows[i].o),
                                 rows[i].exit_status);
                assert_non_null(c.rule);
        }
}

static void test_names(void **state) {
        (void)state;
        assert_string_equal(gr_limiter_name(GR_LIMITER_CGROUP_V1), "cgroup-v1");
        assert_string_equal(gr_limiter_name(GR_LIMITER_CGROUP_V2), "cgroup-v2");
        assert_string_equal(gr_limiter_name(GR_LIMITER_RLIMIT), "rlimit");
        assert_string_equal(gr_limiter_name(GR_LIMITER_NONE), "none");
        assert_string_equal(gr_evidence_name(GR_EVID_CUDA_OOM), "cuda_oom");
        assert_string_equal(gr_evidence_name(GR_EVID__CNT), "unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scan_rows),
            cmocka_unit_test(test_rows),
            cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
