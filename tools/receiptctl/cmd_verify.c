/*
 * receiptctl verify: check signed objects, one JSON line each.
 *
 *   receiptctl verify --keys REGISTRY [FILE|-]
 *
 * Each line is a settlement decision (as published on
 * gpu.settlement.decisions), a signed tree head ({"type":"tree_head",...})
 * or an inclusion proof from `receiptctl ledger prove`
 * ({"type":"inclusion_proof",...}).  Prints one result per line:
 *   ok LINE decision JOB_ID
 *   FAIL LINE REASON: DETAIL
 * Exit 0 when every line verified, 1 when any failed, 2 when the
 * arguments, the registry or the input are unusable.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_ledger_audit.h"
#include "gr_sign.h"
#include "keyfile.h"
#include "lines.h"

#define LINE_MAX_BYTES (1 << 20)

static int has_type(const char *line, size_t len, const char *type) {
        char want[64];
        int n = snprintf(want, sizeof(want), "{\"type\":\"%s\"", type);
        return len >= (size_t)n && !memcmp(line, want, (size_t)n);
}

int cmd_verify(int argc, char **argv) {
        const char *keys_path = NULL, *in_path = NULL;
        gr_keyring *kr = NULL;
        gr_lines lines = {0};
        FILE *in = stdin;
        const char *line;
        size_t len;
        unsigned long good = 0, bad = 0;
        int rc = 2, got;

        static const struct option opts[] = {
            {"keys", required_argument, NULL, 'k'},
            {"key", required_argument, NULL, 'k'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        cli_parser cp = {.cmd = "verify", .shortopts = "h", .longopts = opts};
        int c;

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                if (c != 'k')
                        return cli_exit(c);
                keys_path = optarg;
        }
        if (optind < argc)
                in_path = argv[optind++];
        if (optind < argc)
                return cli_usage_error("verify", "unexpected argument '%s'",
                                       argv[optind]);
        if (!keys_path)
                return cli_usage_error("verify", "--keys REGISTRY is required");
        if (gr_crypto_init() == -1) {
                fprintf(stderr, "receiptctl verify: libsodium init failed\n");
                return 1;
        }
        if (!(kr = cli_keyring_load("verify", keys_path)))
                return 2;
        if (in_path && strcmp(in_path, "-") && !(in = fopen(in_path, "rb"))) {
                fprintf(stderr, "receiptctl verify: %s: %s\n", in_path,
                        strerror(errno));
                goto out;
        }
        if (gr_lines_init(&lines, in, LINE_MAX_BYTES) == -1) {
                fprintf(stderr, "receiptctl verify: out of memory\n");
                rc = 1;
                goto out;
        }
        while ((got = gr_lines_next(&lines, &line, &len)) > 0) {
                char job[GR_ID_MAX], es[160];
                uint64_t seq = 0;
                gr_err err;
                int ok;

                while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
                        len--;
                if (len == 0)
                        continue;
                memset(&err, 0, sizeof(err));
                if (got == 2) {
                        gr_err_set(&err, GR_REJ_TOO_LARGE,
                                   "line longer than %d bytes",
                                   LINE_MAX_BYTES);
                        ok = 0;
                } else if (has_type(line, len, "inclusion_proof")) {
                        ok = gr_inclusion_proof_verify_json(
                                 kr, line, len, job, &seq, &err) == 0;
                        if (ok)
                                printf("ok %lu inclusion %s seq %llu\n",
                                       lines.lineno, job,
                                       (unsigned long long)seq);
                } else if (has_type(line, len, "tree_head")) {
                        gr_tree_head th;
                        ok = gr_tree_head_from_json(&th, line, len, es,
                                                    sizeof(es)) == 0;
                        if (!ok)
                                gr_err_set(&err, GR_REJ_SCHEMA, "%s", es);
                        else
                                ok = gr_tree_head_verify(&th, kr, &err) == 0;
                        if (ok)
                                printf("ok %lu tree_head partition %d size "
                                       "%llu\n",
                                       lines.lineno, (int)th.partition,
                                       (unsigned long long)th.tree_size);
                } else {
                        ok = gr_decision_verify_json(kr, line, len, job,
                                                     &err) == 0;
                        if (ok)
                                printf("ok %lu decision %s\n", lines.lineno,
                                       job);
                }
                if (ok) {
                        good++;
                } else {
                        bad++;
                        printf("FAIL %lu %s: %s\n", lines.lineno,
                               gr_reject_t_name(err.reason), err.detail);
                }
        }
        if (got == -1) {
                fprintf(stderr, "receiptctl verify: read error: %s\n",
                        strerror(errno));
                goto out;
        }
        fprintf(stderr, "receiptctl verify: %lu verified, %lu failed\n", good,
                bad);
        rc = bad ? 1 : 0;
out:
        gr_lines_free(&lines);
        if (in && in != stdin)
                fclose(in);
        gr_keyring_destroy(kr);
        return rc;
}
