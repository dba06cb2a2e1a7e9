/*
 * JSON event codec: the data-driven cases in cases/ (argv[1]) and the
 * behaviours that need more than an input and a reason.
 *
 *   cases/invalid/<case>/input     must be rejected ...
 *   cases/invalid/<case>/expected  ... with this SPEC reason
 *   cases/valid/<case>/input       must decode, validate and round-trip
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_file.h"

#include "gr_json_event.h"

static const char *cases_dir = "cases";

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted case names under cases_dir/kind; caller frees. */
static char **case_list(const char *kind, size_t *count) {
        char path[1024];
        DIR *dir;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0, cap = 0;

        snprintf(path, sizeof(path), "%s/%s", cases_dir, kind);
        dir = opendir(path);
        assert_non_null(dir);
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        names = realloc(names, cap * sizeof(*names));
                        assert_non_null(names);
                }
                names[n++] = strdup(de->d_name);
        }
        closedir(dir);
        qsort(names, n, sizeof(*names), name_cmp);
        *count = n;
        return names;
}

static void free_list(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

static gr_event ev1, ev2; /* ~8 KiB each: keep them off the stack */

static void test_invalid_cases(void **state) {
        gr_json_decoder *d = gr_json_decoder_new();
        size_t n, failures = 0;
        char **names = case_list("invalid", &n);
        (void)state;

        assert_non_null(d);
        assert_true(n >= 50);
        for (size_t i = 0; i < n; i++) {
                char path[1024];
                size_t len, elen;
                char *in, *want;
                gr_err err;
                int rc;

                snprintf(path, sizeof(path), "%s/invalid/%s/input", cases_dir,
                         names[i]);
                in = gr_test_slurp(path, &len);
                snprintf(path, sizeof(path), "%s/invalid/%s/expected",
                         cases_dir, names[i]);
                want = gr_test_slurp(path, &elen);
                assert_non_null(in);
                assert_non_null(want);
                while (elen && (want[elen - 1] == '\n' || want[elen - 1] == ' '))
                        want[--elen] = '\0';

                memset(&err, 0, sizeof(err));
                rc = gr_json_event_decode(d, in, len, &ev1, &err);
                if (rc != -1 ||
                    strcmp(gr_reject_t_name(err.reason), want) != 0) {
                        print_error("invalid/%s: want %s, got rc=%d %s (%s)\n",
                                    names[i], want, rc,
                                    rc ? gr_reject_t_name(err.reason) : "-",
                                    rc ? err.detail : "");
                        failures++;
                } else if (!err.detail[0] ||
                           strnlen(err.detail, sizeof(err.detail)) >=
                                   sizeof(err.detail)) {
                        print_error("invalid/%s: no bounded detail\n",
                                    names[i]);
                        failures++;
                }
                for (size_t k = 0; err.detail[k]; k++) {
                        unsigned char c = (unsigned char)err.detail[k];
                        if (c < 0x20 || c == 0x7f) {
                                print_error("invalid/%s: unprintable detail\n",
                                            names[i]);
                                failures++;
                                break;
                        }
                }
                free(in);
                free(want);
        }
        free_list(names, n);
        gr_json_decoder_destroy(d);
        assert_int_equal(failures, 0);
}

static void test_valid_cases(void **state) {
        gr_json_decoder *d = gr_json_decoder_new();
        size_t n, failures = 0;
        char **names = case_list("valid", &n);
        gr_buf b1, b2;
        (void)state;

        assert_non_null(d);
        assert_true(n >= 20);
        gr_buf_init(&b1);
        gr_buf_init(&b2);
        for (size_t i = 0; i < n; i++) {
                char path[1024];
                size_t len;
                char *in;
                gr_err err;

                snprintf(path, sizeof(path), "%s/valid/%s/input", cases_dir,
                         names[i]);
                in = gr_test_slurp(path, &len);
                assert_non_null(in);
                gr_buf_reset(&b1);
                gr_buf_reset(&b2);
                if (gr_json_event_decode(d, in, len, &ev1, &err) != 0) {
                        print_error("valid/%s: rejected %s (%s)\n", names[i],
                                    gr_reject_t_name(err.reason), err.detail);
                        failures++;
                } else {
                        gr_json_event_encode(&ev1, &b1);
                        if (gr_json_event_decode(d, b1.data, b1.len, &ev2,
                                                 &err) != 0) {
                                print_error("valid/%s: canonical form "
                                            "rejected %s (%s): %s\n",
                                            names[i],
                                            gr_reject_t_name(err.reason),
                                            err.detail, b1.data);
                                failures++;
                        } else {
                                gr_json_event_encode(&ev2, &b2);
                                if (ev1.present != ev2.present ||
                                    b1.len != b2.len ||
                                    memcmp(b1.data, b2.data, b1.len) != 0) {
                                        print_error("valid/%s: round trip "
                                                    "differs:\n%s\n%s\n",
                                                    names[i], b1.data,
                                                    b2.data);
                                        failures++;
                                }
                        }
                }
                free(in);
        }
        assert_int_equal(b1.oom, 0);
        gr_buf_free(&b1);
        gr_buf_free(&b2);
        free_list(names, n);
        gr_json_decoder_destroy(d);
        assert_int_equal(failures, 0);
}

static const char spec_example[] =
        "{\"event_id\": \"e-0004\", \"job_id\": \"run_8841\", \"attempt\": 1,\n"
        " \"type\": \"execution_failed\", \"occurred_at\": "
        "\"2026-05-25T08:11:33Z\",\n"
        " \"actor\": {\"role\": \"seller\", \"id\": \"worker-17\", "
        "\"key_id\": \"k-worker-17\"},\n"
        " \"sig\": \"c2ln\",\n"
        " \"body\": {\"failure_class\": \"container_oom\", "
        "\"output_written\": false}}\n";

static void test_spec_example_fields(void **state) {
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;
        (void)state;

        assert_int_equal(gr_json_event_decode(d, spec_example,
                                              strlen(spec_example), &ev1, &err),
                         0);
        assert_string_equal(ev1.event_id, "e-0004");
        assert_string_equal(ev1.job_id, "run_8841");
        assert_int_equal(ev1.attempt, 1);
        assert_int_equal(ev1.type, GR_EVT_EXECUTION_FAILED);
        /* 2026-05-25T08:11:33Z */
        assert_int_equal(ev1.occurred_at, INT64_C(1779696693000));
        assert_int_equal(ev1.role, GR_ROLE_SELLER);
        assert_string_equal(ev1.actor_id, "worker-17");
        assert_string_equal(ev1.key_id, "k-worker-17");
        assert_string_equal(ev1.sig, "c2ln");
        assert_int_equal(ev1.failure_class, GR_FAIL_CONTAINER_OOM);
        assert_true(gr_event_has(&ev1, GR_F_output_written));
        assert_int_equal(ev1.output_written, 0);
        assert_false(gr_event_has(&ev1, GR_F_peak_vram_mb));
        assert_false(gr_event_has(&ev1, GR_F_stderr_class));
        gr_json_decoder_destroy(d);
}

static void test_spec_example_canonical(void **state) {
        static const char want[] =
                "{\"event_id\":\"e-0004\",\"job_id\":\"run_8841\",\"attempt\":1,"
                "\"type\":\"execution_failed\","
                "\"occurred_at\":\"2026-05-25T08:11:33Z\",\"sig\":\"c2ln\","
                "\"actor\":{\"role\":\"seller\",\"id\":\"worker-17\","
                "\"key_id\":\"k-worker-17\"},"
                "\"body\":{\"failure_class\":\"container_oom\","
                "\"output_written\":false}}";
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;
        gr_buf b;
        (void)state;

        gr_buf_init(&b);
        assert_int_equal(gr_json_event_decode(d, spec_example,
                                              strlen(spec_example), &ev1, &err),
                         0);
        gr_json_event_encode(&ev1, &b);
        assert_string_equal(b.data, want);
        gr_buf_free(&b);
        gr_json_decoder_destroy(d);
}

/* Nested objects sit where their first field falls in the table; empty
 * ones are left out; failure fields given null come back as null. */
static void test_encode_layout(void **state) {
        static const char in[] =
                "{\"body\":{\"resources\":{\"gpu_seconds\":0.1},"
                "\"failure_class\":null,\"packet_hash\":\"h\","
                "\"price\":{}},\"actor\":{\"role\":\"seller\"},"
                "\"type\":\"seller_packet\",\"occurred_at\":"
                "\"2026-05-25T08:11:33.250Z\",\"job_id\":\"j\","
                "\"event_id\":\"e\",\"attempt\":3}";
        static const char want[] =
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"attempt\":3,"
                "\"type\":\"seller_packet\","
                "\"occurred_at\":\"2026-05-25T08:11:33.250Z\","
                "\"actor\":{\"role\":\"seller\"},"
                "\"body\":{\"failure_class\":null,"
                "\"resources\":{\"gpu_seconds\":0.10000000000000001},"
                "\"packet_hash\":\"h\"}}";
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;
        gr_buf b;
        (void)state;

        gr_buf_init(&b);
        assert_int_equal(gr_json_event_decode(d, in, strlen(in), &ev1, &err),
                         0);
        assert_int_equal(ev1.failure_class, GR_FAIL_NONE);
        assert_true(ev1.gpu_seconds == 0.1);
        gr_json_event_encode(&ev1, &b);
        assert_string_equal(b.data, want);
        gr_buf_free(&b);
        gr_json_decoder_destroy(d);
}

/* A reject must still be able to name the event and the job. */
static void test_ids_kept_on_error(void **state) {
        static const char *const in[] = {
                /* value error before the ids: walk on to collect them */
                "{\"attempt\":\"x\",\"event_id\":\"e-9\",\"job_id\":\"j-9\"}",
                /* validation error */
                "{\"event_id\":\"e-9\",\"job_id\":\"j-9\"}",
                /* syntax error after the ids */
                "{\"event_id\":\"e-9\",\"job_id\":\"j-9\",\"type\":",
                /* unknown type */
                ("{\"event_id\":\"e-9\",\"job_id\":\"j-9\",\"type\":\"zz\","
                 "\"occurred_at\":\"2026-05-25T08:11:33Z\"}"),
        };
        static const gr_reject_t reason[] = {GR_REJ_SCHEMA,
                                             GR_REJ_MISSING_FIELD,
                                             GR_REJ_INVALID_JSON,
                                             GR_REJ_UNKNOWN_TYPE};
        gr_json_decoder *d = gr_json_decoder_new();
        (void)state;

        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                gr_err err;
                assert_int_equal(gr_json_event_decode(d, in[i], strlen(in[i]),
                                                      &ev1, &err),
                                 -1);
                assert_int_equal(err.reason, reason[i]);
                assert_true(gr_event_has(&ev1, GR_F_event_id));
                assert_true(gr_event_has(&ev1, GR_F_job_id));
                assert_string_equal(ev1.event_id, "e-9");
                assert_string_equal(ev1.job_id, "j-9");
        }
        /* The first value error is the one reported. */
        {
                static const char two[] =
                        "{\"attempt\":\"x\",\"event_id\":\"e\","
                        "\"sig\":5,\"job_id\":\"j\"}";
                gr_err err;
                assert_int_equal(gr_json_event_decode(d, two, strlen(two),
                                                      &ev1, &err),
                                 -1);
                assert_int_equal(err.reason, GR_REJ_SCHEMA);
                assert_non_null(strstr(err.detail, "attempt"));
        }
        gr_json_decoder_destroy(d);
}

