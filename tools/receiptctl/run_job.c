/* receiptctl run: the observed execution as lifecycle events (run_job.h). */
#include "run_job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "gr_buf.h"
#include "gr_event.h"
#include "gr_hash.h"
#include "gr_json_event.h"
#include "gr_sign.h"

int gr_run_parse_size(const char *s, int64_t *out) {
        char *end;
        long long v;
        int shift = 0;

        if (!s || !*s || *s == '-')
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || v <= 0)
                return -1;
        switch (*end) {
        case '\0':
                break;
        case 'k':
        case 'K':
                shift = 10;
                break;
        case 'm':
        case 'M':
                shift = 20;
                break;
        case 'g':
        case 'G':
                shift = 30;
                break;
        default:
                return -1;
        }
        if (*end && end[1] && strcmp(end + 1, "i") && strcmp(end + 1, "iB") &&
            strcmp(end + 1, "B"))
                return -1;
        if (v > (INT64_MAX >> shift))
                return -1;
        *out = (int64_t)v << shift;
        return 0;
}

void gr_run_event_id(const char *job_id, int64_t attempt, const char *type,
                     char *out, size_t size) {
        int n = snprintf(out, size, "%s-a%lld-%s", job_id, (long long)attempt,
                         type);
        if (n < 0 || (size_t)n >= size) {
                /* too long to read: a digest of the same three parts */
                char hex[65];
                gr_buf b;
                gr_buf_init(&b);
                gr_buf_printf(&b, "%s%c%lld%c%s", job_id, 0, (long long)attempt,
                              0, type);
                gr_sha256_hex(b.data, b.len, hex);
                gr_buf_free(&b);
                snprintf(out, size, "run-%.40s", hex);
        }
}

static void join_argv(char *const *argv, char *out, size_t size) {
        gr_buf b;

        gr_buf_init(&b);
        for (int i = 0; argv && argv[i]; i++) {
                const char *a = argv[i];
                int plain = *a != '\0';
                for (const char *p = a; *p && plain; p++)
                        plain = strchr("abcdefghijklmnopqrstuvwxyz"
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-_./=:,+%@",
                                       *p) != NULL;
                if (i)
                        gr_buf_putc(&b, ' ');
                if (plain) {
                        gr_buf_puts(&b, a);
                        continue;
                }
                gr_buf_putc(&b, '\'');
                for (const char *p = a; *p; p++)
                        if (*p == '\'')
                                gr_buf_puts(&b, "'\\''");
                        else
                                gr_buf_putc(&b, *p);
                gr_buf_putc(&b, '\'');
        }
        if (b.len >= size) {
                /* keep the head; mark the cut */
                snprintf(out, size, "%.*s...", (int)(size - 4),
                         b.data ? (const char *)b.data : "");
        } else {
                snprintf(out, size, "%.*s", (int)b.len,
                         b.data ? (const char *)b.data : "");
        }
        gr_buf_free(&b);
}

/* SHA-256 of a file, streamed. */
static int hash_file(const char *path, char out[80]) {
        crypto_hash_sha256_state st;
        unsigned char buf[65536], md[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd == -1)
                return -1;
        crypto_hash_sha256_init(&st);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        close(fd);
        if (n < 0)
                return -1;
        crypto_hash_sha256_final(&st, md);
        sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
        snprintf(out, 80, "sha256:%s", hex);
        return 0;
}

