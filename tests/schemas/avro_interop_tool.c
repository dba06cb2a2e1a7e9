/*
 * Helper for the Avro interop test (avro_interop.py): the C side of the
 * exchange with the Apache reference implementation (python3-avro).
 * Lines in, lines out, so the test needs no broker:
 *
 *   avro_interop_tool encode     JSON events in; per valid event:
 *                                canonical JSON \t Confluent hex \t single-object hex
 *   avro_interop_tool decode     hex messages in (any framing); per line:
 *                                canonical JSON, or "REJECT reason: detail"
 *   avro_interop_tool decisions  JSON events in, through the engine with the
 *                                default policy; per decision:
 *                                decision JSON \t Confluent hex
 *   avro_interop_tool fingerprint FILE...   CRC-64-AVRO of each schema (hex)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_avro_pcf.h"
#include "gr_codec.h"
#include "gr_engine.h"
#include "gr_json_event.h"
#include "gr_output.h"

#define LINE_MAX_LEN (256 * 1024)

static gr_codec *codec;
static gr_event ev;

static void put_hex(const gr_buf *b) {
        for (size_t i = 0; i < b->len; i++)
                printf("%02x", (unsigned char)b->data[i]);
}

static void chomp(char *s) {
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = '\0';
}

static int do_encode(char *line) {
        gr_err err;
        gr_buf j, a, s;

        if (gr_codec_decode(codec, line, strlen(line), &ev, &err))
                return 0;
        gr_buf_init(&j);
        gr_buf_init(&a);
        gr_buf_init(&s);
        gr_json_event_encode(&ev, &j);
        if (gr_codec_encode_event(codec, GR_WIRE_AVRO_CONFLUENT, &ev, &a,
                                  &err) ||
            gr_codec_encode_event(codec, GR_WIRE_AVRO_SINGLE, &ev, &s, &err)) {
                fprintf(stderr, "encode: %s\n", err.detail);
                return -1;
        }
        printf("%s\t", j.data);
        put_hex(&a);
        putchar('\t');
        put_hex(&s);
        putchar('\n');
        gr_buf_free(&j);
        gr_buf_free(&a);
        gr_buf_free(&s);
        return 0;
}

static int do_decode(char *line) {
        size_t n = strlen(line) / 2;
        unsigned char *b = malloc(n + 1);
        gr_err err;

        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (sscanf(line + 2 * i, "%2x", &v) != 1) {
                        free(b);
                        fprintf(stderr, "decode: bad hex\n");
                        return -1;
                }
                b[i] = (unsigned char)v;
        }
        if (gr_codec_decode(codec, b, n, &ev, &err)) {
                printf("REJECT %s: %s\n", gr_reject_t_name(err.reason),
                       err.detail);
        } else {
                gr_buf j;
                gr_buf_init(&j);
                gr_json_event_encode(&ev, &j);
                printf("%s\n", j.data);
                gr_buf_free(&j);
        }
        free(b);
        return 0;
}

static void on_decision(void *opaque, const gr_job *job, const gr_decision *d) {
        gr_buf j, a;
        gr_err err;
        (void)opaque;
        (void)job;
        gr_buf_init(&j);
        gr_buf_init(&a);
        gr_decision_to_json(d, NULL, NULL, &j);
        if (gr_codec_encode_decision(codec, GR_WIRE_AVRO_CONFLUENT, d, NULL,
                                     NULL, &a, &err)) {
                fprintf(stderr, "decision: %s\n", err.detail);
                exit(1);
        }
        printf("%s\t", j.data);
        put_hex(&a);
        putchar('\n');
        gr_buf_free(&j);
        gr_buf_free(&a);
}

static int do_fingerprint(int argc, char **argv) {
        for (int i = 2; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                static char buf[1 << 20];
                size_t n;
                uint64_t fp;
                char errstr[256];
                if (!f)
                        return 2;
                n = fread(buf, 1, sizeof(buf), f);
                fclose(f);
                if (gr_avro_fingerprint_compute(buf, n, &fp, errstr,
                                                sizeof(errstr))) {
                        fprintf(stderr, "%s: %s\n", argv[i], errstr);
                        return 1;
                }
                printf("%016llx\n", (unsigned long long)fp);
        }
        return 0;
}

int main(int argc, char **argv) {
        static char line[LINE_MAX_LEN];
        char errstr[256];
        gr_engine *eng = NULL;
        gr_policy pol;
        gr_fsm_sink sink = {NULL, NULL, on_decision, NULL};
        int rc = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s encode|decode|decisions|"
                                "fingerprint\n", argv[0]);
                return 2;
        }
        if (strcmp(argv[1], "fingerprint") == 0)
                return do_fingerprint(argc, argv);
        if (!(codec = gr_codec_new(NULL, errstr, sizeof(errstr)))) {
                fprintf(stderr, "%s\n", errstr);
                return 1;
        }
        if (strcmp(argv[1], "decisions") == 0) {
                gr_policy_default(&pol);
                eng = gr_engine_new(&pol, &sink);
                gr_engine_keep_all(eng);
        }
        while (rc == 0 && fgets(line, sizeof(line), stdin)) {
                gr_err err;
                chomp(line);
                if (!line[0])
                        continue;
                if (strcmp(argv[1], "encode") == 0)
                        rc = do_encode(line);
                else if (strcmp(argv[1], "decode") == 0)
                        rc = do_decode(line);
                else if (eng) {
                        if (gr_codec_decode(codec, line, strlen(line), &ev,
                                            &err) == 0)
                                gr_engine_apply(eng, &ev);
                } else {
                        rc = 2;
                }
        }
        gr_engine_destroy(eng);
        gr_codec_destroy(codec);
        return rc ? 1 : 0;
}
