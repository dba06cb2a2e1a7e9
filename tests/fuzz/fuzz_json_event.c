/*
 * Fuzz target for the JSON event decoder (libFuzzer entry point; also
 * driven by fuzz_main.c's replay main under any compiler).
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a reject always carries a reason and a bounded, printable detail;
 *  - an accepted event round-trips: encode -> decode succeeds and encoding
 *    again gives the same canonical bytes and the same present mask.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_json_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gr_event ev1, ev2;

static void die(const char *what, const gr_buf *a, const gr_buf *b) {
        fprintf(stderr, "fuzz_json_event: %s\n", what);
        if (a && a->data)
                fprintf(stderr, "first:  %s\n", a->data);
        if (b && b->data)
                fprintf(stderr, "second: %s\n", b->data);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static gr_json_decoder *d;
        static gr_buf b1, b2;
        gr_err err;

        if (!d && !(d = gr_json_decoder_new()))
                die("out of memory", NULL, NULL);
        if (gr_json_event_decode(d, (const char *)data, size, &ev1, &err)) {
                size_t n = strnlen(err.detail, sizeof(err.detail));
                if ((unsigned)err.reason >= GR_REJ__CNT || n == 0 ||
                    n == sizeof(err.detail))
                        die("reject without reason or bounded detail", NULL,
                            NULL);
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)err.detail[i] < 0x20)
                                die("unprintable reject detail", NULL, NULL);
                return 0;
        }
        gr_buf_reset(&b1);
        gr_buf_reset(&b2);
        gr_json_event_encode(&ev1, &b1);
        if (b1.oom)
                die("out of memory", NULL, NULL);
        if (gr_json_event_decode(d, b1.data, b1.len, &ev2, &err)) {
                fprintf(stderr, "%s: %s\n", gr_reject_t_name(err.reason),
                        err.detail);
                die("canonical form rejected", &b1, NULL);
        }
        gr_json_event_encode(&ev2, &b2);
        if (ev1.present != ev2.present || b1.len != b2.len ||
            memcmp(b1.data, b2.data, b1.len) != 0)
                die("round trip changed the event", &b1, &b2);
        return 0;
}
