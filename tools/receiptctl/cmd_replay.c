/*
 * receiptctl replay: the FSM offline over JSON-lines events (docs/SPEC.md §7).
 *
 * Same engine as receiptd, same canonical renderings, so for the same input
 * it prints byte-identical decisions.  It streams: memory grows with the
 * number of jobs, not with the length of the input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_engine.h"
#include "gr_policy_json.h"
#include "gr_json_event.h"
#include "gr_output.h"
#include "gr_sign.h"
#include "lines.h"
#include "render.h"

typedef enum {
        EMIT_DECISIONS,
        EMIT_LINES,
        EMIT_RECEIPTS,
        EMIT_LEDGER,
        EMIT_REJECTS
} emit_t;

static const char *const emit_names[] = {"decisions", "lines", "receipts",
                                         "ledger", "rejects"};

typedef struct replay {
        emit_t emit;
        int as_lines; /* --format lines */
        FILE *out;
        gr_buf buf;
} replay;

static void put(replay *r) {
        gr_buf_putc(&r->buf, '\n');
        fwrite(r->buf.data, 1, r->buf.len, r->out);
        gr_buf_reset(&r->buf);
}

static void on_decision(void *op, const gr_job *j, const gr_decision *d) {
        replay *r = op;
        (void)j;
        if (r->emit != EMIT_DECISIONS)
                return;
        gr_decision_to_json(d, NULL, NULL, &r->buf);
        put(r);
}

static void on_ledger(void *op, const gr_job *j, const gr_ledger_row *row) {
        replay *r = op;
        (void)j;
        if (r->emit != EMIT_LEDGER)
                return;
        if (r->as_lines)
                cli_ledger_row_line(row, &r->buf);
        else
                gr_ledger_row_to_json(row, 1, &r->buf);
        put(r);
}

static void on_reject(void *op, const gr_event *ev, const gr_err *err) {
        replay *r = op;
        if (r->emit != EMIT_REJECTS)
                return;
        gr_reject_to_json(ev && gr_event_has(ev, GR_F_event_id) ? ev->event_id
                                                                : NULL,
                          ev && gr_event_has(ev, GR_F_job_id) ? ev->job_id
                                                              : NULL,
                          err, &r->buf);
        put(r);
}

/* Whole small file into memory (policy files). @returns malloc'd or NULL. */
static char *slurp(const char *path, size_t *len) {
        FILE *fp = fopen(path, "rb");
        char *p = NULL;
        long n;

        if (!fp)
                return NULL;
        if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
            n < (1 << 20) && fseek(fp, 0, SEEK_SET) == 0 &&
            (p = malloc((size_t)n + 1)) &&
            fread(p, 1, (size_t)n, fp) == (size_t)n) {
                p[n] = '\0';
                *len = (size_t)n;
        } else {
                free(p);
                p = NULL;
        }
        fclose(fp);
        return p;
}

static int only_space(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return 0;
        return 1;
}