static void test_wire_limit(void **state) {
        gr_json_decoder *d = gr_json_decoder_new();
        size_t big = GR_EVENT_WIRE_MAX + 1;
        char *buf = malloc(big + 1);
        static const char head[] =
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"type\":\"job_cancelled\","
                "\"occurred_at\":\"2026-05-25T08:11:33Z\","
                "\"actor\":{\"role\":\"buyer\"},\"pad\":\"";
        size_t hl = strlen(head);
        gr_err err;
        (void)state;

        assert_non_null(buf);
        /* Exactly at the limit: a valid event (the padding is unknown). */
        memcpy(buf, head, hl);
        memset(buf + hl, 'x', GR_EVENT_WIRE_MAX - hl - 2);
        memcpy(buf + GR_EVENT_WIRE_MAX - 2, "\"}", 2);
        assert_int_equal(gr_json_event_decode(d, buf, GR_EVENT_WIRE_MAX, &ev1,
                                              &err),
                         0);
        /* One byte over (trailing whitespace, still valid JSON). */
        buf[GR_EVENT_WIRE_MAX] = ' ';
        assert_int_equal(gr_json_event_decode(d, buf, big, &ev1, &err), -1);
        assert_int_equal(err.reason, GR_REJ_TOO_LARGE);
        assert_false(gr_event_has(&ev1, GR_F_event_id));
        free(buf);
        gr_json_decoder_destroy(d);
}

