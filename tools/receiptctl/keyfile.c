/* File helpers for the evidence commands. */
#include "keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (16L << 20)

char *cli_file_read(const char *path, size_t *len) {
        FILE *fp = fopen(path, "rb");
        char *p = NULL;
        long n;

        if (!fp)
                return NULL;
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
