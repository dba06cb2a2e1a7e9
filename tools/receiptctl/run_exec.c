/* receiptctl run: the supervisor (see run_exec.h). */
#define _GNU_SOURCE
#include "run_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int gr_limit_want_parse(const char *s, gr_limit_want_t *out) {
        if (!strcmp(s, "auto"))
                *out = GR_LIMIT_AUTO;
        else if (!strcmp(s, "cgroup"))
                *out = GR_LIMIT_CGROUP;
        else if (!strcmp(s, "rlimit"))
                *out = GR_LIMIT_RLIMIT;
        else
                return -1;
        return 0;
}

/* snprintf whose truncation is expected (long paths are cut, not fatal) */
static int sfmt(char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int sfmt(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        int n;
        va_start(ap, fmt);
        n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return n;
}

static int64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note(gr_run_result *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void note(gr_run_result *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->limiter_note, sizeof(r->limiter_note), fmt, ap);
        va_end(ap);
}

/* ---- control groups ---------------------------------------------------- */

typedef struct cgroup {
        gr_limiter_t version; /* CGROUP_V1 or CGROUP_V2 */
        char dir[1024];
} cgroup;

static int write_file(const char *dir, const char *name, const char *val) {
        char path[1200];
        int fd, n, e;

        sfmt(path, sizeof(path), "%s/%s", dir, name);
        if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
                return -1;
        n = (int)write(fd, val, strlen(val));
        e = errno;
        close(fd);
        errno = e;
        return n == (int)strlen(val) ? 0 : -1;
}

static int read_file(const char *dir, const char *name, char *buf,
                     size_t size) {
        char path[1200];
        ssize_t n;
        int fd;

        sfmt(path, sizeof(path), "%s/%s", dir, name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
                return -1;
        n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -1;
        buf[n] = '\0';
        return 0;
}

/* "key N" line of a flat-keyed file (memory.events, memory.oom_control). */
static int64_t keyed_value(const char *text, const char *key) {
        size_t k = strlen(key);
        const char *p = text;

        while (p && *p) {
                if (!strncmp(p, key, k) && p[k] == ' ')
                        return strtoll(p + k + 1, NULL, 10);
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return -1;
}

static int64_t number_file(const char *dir, const char *name) {
        char buf[64];
        if (read_file(dir, name, buf, sizeof(buf)) == -1)
                return -1;
        return strtoll(buf, NULL, 10);
}

/* Where the hierarchy of `version` is mounted and our place in it. */
static int cgroup_self_dir(gr_limiter_t version, char *out, size_t size) {
        char line[4096], mnt[1024] = "", root[1024] = "", path[1024] = "";
        FILE *fp;

        if (!(fp = fopen("/proc/self/mountinfo", "re")))
                return -1;
        while (fgets(line, sizeof(line), fp)) {
                /* id parent maj:min root mountpoint opts... - fstype src super */
                char r[1024], m[1024], *dash = strstr(line, " - ");
                char fstype[64], src[512], super[1024];
                if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2 ||
                    sscanf(dash + 3, "%63s %511s %1023s", fstype, src, super) < 2)
                        continue;
                if (version == GR_LIMITER_CGROUP_V2 && !strcmp(fstype, "cgroup2")) {
                        sfmt(mnt, sizeof(mnt), "%s", m);
                        sfmt(root, sizeof(root), "%s", r);
                        break;
                }
                if (version == GR_LIMITER_CGROUP_V1 && !strcmp(fstype, "cgroup")) {
                        char *save = NULL, *tok;
                        int mem = 0;
                        for (tok = strtok_r(super, ",", &save); tok;
                             tok = strtok_r(NULL, ",", &save))
                                mem |= !strcmp(tok, "memory");
                        if (mem) {
                                sfmt(mnt, sizeof(mnt), "%s", m);
                                sfmt(root, sizeof(root), "%s", r);
                                break;
                        }
                }
        }
        fclose(fp);
        if (!mnt[0] || !(fp = fopen("/proc/self/cgroup", "re")))
                return -1;
        while (fgets(line, sizeof(line), fp)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                line[strcspn(line, ":")] = '\0';
                c2[1 + strcspn(c2 + 1, "\n")] = '\0';
                if (version == GR_LIMITER_CGROUP_V2) {
                        if (!strcmp(line, "0") && c1[1] == '\0') {
                                sfmt(path, sizeof(path), "%s", c2 + 1);
                                break;
                        }
                } else {
                        char *save = NULL, *tok, ctl[256];
                        int mem = 0;
                        sfmt(ctl, sizeof(ctl), "%s", c1 + 1);
                        for (tok = strtok_r(ctl, ",", &save); tok;
                             tok = strtok_r(NULL, ",", &save))
                                mem |= !strcmp(tok, "memory");
                        if (mem) {
                                sfmt(path, sizeof(path), "%s", c2 + 1);
                                break;
                        }
                }
        }
        fclose(fp);
        if (!path[0])
                return -1;
        /* inside a cgroup namespace the mount's root is our path prefix */
        {
                const char *rel = path;
                size_t rl = strlen(root);
                if (strcmp(root, "/") && !strncmp(path, root, rl))
                        rel = path + rl;
                if (!strcmp(rel, "/"))
                        rel = "";
                if ((size_t)sfmt(out, size, "%s%s", mnt, rel) >= size)
                        return -1;
        }
        return 0;
}

static int word_in(const char *text, const char *word) {
        size_t n = strlen(word);
        for (const char *p = text; (p = strstr(p, word)); p += n)
                if ((p == text || p[-1] == ' ' || p[-1] == '\n') &&
                    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return 1;
        return 0;
}

static int cgroup_create(gr_limiter_t version, int64_t limit, cgroup *cg,
                         char *why, size_t whysz) {
        static unsigned counter;
        char self[1024], buf[256], val[32];

        cg->version = version;
        if (cgroup_self_dir(version, self, sizeof(self)) == -1) {
                sfmt(why, whysz, "no %s memory hierarchy mounted",
                         gr_limiter_name(version));
                return -1;
        }
        if (version == GR_LIMITER_CGROUP_V2) {
                if (read_file(self, "cgroup.controllers", buf, sizeof(buf)) ==
                        -1 ||
                    !word_in(buf, "memory")) {
                        sfmt(why, whysz,
                                 "%s: memory controller not available", self);
                        return -1;
                }
                if (read_file(self, "cgroup.subtree_control", buf,
                              sizeof(buf)) == -1 ||
                    (!word_in(buf, "memory") &&
                     write_file(self, "cgroup.subtree_control", "+memory") ==
                         -1)) {
                        sfmt(why, whysz,
                                 "%s: cannot enable memory for children: %s",
                                 self, strerror(errno));
                        return -1;
                }
        }
        sfmt(cg->dir, sizeof(cg->dir), "%s/gr-run-%ld-%u", self,
                 (long)getpid(), counter++);
        if (mkdir(cg->dir, 0755) == -1) {
                sfmt(why, whysz, "mkdir %s: %s", cg->dir, strerror(errno));
                return -1;
        }
        sfmt(val, sizeof(val), "%lld", (long long)limit);
        if (write_file(cg->dir,
                       version == GR_LIMITER_CGROUP_V2 ? "memory.max"
                                                       : "memory.limit_in_bytes",
                       val) == -1) {
                sfmt(why, whysz, "%s: cannot set the limit: %s", cg->dir,
                         strerror(errno));
                rmdir(cg->dir);
                return -1;
        }
        /* no swapping around the limit (absent without swap accounting) */
        if (version == GR_LIMITER_CGROUP_V2)
                (void)write_file(cg->dir, "memory.swap.max", "0");
        else
                (void)write_file(cg->dir, "memory.memsw.limit_in_bytes", val);
        return 0;
}

/* Kill what is left in the group and remove it (bounded: ~2 s). */
static void cgroup_destroy(cgroup *cg) {
        int64_t until = mono_ms() + 2000;
        char buf[4096];

        do {
                int any = 0;
                if (read_file(cg->dir, "cgroup.procs", buf, sizeof(buf)) == 0)
                        for (char *p = buf; *p;) {
                                long pid = strtol(p, &p, 10);
                                if (pid > 0) {
                                        kill((pid_t)pid, SIGKILL);
                                        any = 1;
                                }
                                while (*p == '\n' || *p == ' ')
                                        p++;
                                if (pid <= 0 && *p)
                                        p++;
                        }
                if (!any && rmdir(cg->dir) == 0)
                        return;
                {
                        struct timespec ts = {0, 20 * 1000000L};
                        nanosleep(&ts, NULL);
                }
        } while (mono_ms() < until);
        if (rmdir(cg->dir) == -1)
                fprintf(stderr, "run: could not remove %s: %s\n", cg->dir,
                        strerror(errno));
}

static void cgroup_collect(cgroup *cg, gr_run_result *r) {
        char buf[2048];
        int64_t v;

        if (cg->version == GR_LIMITER_CGROUP_V2) {
                if (read_file(cg->dir, "memory.events", buf, sizeof(buf)) == 0) {
                        r->o.oom_kills = keyed_value(buf, "oom_kill");
                        r->o.limit_hit = keyed_value(buf, "max") > 0 ||
                                         keyed_value(buf, "oom") > 0;
                }
                if ((v = number_file(cg->dir, "memory.peak")) >= 0) {
                        r->peak_mem_bytes = v;
                        r->peak_source = "memory.peak";
                }
        } else {
                if (read_file(cg->dir, "memory.oom_control", buf,
                              sizeof(buf)) == 0)
                        r->o.oom_kills = keyed_value(buf, "oom_kill");
                r->o.limit_hit = number_file(cg->dir, "memory.failcnt") > 0;
                if ((v = number_file(cg->dir, "memory.max_usage_in_bytes")) >=
                    0) {
                        r->peak_mem_bytes = v;
                        r->peak_source = "memory.max_usage_in_bytes";
                }
        }
        /* the peak touching the limit is the limit reached, whatever the
         * event counters say */
        if (r->peak_mem_bytes >= 0 && r->memory_limit > 0 &&
            r->peak_mem_bytes >= r->memory_limit - 4096)
                r->o.limit_hit = 1;
}

/* ---- GPU sampling (optional) ------------------------------------------- */

static int on_path(const char *name, char *out, size_t size) {
        const char *path = getenv("PATH");
        if (strchr(name, '/')) {
                sfmt(out, size, "%s", name);
                return access(name, X_OK) == 0 ? 0 : -1;
        }
        while (path && *path) {
                size_t n = strcspn(path, ":");
                if (n && (size_t)sfmt(out, size, "%.*s/%s", (int)n, path,
                                          name) < size &&
                    access(out, X_OK) == 0)
                        return 0;
                path += n + (path[n] == ':');
        }
        return -1;
}

/* One sample: MiB of GPU memory used by the job's processes (its process
 * group), -1 when nvidia-smi gave nothing usable. */
static int64_t gpu_sample(const char *smi, pid_t pgid) {
        char cmd[1300], line[256];
        int64_t sum = 0;
        int ok = 0;
        FILE *fp;

        sfmt(cmd, sizeof(cmd),
                 "exec timeout 5 '%s' --query-compute-apps=pid,used_memory "
                 "--format=csv,noheader,nounits 2>/dev/null",
                 smi);
        if (!(fp = popen(cmd, "re")))
                return -1;
        while (fgets(line, sizeof(line), fp)) {
                long pid, mb;
                if (sscanf(line, "%ld , %ld", &pid, &mb) != 2)
                        continue;
                ok = 1;
                if (pid == pgid || getpgid((pid_t)pid) == pgid)
                        sum += mb;
        }
        if (pclose(fp) != 0 && !ok)
                return -1;
        return sum;
}

/* ---- stderr scanning --------------------------------------------------- */

typedef struct scan {
        char line[4096];
        size_t len;
        unsigned evidence;
} scan;

static void scan_bytes(scan *s, const char *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\n') {
                        s->evidence |= gr_run_scan_line(s->line, s->len);
                        s->len = 0;
                        continue;
                }
                if (s->len == sizeof(s->line)) {
                        /* a very long line: scan it, keep an overlap */
                        s->evidence |= gr_run_scan_line(s->line, s->len);
                        memmove(s->line, s->line + s->len - 256, 256);
                        s->len = 256;
                }
                s->line[s->len++] = p[i];
        }
}

/* One read: 2 data, 1 nothing now, 0 EOF (or error). */
static int drain(int fd, scan *s, int echo) {
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
                scan_bytes(s, buf, (size_t)n);
                if (echo >= 0) {
                        ssize_t off = 0, w;
                        while (off < n && (w = write(echo, buf + off,
                                                     (size_t)(n - off))) > 0)
                                off += w;
                }
                return 2;
        }
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
                return 1;
        return 0; /* EOF or error */
}

