/* receiptctl run: failure classes from real signals.  Pure (no I/O).
 *
 * Two tables, both mirrored in docs/FAILURE-CLASSES.md:
 *   needles[]: stderr text -> evidence bit;
 *   rules[]:   observations -> failure_class + stderr_class, first match
 *              wins. */
#include "run_classify.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

const char *gr_limiter_name(gr_limiter_t l) {
        switch (l) {
        case GR_LIMITER_CGROUP_V2:
                return "cgroup-v2";
        case GR_LIMITER_CGROUP_V1:
                return "cgroup-v1";
        case GR_LIMITER_RLIMIT:
                return "rlimit";
        case GR_LIMITER_NONE:
                break;
        }
        return "none";
}

#define GR__EVID_NAME(N, S) S,
static const char *const evidence_names[GR_EVID__CNT] = {
    GR_RUN_EVIDENCE_MAP(GR__EVID_NAME)};
#undef GR__EVID_NAME

const char *gr_evidence_name(gr_evidence_t e) {
        return (unsigned)e < GR_EVID__CNT ? evidence_names[e] : "unknown";
}

/* ---- stderr needles ----------------------------------------------------
 * Spellings from the CUDA runtime/driver API error names and strings, the
 * messages of PyTorch, TensorFlow/XLA, cuBLAS/cuDNN, NVML/nvidia-smi, the
 * C and C++ runtimes, and container runtimes (docker, Kubernetes). */
static const struct {
        const char *needle;
        gr_evidence_t evidence;
} needles[] = {
    /* GPU memory exhausted */
    {"CUDA out of memory", GR_EVID_CUDA_OOM},       /* PyTorch */
    {"OutOfMemoryError: CUDA", GR_EVID_CUDA_OOM},   /* torch.OutOfMemoryError */
    {"CUDA error: out of memory", GR_EVID_CUDA_OOM}, /* cudaGetErrorString(2) */
    {"CUDA_ERROR_OUT_OF_MEMORY", GR_EVID_CUDA_OOM},  /* driver API, 2 */
    {"cudaErrorMemoryAllocation", GR_EVID_CUDA_OOM}, /* runtime API, 2 */
    {"CUBLAS_STATUS_ALLOC_FAILED", GR_EVID_CUDA_OOM},
    {"CUDNN_STATUS_ALLOC_FAILED", GR_EVID_CUDA_OOM},
    {"OOM when allocating tensor", GR_EVID_CUDA_OOM}, /* TensorFlow */
    {"RESOURCE_EXHAUSTED: Out of memory", GR_EVID_CUDA_OOM}, /* XLA */
    /* driver and runtime do not fit together */
    {"CUDA driver version is insufficient", GR_EVID_DRIVER_MISMATCH},
    {"cudaErrorInsufficientDriver", GR_EVID_DRIVER_MISMATCH}, /* 35 */
    {"CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", GR_EVID_DRIVER_MISMATCH}, /* 803 */
    {"cudaErrorSystemDriverMismatch", GR_EVID_DRIVER_MISMATCH},
    {"unsupported display driver / cuda driver combination",
     GR_EVID_DRIVER_MISMATCH},
    {"CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", GR_EVID_DRIVER_MISMATCH},
    {"forward compatibility was attempted on non supported HW",
     GR_EVID_DRIVER_MISMATCH},
    {"Driver/library version mismatch", GR_EVID_DRIVER_MISMATCH}, /* NVML */
    {"NVIDIA driver on your system is too old", GR_EVID_DRIVER_MISMATCH},
    {"couldn't communicate with the NVIDIA driver", GR_EVID_DRIVER_MISMATCH},
    /* the GPU went away under the job (Xid 79 and friends) */
    {"GPU has fallen off the bus", GR_EVID_GPU_LOST},
    {"Xid 79", GR_EVID_GPU_LOST},
    {"Xid: 79", GR_EVID_GPU_LOST},
    {"CUDA_ERROR_ECC_UNCORRECTABLE", GR_EVID_GPU_LOST},
    {"uncorrectable ECC error encountered", GR_EVID_GPU_LOST},
    /* host memory allocation failed (what RLIMIT_AS produces) */
    {"Cannot allocate memory", GR_EVID_ALLOC_FAILURE}, /* strerror(ENOMEM) */
    {"MemoryError", GR_EVID_ALLOC_FAILURE},            /* Python */
    {"std::bad_alloc", GR_EVID_ALLOC_FAILURE},         /* C++ */
    {"out of memory", GR_EVID_ALLOC_FAILURE},
    /* the image never arrived */
    {"ErrImagePull", GR_EVID_IMAGE_PULL},
    {"ImagePullBackOff", GR_EVID_IMAGE_PULL},
    {"pull access denied", GR_EVID_IMAGE_PULL},
    {"manifest unknown", GR_EVID_IMAGE_PULL},
    {"failed to pull image", GR_EVID_IMAGE_PULL},
    {"error pulling image", GR_EVID_IMAGE_PULL},
};

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int contains_ci(const char *hay, size_t n, const char *needle) {
        size_t m = strlen(needle);

        if (m == 0 || m > n)
                return 0;
        for (size_t i = 0; i + m <= n; i++) {
                size_t j = 0;
                while (j < m && lower((unsigned char)hay[i + j]) ==
                                    lower((unsigned char)needle[j]))
                        j++;
                if (j == m)
                        return 1;
        }
        return 0;
}

