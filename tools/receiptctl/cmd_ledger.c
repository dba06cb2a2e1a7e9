/*
 * receiptctl ledger: audit an exported ledger and prove rows.
 *
 *   receiptctl ledger verify [--key PUBKEYFILE|--keys REGISTRY] [FILE|-]
 *   receiptctl ledger prove JOB_ID [--key PUBKEYFILE] [FILE|-]
 *
 * The export format (JSON lines: ledger rows, partition markers, signed
 * tree heads) is described in evidence/gr_ledger_audit.h.
 *
 * verify checks every per-job hash chain, every tree head signature and
 * the consistency of successive heads, and names the first bad row.
 * Without a key it checks what needs none (the chains, and the heads'
 * roots and consistency against the rows) and says that the heads'
 * signatures were NOT checked: intact chains alone do not prove that the
 * rows are the ones the processor published.
 * Exit 0 when the ledger is intact, 1 when it is not, 2 when the arguments,
 * the key or the input are unusable.
 *
 * prove prints one inclusion proof per row of JOB_ID, each against the
 * latest tree head of its partition; anyone holding the processor's
 * public key checks them with `receiptctl verify --key PUBKEYFILE`.
 * Given --key, only heads with a valid signature are used.
 *
 *   receiptctl ledger seal --key SECRETKEYFILE [--batch N] [FILE|-]
 *   receiptctl ledger export --bootstrap B [--prefix P] [-X k=v] > FILE
 *       (cmd_ledger_export.c: what receiptd published, as an audit file)
 *
 * seal re-emits a ledger export with a signed tree head after every N rows
 * of each partition and after the last one: what receiptd does per
 * committed batch, offline (for exports made without heads, and demos).
 * A head's timestamp is the latest occurred_at among the rows it covers.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_ledger_audit.h"
#include "gr_merkle.h"
#include "gr_sign.h"
#include "keyfile.h"
#include "lines.h"

#define LINE_MAX_BYTES (1 << 20)

/* Feed every line of in to the audit. @returns 0, or 1/2 on failure. */
static int feed(gr_ledger_audit *a, FILE *in) {
        gr_lines lines = {0};
        const char *line;
        size_t len;
        int got, rc = 0;

        if (gr_lines_init(&lines, in, LINE_MAX_BYTES) == -1) {
                fprintf(stderr, "receiptctl ledger: out of memory\n");
                return 1;
        }
        while ((got = gr_lines_next(&lines, &line, &len)) > 0) {
                /* An over-long line is still fed (truncated), so it is
                 * reported as a bad row at its place rather than skipped. */
                if (gr_ledger_audit_line(a, line,
                                         got == 2 ? LINE_MAX_BYTES : len) ==
                    -1) {
                        fprintf(stderr, "receiptctl ledger: out of memory\n");
                        rc = 1;
                        break;
                }
        }
        if (got == -1) {
                fprintf(stderr, "receiptctl ledger: read error: %s\n",
                        strerror(errno));
                rc = 2;
        }
        gr_lines_free(&lines);
        return rc;
}

static void print_report(const gr_audit_report *r, int keyed) {
        if (r->ok && !keyed) {
                printf("ledger chains ok: %llu rows, %llu jobs, %llu "
                       "partitions: every row_hash, prev_hash and seq "
                       "checked\n",
                       (unsigned long long)r->rows,
                       (unsigned long long)r->jobs,
                       (unsigned long long)r->partitions);
                printf("tree heads NOT checked: %llu signed tree heads, "
                       "signatures not verified (no --key/--keys); %llu "
                       "rows covered by none\n",
                       (unsigned long long)r->heads,
                       (unsigned long long)r->unanchored);
                fprintf(stderr,
                        "receiptctl ledger: warning: signed tree heads were "
                        "NOT checked; give --keys REGISTRY (or --key "
                        "PUBKEYFILE) to check them\n");
                return;
        }
        if (r->ok) {
                printf("ledger ok: %llu rows, %llu jobs, %llu partitions, "
                       "%llu/%llu tree heads valid, %llu rows not yet "
                       "covered by a tree head\n",
                       (unsigned long long)r->rows,
                       (unsigned long long)r->jobs,
                       (unsigned long long)r->partitions,
                       (unsigned long long)r->heads_valid,
                       (unsigned long long)r->heads,
                       (unsigned long long)r->unanchored);
                if (r->heads == 0 && r->rows > 0)
                        printf("warning: no tree heads: chains are intact "
                               "but nothing proves the rows are the ones "
                               "published\n");
                return;
        }
        printf("ledger BAD: first bad row at line %llu", 
               (unsigned long long)r->line);
        if (r->row_index != UINT64_MAX)
                printf(" (row %llu, partition %d", 
                       (unsigned long long)r->row_index, (int)r->partition);
        else
                printf(" (tree head, partition %d", (int)r->partition);
        if (r->job_id[0])
                printf(", job %s, seq %llu", r->job_id,
                       (unsigned long long)r->seq);
        printf("): %s: %s\n", gr_audit_problem_t_name(r->problem), r->detail);
        if (!keyed)
                fprintf(stderr,
                        "receiptctl ledger: warning: tree head signatures "
                        "were NOT checked (no --key/--keys)\n");
}

