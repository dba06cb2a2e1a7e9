/*
 * Fuzz target for the JSON event decoder (libFuzzer entry point; also
 * driven by fuzz_main.c's replay main under any compiler).
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a reject always carries a reason and a bounded, printable detail;
 *  - an accepted event round-trips: encode -> decode succeeds and encoding
 *    again gives the same canonical bytes and the same present mask;
 *  - the decoder's plain path and yajl agree (gr_json_decoder_plain()): the
 *    same return, the same reason and detail, the same event, the same ids
 *    in a reject.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_json_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gr_event ev1, ev2, ev3;

static void die(const char *what, const gr_buf *a, const gr_buf *b) {
        fprintf(stderr, "fuzz_json_event: %s\n", what);
        if (a && a->data)
                fprintf(stderr, "first:  %s\n", a->data);
        if (b && b->data)
                fprintf(stderr, "second: %s\n", b->data);
        abort();
}

/* The same input through yajl alone must give what the plain path gave
 * (rc and err from decoding into ev1). */
static void same_as_yajl(const uint8_t *data, size_t size, int rc,
                         const gr_err *err) {
        static gr_json_decoder *y;
        static gr_buf a, b;
        gr_err e3;
        int r3;

        if (!y) {
                if (!(y = gr_json_decoder_new()))
                        die("out of memory", NULL, NULL);
                gr_json_decoder_plain(y, 0);
        }
        r3 = gr_json_event_decode(y, (const char *)data, size, &ev3, &e3);
        if (r3 != rc)
                die("the plain path and yajl disagree on accepting", NULL,
                    NULL);
        if (rc) {
                if (e3.reason != err->reason ||
                    strcmp(e3.detail, err->detail) != 0) {
                        fprintf(stderr, "plain: %s\nyajl:  %s\n", err->detail,
                                e3.detail);
                        die("the plain path and yajl reject differently",
                            NULL, NULL);
                }
                if (gr_event_has(&ev1, GR_F_event_id) !=
                        gr_event_has(&ev3, GR_F_event_id) ||
                    gr_event_has(&ev1, GR_F_job_id) !=
                        gr_event_has(&ev3, GR_F_job_id) ||
                    (gr_event_has(&ev1, GR_F_event_id) &&
                     strcmp(ev1.event_id, ev3.event_id) != 0) ||
                    (gr_event_has(&ev1, GR_F_job_id) &&
                     strcmp(ev1.job_id, ev3.job_id) != 0))
                        die("the plain path and yajl name the reject "
                            "differently", NULL, NULL);
                return;
        }
        gr_buf_reset(&a);
        gr_buf_reset(&b);
        gr_json_event_encode(&ev1, &a);
        gr_json_event_encode(&ev3, &b);
        if (a.oom || b.oom)
                die("out of memory", NULL, NULL);
        if (ev1.present != ev3.present || a.len != b.len ||
            memcmp(a.data, b.data, a.len) != 0)
                die("the plain path and yajl decode differently", &a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static gr_json_decoder *d;
        static gr_buf b1, b2;
        gr_err err;
        int rc;

        if (!d && !(d = gr_json_decoder_new()))
                die("out of memory", NULL, NULL);
        rc = gr_json_event_decode(d, (const char *)data, size, &ev1, &err);
        same_as_yajl(data, size, rc, &err);
        if (rc) {
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
