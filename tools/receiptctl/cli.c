/* receiptctl's shared command-line conventions (cli.h): the help of every
 * subcommand in one table, getopt with the usual hints, data lookup. */
#include "cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#ifndef GR_SOURCE_DIR
#define GR_SOURCE_DIR "."
#endif
#ifndef GR_INSTALL_DATADIR
#define GR_INSTALL_DATADIR "/usr/local/share/gpu-receipts"
#endif
#ifndef GR_DATADIR_FROM_BINDIR
#define GR_DATADIR_FROM_BINDIR "../share/gpu-receipts"
#endif

const cli_command cli_commands[] = {
    {"replay", cmd_replay,
     "replay [--policy FILE] [--keys REGISTRY] [--emit "
     "decisions|lines|receipts|ledger|rejects] [--format json|lines] "
     "[FILE|-]",
     "The state machine offline over JSON-lines events (stdin when FILE is\n"
     "absent or -): the same decisions, byte for byte, as receiptd.\n"
     "\n"
     "  --emit decisions   one decision per line, JSON (the default)\n"
     "  --emit lines       one summary line per job, sorted by job_id\n"
     "  --emit receipts    one receipt per job, JSON\n"
     "  --emit ledger      every ledger row, in order\n"
     "  --emit rejects     every rejected event with its reason, JSON\n"
     "  --format json      ledger rows as published (the default)\n"
     "  --format lines     ledger rows as key=value lines:\n"
     "                     job_id=... seq=... transition=... "
     "capacity_status=...\n"
     "                     execution_status=... output_status=... "
     "evaluation_status=...\n"
     "                     settlement=... seller_packet=... buyer_packet=...\n"
     "                     decision=... prev_hash=... row_hash=...  "
     "(- for none)\n"
     "  --policy FILE      the policy (JSON) instead of the default one\n"
     "  --keys REGISTRY    public keys to check signed events with\n"
     "\n"
     "Exit 0 when the input was read (rejects included), 2 when the\n"
     "arguments or the file are unusable.\n"},
    {"sign", cmd_sign, "sign --key SECRET.key.json [--role ROLE] [FILE|-]",
     "Sign JSON-lines events with a role key; with --role, events of\n"
     "other roles pass through unchanged.  Exit 1 when a line does not\n"
     "decode (it is copied unchanged).\n"},
    {"broker", cmd_broker,
     "broker [--partitions N] [--brokers N] [--prefix P]",
     "The embedded Kafka-protocol broker (librdkafka's mock cluster) for\n"
     "local use.  The first stdout line is bootstrap.servers=HOST:PORT;\n"
     "then it reads control commands on stdin (see DEVELOPERS.md) until\n"
     "SIGTERM or SIGINT.\n"
     "\n"
     "  --partitions N   partitions per topic (default 4)\n"
     "  --brokers N      brokers in the cluster (default 1)\n"
     "  --prefix P       topic name prefix\n"},
    {"emit", cmd_emit,
     "emit [--bootstrap B] [--topic T | --prefix P] [--format json|avro|"
     "avro-single] [--timeout-ms MS] [-X k=v] [FILE|-]",
     "Publish JSON-lines events keyed by job_id (murmur2 partitioner) and\n"
     "wait until the broker has them.  --bootstrap defaults to\n"
     "$GR_BOOTSTRAP; -X sets a librdkafka property.\n"},
    {"receipt", cmd_receipt,
     "receipt JOB_ID --bootstrap B [--prefix P] [--all] [--html] "
     "[--timeout-ms MS] [-X k=v]\n"
     "       receiptctl receipt JOB_ID --server URL --key FILE [--html] "
     "[--cacert PEM] [--print-auth] [--timeout-ms MS]",
     "Read JOB_ID's latest state from the state topic and print its\n"
     "receipt (pretty JSON, or HTML with --html).  --all scans every\n"
     "partition instead of the job's own.\n"
     "\n"
     "With --server, ask receiptd's /jobs/ page instead, as a party of the\n"
     "job: the request is signed with --key (a registry key of the job's\n"
     "buyer or seller, a reviewer or the marketplace; see\n"
     "docs/OPERATIONS.md).  https:// checks the server's certificate\n"
     "(--cacert PEM for a private CA); --print-auth prints only the\n"
     "Authorization header, for curl.\n"},
    {"demo", cmd_demo,
     "demo [--data FILE] [--partitions N] [--canonical JOB_ID] "
     "[--timeout S] [--verbose] [--live]",
     "The whole pipeline on one machine: the embedded broker, the bundled\n"
     "scenarios plus one garbled record, receiptd on a thread; then each\n"
     "job's summary line and decisions, the canonical job's ledger rows\n"
     "and receipt, and the rejected events.\n"
     "\n"
     "  --data FILE      events to publish (also --file); by default the\n"
     "                   bundled scenarios.jsonl, looked up in\n"
     "                   $GR_DATA_DIR, then the install's data directory,\n"
     "                   then the source tree\n"
     "  --canonical ID   the job whose ledger and receipt are shown\n"
     "                   (default run_8841)\n"
     "  --timeout S      give up after S seconds (default 25)\n"
     "  --live           the canonical case from a real run: a small job\n"
     "                   that outgrows its memory limit, wrapped by\n"
     "                   `receiptctl run`\n"},
    {"run", cmd_run,
     "run --job ID [--attempt N] [--memory-limit SIZE] [--timeout S] "
     "[--output PATH]\n"
     "         [--key FILE] [--worker ID] [--image DIGEST] "
     "[--model-hash H] [--manifest-hash H]\n"
     "         [--limiter auto|cgroup|rlimit] [--bootstrap HOST:PORT "
     "[--topic T|--prefix P] [-X k=v] | --stdout]\n"
     "         -- COMMAND [ARG...]",
     "Run COMMAND as the seller's execution of the job and publish its\n"
     "lifecycle events: execution_started, then execution_failed with the\n"
     "failure class read from what happened (docs/FAILURE-CLASSES.md) or\n"
     "execution_completed, and output_delivered with the SHA-256 of\n"
     "--output when the run wrote it.  The memory limit is a cgroup (v2,\n"
     "else v1) when the machine allows it, else RLIMIT_AS; stderr says\n"
     "which.  Events are signed with --key (a seller key) and go to Kafka\n"
     "(--bootstrap) or to stdout as JSON lines for `receiptctl replay`.\n"
     "\n"
     "Exit: the command's code; 128+N for signal N; 124 timeout; 127 not\n"
     "found; 126 not executable; 2 bad arguments; 125 events not\n"
     "published.\n"},
    {"keygen", cmd_keygen,
     "keygen --role ROLE --id KEY_ID [--out DIR] [--valid-from RFC3339]",
     "Make an Ed25519 key pair: DIR/KEY_ID.key.json (secret, mode 0600)\n"
     "and DIR/KEY_ID.pub.json (a registry entry).\n"
     "\n"
     "  --role ROLE             marketplace|seller|buyer|verifier|reviewer|"
     "processor\n"
     "  --out DIR               where to write (default .)\n"
     "  --valid-from RFC3339    from when the key counts, in event time.\n"
     "                          Default: now.  Signatures are checked at\n"
     "                          the time of what they sign (occurred_at,\n"
     "                          decided_at, a tree head's timestamp), so a\n"
     "                          key for events that happened before today\n"
     "                          needs e.g. --valid-from "
     "2026-01-01T00:00:00Z\n"},
    {"verify", cmd_verify, "verify --keys REGISTRY [FILE|-]",
     "Check signed decisions, tree heads and inclusion proofs, one JSON\n"
     "object per line; prints `ok LINE ...` or `FAIL LINE REASON: ...`.\n"
     "Exit 0 when every line verified, 1 when any failed.\n"},
    {"ledger", cmd_ledger,
     "ledger verify [--key PUBKEYFILE|--keys REGISTRY] [FILE|-]\n"
     "       receiptctl ledger prove JOB_ID [--key PUBKEYFILE] [FILE|-]\n"
     "       receiptctl ledger seal --key SECRETKEYFILE [--batch N] "
     "[FILE|-]\n"
     "       receiptctl ledger export --bootstrap B [--prefix P] "
     "[--timeout-ms MS] [-X k=v] > FILE",
     "Audit an exported ledger (JSON lines: rows, partition markers,\n"
     "signed tree heads).\n"
     "\n"
     "  verify   every job's hash chain (row_hash, prev_hash, seq without\n"
     "           gaps); with --key/--keys also every tree head's signature\n"
     "           and the consistency of successive heads.  Without a key\n"
     "           it says that the signatures were NOT checked.  Exit 0\n"
     "           intact, 1 not.\n"
     "  prove    one inclusion proof per row of JOB_ID\n"
     "  seal     re-emit the export with a signed tree head every N rows\n"
     "  export   what receiptd published, as an audit file\n"},
};
const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

