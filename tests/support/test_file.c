#include "test_file.h"

#include <stdio.h>
#include <stdlib.h>

char *gr_test_slurp(const char *path, size_t *len) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t cap = 0, n = 0, r;

        *len = 0;
        if (!f)
                return NULL;
        do {
                if (n + 4096 > cap) {
                        char *p = realloc(buf, cap = (cap ? cap * 2 : 8192));
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = p;
                }
                r = fread(buf + n, 1, cap - n - 1, f);
                n += r;
        } while (r > 0);
        fclose(f);
        buf[n] = '\0';
        *len = n;
        return buf;
}