/* Reusing one decoder and one event: nothing leaks from one to the next. */
static void test_reuse(void **state) {
        static const char full[] =
                "{\"event_id\":\"e-1\",\"job_id\":\"j\",\"type\":"
                "\"execution_failed\",\"occurred_at\":\"2026-05-25T08:11:33Z\","
                "\"actor\":{\"role\":\"seller\"},\"body\":{\"failure_class\":"
                "\"timeout\",\"stderr_class\":\"s\",\"resources\":"
                "{\"peak_vram_mb\":1}}}";
        static const char bare[] =
                "{\"event_id\":\"e-2\",\"job_id\":\"j\",\"type\":"
                "\"reservation_expired\",\"occurred_at\":"
                "\"2026-05-25T08:31:00Z\",\"actor\":{\"role\":\"marketplace\"}}";
        static const char broken[] = "{\"event_id\":\"e-3\",\"body\":{\"x\":[";
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;
        (void)state;

        assert_int_equal(gr_json_event_decode(d, full, strlen(full), &ev1, &err), 0);
        assert_true(gr_event_has(&ev1, GR_F_stderr_class));
        assert_int_equal(gr_json_event_decode(d, broken, strlen(broken), &ev1, &err), -1);
        assert_int_equal(err.reason, GR_REJ_INVALID_JSON);
        assert_int_equal(gr_json_event_decode(d, bare, strlen(bare), &ev1, &err), 0);
        assert_string_equal(ev1.event_id, "e-2");
        assert_false(gr_event_has(&ev1, GR_F_stderr_class));
        assert_false(gr_event_has(&ev1, GR_F_peak_vram_mb));
        assert_false(gr_event_has(&ev1, GR_F_failure_class));
        assert_int_equal(ev1.present,
                         ((uint64_t)1 << GR_F_event_id) | ((uint64_t)1 << GR_F_job_id) |
                                 ((uint64_t)1 << GR_F_attempt) | ((uint64_t)1 << GR_F_type) |
                                 ((uint64_t)1 << GR_F_occurred_at) | ((uint64_t)1 << GR_F_role));
        gr_json_decoder_destroy(d);
        gr_json_decoder_destroy(NULL);
}

