/* receiptctl: the operator's command line (SPEC §7). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *usage;
} commands[] = {
    {"replay", cmd_replay,
     "replay [--policy FILE] [--keys REGISTRY] [--emit "
     "decisions|lines|receipts|ledger|rejects] [FILE|-]"},
    {"sign", cmd_sign, "sign --key SECRET.key.json [--role ROLE] [FILE|-]"},
    {"broker", cmd_broker,
     "broker [--partitions N] [--brokers N] [--prefix P]"},
    {"emit", cmd_emit,
     "emit [--bootstrap B] [--topic T | --prefix P] [--format json|avro|"
     "avro-single] [-X k=v] [FILE|-]"},
    {"receipt", cmd_receipt,
     "receipt JOB_ID --bootstrap B [--prefix P] [--all] [--html] [-X k=v]\n"
     "      receipt JOB_ID --server URL --key FILE [--html] [--cacert PEM] "
     "[--print-auth]"},
    {"demo", cmd_demo,
     "demo [--file F] [--partitions N] [--canonical JOB_ID] [--timeout S] "
     "[--verbose]"},
    {"keygen", cmd_keygen,
     "keygen --role ROLE --id KEY_ID [--out DIR] [--valid-from RFC3339]"},
    {"verify", cmd_verify, "verify --keys REGISTRY [FILE|-]"},
    {"ledger", cmd_ledger,
     "ledger verify --key PUBKEYFILE|--keys REGISTRY [FILE|-]\n"
     "  ledger prove JOB_ID [--key PUBKEYFILE] [FILE|-]\n"
     "  ledger seal --key SECRETKEYFILE [--batch N] [FILE|-]\n"
     "  ledger export --bootstrap B [--prefix P] [-X k=v] > FILE"},
};

static void usage(FILE *fp) {
        fprintf(fp, "usage: receiptctl COMMAND [ARGS]\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(fp, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
            !strcmp(argv[1], "help")) {
                usage(stdout);
                return 0;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(argv[1], commands[i].name))
                        return commands[i].fn(argc - 1, argv + 1);
        fprintf(stderr, "receiptctl: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
