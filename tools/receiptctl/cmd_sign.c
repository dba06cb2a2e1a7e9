/*
 * receiptctl sign: sign JSON-lines events with a role key.
 *
 *   receiptctl sign --key SECRET.key.json [--role ROLE] [FILE|-]
 *
 * Each event is decoded, its actor.key_id set to the key's id, signed over
 * the canonical signing bytes (gr_sign.h) and written back as canonical
 * JSON.  With --role, events of other roles pass through unchanged, so one
 * file holding every party's events can be signed party by party.  A line
 * that does not decode is reported and copied unchanged; exit 1 then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gr_json_event.h"
#include "gr_keys.h"
#include "gr_sign.h"
#include "keyfile.h"
#include "lines.h"

int cmd_sign(int argc, char **argv) {
        const char *key_path = NULL, *in_path = NULL;
        int only_role = -1, rc = 2, bad = 0, got;
        gr_keypair kp;
        gr_json_decoder *dec = NULL;
        gr_event *ev = NULL;
        gr_lines lines = {0};
        gr_buf out;
        FILE *in = stdin;
        char errstr[256], *text;
        size_t len;
        const char *line;

        static const struct option opts[] = {
            {"key", required_argument, NULL, 'k'},
            {"role", required_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        cli_parser cp = {.cmd = "sign", .shortopts = "h", .longopts = opts};
        int c;

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'k':
                        key_path = optarg;
                        break;
                case 'r': {
                        gr_role_t r;
                        if (gr_role_t_parse(optarg, strlen(optarg), &r))
                                return cli_usage_error(
                                    "sign", "unknown role '%s'", optarg);
                        only_role = (int)r;
                        break;
                }
                default:
                        return cli_exit(c);
                }
        }
        if (optind < argc)
                in_path = argv[optind++];
        if (optind < argc)
                return cli_usage_error("sign", "unexpected argument '%s'",
                                       argv[optind]);
        if (!key_path)
                return cli_usage_error("sign", "--key is required");
        if (cli_crypto_init("sign") == -1)
                return 1;
        if (!(text = cli_secret_read("sign", key_path, &len)))
                return 2;
        if (gr_keypair_from_json(&kp, text, len, errstr, sizeof(errstr))) {
                fprintf(stderr, "sign: %s: %s\n", key_path, errstr);
                memset(text, 0, len);
                free(text);
                return 2;
        }
        memset(text, 0, len);
        free(text);
        if (in_path && strcmp(in_path, "-") && !(in = fopen(in_path, "rb"))) {
                fprintf(stderr, "sign: cannot open %s\n", in_path);
                goto done;
        }
        rc = 1;
        gr_buf_init(&out);
        if (!(dec = gr_json_decoder_new()) || !(ev = malloc(sizeof(*ev))) ||
            gr_lines_init(&lines, in, GR_EVENT_WIRE_MAX) == -1)
                goto done;
        while ((got = gr_lines_next(&lines, &line, &len)) > 0) {
                gr_err err;
                gr_buf_reset(&out);
                if (got == 2 ||
                    gr_json_event_decode(dec, line, len, ev, &err) == -1) {
                        fprintf(stderr, "sign: line %lu: %s\n", lines.lineno,
                                got == 2 ? "too large" : err.detail);
                        bad = 1;
                        fwrite(line, 1, got == 2 ? lines.max : len, stdout);
                        putchar('\n');
                        continue;
                }
                if (only_role >= 0 && (int)ev->role != only_role) {
                        fwrite(line, 1, len, stdout);
                        putchar('\n');
                        continue;
                }
                gr_event_set_str(ev, GR_F_key_id, kp.key_id,
                                 strlen(kp.key_id), &err);
                if (gr_event_sign(&kp, ev, &err) == -1) {
                        fprintf(stderr, "sign: line %lu: %s\n", lines.lineno,
                                err.detail);
                        bad = 1;
                        continue;
                }
                gr_json_event_encode(ev, &out);
                gr_buf_putc(&out, '\n');
                fwrite(out.data, 1, out.len, stdout);
        }
        rc = (got == -1 || bad || fflush(stdout)) ? 1 : 0;
done:
        gr_keypair_wipe(&kp);
        gr_lines_free(&lines);
        free(ev);
        gr_json_decoder_destroy(dec);
        gr_buf_free(&out);
        if (in != stdin && in)
                fclose(in);
        return rc;
}