static void expect_reject(const char *in, gr_reject_t reason,
                          const char *in_detail) {
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;

        assert_int_equal(gr_json_event_decode(d, in, strlen(in), &ev1, &err), -1);
        if (err.reason != reason || !strstr(err.detail, in_detail))
                print_error("%s -> %s (%s)\n", in, gr_reject_t_name(err.reason),
                            err.detail);
        assert_int_equal(err.reason, reason);
        assert_non_null(strstr(err.detail, in_detail));
        gr_json_decoder_destroy(d);
}

static void test_error_details(void **state) {
        (void)state;
        expect_reject("{} x", GR_REJ_INVALID_JSON, "trailing garbage");
        expect_reject("{\"a\":", GR_REJ_INVALID_JSON, "premature EOF");
        expect_reject("{\"a\":\"\xff\"}", GR_REJ_INVALID_JSON, "UTF8");
        expect_reject("[]", GR_REJ_SCHEMA, "JSON object");
        expect_reject("[1,2,3]", GR_REJ_SCHEMA, "not an array");
        expect_reject("\"s\"", GR_REJ_SCHEMA, "JSON object");
        expect_reject("42", GR_REJ_SCHEMA, "JSON object");
        /* ... but not JSON at all outranks not an object */
        expect_reject("[1,2,3] x", GR_REJ_INVALID_JSON, "trailing garbage");
        expect_reject("42 x", GR_REJ_INVALID_JSON, "trailing garbage");
        expect_reject("[1,", GR_REJ_INVALID_JSON, "premature EOF");
        expect_reject("[1,]", GR_REJ_INVALID_JSON, "");
        expect_reject("{\"x\":[[[[[[[[]]]]]]]]}", GR_REJ_SCHEMA, "nesting");
        expect_reject("{\"body\":[]}", GR_REJ_SCHEMA, "body must be an object");
        expect_reject("{\"body\":{\"price\":1}}", GR_REJ_SCHEMA,
                      "price must be an object");
        expect_reject("{\"attempt\":[1]}", GR_REJ_SCHEMA,
                      "attempt must not be an array");
        expect_reject("{\"body\":{\"resources\":{\"peak_vram_mb\":{}}}}",
                      GR_REJ_SCHEMA,
                      "body.resources.peak_vram_mb must not be an object");
        expect_reject("{\"attempt\":1e400}", GR_REJ_SCHEMA, "attempt");
        expect_reject("{\"attempt\":123456789012345678901}", GR_REJ_SCHEMA,
                      "out of range");
        expect_reject("{\"occurred_at\":1}", GR_REJ_SCHEMA, "RFC 3339");
        expect_reject("{\"job_id\":\"a\\u0000\"}", GR_REJ_SCHEMA, "NUL");
        /* A syntax error outranks an earlier value error. */
        expect_reject("{\"attempt\":\"x\",", GR_REJ_INVALID_JSON, "");
}

