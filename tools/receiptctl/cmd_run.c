/* receiptctl run: run a command as the seller's execution of a job and
 * publish its lifecycle (execution_started, execution_failed or
 * execution_completed, output_delivered) with a failure class read from
 * real signals.  See docs/FAILURE-CLASSES.md.
 *
 *   receiptctl run --job ID [--attempt N] [--memory-limit SIZE]
 *       [--timeout S] [--output PATH] [--key FILE] [--worker ID]
 *       [--image DIGEST] [--model-hash H] [--manifest-hash H]
 *       [--limiter auto|cgroup|rlimit]
 *       [--bootstrap HOST:PORT [--topic T | --prefix P] [-X k=v] | --stdout]
 *       -- COMMAND [ARG...]
 *
 * Exit status: the command's own exit code; 128+N when it died of signal N;
 * 124 when --timeout fired; 127 when the command was not found, 126 when it
 * could not be executed; 2 for unusable arguments (nothing ran); 125 when
 * the events could not be published (the command may have run). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "gr_emit.h"
#include "gr_keys.h"
#include "gr_topics.h"
#include "keyfile.h"
#include "cli.h"
#include "run_job.h"

#define RUN_PUBLISH_FAILED 125


/* --stdout: one JSON line per event, flushed at once (replay reads them). */
static int sink_stdout(void *opaque, const char *json, size_t len) {
        (void)opaque;
        if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF ||
            fflush(stdout))
                return -1;
        return 0;
}

typedef struct kafka_sink {
        rd_kafka_t *rk;
        const char *topic;
} kafka_sink;

/* --bootstrap: each event delivered before the next (gr_emit, keyed by
 * job_id, murmur2). */
static int sink_kafka(void *opaque, const char *json, size_t len) {
        kafka_sink *k = opaque;
        gr_emit_result res;
        FILE *fp = fmemopen((void *)json, len, "r");
        int rc;

        if (!fp)
                return -1;
        rc = gr_emit_lines(k->rk, k->topic, fp, 15000, &res);
        fclose(fp);
        if (rc)
                fprintf(stderr, "run: event not delivered to %s\n", k->topic);
        return rc;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < lo || v > hi)
                return -1;
        *out = v;
        return 0;
}

static int parse_seconds(const char *s, int64_t *ms) {
        char *end;
        double v;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !(v > 0) || v > 31 * 86400.0)
                return -1;
        *ms = (int64_t)(v * 1000.0 + 0.5);
        return *ms > 0 ? 0 : -1;
}