/* One partition's running tree while sealing. */
typedef struct seal_part {
        int32_t id;
        gr_merkle_frontier f;
        uint64_t sealed; /* tree_size of the last head written */
        int64_t latest;  /* latest occurred_at seen */
} seal_part;

static int seal_head(seal_part *sp, const gr_keypair *kp, gr_buf *b) {
        gr_tree_head th;

        memset(&th, 0, sizeof(th));
        th.partition = sp->id;
        th.tree_size = sp->f.size;
        gr_merkle_frontier_root(&sp->f, th.root_hash);
        th.timestamp = sp->latest;
        if (gr_tree_head_sign(&th, kp) == -1)
                return -1;
        gr_buf_reset(b);
        gr_tree_head_to_json(&th, b);
        gr_buf_putc(b, '\n');
        fwrite(b->data, 1, b->len, stdout);
        sp->sealed = sp->f.size;
        return b->oom ? -1 : 0;
}

static int cmd_seal(const char *key_path, const char *in_path,
                    unsigned long batch) {
        enum { MAXP = 1024 };
        static seal_part parts[MAXP];
        size_t nparts = 0, cur = 0, klen = 0;
        char *ktext, errstr[256];
        gr_keypair kp;
        gr_lines lines = {0};
        FILE *in = stdin;
        const char *line;
        size_t len;
        gr_buf b;
        int got, rc = 2;

        if (!(ktext = cli_secret_read("ledger", key_path, &klen)))
                return 2;
        got = gr_keypair_from_json(&kp, ktext, klen, errstr, sizeof(errstr));
        sodium_memzero(ktext, klen);
        free(ktext);
        if (got == -1) {
                fprintf(stderr, "receiptctl ledger: %s: %s\n", key_path,
                        errstr);
                return 2;
        }
        gr_buf_init(&b);
        if (in_path && strcmp(in_path, "-") && !(in = fopen(in_path, "rb"))) {
                fprintf(stderr, "receiptctl ledger: %s: %s\n", in_path,
                        strerror(errno));
                goto out;
        }
        memset(&parts[0], 0, sizeof(parts[0]));
        parts[0].latest = INT64_MIN;
        nparts = 1;
        rc = 1;
        if (gr_lines_init(&lines, in, LINE_MAX_BYTES) == -1)
                goto out;
        while ((got = gr_lines_next(&lines, &line, &len)) > 0) {
                gr_ledger_row_buf rb;
                seal_part *sp;
                uint8_t lh[GR_HASH_LEN];

                while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
                        len--;
                if (len == 0)
                        continue;
                if (got == 2 || !strncmp(line, "{\"type\":\"tree_head\"", 19))
                        continue; /* old heads are replaced */
                fwrite(line, 1, len, stdout);
                putchar('\n');
                if (!strncmp(line, "{\"type\":\"partition\",\"partition\":",
                             32)) {
                        long id = strtol(line + 32, NULL, 10);
                        for (cur = 0; cur < nparts; cur++)
                                if (parts[cur].id == id)
                                        break;
                        if (cur == nparts) {
                                if (nparts == MAXP || id < 0 ||
                                    id > INT32_MAX) {
                                        fprintf(stderr,
                                                "receiptctl ledger: bad or "
                                                "too many partitions\n");
                                        goto out;
                                }
                                memset(&parts[cur], 0, sizeof(parts[cur]));
                                parts[cur].id = (int32_t)id;
                                parts[cur].latest = INT64_MIN;
                                nparts++;
                        }
                        continue;
                }
                sp = &parts[cur];
                gr_merkle_leaf_hash(line, len, lh);
                gr_merkle_frontier_append(&sp->f, lh);
                if (gr_ledger_row_parse(line, len, &rb, errstr,
                                        sizeof(errstr)) != -1 &&
                    rb.row.occurred_at > sp->latest)
                        sp->latest = rb.row.occurred_at;
                if (sp->f.size - sp->sealed >= batch &&
                    seal_head(sp, &kp, &b) == -1)
                        goto out;
        }
        for (size_t i = 0; i < nparts; i++)
                if (parts[i].f.size > parts[i].sealed &&
                    seal_head(&parts[i], &kp, &b) == -1)
                        goto out;
        rc = got == -1 ? 2 : 0;
out:
        gr_keypair_wipe(&kp);
        gr_lines_free(&lines);
        gr_buf_free(&b);
        if (in && in != stdin)
                fclose(in);
        return rc;
}