/* The depth limit counts the envelope as level 1 and allows 8. */
static void test_depth_boundary(void **state) {
        static const char ok8[] =
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"type\":\"job_cancelled\","
                "\"occurred_at\":\"2026-05-25T08:11:33Z\","
                "\"actor\":{\"role\":\"buyer\"},"
                "\"body\":{\"x\":{\"a\":[{\"b\":[[{}]]}]}}}";
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;
        (void)state;

        assert_int_equal(gr_json_event_decode(d, ok8, strlen(ok8), &ev1, &err), 0);
        gr_json_decoder_destroy(d);
        expect_reject("{\"body\":{\"x\":{\"a\":[{\"b\":[[{\"c\":[]}]]}]}}}",
                      GR_REJ_SCHEMA, "nesting deeper than 8");
}

/* Integers keep all 64 bits; doubles come back bit for bit. */
static void test_numbers(void **state) {
        static const char in[] =
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"type\":\"quote_accepted\","
                "\"occurred_at\":\"2026-05-25T08:03:00Z\","
                "\"actor\":{\"role\":\"marketplace\"},\"body\":{\"quote_id\":"
                "\"q\",\"provider_id\":\"p\",\"gpu\":\"g\",\"vram_gb\":"
                "79.599999999999994,\"window_start\":\"2026-05-25T08:00:00Z\","
                "\"window_end\":\"2026-05-25T08:30:00Z\",\"price\":"
                "{\"amount_minor\":9223372036854775807,\"currency\":\"USD\"}}}";
        gr_json_decoder *d = gr_json_decoder_new();
        gr_err err;
        gr_buf b;
        (void)state;

        gr_buf_init(&b);
        assert_int_equal(gr_json_event_decode(d, in, strlen(in), &ev1, &err), 0);
        assert_true(ev1.vram_gb == 79.6);
        assert_true(ev1.price_amount_minor == INT64_MAX);
        gr_json_event_encode(&ev1, &b);
        assert_int_equal(gr_json_event_decode(d, b.data, b.len, &ev2, &err), 0);
        assert_memory_equal(&ev1.vram_gb, &ev2.vram_gb, sizeof(double));
        assert_true(ev2.price_amount_minor == INT64_MAX);
        assert_non_null(strstr(b.data, "\"amount_minor\":9223372036854775807"));
        gr_buf_free(&b);
        gr_json_decoder_destroy(d);
}