int cmd_run(int argc, char **argv) {
        const char *bootstrap = NULL, *topic = NULL, *prefix = NULL,
                   *key_path = NULL, *env;
        int c, to_stdout = 0, nkv = 0, rc;
        char *kv[64], errstr[1024], host[64];
        static const struct option opts[] = {
            {"job", required_argument, NULL, 'j'},
            {"attempt", required_argument, NULL, 'a'},
            {"memory-limit", required_argument, NULL, 'm'},
            {"timeout", required_argument, NULL, 't'},
            {"output", required_argument, NULL, 'o'},
            {"key", required_argument, NULL, 'k'},
            {"worker", required_argument, NULL, 'w'},
            {"image", required_argument, NULL, 'i'},
            {"model-hash", required_argument, NULL, 'M'},
            {"manifest-hash", required_argument, NULL, 'F'},
            {"limiter", required_argument, NULL, 'L'},
            {"bootstrap", required_argument, NULL, 'b'},
            {"topic", required_argument, NULL, 'T'},
            {"prefix", required_argument, NULL, 'P'},
            {"stdout", no_argument, NULL, 's'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        gr_run_job job = {0};
        gr_run_spec spec = {0};
        gr_run_report rep;
        gr_keypair kp;
        gr_topics topics;
        kafka_sink ks = {0};

        errstr[0] = '\0';
        /* a closed stdout is an error to report, not a reason to die with
         * the job still running */
        signal(SIGPIPE, SIG_IGN);
        job.attempt = 1;
        spec.want = GR_LIMIT_AUTO;
        spec.child_stdout_fd = -1;
        spec.echo_stderr_fd = STDERR_FILENO;
        if ((env = getenv("GR_RUN_LIMITER")) && *env &&
            gr_limit_want_parse(env, &spec.want) == -1) {
                fprintf(stderr, "run: GR_RUN_LIMITER must be auto, cgroup "
                                "or rlimit\n");
                return 2;
        }
        if ((env = getenv("GR_NVIDIA_SMI")))
                spec.nvidia_smi = env;

        cli_parser cp = {.cmd = "run",
                         /* "+": stop at the first operand, the command is
                          * not ours */
                         .shortopts = "+j:a:m:t:o:k:w:i:M:F:L:b:T:P:X:sh",
                         .longopts = opts};
        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'j':
                        job.job_id = optarg;
                        break;
                case 'a':
                        if (parse_i64(optarg, 1, 1000000, &job.attempt)) {
                                fprintf(stderr, "run: --attempt must be a "
                                                "positive integer\n");
                                return 2;
                        }
                        break;
                case 'm':
                        if (gr_run_parse_size(optarg, &spec.memory_limit)) {
                                fprintf(stderr,
                                        "run: --memory-limit: '%s' is not a "
                                        "size (e.g. 64M, 2G, 1048576)\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 't':
                        if (parse_seconds(optarg, &spec.timeout_ms)) {
                                fprintf(stderr, "run: --timeout: '%s' is not "
                                                "a positive number of "
                                                "seconds\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'o':
                        job.output_path = optarg;
                        break;
                case 'k':
                        key_path = optarg;
                        break;
                case 'w':
                        job.worker_id = optarg;
                        break;
                case 'i':
                        job.image = optarg;
                        break;
                case 'M':
                        job.model_hash = optarg;
                        break;
                case 'F':
                        job.manifest_hash = optarg;
                        break;
                case 'L':
                        if (gr_limit_want_parse(optarg, &spec.want)) {
                                fprintf(stderr, "run: --limiter auto|cgroup|"
                                                "rlimit\n");
                                return 2;
                        }
                        break;
                case 'b':
                        bootstrap = optarg;
                        break;
                case 'T':
                        topic = optarg;
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                case 'X':
                        if (nkv == 64) {
                                fprintf(stderr, "run: too many -X\n");
                                return 2;
                        }
                        kv[nkv++] = optarg;
                        break;
                case 's':
                        to_stdout = 1;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (!job.job_id || !*job.job_id)
                return cli_usage_error("run", "--job ID is required");
        {
                /* what the event model can carry, checked before anything
                 * runs */
                const struct {
                        const char *opt, *val;
                        size_t max;
                } lim[] = {
                    {"--job", job.job_id, GR_ID_MAX},
                    {"--worker", job.worker_id, GR_ID_MAX},
                    {"--image", job.image, GR_HASH_MAX},
                    {"--model-hash", job.model_hash, GR_HASH_MAX},
                    {"--manifest-hash", job.manifest_hash, GR_HASH_MAX},
                    {"--output", job.output_path, GR_TEXT_MAX},
                };
                for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
                        if (lim[i].val && (strlen(lim[i].val) >= lim[i].max ||
                                           !*lim[i].val)) {
                                fprintf(stderr,
                                        "run: %s must be 1 to %zu bytes\n",
                                        lim[i].opt, lim[i].max - 1);
                                return 2;
                        }
        }
        if (optind >= argc)
                return cli_usage_error("run", "no command (put it after --)");
        if (!bootstrap && !to_stdout)
                bootstrap = getenv("GR_BOOTSTRAP");
        if (!!bootstrap == !!to_stdout) {
                fprintf(stderr, "run: give exactly one of --bootstrap "
                                "HOST:PORT or --stdout\n");
                return 2;
        }
        if (!job.worker_id) {
                if (gethostname(host, sizeof(host) - 1) == 0 && host[0]) {
                        host[sizeof(host) - 1] = '\0';
                        job.worker_id = host;
                } else {
                        job.worker_id = "worker";
                }
        }
        spec.argv = argv + optind;
        /* --stdout: the event stream owns stdout; the command's stdout goes
         * where its stderr goes (and is watched with it) */
        if (to_stdout)
                spec.child_stdout_fd = GR_RUN_STDOUT_TO_STDERR;

        if (key_path) {
                char *text;
                size_t len = 0;
                if (cli_crypto_init("run") == -1)
                        return 1;
                if (!(text = cli_secret_read("run", key_path, &len)))
                        return 2;
                rc = gr_keypair_from_json(&kp, text, len, errstr,
                                          sizeof(errstr));
                memset(text, 0, len);
                free(text);
                if (rc) {
                        fprintf(stderr, "run: %s: %s\n", key_path, errstr);
                        return 2;
                }
                if (kp.role != GR_KROLE_SELLER) {
                        fprintf(stderr,
                                "run: %s is a %s key; execution events need "
                                "a seller key\n",
                                key_path, gr_key_role_t_name(kp.role));
                        gr_keypair_wipe(&kp);
                        return 2;
                }
                job.key = &kp;
        }
        if (bootstrap) {
                if (gr_topics_init(&topics, prefix) == -1) {
                        fprintf(stderr, "run: prefix too long\n");
                        rc = 2;
                        goto out;
                }
                ks.topic = topic ? topic : topics.name[GR_TOPIC_EVENTS];
                if (!(ks.rk = gr_emit_producer_new(bootstrap, kv, nkv, errstr,
                                                   sizeof(errstr)))) {
                        fprintf(stderr, "run: %s\n", errstr);
                        rc = 2;
                        goto out;
                }
        }
        if (spec.memory_limit == 0 && spec.want == GR_LIMIT_CGROUP) {
                fprintf(stderr, "run: --limiter cgroup needs --memory-limit\n");
                rc = 2;
                goto out;
        }

        errstr[0] = '\0';
        if (gr_run_job_execute(&job, &spec,
                               bootstrap ? sink_kafka : sink_stdout,
                               bootstrap ? (void *)&ks : NULL, &rep, errstr,
                               sizeof(errstr)) == -1) {
                fprintf(stderr, "run: %s\n", errstr);
                if (rep.events == 0)
                        fprintf(stderr, "run: the command was not started\n");
                rc = RUN_PUBLISH_FAILED;
                goto out;
        }
        {
                const gr_run_result *r = &rep.res;
                fprintf(stderr, "run: memory limit: %s\n", r->limiter_note);
                fprintf(stderr,
                        "run: %s %d; %s; oom_kill %lld; limit reached %s; "
                        "peak memory %lld KiB (%s); wall %.3f s, cpu %.3f s; "
                        "gpu %s\n",
                        r->o.exec_errno ? "exec failed, errno"
                        : r->o.signaled ? "killed by signal"
                                        : "exit status",
                        r->o.exec_errno  ? r->o.exec_errno
                        : r->o.signaled ? r->o.signo
                                        : r->o.exit_code,
                        r->o.timed_out ? "timed out" : "no timeout",
                        (long long)r->o.oom_kills,
                        r->o.limit_hit ? "yes" : "no",
                        (long long)(r->peak_mem_bytes >= 0
                                        ? r->peak_mem_bytes / 1024
                                        : -1),
                        r->peak_source ? r->peak_source : "unknown",
                        r->wall_seconds, r->cpu_seconds,
                        r->has_gpu ? "sampled with nvidia-smi"
                                   : "not measured (no nvidia-smi)");
                if (r->o.exec_errno)
                        fprintf(stderr, "run: cannot execute %s: %s\n",
                                spec.argv[0], strerror(r->o.exec_errno));
                fprintf(stderr, "run: %s: failure_class=%s stderr_class=%s "
                                "(rule %s)%s%s\n",
                        job.job_id,
                        rep.cls.failure == GR_FAIL_NONE
                            ? "none"
                            : gr_failure_t_name(rep.cls.failure),
                        rep.cls.stderr_class, rep.cls.rule,
                        rep.output_written ? "; output " : "",
                        rep.output_written ? rep.output_hash : "");
                if (errstr[0] && rep.output_written == 0 && job.output_path &&
                    rep.cls.failure == GR_FAIL_NONE)
                        fprintf(stderr, "run: %s\n", errstr);
        }
        rc = gr_run_exit_status(&rep.res.o);
out:
        if (ks.rk)
                rd_kafka_destroy(ks.rk);
        if (job.key)
                gr_keypair_wipe(&kp);
        return rc;
}