unsigned gr_run_scan_line(const char *line, size_t len) {
        unsigned mask = 0;

        if (!line)
                return 0;
        for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
                if (contains_ci(line, len, needles[i].needle))
                        mask |= 1u << needles[i].evidence;
        /* "CUDA error: out of memory" is about the GPU, not the host */
        if (mask & GR_EVID_BIT(CUDA_OOM))
                mask &= ~GR_EVID_BIT(ALLOC_FAILURE);
        return mask;
}

/* ---- the decision table ------------------------------------------------ */

static const struct {
        int signo;
        const char *name;
} signames[] = {
    {SIGSEGV, "sigsegv"}, {SIGABRT, "sigabrt"}, {SIGBUS, "sigbus"},
    {SIGFPE, "sigfpe"},   {SIGILL, "sigill"},   {SIGKILL, "sigkill"},
    {SIGTERM, "sigterm"}, {SIGINT, "sigint"},   {SIGPIPE, "sigpipe"},
    {SIGTRAP, "sigtrap"}, {SIGXCPU, "sigxcpu"}, {SIGXFSZ, "sigxfsz"},
    {SIGHUP, "sighup"},   {SIGQUIT, "sigquit"}, {SIGSYS, "sigsys"},
};

static void signal_class(char *out, size_t size, const char *pfx, int signo) {
        for (size_t i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
                if (signames[i].signo == signo) {
                        snprintf(out, size, "%s%s", pfx, signames[i].name);
                        return;
                }
        snprintf(out, size, "%s%d", pfx, signo);
}

/* "Killed as if by SIGKILL": the signal itself, or the 137 a shell or a
 * container runtime reports for it. */
static int killed(const gr_run_outcome *o) {
        return (o->signaled && o->signo == SIGKILL) ||
               (o->exited && o->exit_code == 128 + SIGKILL);
}
static int has(const gr_run_outcome *o, unsigned bit) {
        return (o->evidence & bit) != 0;
}

static int r_exec_enoent(const gr_run_outcome *o) {
        return o->exec_errno == ENOENT || o->exec_errno == ENOTDIR;
}
static int r_exec_eacces(const gr_run_outcome *o) {
        return o->exec_errno == EACCES || o->exec_errno == EPERM ||
               o->exec_errno == ENOEXEC;
}
static int r_exec_enomem(const gr_run_outcome *o) {
        return o->exec_errno == ENOMEM;
}
static int r_exec_other(const gr_run_outcome *o) { return o->exec_errno != 0; }
static int r_success(const gr_run_outcome *o) {
        return !o->timed_out && o->exited && o->exit_code == 0;
}
static int r_cgroup_oom(const gr_run_outcome *o) {
        return (o->limiter == GR_LIMITER_CGROUP_V1 ||
                o->limiter == GR_LIMITER_CGROUP_V2) &&
               o->oom_kills > 0;
}
static int r_timeout(const gr_run_outcome *o) { return o->timed_out; }
static int r_cuda_oom(const gr_run_outcome *o) {
        return has(o, GR_EVID_BIT(CUDA_OOM));
}
static int r_driver(const gr_run_outcome *o) {
        return has(o, GR_EVID_BIT(DRIVER_MISMATCH));
}
static int r_gpu_lost(const gr_run_outcome *o) {
        return has(o, GR_EVID_BIT(GPU_LOST));
}
static int r_limit_kill(const gr_run_outcome *o) {
        return killed(o) && o->limit_hit;
}
static int r_rlimit_alloc(const gr_run_outcome *o) {
        return o->limiter == GR_LIMITER_RLIMIT &&
               has(o, GR_EVID_BIT(ALLOC_FAILURE));
}
static int r_alloc(const gr_run_outcome *o) {
        return has(o, GR_EVID_BIT(ALLOC_FAILURE));
}
static int r_image_pull(const gr_run_outcome *o) {
        return has(o, GR_EVID_BIT(IMAGE_PULL));
}
static int r_signal(const gr_run_outcome *o) { return o->signaled; }
static int r_shell_signal(const gr_run_outcome *o) {
        return o->exited && o->exit_code > 128 && o->exit_code <= 128 + 64;
}
static int r_nonzero(const gr_run_outcome *o) {
        return o->exited && o->exit_code != 0;
}
static int r_any(const gr_run_outcome *o) {
        (void)o;
        return 1;
}

/* stderr_class: a fixed name, or (NULL) derived from the signal/exit. */
enum { SC_FIXED, SC_SIGNAL, SC_SHELL_SIGNAL, SC_EXIT };

static const struct {
        const char *name;
        int (*match)(const gr_run_outcome *o);
        gr_failure_t failure;
        int sc_kind;
        const char *stderr_class;
} rules[] = {
    /* name              observation            failure_class        stderr_class */
    {"exec_enoent", r_exec_enoent, GR_FAIL_IMAGE_PULL_FAILED, SC_FIXED,
     "exec_enoent"},
    {"exec_eacces", r_exec_eacces, GR_FAIL_IMAGE_PULL_FAILED, SC_FIXED,
     "exec_eacces"},
    {"exec_enomem", r_exec_enomem, GR_FAIL_CONTAINER_OOM, SC_FIXED,
     "exec_enomem"},
    {"exec_failed", r_exec_other, GR_FAIL_IMAGE_PULL_FAILED, SC_FIXED,
     "exec_failed"},
    {"success", r_success, GR_FAIL_NONE, SC_FIXED, "none"},
    {"cgroup_oom_kill", r_cgroup_oom, GR_FAIL_CONTAINER_OOM, SC_FIXED,
     "cgroup_oom_kill"},
    {"timeout", r_timeout, GR_FAIL_TIMEOUT, SC_FIXED, "wall_timeout"},
    {"cuda_oom", r_cuda_oom, GR_FAIL_CONTAINER_OOM, SC_FIXED, "cuda_oom"},
    {"driver_mismatch", r_driver, GR_FAIL_DRIVER_MISMATCH, SC_FIXED,
     "cuda_driver_mismatch"},
    {"gpu_lost", r_gpu_lost, GR_FAIL_WORKER_LOST, SC_FIXED, "gpu_lost"},
    {"memory_limit_kill", r_limit_kill, GR_FAIL_CONTAINER_OOM, SC_FIXED,
     "memory_limit_kill"},
    {"rlimit_alloc_failure", r_rlimit_alloc, GR_FAIL_CONTAINER_OOM, SC_FIXED,
     "rlimit_alloc_failure"},
    {"alloc_failure", r_alloc, GR_FAIL_CONTAINER_OOM, SC_FIXED,
     "alloc_failure"},
    {"image_pull_error", r_image_pull, GR_FAIL_IMAGE_PULL_FAILED, SC_FIXED,
     "image_pull_error"},
    {"signal", r_signal, GR_FAIL_RUNTIME_ERROR, SC_SIGNAL, NULL},
    {"shell_signal", r_shell_signal, GR_FAIL_RUNTIME_ERROR, SC_SHELL_SIGNAL,
     NULL},
    {"nonzero_exit", r_nonzero, GR_FAIL_NONZERO_EXIT, SC_EXIT, NULL},
    {"unknown", r_any, GR_FAIL_UNKNOWN, SC_FIXED, "unknown"},
};

void gr_run_classify(const gr_run_outcome *o, gr_run_class *out) {
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                if (!rules[i].match(o))
                        continue;
                out->failure = rules[i].failure;
                out->rule = rules[i].name;
                switch (rules[i].sc_kind) {
                case SC_SIGNAL:
                        signal_class(out->stderr_class,
                                     sizeof(out->stderr_class), "signal_",
                                     o->signo);
                        break;
                case SC_SHELL_SIGNAL:
                        signal_class(out->stderr_class,
                                     sizeof(out->stderr_class), "exit_signal_",
                                     o->exit_code - 128);
                        break;
                case SC_EXIT:
                        snprintf(out->stderr_class, sizeof(out->stderr_class),
                                 "exit_%d", o->exit_code);
                        break;
                default:
                        snprintf(out->stderr_class, sizeof(out->stderr_class),
                                 "%s", rules[i].stderr_class);
                }
                return;
        }
}

int gr_run_exit_status(const gr_run_outcome *o) {
        if (o->exec_errno)
                return o->exec_errno == ENOENT || o->exec_errno == ENOTDIR
                           ? 127
                           : 126;
        if (o->timed_out)
                return 124;
        if (o->signaled)
                return 128 + o->signo;
        if (o->exited)
                return o->exit_code;
        return 1;
}