/* Escaped strings are unescaped into yajl's own buffer, which grows past
 * the decoder's arena: long ones must decode intact, and the decoder must
 * stay usable afterwards. */
static void test_long_escaped_strings(void **state) {
        static const char head[] =
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"type\":"
                "\"capacity_checked\",\"occurred_at\":\"2026-05-25T08:06:00Z\","
                "\"actor\":{\"role\":\"verifier\"},\"body\":{\"check\":\"c\","
                "\"result\":\"pass\",\"detail\":\"";
        gr_json_decoder *d = gr_json_decoder_new();
        size_t cap = GR_EVENT_WIRE_MAX, n = 0;
        char *buf = malloc(cap);
        gr_err err;
        (void)state;

        assert_non_null(buf);
        memcpy(buf, head, strlen(head));
        n = strlen(head);
        /* detail: 1000 characters, each written as an escape */
        for (int i = 0; i < 1000; i++) {
                memcpy(buf + n, "\\u0041", 6);
                n += 6;
        }
        memcpy(buf + n, "\",\"x\":\"", 7);
        n += 7;
        /* an unknown key with ~60 KB of escapes: yajl's buffer realloc()s
         * well past the arena */
        while (n + 16 < cap) {
                memcpy(buf + n, "\\n", 2);
                n += 2;
        }
        memcpy(buf + n, "\"}}", 3);
        n += 3;
        for (int round = 0; round < 3; round++) {
                assert_int_equal(gr_json_event_decode(d, buf, n, &ev1, &err), 0);
                assert_int_equal(strlen(ev1.detail), 1000);
                assert_int_equal(ev1.detail[0], 'A');
                assert_int_equal(ev1.detail[999], 'A');
                assert_int_equal(gr_json_event_decode(d, spec_example,
                                                      strlen(spec_example),
                                                      &ev1, &err),
                                 0);
                assert_string_equal(ev1.event_id, "e-0004");
        }
        free(buf);
        gr_json_decoder_destroy(d);
}

/* ---- the plain path against yajl ----------------------------------------
 *
 * The decoder scans plain events itself and hands the rest to yajl
 * (gr_json_decoder_plain()).  For every input both must give the same
 * outcome: the same return, reason and detail, the same canonical event on
 * success, the same ids on a reject. */

/* Decodes in with both paths; returns 1 when they agree, printing the
 * difference otherwise. */
