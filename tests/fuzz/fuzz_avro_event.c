/*
 * Fuzz target for the Avro event decoder behind gr_codec_decode()
 * (libFuzzer entry point; also driven by fuzz_main.c's replay main).
 * The framing is picked by the first byte as in receiptd, so the fuzzer
 * reaches the Confluent and single-object paths (and JSON) from the seeds
 * in corpus/avro_event.
 *
 * Checks, beyond "no crash, no sanitizer report, no huge allocation":
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

static gr_event ev1, ev2;

static void die(const char *what, const gr_buf *a, const gr_buf *b) {
        fprintf(stderr, "fuzz_avro_event: %s\n", what);
        if (a && a->data)
                fprintf(stderr, "first:  %s\n", a->data);
        if (b && b->data)
                fprintf(stderr, "second: %s\n", b->data);
        abort();
}

static gr_codec *c;
static gr_buf wire, j1, j2;

/* avro-c keeps parts of its values where LeakSanitizer cannot see them
 * from a live codec; freeing the codec at exit makes the final leak check
 * meaningful (it is clean then). */
static void cleanup(void) {
        gr_codec_destroy(c);
        c = NULL;
        gr_buf_free(&wire);
        gr_buf_free(&j1);
        gr_buf_free(&j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char errstr[256];
        gr_err err;

        if (!c) {
                if (!(c = gr_codec_new(NULL, errstr, sizeof(errstr))))
                        die(errstr, NULL, NULL);
                atexit(cleanup);
        }
        if (gr_codec_decode(c, data, size, &ev1, &err)) {
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