/* ---- signals forwarded to the job -------------------------------------- */

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/* ---- the child --------------------------------------------------------- */

static void child(const gr_run_spec *s, int err_fd, int go_fd, int out_fd) {
        char go;
        sigset_t none;

        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (s->child_stdout_fd >= 0 &&
            dup2(s->child_stdout_fd, STDOUT_FILENO) == -1)
                _exit(127);
        if (s->child_stdout_fd == GR_RUN_STDOUT_TO_STDERR &&
            dup2(out_fd, STDOUT_FILENO) == -1)
                _exit(127);
        if (dup2(out_fd, STDERR_FILENO) == -1)
                _exit(127);
        /* wait until the parent has put us into the limit */
        while (read(go_fd, &go, 1) == -1 && errno == EINTR)
                ;
        if (s->fn) {
                close(err_fd);
                fflush(NULL);
                _exit(s->fn(s->fn_arg) & 0xff);
        }
        execvp(s->argv[0], s->argv);
        {
                int e = errno;
                ssize_t w = write(err_fd, &e, sizeof(e));
                (void)w;
        }
        _exit(127);
}

int gr_run_exec(const gr_run_spec *s, gr_run_result *r, char *err,
                size_t errsz) {
        int errp[2] = {-1, -1}, gop[2] = {-1, -1}, outp[2] = {-1, -1};
        int have_cg = 0, rc = -1, status = 0, reaped = 0, term_sent = 0;
        int64_t t0, deadline = 0, kill_at = 0, next_gpu = 0, last_gpu = 0;
        int64_t grace = s->kill_grace_ms > 0 ? s->kill_grace_ms : 2000;
        char smi[1024] = "", why[512] = "";
        struct sigaction sa, old_int, old_term, old_hup;
        struct rusage ru;
        cgroup cg;
        scan sc;
        pid_t pid;

        memset(r, 0, sizeof(*r));
        memset(&sc, 0, sizeof(sc));
        memset(&ru, 0, sizeof(ru));
        r->o.oom_kills = -1;
        r->peak_mem_bytes = -1;
        r->memory_limit = s->memory_limit;
        if (!s->fn && (!s->argv || !s->argv[0])) {
                sfmt(err, errsz, "no command");
                return -1;
        }

        /* 1. where the memory limit goes */
        if (s->memory_limit > 0 && s->want != GR_LIMIT_RLIMIT) {
                char w1[512] = "", w2[512] = "";
                if (cgroup_create(GR_LIMITER_CGROUP_V2, s->memory_limit, &cg,
                                  w2, sizeof(w2)) == 0 ||
                    cgroup_create(GR_LIMITER_CGROUP_V1, s->memory_limit, &cg,
                                  w1, sizeof(w1)) == 0) {
                        have_cg = 1;
                        r->o.limiter = cg.version;
                        note(r, "%s (%s)", gr_limiter_name(cg.version), cg.dir);
                } else {
                        sfmt(why, sizeof(why), "v2: %s; v1: %s", w2, w1);
                        if (s->want == GR_LIMIT_CGROUP) {
                                sfmt(err, errsz,
                                         "no usable memory control group: %s",
                                         why);
                                return -1;
                        }
                }
        }
        if (s->memory_limit > 0 && !have_cg) {
                r->o.limiter = GR_LIMITER_RLIMIT;
                if (s->want == GR_LIMIT_RLIMIT)
                        note(r, "rlimit (RLIMIT_AS, as asked)");
                else
                        note(r, "rlimit (RLIMIT_AS; no control group: %s)",
                             why);
        }
        if (!s->memory_limit)
                note(r, "none (no --memory-limit)");

        if (!s->nvidia_smi || s->nvidia_smi[0])
                if (on_path(s->nvidia_smi ? s->nvidia_smi : "nvidia-smi", smi,
                            sizeof(smi)) == -1)
                        smi[0] = '\0';

        /* 2. start it */
        if (pipe2(errp, O_CLOEXEC) == -1 || pipe2(gop, O_CLOEXEC) == -1 ||
            pipe2(outp, O_CLOEXEC) == -1) {
                sfmt(err, errsz, "pipe: %s", strerror(errno));
                goto out;
        }
        if (s->before_start && s->before_start(s->before_start_arg)) {
                sfmt(err, errsz, "not started");
                goto out;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        got_signal = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGHUP, &sa, &old_hup);
        fflush(NULL);
        r->started_ms = wall_ms();
        t0 = mono_ms();
        if ((pid = fork()) == -1) {
                sfmt(err, errsz, "fork: %s", strerror(errno));
                goto restore;
        }
        if (pid == 0)
                child(s, errp[1], gop[0], outp[1]);
        setpgid(pid, pid); /* also here: no race with kill(-pid) below */
        close(errp[1]);
        close(gop[0]);
        close(outp[1]);
        errp[1] = gop[0] = outp[1] = -1;

        if (have_cg) {
                char v[32];
                sfmt(v, sizeof(v), "%ld", (long)pid);
                if (write_file(cg.dir, "cgroup.procs", v) == -1) {
                        int e = errno;
                        if (s->want == GR_LIMIT_CGROUP) {
                                sfmt(err, errsz,
                                     "%s: cannot move the job in: %s",
                                     cg.dir, strerror(e));
                                kill(pid, SIGKILL);
                                waitpid(pid, NULL, 0);
                                goto restore;
                        }
                        /* the group exists but will not take us: the
                         * limit goes where it would have without it */
                        note(r, "rlimit (RLIMIT_AS; could not move the job "
                                "into %s: %s)",
                             cg.dir, strerror(e));
                        cgroup_destroy(&cg);
                        have_cg = 0;
                        r->o.limiter = GR_LIMITER_RLIMIT;
                }
        }
        if (!have_cg && s->memory_limit > 0) {
                struct rlimit rl = {(rlim_t)s->memory_limit,
                                    (rlim_t)s->memory_limit};
                if (prlimit(pid, RLIMIT_AS, &rl, NULL) == -1) {
                        sfmt(err, errsz, "prlimit: %s", strerror(errno));
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        goto restore;
                }
        }
        {
                ssize_t w = write(gop[1], "g", 1);
                (void)w;
        }
        close(gop[1]);
        gop[1] = -1;
        {
                int e = 0;
                ssize_t n;
                while ((n = read(errp[0], &e, sizeof(e))) == -1 &&
                       errno == EINTR)
                        ;
                if (n == (ssize_t)sizeof(e))
                        r->o.exec_errno = e;
        }
        if (s->timeout_ms > 0)
                deadline = t0 + s->timeout_ms;
        next_gpu = t0;
        last_gpu = t0;

        /* 3. watch it until it ends */
        fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);
        {
                int pipe_open = 1;
                while (!reaped) {
                        struct pollfd pfd = {outp[0], POLLIN, 0};
                        int64_t now = mono_ms();
                        siginfo_t si;
                        int w;

                        if (pipe_open && poll(&pfd, 1, 50) > 0) {
                                int got = 2;
                                for (int i = 0; i < 64 && got == 2; i++)
                                        got = drain(outp[0], &sc,
                                                    s->echo_stderr_fd);
                                pipe_open = got != 0;
                        }
                        if (!pipe_open) {
                                struct timespec ts = {0, 20 * 1000000L};
                                nanosleep(&ts, NULL);
                        }
                        /* ended? (not reaped yet: while the zombie is
                         * there its pid, and so its process group id,
                         * cannot be reused by anyone else) */
                        memset(&si, 0, sizeof(si));
                        w = waitid(P_PID, (id_t)pid, &si,
                                   WEXITED | WNOHANG | WNOWAIT);
                        if (w == 0 && si.si_pid == pid) {
                                /* what the job left running is the job's */
                                kill(-pid, SIGKILL);
                                while (wait4(pid, &status, 0, &ru) == -1 &&
                                       errno == EINTR)
                                        ;
                                reaped = 1;
                                break;
                        }
                        if (w == -1 && errno != EINTR) {
                                sfmt(err, errsz, "wait: %s",
                                         strerror(errno));
                                goto restore;
                        }
                        now = mono_ms();
                        if (deadline && now >= deadline && !r->o.timed_out) {
                                r->o.timed_out = 1;
                                kill(-pid, SIGTERM);
                                term_sent = 1;
                                kill_at = now + grace;
                        }
                        if (got_signal && !term_sent) {
                                kill(-pid, SIGTERM);
                                term_sent = 1;
                                kill_at = now + grace;
                        }
                        if (term_sent && now >= kill_at) {
                                kill(-pid, SIGKILL);
                                kill_at = now + 1000;
                        }
                        if (smi[0] && !r->o.exec_errno && now >= next_gpu) {
                                int64_t mb = gpu_sample(smi, pid);
                                int64_t t = mono_ms();
                                if (mb >= 0) {
                                        r->has_gpu = 1;
                                        if (mb > r->peak_vram_mb)
                                                r->peak_vram_mb = mb;
                                        if (mb > 0)
                                                r->gpu_seconds +=
                                                    (double)(t - last_gpu) /
                                                    1000.0;
                                }
                                last_gpu = t;
                                next_gpu = t + 1000;
                        }
                }
                r->ended_ms = wall_ms();
                r->wall_seconds = (double)(mono_ms() - t0) / 1000.0;
                /* what is still in the pipe (bounded: leftovers of the
                 * group may hold it open) */
                {
                        int64_t until = mono_ms() + 500;
                        while (pipe_open && mono_ms() < until) {
                                struct pollfd pfd = {outp[0], POLLIN, 0};
                                if (poll(&pfd, 1, 50) > 0)
                                        pipe_open = drain(outp[0], &sc,
                                                          s->echo_stderr_fd) !=
                                                    0;
                        }
                }
                if (sc.len)
                        sc.evidence |= gr_run_scan_line(sc.line, sc.len);
        }

        /* 4. what happened */
        r->o.evidence = sc.evidence;
        if (WIFEXITED(status) && !r->o.exec_errno) {
                r->o.exited = 1;
                r->o.exit_code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
                r->o.signaled = 1;
                r->o.signo = WTERMSIG(status);
        }
        r->cpu_seconds = (double)ru.ru_utime.tv_sec +
                         (double)ru.ru_utime.tv_usec / 1e6 +
                         (double)ru.ru_stime.tv_sec +
                         (double)ru.ru_stime.tv_usec / 1e6;
        if (have_cg)
                cgroup_collect(&cg, r);
        if (r->peak_mem_bytes < 0 && !r->o.exec_errno) {
                r->peak_mem_bytes = (int64_t)ru.ru_maxrss * 1024;
                r->peak_source = "ru_maxrss";
        }
        rc = 0;
restore:
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
out:
        if (have_cg)
                cgroup_destroy(&cg);
        for (int i = 0; i < 2; i++) {
                if (errp[i] >= 0)
                        close(errp[i]);
                if (gop[i] >= 0)
                        close(gop[i]);
                if (outp[i] >= 0)
                        close(outp[i]);
        }
        return rc;
}