static int paths_agree(gr_json_decoder *d_plain, gr_json_decoder *d_yajl,
                       const char *what, const char *in, size_t len) {
        static gr_buf b1, b2;
        gr_err e1, e2;
        int r1, r2, ok = 1;

        memset(&e1, 0, sizeof(e1));
        memset(&e2, 0, sizeof(e2));
        r1 = gr_json_event_decode(d_plain, in, len, &ev1, &e1);
        r2 = gr_json_event_decode(d_yajl, in, len, &ev2, &e2);
        if (r1 != r2) {
                print_error("%s: plain rc %d, yajl rc %d (%s / %s)\n", what,
                            r1, r2, r1 ? e1.detail : "", r2 ? e2.detail : "");
                return 0;
        }
        if (r1 == 0) {
                gr_buf_reset(&b1);
                gr_buf_reset(&b2);
                gr_json_event_encode(&ev1, &b1);
                gr_json_event_encode(&ev2, &b2);
                assert_false(b1.oom || b2.oom);
                if (ev1.present != ev2.present || b1.len != b2.len ||
                    memcmp(b1.data, b2.data, b1.len) != 0) {
                        print_error("%s: events differ\n  %.*s\n  %.*s\n",
                                    what, (int)b1.len, b1.data, (int)b2.len,
                                    b2.data);
                        ok = 0;
                }
                return ok;
        }
        if (e1.reason != e2.reason || strcmp(e1.detail, e2.detail) != 0) {
                print_error("%s: plain %s \"%s\", yajl %s \"%s\"\n", what,
                            gr_reject_t_name(e1.reason), e1.detail,
                            gr_reject_t_name(e2.reason), e2.detail);
                ok = 0;
        }
        for (int f = GR_F_event_id; f <= GR_F_job_id; f++) {
                const char *v1 = f == GR_F_event_id ? ev1.event_id : ev1.job_id;
                const char *v2 = f == GR_F_event_id ? ev2.event_id : ev2.job_id;
                int h1 = gr_event_has(&ev1, (gr_field_t)f),
                    h2 = gr_event_has(&ev2, (gr_field_t)f);
                if (h1 != h2 || (h1 && strcmp(v1, v2) != 0)) {
                        print_error("%s: the reject's ids differ\n", what);
                        ok = 0;
                }
        }
        return ok;
}

/* Every case, every line of the scenario and canonical data, and inputs
 * at the edges of what the plain path takes. */
