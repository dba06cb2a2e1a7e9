#include "test_file.h"

#include <dirent.h>
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

int gr_test_each_file(const char *dir, const char *sub, gr_test_file_fn *fn,
                      void *arg) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char path[4096];
                size_t len;
                char *buf;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s%s%s", dir, de->d_name,
                         sub ? "/" : "", sub ? sub : "");
                if (!(buf = gr_test_slurp(path, &len)))
                        continue;
                fn(de->d_name, buf, len, arg);
                free(buf);
                n++;
        }
        closedir(d);
        return n;
}
