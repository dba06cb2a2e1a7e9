/**
 * @file commands.h
 * @brief receiptctl subcommands: one file per command (cmd_<name>.c), each
 *        `int cmd_<name>(int argc, char **argv)` with argv[0] = the command
 *        name.  Exit codes: 0 ok, 1 runtime failure, 2 unusable arguments
 *        or input file (docs/SPEC.md §7).  Their help text and option parsing
 *        conventions are shared: cli.h.
 */
#ifndef GR_RECEIPTCTL_COMMANDS_H
#define GR_RECEIPTCTL_COMMANDS_H

int cmd_replay(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_broker(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* `ledger export` (cmd_ledger_export.c), dispatched by cmd_ledger. */
int cmd_ledger_export(int argc, char **argv);

#endif