static void test_plain_path_agrees(void **state) {
        static const char *const edge[] = {
                /* plain: the scanner decides */
                "{}",
                " \t\r\n{ } \n",
                "[]",
                "[1,2]",
                "5",
                "-0",
                "\"x\"",
                "true",
                "null",
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"attempt\":1}",
                "{\"attempt\":-0.5e+3,\"event_id\":\"e\",\"job_id\":\"j\"}",
                "{\"attempt\":1E2}",
                "{\"attempt\":99999999999999999999}",
                "{\"attempt\":true,\"x\":[{},[],null,false]}",
                "{\"actor\":5}",
                "{\"actor\":{\"role\":\"seller\"},\"actor\":{\"id\":\"a\"}}",
                "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}}",
                "{\"a\":[[[[[[[[[[1]]]]]]]]]]}",
                "{\"occurred_at\":12}",
                "{\"occurred_at\":\"2026-05-25T08:11:33Z\"}",
                "{\"\":1,\"event_id\":\"0123456789abcdef0123456789abcdef\"}",
                /* not plain: yajl decides */
                "",
                "   ",
                "{",
                "{\"event_id\":\"e\\u0041\",\"job_id\":\"j\"}",
                "{\"event_id\":\"\xc3\xa9\",\"job_id\":\"j\"}",
                "{\"event_id\":\"\xff\",\"job_id\":\"j\"}",
                "{\"event_id\":\"a\x7f\"}",
                "{\"event_id\":\"a\x01\"}",
                "\f{}",
                "{}\v",
                "{} x",
                "{}{}",
                "{,}",
                "{\"a\":1,}",
                "{\"a\":[1,]}",
                "{\"a\" 1}",
                "{\"a\":01}",
                "{\"a\":-}",
                "{\"a\":1.}",
                "{\"a\":.5}",
                "{\"a\":1e}",
                "{\"a\":+1}",
                "{\"a\":tru}",
                "{\"a\":nul}",
                "{\"a\":truex}",
                "{\"a\":1]",
                "{\"a\":[1}}",
                "{\"attempt\":1",
                "{\"event_id\":\"e\",\"job_id\":\"j\",\"type\":",
                "{\"a\":\"unterminated",
                "{'a':1}",
                "{\"a\":1 /* c */}",
                "[1,2] x",
                "[1,",
                "5 x",
                "\"x\" y",
                "[]]",
        };
        static const char *const files[] = {"../../data/scenarios.jsonl",
                                            "../../data/canonical.jsonl"};
        static const char *const kinds[] = {"invalid", "valid"};
        unsigned long plain0, given0, plain1, given1;
        size_t failures = 0, lines = 0;
        gr_json_decoder *d_plain = gr_json_decoder_new(),
                        *d_yajl = gr_json_decoder_new();
        (void)state;

        assert_non_null(d_plain);
        assert_non_null(d_yajl);
        gr_json_decoder_plain(d_yajl, 0);
        for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
                char what[32];
                snprintf(what, sizeof(what), "edge case %zu", i);
                gr_json_decoder_counts(d_plain, &plain0, &given0);
                failures += !paths_agree(d_plain, d_yajl, what, edge[i],
                                         strlen(edge[i]));
                gr_json_decoder_counts(d_plain, &plain1, &given1);
                /* the list is in two halves: the empty input starts the
                 * second */
                if (i < 21 && plain1 != plain0 + 1) {
                        print_error("edge case %zu: plain path gave up\n", i);
                        failures++;
                } else if (i >= 21 && given1 != given0 + 1) {
                        print_error("edge case %zu: plain path decided\n", i);
                        failures++;
                }
        }
        for (size_t k = 0; k < 2; k++) {
                size_t n;
                char **names = case_list(kinds[k], &n);
                for (size_t i = 0; i < n; i++) {
                        char path[1024], what[300];
                        size_t len;
                        char *in;
                        snprintf(path, sizeof(path), "%s/%s/%s/input",
                                 cases_dir, kinds[k], names[i]);
                        assert_non_null(in = gr_test_slurp(path, &len));
                        snprintf(what, sizeof(what), "%s/%s", kinds[k],
                                 names[i]);
                        failures += !paths_agree(d_plain, d_yajl, what, in,
                                                 len);
                        free(in);
                }
                free_list(names, n);
        }
        gr_json_decoder_counts(d_plain, &plain0, &given0);
        for (size_t k = 0; k < 2; k++) {
                char path[1024];
                size_t len;
                char *buf, *line, *nl;
                snprintf(path, sizeof(path), "%s/%s", cases_dir, files[k]);
                assert_non_null(buf = gr_test_slurp(path, &len));
                for (line = buf; line < buf + len; line = nl + 1) {
                        char what[300];
                        if (!(nl = memchr(line, '\n', (size_t)(buf + len - line))))
                                nl = buf + len;
                        snprintf(what, sizeof(what), "%s line %zu", files[k],
                                 ++lines);
                        failures += !paths_agree(d_plain, d_yajl, what, line,
                                                 (size_t)(nl - line));
                }
                free(buf);
        }
        gr_json_decoder_counts(d_plain, &plain1, &given1);
        gr_json_decoder_destroy(d_plain);
        gr_json_decoder_destroy(d_yajl);
        assert_int_equal(failures, 0);
        /* The data are plain events: the scanner took nearly all of them. */
        assert_true(lines >= 50);
        assert_true(plain1 - plain0 >= (lines * 9) / 10);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invalid_cases),
                cmocka_unit_test(test_valid_cases),
                cmocka_unit_test(test_spec_example_fields),
                cmocka_unit_test(test_spec_example_canonical),
                cmocka_unit_test(test_encode_layout),
                cmocka_unit_test(test_ids_kept_on_error),
                cmocka_unit_test(test_wire_limit),
                cmocka_unit_test(test_reuse),
                cmocka_unit_test(test_error_details),
                cmocka_unit_test(test_depth_boundary),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_long_escaped_strings),
                cmocka_unit_test(test_plain_path_agrees),
        };
        if (argc > 1)
                cases_dir = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
