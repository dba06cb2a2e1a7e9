/* Parsing Canonical Form and CRC-64-AVRO against the Apache Avro project's
 * own cases (tests/schemas/vectors/avro-schema-tests.txt), read at run time
 * from the path given as argv[1] (GR_AVRO_SCHEMA_TESTS by default). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_avro_pcf.h"

#ifndef GR_AVRO_SCHEMA_TESTS
#define GR_AVRO_SCHEMA_TESTS "avro-schema-tests.txt"
#endif

static const char *vectors_path = GR_AVRO_SCHEMA_TESTS;

typedef struct vcase {
        char name[32];
        gr_buf input;
        gr_buf canonical;
        int has_fp;
        int64_t fp;
} vcase;

#define MAX_CASES 128
static vcase cases[MAX_CASES];
static int ncases;

static void strip_nl(char *s) {
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = '\0';
}

/* The file's format: "// NNN" opens a case; "<<INPUT text" or "<<INPUT"
 * followed by lines up to a line "INPUT"; "<<canonical text";
 * "<<fingerprint n".  Other "//" lines are comments. */
static int load_vectors(const char *path) {
        FILE *f = fopen(path, "r");
        char line[4096];
        vcase *cur = NULL;
        int in_multi = 0;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                strip_nl(line);
                if (in_multi) {
                        if (strcmp(line, "INPUT") == 0) {
                                in_multi = 0;
                                continue;
                        }
                        gr_buf_puts(&cur->input, line);
                        gr_buf_putc(&cur->input, '\n');
                        continue;
                }
                if (strncmp(line, "// ", 3) == 0 && line[3] >= '0' &&
                    line[3] <= '9') {
                        if (ncases == MAX_CASES)
                                break;
                        cur = &cases[ncases++];
                        snprintf(cur->name, sizeof(cur->name), "%.31s", line + 3);
                        gr_buf_init(&cur->input);
                        gr_buf_init(&cur->canonical);
                        continue;
                }
                if (!cur || strncmp(line, "<<", 2) != 0)
                        continue;
                if (strcmp(line, "<<INPUT") == 0)
                        in_multi = 1;
                else if (strncmp(line, "<<INPUT ", 8) == 0)
                        gr_buf_puts(&cur->input, line + 8);
                else if (strncmp(line, "<<canonical ", 12) == 0)
                        gr_buf_puts(&cur->canonical, line + 12);
                else if (strncmp(line, "<<fingerprint ", 14) == 0) {
                        cur->has_fp = 1;
                        cur->fp = strtoll(line + 14, NULL, 10);
                }
        }
        fclose(f);
        return 0;
}

static void test_vectors_loaded(void **state) {
        int nfp = 0;
        (void)state;
        /* The Apache file has 34 cases, 26 of them with a fingerprint. */
        assert_true(ncases >= 34);
        for (int i = 0; i < ncases; i++) {
                assert_true(cases[i].input.len > 0);
                assert_true(cases[i].canonical.len > 0);
                nfp += cases[i].has_fp;
        }
        assert_true(nfp >= 20);
}

static void test_canonical_form(void **state) {
        char errstr[256];
        int failed = 0;
        (void)state;

        for (int i = 0; i < ncases; i++) {
                gr_buf out;
                gr_buf_init(&out);
                errstr[0] = '\0';
                if (gr_avro_pcf_write(cases[i].input.data, cases[i].input.len,
                                      &out, errstr, sizeof(errstr)) != 0 ||
                    strcmp(out.data, cases[i].canonical.data) != 0) {
                        print_error("case %s: got %s (%s), want %s\n",
                                    cases[i].name, out.data ? out.data : "-",
                                    errstr, cases[i].canonical.data);
                        failed++;
                }
                gr_buf_free(&out);
        }
        assert_int_equal(failed, 0);
}

static void test_fingerprint(void **state) {
        char errstr[256];
        int failed = 0;
        (void)state;

        for (int i = 0; i < ncases; i++) {
                uint64_t fp = 0, fp2;
                if (!cases[i].has_fp)
                        continue;
                fp2 = gr_avro_crc64_compute(cases[i].canonical.data,
                                            cases[i].canonical.len);
                if (gr_avro_fingerprint_compute(cases[i].input.data,
                                                cases[i].input.len, &fp,
                                                errstr, sizeof(errstr)) != 0 ||
                    (int64_t)fp != cases[i].fp || (int64_t)fp2 != cases[i].fp) {
                        print_error("case %s: fingerprint %lld / %lld, want "
                                    "%lld\n",
                                    cases[i].name, (long long)fp,
                                    (long long)fp2, (long long)cases[i].fp);
                        failed++;
                }
        }
        assert_int_equal(failed, 0);
}

