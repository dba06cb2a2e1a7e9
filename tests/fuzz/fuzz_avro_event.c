/*
 * Fuzz target for the Avro event decoder behind gr_codec_decode()
 * (libFuzzer entry point; also driven by fuzz_main.c's replay main).
 * The framing is picked by the first byte as in receiptd, so the fuzzer
 * reaches the Confluent and single-object paths (and JSON) from the seeds
 * in corpus/avro_event.
 *
 * Checks, beyond "no crash, no sanitizer report, no huge allocation":
 *  - the one-pass read of a writer (gr_avro_event.h) and the scan-then-
 *    read order give the same result: return code, reject reason and
 *    detail, present mask and canonical JSON of the event left behind;
 *  - a reject always carries a reason and a bounded, printable detail;
 *  - an accepted event round-trips: Avro encode -> decode succeeds and
 *    gives the same canonical JSON and the same present mask.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_codec.h"
#include "gr_json_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gr_event ev1, ev2, ev0;

static void die(const char *what, const gr_buf *a, const gr_buf *b) {
        fprintf(stderr, "fuzz_avro_event: %s\n", what);
        if (a && a->data)
                fprintf(stderr, "first:  %s\n", a->data);
        if (b && b->data)
                fprintf(stderr, "second: %s\n", b->data);
        abort();
}

static gr_codec *c;
static gr_buf wire, j0, j1, j2;

/* avro-c keeps parts of its values where LeakSanitizer cannot see them
 * from a live codec; freeing the codec at exit makes the final leak check
 * meaningful (it is clean then). */
static void cleanup(void) {
        gr_codec_destroy(c);
        c = NULL;
        gr_buf_free(&wire);
        gr_buf_free(&j0);
        gr_buf_free(&j1);
        gr_buf_free(&j2);
}

/* The event as far as callers can see it: its fields present and their
 * values, spelt canonically. */
static void visible(const gr_event *ev, gr_buf *j) {
        gr_buf_reset(j);
        gr_json_event_encode(ev, j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char errstr[256];
        gr_err err, err0;
        int rc, rc0;

        if (!c) {
                if (!(c = gr_codec_new(NULL, errstr, sizeof(errstr))))
                        die(errstr, NULL, NULL);
                atexit(cleanup);
        }
        memset(&err, 0, sizeof(err));
        memset(&err0, 0, sizeof(err0));
        gr_codec_avro_two_pass(c, 1);
        rc0 = gr_codec_decode(c, data, size, &ev0, &err0);
        gr_codec_avro_two_pass(c, 0);
        rc = gr_codec_decode(c, data, size, &ev1, &err);
        if (rc != rc0 ||
            (rc && (err.reason != err0.reason ||
                    strcmp(err.detail, err0.detail) != 0))) {
                fprintf(stderr, "one-pass %d %d \"%s\", two-pass %d %d "
                        "\"%s\"\n",
                        rc, (int)err.reason, err.detail, rc0,
                        (int)err0.reason, err0.detail);
                die("one-pass and two-pass decodes differ", NULL, NULL);
        }
        visible(&ev0, &j0);
        visible(&ev1, &j1);
        if (ev0.present != ev1.present || strcmp(j0.data, j1.data) != 0)
                die("one-pass and two-pass events differ", &j1, &j0);
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
        gr_buf_reset(&wire);
        gr_buf_reset(&j1);
        gr_buf_reset(&j2);
        if (gr_codec_encode_event(c, GR_WIRE_AVRO_CONFLUENT, &ev1, &wire, &err))
                die(err.detail, NULL, NULL);
        if (gr_codec_decode(c, wire.data, wire.len, &ev2, &err))
                die(err.detail, NULL, NULL);
        gr_json_event_encode(&ev1, &j1);
        gr_json_event_encode(&ev2, &j2);
        if (strcmp(j1.data, j2.data) != 0 || ev1.present != ev2.present)
                die("round trip differs", &j1, &j2);
        return 0;
}
