/*
 * receiptctl keygen: make an Ed25519 role key pair.
 *
 *   receiptctl keygen --role seller --id k-worker-17 [--out DIR]
 *       [--valid-from RFC3339]
 *
 * The key counts from --valid-from (default: now) in event time, so a key
 * for events that already happened must be given an earlier --valid-from.
 *
 * Writes DIR/<id>.pub.json (a registry entry: add it to the registry
 * array) and DIR/<id>.key.json (the secret, mode 0600, never overwritten).
 * File formats: evidence/gr_keys.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "gr_keys.h"

/* Create path exclusively with mode and write all of buf. */
static int write_new(const char *path, const char *buf, size_t len,
                     mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
        size_t off = 0;

        if (fd < 0)
                return -1;
        while (off < len) {
                ssize_t n = write(fd, buf + off, len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        close(fd);
                        unlink(path);
                        return -1;
                }
                off += (size_t)n;
        }
        if (fsync(fd) != 0 || close(fd) != 0) {
                unlink(path);
                return -1;
        }
        return 0;
}

int cmd_keygen(int argc, char **argv) {
        const char *role_s = NULL, *id = NULL, *dir = ".", *from_s = NULL;
        char pub_path[4096], key_path[4096], errstr[256];
        gr_key_role_t role;
        gr_keypair kp;
        gr_buf pub, sec;
        int64_t valid_from;
        int rc = 1;

        static const struct option opts[] = {
            {"role", required_argument, NULL, 'r'},
            {"id", required_argument, NULL, 'i'},
            {"out", required_argument, NULL, 'o'},
            {"valid-from", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        cli_parser cp = {.cmd = "keygen", .shortopts = "h", .longopts = opts};
        int c;

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 'r':
                        role_s = optarg;
                        break;
                case 'i':
                        id = optarg;
                        break;
                case 'o':
                        dir = optarg;
                        break;
                case 'f':
                        from_s = optarg;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind < argc)
                return cli_usage_error("keygen", "unexpected argument '%s'",
                                       argv[optind]);
        if (!role_s || !id)
                return cli_usage_error("keygen", "--role and --id are "
                                                 "required");
        if (gr_key_role_t_parse(role_s, strlen(role_s), &role) == -1)
                return cli_usage_error("keygen", "unknown role '%s'", role_s);
        if (from_s) {
                if (gr_time_parse(from_s, strlen(from_s), &valid_from) == -1) {
                        fprintf(stderr,
                                "receiptctl keygen: --valid-from '%s' is not "
                                "an RFC 3339 time\n",
                                from_s);
                        return 2;
                }
        } else {
                /* A key is made now; the registry bounds it in event time
                 * from here on (edit valid_from to backdate it).  Said
                 * once the key exists. */
                valid_from = (int64_t)time(NULL) * 1000;
        }
        if (gr_crypto_init() == -1) {
                fprintf(stderr, "receiptctl keygen: libsodium init failed\n");
                return 1;
        }
        if (gr_keypair_generate(&kp, role, id, errstr, sizeof(errstr)) ==
            -1) {
                fprintf(stderr, "receiptctl keygen: %s\n", errstr);
                return 2;
        }
        snprintf(pub_path, sizeof(pub_path), "%s/%s.pub.json", dir, id);
        snprintf(key_path, sizeof(key_path), "%s/%s.key.json", dir, id);

        gr_buf_init(&pub);
        gr_buf_init(&sec);
        gr_keypair_public_to_json(&kp, valid_from, &pub);
        gr_buf_putc(&pub, '\n');
        gr_keypair_secret_to_json(&kp, &sec);
        gr_buf_putc(&sec, '\n');
        gr_keypair_wipe(&kp);
        if (pub.oom || sec.oom) {
                fprintf(stderr, "receiptctl keygen: out of memory\n");
                goto out;
        }
        /* Secret first: if it cannot be written, no orphan public key. */
        if (write_new(key_path, sec.data, sec.len, 0600) == -1) {
                int e = errno;
                fprintf(stderr, "receiptctl keygen: %s: %s\n", key_path,
                        strerror(e));
                rc = e == EEXIST || e == ENOENT ? 2 : 1;
                goto out;
        }
        if (write_new(pub_path, pub.data, pub.len, 0644) == -1) {
                int e = errno;
                fprintf(stderr, "receiptctl keygen: %s: %s\n", pub_path,
                        strerror(e));
                unlink(key_path);
                rc = e == EEXIST ? 2 : 1;
                goto out;
        }
        if (!from_s) {
                char when[40];
                fprintf(stderr,
                        "receiptctl keygen: the key is valid from now (%s): "
                        "for events, decisions or ledgers of earlier times "
                        "give --valid-from RFC3339\n",
                        gr_time_format(valid_from, when, sizeof(when)));
        }
        printf("public key: %s\nsecret key: %s (keep it private)\n%s",
               pub_path, key_path, pub.data);
        rc = 0;
out:
        gr_buf_wipe(&sec);
        gr_buf_free(&pub);
        return rc;
}