static void test_empty_crc(void **state) {
        (void)state;
        /* The fingerprint of no bytes is the algorithm's EMPTY constant. */
        assert_true(gr_avro_crc64_compute("", 0) == 0xc15d213aa4d7a795ULL);
}

static void test_logical_types_stripped(void **state) {
        static const char in[] =
            "{\"type\":\"record\",\"name\":\"r\",\"namespace\":\"n\","
            "\"fields\":[{\"name\":\"t\",\"type\":{\"type\":\"long\","
            "\"logicalType\":\"timestamp-millis\"}},{\"name\":\"u\","
            "\"type\":[\"null\",\"r\"]}]}";
        gr_buf out;
        char errstr[128];
        (void)state;

        gr_buf_init(&out);
        assert_int_equal(gr_avro_pcf_write(in, strlen(in), &out, errstr,
                                           sizeof(errstr)),
                         0);
        assert_string_equal(out.data,
                            "{\"name\":\"n.r\",\"type\":\"record\",\"fields\":"
                            "[{\"name\":\"t\",\"type\":\"long\"},{\"name\":"
                            "\"u\",\"type\":[\"null\",\"n.r\"]}]}");
        gr_buf_reset(&out);
        assert_int_equal(gr_avro_pcf_write_flags(in, strlen(in),
                                                 GR_AVRO_PCF_PRIMITIVE_OBJECTS,
                                                 &out, errstr, sizeof(errstr)),
                         0);
        assert_non_null(strstr(out.data, "{\"name\":\"t\",\"type\":"
                                         "{\"type\":\"long\"}}"));
        gr_buf_free(&out);
}

static void test_bad_schemas(void **state) {
        static const char *const bad[] = {
            "",
            "{",
            "42",
            "{\"name\":\"x\"}",
            "{\"type\":\"record\",\"fields\":[]}",
            "{\"type\":\"record\",\"name\":\"r\"}",
            "{\"type\":\"enum\",\"name\":\"e\"}",
            "{\"type\":\"fixed\",\"name\":\"f\"}",
            "{\"type\":\"array\"}",
            "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\"}]}",
        };
        char errstr[256];
        (void)state;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                gr_buf out;
                gr_buf_init(&out);
                errstr[0] = '\0';
                assert_int_equal(gr_avro_pcf_write(bad[i], strlen(bad[i]),
                                                   &out, errstr,
                                                   sizeof(errstr)),
                                 -1);
                assert_true(errstr[0] != '\0');
                gr_buf_free(&out);
        }
}

static void test_deep_nesting_rejected(void **state) {
        gr_buf in, out;
        char errstr[256];
        (void)state;

        gr_buf_init(&in);
        gr_buf_init(&out);
        for (int i = 0; i < 200; i++)
                gr_buf_puts(&in, "{\"type\":\"array\",\"items\":");
        gr_buf_puts(&in, "\"int\"");
        for (int i = 0; i < 200; i++)
                gr_buf_putc(&in, '}');
        assert_int_equal(gr_avro_pcf_write(in.data, in.len, &out, errstr,
                                           sizeof(errstr)),
                         -1);
        gr_buf_free(&in);
        gr_buf_free(&out);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_vectors_loaded),
            cmocka_unit_test(test_canonical_form),
            cmocka_unit_test(test_fingerprint),
            cmocka_unit_test(test_empty_crc),
            cmocka_unit_test(test_logical_types_stripped),
            cmocka_unit_test(test_bad_schemas),
            cmocka_unit_test(test_deep_nesting_rejected),
        };
        int rc;

        if (argc > 1)
                vectors_path = argv[1];
        if (load_vectors(vectors_path) == -1) {
                /* 77: ctest's skip code — the data is not there to test
                 * against, which is not a failure of the code. */
                fprintf(stderr, "skipped: cannot read %s\n", vectors_path);
                return 77;
        }
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        for (int i = 0; i < ncases; i++) {
                gr_buf_free(&cases[i].input);
                gr_buf_free(&cases[i].canonical);
        }
        return rc;
}