const cli_command *cli_command_find(const char *name) {
        for (size_t i = 0; i < cli_ncommands; i++)
                if (!strcmp(name, cli_commands[i].name))
                        return &cli_commands[i];
        return NULL;
}

void cli_help_print(const char *cmd, FILE *fp) {
        char top[64];
        const cli_command *c;

        /* "ledger verify" is described by "ledger" */
        snprintf(top, sizeof(top), "%.*s", (int)strcspn(cmd, " "), cmd);
        if (!(c = cli_command_find(top))) {
                cli_overview_print(fp);
                return;
        }
        fprintf(fp, "usage: receiptctl %s\n\n%s", c->synopsis, c->help);
}

void cli_overview_print(FILE *fp) {
        fprintf(fp, "usage: receiptctl COMMAND [ARGS]\n\ncommands:\n");
        for (size_t i = 0; i < cli_ncommands; i++) {
                const char *s = cli_commands[i].synopsis;
                /* continuation lines start with "       receiptctl " */
                fputs("  ", fp);
                for (; *s; s++) {
                        fputc(*s, fp);
                        if (*s == '\n') {
                                while (s[1] == ' ')
                                        s++;
                                if (!strncmp(s + 1, "receiptctl ", 11))
                                        s += 11;
                                fputs("  ", fp);
                        }
                }
                fputc('\n', fp);
        }
        fprintf(fp, "\nSee 'receiptctl COMMAND --help' for a command's "
                    "options.\n");
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "receiptctl %s: ", cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "; see 'receiptctl %s --help'\n", cmd);
        return 2;
}