static int64_t wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Header of every event of this run. */
static int event_begin(gr_event *ev, const gr_run_job *job,
                       gr_event_type_t type, int64_t at, gr_err *err) {
        char id[GR_ID_MAX];
        const char *tn = gr_event_type_t_name(type);

        memset(ev, 0, sizeof(*ev));
        gr_run_event_id(job->job_id, job->attempt, tn, id, sizeof(id));
        if (gr_event_set_str(ev, GR_F_event_id, id, strlen(id), err) ||
            gr_event_set_str(ev, GR_F_job_id, job->job_id, strlen(job->job_id),
                             err) ||
            gr_event_set_int(ev, GR_F_attempt, job->attempt, err))
                return -1;
        ev->type = type;
        ev->present |= 1ull << GR_F_type;
        ev->occurred_at = at;
        ev->present |= 1ull << GR_F_occurred_at;
        ev->role = GR_ROLE_SELLER;
        ev->present |= 1ull << GR_F_role;
        if (job->worker_id &&
            gr_event_set_str(ev, GR_F_actor_id, job->worker_id,
                             strlen(job->worker_id), err))
                return -1;
        return 0;
}

static int opt_str(gr_event *ev, gr_field_t f, const char *s, gr_err *err) {
        return s ? gr_event_set_str(ev, f, s, strlen(s), err) : 0;
}

/* Validate, sign, encode, hand over. */
static int event_send(gr_event *ev, const gr_run_job *job, gr_run_sink sink,
                      void *opaque, gr_err *err) {
        gr_buf out;
        int rc;

        if (job->key &&
            (gr_event_set_str(ev, GR_F_key_id, job->key->key_id,
                              strlen(job->key->key_id), err) ||
             gr_event_sign(job->key, ev, err)))
                return -1;
        if (gr_event_validate(ev, err) == -1)
                return -1;
        gr_buf_init(&out);
        gr_json_event_encode(ev, &out);
        if (out.oom) {
                gr_buf_free(&out);
                return gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
        }
        rc = sink(opaque, (const char *)out.data, out.len);
        gr_buf_free(&out);
        if (rc)
                return gr_err_set(err, GR_REJ_SCHEMA, "could not publish %s",
                                  gr_event_type_t_name(ev->type));
        return 0;
}

static int resources(gr_event *ev, const gr_run_result *r, gr_err *err) {
        if (r->has_gpu && (gr_event_set_int(ev, GR_F_peak_vram_mb,
                                            r->peak_vram_mb, err) ||
                           gr_event_set_num(ev, GR_F_gpu_seconds,
                                            r->gpu_seconds, err)))
                return -1;
        if (r->peak_mem_bytes >= 0 &&
            gr_event_set_int(ev, GR_F_peak_mem_mb,
                             (r->peak_mem_bytes + (1 << 20) - 1) >> 20, err))
                return -1;
        if (gr_event_set_int(ev, GR_F_wall_ms,
                             (int64_t)(r->wall_seconds * 1000.0 + 0.5), err) ||
            gr_event_set_int(ev, GR_F_cpu_ms,
                             (int64_t)(r->cpu_seconds * 1000.0 + 0.5), err))
                return -1;
        return 0;
}

typedef struct started_ctx {
        const gr_run_job *job;
        const char *cmd;
        gr_event *ev;
        gr_run_sink sink;
        void *opaque;
        gr_run_report *rep;
        gr_err e;
        int failed;
} started_ctx;

static int send_started(void *arg) {
        started_ctx *c = arg;
        const char *image = c->job->image ? c->job->image : "host";

        if (event_begin(c->ev, c->job, GR_EVT_EXECUTION_STARTED, wall_ms(),
                        &c->e) ||
            gr_event_set_str(c->ev, GR_F_container_image, image, strlen(image),
                             &c->e) ||
            gr_event_set_str(c->ev, GR_F_command, c->cmd, strlen(c->cmd),
                             &c->e) ||
            opt_str(c->ev, GR_F_model_hash, c->job->model_hash, &c->e) ||
            opt_str(c->ev, GR_F_input_manifest_hash, c->job->manifest_hash,
                    &c->e) ||
            event_send(c->ev, c->job, c->sink, c->opaque, &c->e)) {
                c->failed = 1;
                return -1;
        }
        c->rep->events++;
        return 0;
}

