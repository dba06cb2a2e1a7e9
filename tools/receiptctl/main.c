/* receiptctl: the operator's command line (docs/SPEC.md §7).  The subcommands and
 * their help live in one table (cli.c); each runs in its own cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int is_help(const char *s) {
        return !strcmp(s, "-h") || !strcmp(s, "--help") || !strcmp(s, "help");
}

int main(int argc, char **argv) {
        const cli_command *c;

        if (argc < 2) {
                cli_overview_print(stderr);
                return 2;
        }
        if (is_help(argv[1])) {
                /* `receiptctl help replay` is `receiptctl replay --help` */
                if (argc > 2 && !cli_command_find(argv[2])) {
                        fprintf(stderr,
                                "receiptctl: unknown command '%s'; see "
                                "'receiptctl --help'\n",
                                argv[2]);
                        return 2;
                }
                if (argc > 2)
                        cli_help_print(argv[2], stdout);
                else
                        cli_overview_print(stdout);
                return 0;
        }
        if ((c = cli_command_find(argv[1])))
                return c->fn(argc - 1, argv + 1);
        if (argv[1][0] == '-')
                fprintf(stderr,
                        "receiptctl: unknown option '%s'; see 'receiptctl "
                        "--help'\n",
                        argv[1]);
        else
                fprintf(stderr,
                        "receiptctl: unknown command '%s'; see 'receiptctl "
                        "--help'\n",
                        argv[1]);
        return 2;
}
