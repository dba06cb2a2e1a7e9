/*
 * Fuzz target for the compact state record decoder
 * gr_state_decode_compact() (libFuzzer entry point; also driven by
 * fuzz_main.c's replay main).  receiptd restores jobs from these records,
 * so a hostile or corrupt record must be an error, never a crash, and
 * never an allocation the input cannot account for.
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a reject says why (bounded, non-empty);
 *  - a decoded job re-encodes to a record that decodes again, and the
 *    second encoding is byte-identical to the first;
 *  - the job's JSON document and compact record hold the same state (the
 *    JSON form of the re-decoded job equals that of the first).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_state_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gr_buf b1, b2, j1s, j2s;

_Noreturn static void die(const char *what) {
        fprintf(stderr, "fuzz_state_compact: %s\n", what);
        abort();
}

static void cleanup(void) {
        gr_buf_free(&b1);
        gr_buf_free(&b2);
        gr_buf_free(&j1s);
        gr_buf_free(&j2s);
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
        if (!(j1 = gr_state_decode_compact((const char *)data, size, errstr,
                                           sizeof(errstr)))) {
                n = strnlen(errstr, sizeof(errstr));
                if (n == 0 || n == sizeof(errstr))
                        die("reject without a bounded reason");
                return 0;
        }
        gr_buf_reset(&b1);
        gr_buf_reset(&b2);
        gr_buf_reset(&j1s);
        gr_buf_reset(&j2s);
        gr_state_encode_compact(j1, &b1);
        gr_state_encode(j1, &j1s);
        gr_job_destroy(j1);
        if (b1.oom || j1s.oom)
                die("out of memory");
        if (!(j2 = gr_state_decode_compact(b1.data, b1.len, errstr,
                                           sizeof(errstr)))) {
                fprintf(stderr, "%s\n", errstr);
                die("re-encoded state rejected");
        }
        gr_state_encode_compact(j2, &b2);
        gr_state_encode(j2, &j2s);
        gr_job_destroy(j2);
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
                die("state changed across encode/decode");
        if (j1s.len != j2s.len || memcmp(j1s.data, j2s.data, j1s.len) != 0)
                die("JSON form changed across a compact round trip");
        return 0;
}