int gr_run_job_execute(const gr_run_job *job, const gr_run_spec *spec,
                       gr_run_sink sink, void *opaque, gr_run_report *rep,
                       char *err, size_t errsz) {
        char cmd[GR_TEXT_MAX];
        struct stat before, after;
        int existed;
        gr_event *ev = malloc(sizeof(*ev));
        started_ctx st;
        gr_run_spec sp;
        gr_err e;
        int rc = -1;

        memset(rep, 0, sizeof(*rep));
        memset(&st, 0, sizeof(st));
        if (!ev) {
                snprintf(err, errsz, "out of memory");
                return -1;
        }
        if (job->command)
                snprintf(cmd, sizeof(cmd), "%s", job->command);
        else
                join_argv(spec->argv, cmd, sizeof(cmd));
        existed = job->output_path && stat(job->output_path, &before) == 0;

        /* execution_started: once the limit is in place, just before the
         * command starts (so it exists even when exec then fails) */
        st.job = job;
        st.cmd = cmd;
        st.ev = ev;
        st.sink = sink;
        st.opaque = opaque;
        st.rep = rep;
        sp = *spec;
        sp.before_start = send_started;
        sp.before_start_arg = &st;
        if (gr_run_exec(&sp, &rep->res, err, errsz) == -1) {
                if (st.failed)
                        snprintf(err, errsz, "execution_started: %s",
                                 st.e.detail);
                goto done;
        }
        gr_run_classify(&rep->res.o, &rep->cls);

        /* an output counts when the file is there and this run wrote it */
        if (job->output_path && stat(job->output_path, &after) == 0 &&
            S_ISREG(after.st_mode) &&
            (!existed || after.st_ino != before.st_ino ||
             after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
             after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
             after.st_size != before.st_size))
                rep->output_written = 1;
        if (rep->output_written && hash_file(job->output_path,
                                             rep->output_hash) == -1) {
                snprintf(err, errsz, "cannot read the output %s: %s",
                         job->output_path, strerror(errno));
                rep->output_written = 0;
        }

        if (rep->cls.failure != GR_FAIL_NONE) {
                if (event_begin(ev, job, GR_EVT_EXECUTION_FAILED,
                                rep->res.ended_ms, &e) ||
                    gr_event_set_str(ev, GR_F_failure_class,
                                     gr_failure_t_name(rep->cls.failure),
                                     strlen(gr_failure_t_name(
                                         rep->cls.failure)),
                                     &e) ||
                    gr_event_set_bool(ev, GR_F_output_written,
                                      rep->output_written, &e) ||
                    gr_event_set_str(ev, GR_F_stderr_class,
                                     rep->cls.stderr_class,
                                     strlen(rep->cls.stderr_class), &e) ||
                    resources(ev, &rep->res, &e) ||
                    event_send(ev, job, sink, opaque, &e)) {
                        snprintf(err, errsz, "execution_failed: %s", e.detail);
                        goto done;
                }
                rep->events++;
                rc = 0;
                goto done;
        }
        if (event_begin(ev, job, GR_EVT_EXECUTION_COMPLETED, rep->res.ended_ms,
                        &e) ||
            resources(ev, &rep->res, &e) ||
            event_send(ev, job, sink, opaque, &e)) {
                snprintf(err, errsz, "execution_completed: %s", e.detail);
                goto done;
        }
        rep->events++;
        if (rep->output_written) {
                if (event_begin(ev, job, GR_EVT_OUTPUT_DELIVERED, wall_ms(),
                                &e) ||
                    gr_event_set_str(ev, GR_F_output_hash, rep->output_hash,
                                     strlen(rep->output_hash), &e) ||
                    opt_str(ev, GR_F_output_path, job->output_path, &e) ||
                    event_send(ev, job, sink, opaque, &e)) {
                        snprintf(err, errsz, "output_delivered: %s", e.detail);
                        goto done;
                }
                rep->events++;
        }
        rc = 0;
done:
        free(ev);
        return rc;
}
