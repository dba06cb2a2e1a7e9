/*
 * Replay main for the fuzz targets: runs saved inputs (files, or every
 * file in the directories given) through LLVMFuzzerTestOneInput, so the
 * corpus is a regression test under any compiler, without libFuzzer.
 *
 *   fuzz_json_event_replay tests/fuzz/corpus/json_event [crash-...]
 *
 * Exit 0 when every input ran (a failing input aborts), 2 when an input
 * cannot be read or none was given.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, r;

        if (!f) {
                perror(path);
                return -1;
        }
        do {
                if (len == cap) {
                        uint8_t *p = realloc(buf, cap = cap ? cap * 2 : 4096);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return -1;
                        }
                        buf = p;
                }
                r = fread(buf + len, 1, cap - len, f);
                len += r;
        } while (r > 0);
        fclose(f);
        /* An exact-size copy, so ASan sees any read past the input. */
        {
                uint8_t *exact = malloc(len ? len : 1);
                if (!exact) {
                        free(buf);
                        return -1;
                }
                memcpy(exact, buf, len);
                free(buf);
                LLVMFuzzerTestOneInput(exact, len);
                free(exact);
        }
        return 0;
}

int main(int argc, char **argv) {
        size_t runs = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) == -1) {
                        perror(argv[i]);
                        return 2;
                }
                if (S_ISDIR(st.st_mode)) {
                        DIR *dir = opendir(argv[i]);
                        struct dirent *de;
                        if (!dir) {
                                perror(argv[i]);
                                return 2;
                        }
                        while ((de = readdir(dir))) {
                                char path[4096];
                                if (de->d_name[0] == '.')
                                        continue;
                                snprintf(path, sizeof(path), "%s/%s", argv[i],
                                         de->d_name);
                                if (run_file(path) == -1) {
                                        closedir(dir);
                                        return 2;
                                }
                                runs++;
                        }
                        closedir(dir);
                } else {
                        if (run_file(argv[i]) == -1)
                                return 2;
                        runs++;
                }
        }
        printf("%zu inputs replayed\n", runs);
        return runs ? 0 : 2;
}
