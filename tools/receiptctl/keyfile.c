/* File helpers for the evidence commands. */
#include "keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_MAX (16L << 20)

static char *read_open(FILE *fp, size_t *len) {
        char *p = NULL;
        long n;

        if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) != 0) {
                fclose(fp);
                return NULL;
        }
        if (n > FILE_MAX) {
                fclose(fp);
                errno = EFBIG;
                return NULL;
        }
        if ((p = malloc((size_t)n + 1)) &&
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

char *cli_file_read(const char *path, size_t *len) {
        FILE *fp = fopen(path, "rb");

        return fp ? read_open(fp, len) : NULL;
}

char *cli_secret_read(const char *cmd, const char *path, size_t *len) {
        FILE *fp = fopen(path, "rb");
        struct stat st;
        char *text;

        if (!fp) {
                fprintf(stderr, "receiptctl %s: %s: %s\n", cmd, path,
                        strerror(errno));
                return NULL;
        }
        /* Checked on the open file, so it is the file that is read. */
        if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
                fprintf(stderr, "receiptctl %s: %s: not a regular file\n",
                        cmd, path);
                fclose(fp);
                return NULL;
        }
        if (st.st_mode & 077) {
                fprintf(stderr,
                        "receiptctl %s: %s is accessible to group or others "
                        "(mode %04o); chmod 600 it\n",
                        cmd, path, (unsigned)(st.st_mode & 07777));
                fclose(fp);
                return NULL;
        }
        errno = 0;
        if (!(text = read_open(fp, len)))
                fprintf(stderr, "receiptctl %s: %s: %s\n", cmd, path,
                        errno ? strerror(errno) : "cannot read");
        return text;
}

int cli_crypto_init(const char *cmd) {
        if (gr_crypto_init() == 0)
                return 0;
        fprintf(stderr, "receiptctl %s: libsodium could not be initialised\n",
                cmd);
        return -1;
}

gr_keyring *cli_keyring_load(const char *cmd, const char *path) {
        char errstr[256], *text;
        gr_keyring *kr;
        size_t len = 0;

        if (!(text = cli_file_read(path, &len))) {
                fprintf(stderr, "receiptctl %s: %s: %s\n", cmd, path,
                        strerror(errno));
                return NULL;
        }
        kr = gr_keyring_new(text, len, errstr, sizeof(errstr));
        free(text);
        if (!kr)
                fprintf(stderr, "receiptctl %s: %s: %s\n", cmd, path, errstr);
        return kr;
}
