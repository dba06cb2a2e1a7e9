/* receiptctl demo --live: a real job for the canonical case (demo_live.h). */
#define _GNU_SOURCE
#include "demo_live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gr_buf.h"
#include "gr_emit.h"
#include "gr_event.h"
#include "run_job.h"

#define LIVE_LIMIT (64LL << 20)
#define LIVE_ALLOC_MB 512

struct demo_live {
        gr_buf lines;
        int n;
};

/* The job: starts like a model server, then its activations do not fit.
 * Runs in the forked child (run_exec.h), so it exits, never returns. */
static int live_job(void *arg) {
        (void)arg;
        fprintf(stderr, "live job: started, loading weights\n");
        for (int i = 0; i < LIVE_ALLOC_MB; i++) {
                char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        fprintf(stderr, "live job: allocating %d MiB: %s\n",
                                i + 1, strerror(errno));
                        return 1;
                }
                memset(p, 0x5a, 1 << 20);
        }
        fprintf(stderr, "live job: %d MiB fit, the limit did not hold\n",
                LIVE_ALLOC_MB);
        return 0;
}

static int sink(void *opaque, const char *json, size_t len) {
        demo_live *d = opaque;
        gr_buf_append(&d->lines, json, len);
        gr_buf_putc(&d->lines, '\n');
        d->n++;
        return d->lines.oom ? -1 : 0;
}

static int64_t wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The marketplace's and verifier's side of the job, and the reservation:
 * what the canonical case has before its execution starts. */
static void before_execution(demo_live *d, int64_t now) {
        char t[5][32];
        gr_time_format(now - 60000, t[0], sizeof(t[0]));
        gr_time_format(now + 30 * 60000, t[1], sizeof(t[1]));
        gr_time_format(now - 3000, t[2], sizeof(t[2]));
        gr_time_format(now - 2000, t[3], sizeof(t[3]));
        gr_time_format(now - 1000, t[4], sizeof(t[4]));
        gr_buf_printf(
            &d->lines,
            "{\"event_id\":\"%s-q1\",\"job_id\":\"%s\",\"attempt\":1,"
            "\"type\":\"quote_accepted\",\"occurred_at\":\"%s\","
            "\"actor\":{\"role\":\"marketplace\",\"id\":\"mkt-1\"},"
            "\"body\":{\"quote_id\":\"q-%s\",\"provider_id\":\"prov-local\","
            "\"gpu\":\"none (host memory)\",\"vram_gb\":1,\"region\":\"local\","
            "\"window_start\":\"%s\",\"window_end\":\"%s\","
            "\"price\":{\"amount_minor\":1,\"currency\":\"USD\"}}}\n",
            DEMO_LIVE_JOB, DEMO_LIVE_JOB, t[2], DEMO_LIVE_JOB, t[0], t[1]);
        gr_buf_printf(
            &d->lines,
            "{\"event_id\":\"%s-c1\",\"job_id\":\"%s\",\"attempt\":1,"
            "\"type\":\"capacity_checked\",\"occurred_at\":\"%s\","
            "\"actor\":{\"role\":\"verifier\",\"id\":\"verifier-local\"},"
            "\"body\":{\"check\":\"hourly_capacity_challenge\","
            "\"result\":\"pass\",\"worker_status\":\"verified\"}}\n",
            DEMO_LIVE_JOB, DEMO_LIVE_JOB, t[3]);
        gr_buf_printf(
            &d->lines,
            "{\"event_id\":\"%s-r1\",\"job_id\":\"%s\",\"attempt\":1,"
            "\"type\":\"reservation_accepted\",\"occurred_at\":\"%s\","
            "\"actor\":{\"role\":\"seller\",\"id\":\"worker-local\"},"
            "\"body\":{\"worker_id\":\"worker-local\"}}\n",
            DEMO_LIVE_JOB, DEMO_LIVE_JOB, t[4]);
        d->n += 3;
}

demo_live *demo_live_run(char *err, size_t errsz) {
        demo_live *d = calloc(1, sizeof(*d));
        gr_run_job job = {0};
        gr_run_spec spec = {0};
        gr_run_report rep;
        char cmd[160];

        if (!d) {
                snprintf(err, errsz, "out of memory");
                return NULL;
        }
        gr_buf_init(&d->lines);
        before_execution(d, wall_ms());

        snprintf(cmd, sizeof(cmd),
                 "receiptctl demo --live: allocate %d MiB in 1 MiB steps "
                 "under a %lld MiB limit",
                 LIVE_ALLOC_MB, LIVE_LIMIT >> 20);
        job.job_id = DEMO_LIVE_JOB;
        job.attempt = 1;
        job.worker_id = "worker-local";
        job.command = cmd;
        spec.fn = live_job;
        spec.memory_limit = LIVE_LIMIT;
        spec.timeout_ms = 20000;
        spec.want = GR_LIMIT_AUTO;
        spec.child_stdout_fd = -1;
        spec.echo_stderr_fd = -1; /* the demo's stdout tells the story */
        if (gr_run_job_execute(&job, &spec, sink, d, &rep, err, errsz) == -1) {
                demo_live_free(d);
                return NULL;
        }
        printf("live job %s: %s, memory limit %lld MiB via %s: %s %d, "
               "oom_kill %lld, peak %lld MiB, %.3f s -> failure_class=%s "
               "stderr_class=%s\n\n",
               DEMO_LIVE_JOB, cmd, LIVE_LIMIT >> 20,
               gr_limiter_name(rep.res.o.limiter),
               rep.res.o.signaled ? "killed by signal" : "exit status",
               rep.res.o.signaled ? rep.res.o.signo : rep.res.o.exit_code,
               (long long)rep.res.o.oom_kills,
               (long long)(rep.res.peak_mem_bytes >= 0
                               ? rep.res.peak_mem_bytes >> 20
                               : -1),
               rep.res.wall_seconds,
               rep.cls.failure == GR_FAIL_NONE
                   ? "none"
                   : gr_failure_t_name(rep.cls.failure),
               rep.cls.stderr_class);
        if (rep.res.o.limiter == GR_LIMITER_RLIMIT)
                printf("  (%s)\n\n", rep.res.limiter_note);
        return d;
}

int demo_live_publish(demo_live *d, rd_kafka_t *prod, const char *topic) {
        gr_emit_result er;
        FILE *fp = fmemopen(d->lines.data, d->lines.len, "r");
        int rc;

        if (!fp)
                return -1;
        rc = gr_emit_lines(prod, topic, fp, 10000, &er);
        fclose(fp);
        return rc == 0 ? d->n : -1;
}

void demo_live_free(demo_live *d) {
        if (!d)
                return;
        gr_buf_free(&d->lines);
        free(d);
}