int cmd_replay(int argc, char **argv) {
        const char *policy_path = NULL, *keys_path = NULL, *in_path = NULL;
        gr_keyring *kr = NULL;
        replay r = {EMIT_DECISIONS, 0, stdout, {0}};
        gr_policy pol;
        gr_fsm_sink sink = {&r, on_ledger, on_decision, on_reject};
        gr_engine *eng = NULL;
        gr_json_decoder *dec = NULL;
        gr_event *ev = NULL;
        gr_lines lines = {0};
        FILE *in = stdin;
        const char *line;
        size_t len;
        int rc = 2, got;
        char errstr[512];

        static const struct option opts[] = {
            {"policy", required_argument, NULL, 'p'},
            {"keys", required_argument, NULL, 'k'},
            {"emit", required_argument, NULL, 'e'},
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        cli_parser cp = {.cmd = "replay", .shortopts = "h", .longopts = opts};
        int c;

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'p':
                        policy_path = optarg;
                        break;
                case 'k':
                        keys_path = optarg;
                        break;
                case 'e': {
                        size_t k;
                        for (k = 0; k < 5 && strcmp(optarg, emit_names[k]); k++)
                                ;
                        if (k == 5)
                                return cli_usage_error(
                                    "replay", "unknown --emit '%s'", optarg);
                        r.emit = (emit_t)k;
                        break;
                }
                case 'f':
                        if (strcmp(optarg, "json") && strcmp(optarg, "lines"))
                                return cli_usage_error(
                                    "replay", "unknown --format '%s'", optarg);
                        r.as_lines = !strcmp(optarg, "lines");
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind < argc)
                in_path = argv[optind++];
        if (optind < argc)
                return cli_usage_error("replay", "unexpected argument '%s'",
                                       argv[optind]);
        if (r.as_lines && r.emit != EMIT_LEDGER && r.emit != EMIT_LINES)
                return cli_usage_error("replay",
                                       "--format lines is for --emit ledger "
                                       "(and --emit lines)");

        gr_policy_default(&pol);
        if (policy_path) {
                size_t plen;
                char *text = slurp(policy_path, &plen);
                if (!text) {
                        fprintf(stderr, "replay: cannot read policy %s: %s\n",
                                policy_path, strerror(errno));
                        return 2;
                }
                if (gr_policy_load(&pol, text, plen, errstr, sizeof(errstr))) {
                        fprintf(stderr, "replay: %s: %s\n", policy_path,
                                errstr);
                        free(text);
                        return 2;
                }
                free(text);
        }
        if (keys_path) {
                size_t klen;
                char *text = slurp(keys_path, &klen);
                if (!text) {
                        fprintf(stderr, "replay: cannot read key registry "
                                        "%s: %s\n",
                                keys_path, strerror(errno));
                        return 2;
                }
                kr = gr_keyring_new(text, klen, errstr, sizeof(errstr));
                free(text);
                if (!kr) {
                        fprintf(stderr, "replay: %s: %s\n", keys_path, errstr);
                        return 2;
                }
        }
        if (in_path && strcmp(in_path, "-") && !(in = fopen(in_path, "rb"))) {
                gr_keyring_destroy(kr);
                fprintf(stderr, "replay: cannot open %s: %s\n", in_path,
                        strerror(errno));
                return 2;
        }

        rc = 1;
        gr_buf_init(&r.buf);
        if (!(eng = gr_engine_new(&pol, &sink)) ||
            !(dec = gr_json_decoder_new()) || !(ev = malloc(sizeof(*ev))) ||
            gr_lines_init(&lines, in, GR_EVENT_WIRE_MAX) == -1) {
                fprintf(stderr, "replay: out of memory\n");
                goto done;
        }
        /* Every job stays for the end-of-input report (--emit lines and
         * receipts); retention changes no decision, only memory. */
        gr_engine_keep_all(eng);

        while ((got = gr_lines_next(&lines, &line, &len)) > 0) {
                gr_err err;
                if (got == 2) {
                        gr_event_reset(ev);
                        gr_err_set(&err, GR_REJ_TOO_LARGE,
                                   "line %lu is %zu bytes, limit %d",
                                   lines.lineno, len, GR_EVENT_WIRE_MAX);
                        gr_engine_reject(eng, ev, &err);
                        continue;
                }
                if (only_space(line, len))
                        continue;
                /* Same order as receiptd: decode, authenticate, apply. */
                if (gr_json_event_decode(dec, line, len, ev, &err) == -1 ||
                    gr_event_authenticate(&pol, kr, ev, &err) == -1)
                        gr_engine_reject(eng, ev, &err);
                else
                        gr_engine_apply(eng, ev);
        }
        if (got == -1) {
                fprintf(stderr, "replay: read error: %s\n", strerror(errno));
                goto done;
        }

        if (r.emit == EMIT_LINES || r.emit == EMIT_RECEIPTS) {
                size_t n;
                gr_job **jobs = gr_jobtab_sorted(gr_engine_jobs(eng), &n);
                char lbuf[GR_ID_MAX + 200];
                for (size_t i = 0; i < n; i++) {
                        if (r.emit == EMIT_LINES)
                                gr_buf_puts(&r.buf, gr_job_line(jobs[i], lbuf,
                                                                sizeof(lbuf)));
                        else
                                gr_receipt_to_json(jobs[i], &r.buf);
                        put(&r);
                }
                free(jobs);
        }
        {
                const gr_stats *s = gr_engine_stats(eng);
                fprintf(stderr,
                        "replay: %llu events: %llu applied, %llu parked, "
                        "%llu duplicates, %llu rejected; %zu jobs, %llu "
                        "decisions\n",
                        (unsigned long long)s->events_in,
                        (unsigned long long)s->applied,
                        (unsigned long long)s->parked_now,
                        (unsigned long long)s->duplicates,
                        (unsigned long long)s->rejected,
                        gr_jobtab_count(gr_engine_jobs(eng)),
                        (unsigned long long)s->decisions);
        }
        rc = r.buf.oom ? 1 : 0;
        if (fflush(r.out) != 0) {
                fprintf(stderr, "replay: write error: %s\n", strerror(errno));
                rc = 1;
        }
done:
        gr_lines_free(&lines);
        free(ev);
        gr_json_decoder_destroy(dec);
        gr_engine_destroy(eng);
        gr_keyring_destroy(kr);
        gr_buf_free(&r.buf);
        if (in != stdin)
                fclose(in);
        return rc;
}