int cli_getopt(cli_parser *p, int argc, char **argv) {
        const char *arg;
        int c;

        if (!p->started) {
                /* 0 makes glibc's getopt start over (a command may be the
                 * second one parsed in this process, e.g. ledger verify) */
                optind = 0;
                opterr = 0;
                /* "+" (stop at the first operand) must stay first */
                if (p->shortopts[0] == '+')
                        snprintf(p->spec, sizeof(p->spec), "+:%s",
                                 p->shortopts + 1);
                else
                        snprintf(p->spec, sizeof(p->spec), ":%s",
                                 p->shortopts);
                p->started = 1;
        }
        c = getopt_long(argc, argv, p->spec, p->longopts, NULL);
        if (c == 'h') {
                cli_help_print(p->cmd, stdout);
                return CLI_HELP;
        }
        if (c != '?' && c != ':')
                return c;
        arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        if (strncmp(arg, "--", 2) != 0) {
                /* a short option: getopt names it in optopt */
                if (c == ':')
                        cli_usage_error(p->cmd, "option '-%c' needs a value",
                                        optopt);
                else
                        cli_usage_error(p->cmd, "unknown option '-%c'",
                                        optopt);
        } else if (c == ':') {
                cli_usage_error(p->cmd, "option '%s' needs a value", arg);
        } else if (optopt && strchr(arg, '=')) {
                cli_usage_error(p->cmd, "option '%.*s' takes no value",
                                (int)strcspn(arg, "="), arg);
        } else {
                cli_usage_error(p->cmd, "unknown option '%s'", arg);
        }
        return CLI_ERROR;
}

int cli_exit(int c) {
        return c == CLI_HELP ? 0 : 2;
}

static int readable(const char *path) {
        FILE *fp = fopen(path, "r");
        if (!fp)
                return 0;
        fclose(fp);
        return 1;
}

const char *cli_data_file(const char *name, char *buf, size_t size) {
        const char *env = getenv("GR_DATA_DIR");
        char exe[PATH_MAX];
        ssize_t n;

        if (env && *env) {
                snprintf(buf, size, "%s/%s", env, name);
                if (readable(buf))
                        return buf;
        }
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                const char *rel = GR_DATADIR_FROM_BINDIR;
                char *slash;
                int ok;

                exe[n] = '\0';
                /* the binary's directory, then one level up per "../",
                 * so that the path printed reads PREFIX/share/... */
                ok = (slash = strrchr(exe, '/')) != NULL;
                if (ok)
                        *slash = '\0';
                while (ok && !strncmp(rel, "../", 3)) {
                        rel += 3;
                        if ((ok = (slash = strrchr(exe, '/')) != NULL))
                                *slash = '\0';
                }
                if (ok) {
                        snprintf(buf, size, "%s/%s/%s", exe, rel, name);
                        if (readable(buf))
                                return buf;
                }
        }
        snprintf(buf, size, "%s/%s", GR_INSTALL_DATADIR, name);
        if (readable(buf))
                return buf;
        snprintf(buf, size, "%s/tests/data/%s", GR_SOURCE_DIR, name);
        if (readable(buf))
                return buf;
        return NULL;
}
