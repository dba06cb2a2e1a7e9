/**
 * @file cli.h
 * @brief What every receiptctl subcommand shares: its help text (one table,
 *        cli.c), option parsing with the usual conventions, and where the
 *        bundled data files are found.
 *
 * Conventions (as git and kcat have them):
 *   - `-h`/`--help` prints the command's usage and options on stdout and
 *     exits 0;
 *   - an unknown option, a missing value or a stray argument prints one
 *     line on stderr, e.g.
 *       receiptctl replay: unknown option '--x'; see 'receiptctl replay
 *       --help'
 *     (one line in reality),
 *     and exits 2.
 */
#ifndef GR_RECEIPTCTL_CLI_H
#define GR_RECEIPTCTL_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

/** One subcommand: dispatched by main.c, described by --help. */
typedef struct cli_command {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *synopsis; /**< after "usage: receiptctl "; may hold
                                   several lines, each starting with name */
        const char *help;     /**< what it does and its options */
} cli_command;

/** The table of subcommands (cli.c), `cli_ncommands` entries. */
extern const cli_command cli_commands[];
extern const size_t cli_ncommands;

/** @returns the command called name, or NULL. */
const cli_command *cli_command_find(const char *name);

/** Print `usage: receiptctl SYNOPSIS` and the help of cmd to fp. */
void cli_help_print(const char *cmd, FILE *fp);

/** Print the overview (every synopsis) to fp. */
void cli_overview_print(FILE *fp);

/**
 * @brief One line on stderr: `receiptctl CMD: MESSAGE; see 'receiptctl
 *        CMD --help'`.
 * @returns 2, the exit code for unusable arguments.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Option parsing state for cli_getopt(); zero it, set the three fields. */
typedef struct cli_parser {
        const char *cmd;               /**< e.g. "replay", "ledger verify" */
        const char *shortopts;         /**< getopt's, must include 'h' */
        const struct option *longopts; /**< must include {"help",..,'h'} */
        int started;
        char spec[128];
} cli_parser;

/** Returned by cli_getopt(): help was printed (exit 0) / an error was
 *  printed (exit 2).  Neither is a valid option character. */
enum { CLI_HELP = 1000, CLI_ERROR = 1001 };

/**
 * @brief getopt_long() with receiptctl's conventions: -h/--help prints the
 *        help of p->cmd and returns CLI_HELP; an unknown option or a
 *        missing value prints the one-line hint and returns CLI_ERROR.
 *        Positional arguments are left in argv[optind..argc) (GNU
 *        permutation: options may follow them).
 * @returns the option's value, -1 after the last option, or
 *          CLI_HELP/CLI_ERROR.
 */
int cli_getopt(cli_parser *p, int argc, char **argv);

/** @returns 0 for CLI_HELP, 2 otherwise: `default: return cli_exit(c);` */
int cli_exit(int c);

/**
 * @brief Where a bundled data file (e.g. "scenarios.jsonl") is, first hit
 *        wins:
 *   1. $GR_DATA_DIR/NAME (an override, e.g. for a relocated install);
 *   2. BINDIR/../share/gpu-receipts/NAME, next to the running executable
 *      (an install under any prefix, `cmake --install --prefix P`);
 *   3. the data directory of the configured install prefix;
 *   4. the source tree this binary was built from (tests/data/NAME).
 * @param buf receives the path (size bytes).
 * @returns buf when a readable file was found, else NULL with buf holding
 *          the last candidate tried.
 */
const char *cli_data_file(const char *name, char *buf, size_t size);

#endif