int cmd_ledger(int argc, char **argv) {
        const char *sub, *key_path = NULL, *in_path = NULL, *job = NULL;
        gr_ledger_audit *a = NULL;
        gr_keyring *kr = NULL;
        gr_audit_report rep;
        FILE *in = stdin;
        char errstr[128];
        int rc = 2, prove;
        static const struct option seal_opts[] = {
            {"key", required_argument, NULL, 'k'},
            {"batch", required_argument, NULL, 'b'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        static const struct option audit_opts[] = {
            {"key", required_argument, NULL, 'k'},
            {"keys", required_argument, NULL, 'k'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        cli_parser cp = {.shortopts = "h"};
        char cmd[32];
        int c;

        if (argc < 2) {
                cli_help_print("ledger", stderr);
                return 2;
        }
        sub = argv[1];
        if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
                cli_help_print("ledger", stdout);
                return 0;
        }
        if (!strcmp(sub, "export"))
                return cmd_ledger_export(argc - 1, argv + 1);
        if (strcmp(sub, "seal") && strcmp(sub, "verify") &&
            strcmp(sub, "prove"))
                return cli_usage_error("ledger", "unknown %s '%s'",
                                       sub[0] == '-' ? "option"
                                                     : "subcommand",
                                       sub);
        snprintf(cmd, sizeof(cmd), "ledger %s", sub);
        cp.cmd = cmd;
        if (!strcmp(sub, "seal")) {
                unsigned long batch = 1000;
                cp.longopts = seal_opts;
                while ((c = cli_getopt(&cp, argc - 1, argv + 1)) != -1) {
                        if (c == 'k')
                                key_path = optarg;
                        else if (c == 'b')
                                batch = strtoul(optarg, NULL, 10);
                        else
                                return cli_exit(c);
                }
                if (optind < argc - 1)
                        in_path = argv[1 + optind++];
                if (optind < argc - 1)
                        return cli_usage_error(cmd, "unexpected argument '%s'",
                                               argv[1 + optind]);
                if (!key_path || batch == 0)
                        return cli_usage_error(cmd, "need --key SECRETKEYFILE "
                                                    "and a positive --batch");
                if (cli_crypto_init("ledger") == -1)
                        return 1;
                return cmd_seal(key_path, in_path, batch);
        }
        prove = !strcmp(sub, "prove");
        cp.longopts = audit_opts;
        while ((c = cli_getopt(&cp, argc - 1, argv + 1)) != -1) {
                if (c != 'k')
                        return cli_exit(c);
                key_path = optarg;
        }
        if (prove && optind < argc - 1)
                job = argv[1 + optind++];
        if (optind < argc - 1)
                in_path = argv[1 + optind++];
        if (optind < argc - 1)
                return cli_usage_error(cmd, "unexpected argument '%s'",
                                       argv[1 + optind]);
        if (prove && !job)
                return cli_usage_error(cmd, "need a JOB_ID");
        if (cli_crypto_init("ledger") == -1)
                return 1;
        if (key_path && !(kr = cli_keyring_load("ledger", key_path)))
                return 2;
        if (in_path && strcmp(in_path, "-") && !(in = fopen(in_path, "rb"))) {
                fprintf(stderr, "receiptctl ledger: %s: %s\n", in_path,
                        strerror(errno));
                goto out;
        }
        if (!(a = gr_ledger_audit_new(kr, job, errstr, sizeof(errstr)))) {
                fprintf(stderr, "receiptctl ledger: %s\n", errstr);
                rc = 1;
                goto out;
        }
        if ((rc = feed(a, in)) != 0)
                goto out;
        gr_ledger_audit_finish(a, &rep);
        if (!prove) {
                print_report(&rep, kr != NULL);
                rc = rep.ok ? 0 : 1;
        } else {
                gr_buf out;
                uint64_t unproven = 0;
                long n;

                gr_buf_init(&out);
                n = gr_ledger_audit_prove(a, &out, &unproven);
                if (n < 0) {
                        fprintf(stderr, "receiptctl ledger: out of memory\n");
                        rc = 1;
                } else {
                        fwrite(out.data ? out.data : "", 1, out.len, stdout);
                        fprintf(stderr,
                                "receiptctl ledger: %ld inclusion proofs for "
                                "%s, %llu rows not covered by a %stree "
                                "head\n",
                                n, job, (unsigned long long)unproven,
                                kr ? "valid " : "");
                        if (!rep.ok)
                                fprintf(stderr,
                                        "receiptctl ledger: warning: the "
                                        "ledger does not audit clean (%s)\n",
                                        gr_audit_problem_t_name(rep.problem));
                        rc = n > 0 ? 0 : 1;
                }
                gr_buf_free(&out);
        }
out:
        gr_ledger_audit_destroy(a);
        if (in && in != stdin)
                fclose(in);
        gr_keyring_destroy(kr);
        return rc;
}
