/*
 * Fuzz target for the exported ledger reader (libFuzzer entry point; also
 * driven by fuzz_main.c's replay main).  The input is an exported ledger
 * file: its lines go to gr_ledger_audit_line() (against a registry holding
 * the processor key that sealed the seed corpus), then finish and prove;
 * each line also goes to gr_ledger_row_parse() and
 * gr_inclusion_proof_verify_json() on its own.
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - the report is consistent: ok iff no problem, a problem names a known
 *    kind and carries a bounded detail, every line is counted;
 *  - a row that parses as canonical (0) renders back to the same bytes;
 *  - every inclusion proof the audit prints verifies with the key alone
 *    and names the job it was asked for.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_ledger_audit.h"
#include "gr_output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The processor key of the seed corpus (tests/fuzz/corpus/ledger_audit,
 * sealed with `receiptctl ledger seal`). */
static const char registry[] =
    "[{\"key_id\":\"k-processor\",\"role\":\"processor\","
    "\"public_key\":\"AjKnCKh4+h046ybLnb21rKrG+b7BmF9qiQDAkVh27rM=\","
    "\"valid_from\":\"2026-01-01T00:00:00Z\",\"valid_to\":null}]";

static const char prove_job[] = "run_8841";

static gr_keyring *kr;
static gr_buf out, render;

_Noreturn static void die(const char *what, const char *line, size_t len) {
        fprintf(stderr, "fuzz_ledger_audit: %s\n", what);
        if (line)
                fprintf(stderr, "line: %.*s\n", (int)len, line);
        abort();
}

static void cleanup(void) {
        gr_keyring_destroy(kr);
        kr = NULL;
        gr_buf_free(&out);
        gr_buf_free(&render);
}

static void row_check(const char *line, size_t len) {
        static gr_ledger_row_buf rb;
        char errstr[256];
        int rc;

        errstr[0] = '\0';
        rc = gr_ledger_row_parse(line, len, &rb, errstr, sizeof(errstr));
        if (rc == -1) {
                size_t n = strnlen(errstr, sizeof(errstr));
                if (n == 0 || n == sizeof(errstr))
                        die("row reject without a bounded reason", line, len);
                return;
        }
        if (rc != 0 && rc != 1 && rc != 2)
                die("row parse returned an undocumented value", line, len);
        if (rc != 0)
                return;
        gr_buf_reset(&render);
        gr_ledger_row_to_json(&rb.row, 1, &render);
        if (render.oom || render.len != len ||
            memcmp(render.data, line, len) != 0)
                die("canonical row does not render back to itself", line,
                    len);
}

static void proof_check(const char *line, size_t len) {
        char job[GR_ID_MAX];
        uint64_t seq;
        gr_err err;

        if (gr_inclusion_proof_verify_json(kr, line, len, job, &seq, &err)) {
                size_t n = strnlen(err.detail, sizeof(err.detail));
                if ((unsigned)err.reason >= GR_REJ__CNT || n == 0 ||
                    n == sizeof(err.detail))
                        die("proof reject without reason or bounded detail",
                            line, len);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *)data, *end = p + size;
        char errstr[256];
        gr_ledger_audit *a;
        gr_audit_report rep;
        uint64_t nlines = 0, unproven;
        long proofs;

        if (!kr) {
                if (gr_crypto_init() ||
                    !(kr = gr_keyring_new(registry, sizeof(registry) - 1,
                                          errstr, sizeof(errstr))))
                        die("fixed registry rejected", NULL, 0);
                atexit(cleanup);
        }
        if (!(a = gr_ledger_audit_new(kr, prove_job, errstr, sizeof(errstr))))
                die(errstr, NULL, 0);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                nlines++;
                if (gr_ledger_audit_line(a, p, len))
                        die("out of memory", NULL, 0);
                row_check(p, len);
                proof_check(p, len);
                p += len + (nl != NULL);
        }
        gr_ledger_audit_finish(a, &rep);
        if (rep.lines != nlines)
                die("report does not count every line", NULL, 0);
        if (rep.ok != (rep.problem == GR_AUDIT_NONE))
                die("ok disagrees with problem", NULL, 0);
        if ((unsigned)rep.problem >= GR_AUDIT__CNT)
                die("problem out of range", NULL, 0);
        if (!rep.ok) {
                size_t n = strnlen(rep.detail, sizeof(rep.detail));
                if (n == 0 || n == sizeof(rep.detail))
                        die("problem without a bounded detail", NULL, 0);
                if (rep.line == 0 || rep.line > nlines)
                        die("problem line outside the input", NULL, 0);
        }
        if (rep.heads_valid > rep.heads || rep.unanchored > rep.rows)
                die("report counts inconsistent", NULL, 0);

        gr_buf_reset(&out);
        proofs = gr_ledger_audit_prove(a, &out, &unproven);
        if (proofs < 0)
                die("out of memory", NULL, 0);
        if (proofs > 0) {
                const char *q = out.data, *qend = out.data + out.len;
                long seen = 0;
                while (q < qend) {
                        const char *nl = memchr(q, '\n', (size_t)(qend - q));
                        size_t len = nl ? (size_t)(nl - q) : (size_t)(qend - q);
                        char job[GR_ID_MAX];
                        uint64_t seq;
                        gr_err err;
                        if (len) {
                                if (gr_inclusion_proof_verify_json(
                                        kr, q, len, job, &seq, &err))
                                        die(err.detail, q, len);
                                if (strcmp(job, prove_job) != 0)
                                        die("proof names another job", q,
                                            len);
                                seen++;
                        }
                        q += len + (nl != NULL);
                }
                if (seen != proofs)
                        die("proof count differs from lines printed", NULL,
                            0);
        }
        gr_ledger_audit_destroy(a);
        return 0;
}
