/*
 * Fuzz target for the state-topic document decoder gr_state_decode()
 * (libFuzzer entry point; also driven by fuzz_main.c's replay main).
 * receiptd restores jobs from these records, so a hostile or corrupt
 * state record must be an error, never a crash.
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a reject says why (bounded, non-empty);
 *  - a decoded job re-encodes to a document that decodes again, and the
 *    second encoding is byte-identical to the first (a restored job
 *    continues exactly as the one that was saved).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_state_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gr_buf b1, b2;

_Noreturn static void die(const char *what, const gr_buf *a, const gr_buf *b) {
        fprintf(stderr, "fuzz_state: %s\n", what);
        if (a && a->data)
                fprintf(stderr, "first:  %s\n", a->data);
        if (b && b->data)
                fprintf(stderr, "second: %s\n", b->data);
        abort();
}

static void cleanup(void) {
        gr_buf_free(&b1);
        gr_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int registered;
        char errstr[256];
        gr_job *j1, *j2;
        size_t n;

        if (!registered) {
                atexit(cleanup);
                registered = 1;
        }
        errstr[0] = '\0';
        if (!(j1 = gr_state_decode((const char *)data, size, errstr,
                                   sizeof(errstr)))) {
                n = strnlen(errstr, sizeof(errstr));
                if (n == 0 || n == sizeof(errstr))
                        die("reject without a bounded reason", NULL, NULL);
                return 0;
        }
        gr_buf_reset(&b1);
        gr_buf_reset(&b2);
        gr_state_encode(j1, &b1);
        gr_job_destroy(j1);
        if (b1.oom)
                die("out of memory", NULL, NULL);
        if (!(j2 = gr_state_decode(b1.data, b1.len, errstr, sizeof(errstr)))) {
                fprintf(stderr, "%s\n", errstr);
                die("re-encoded state rejected", &b1, NULL);
        }
        gr_state_encode(j2, &b2);
        gr_job_destroy(j2);
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
                die("state changed across encode/decode", &b1, &b2);
        return 0;
}
