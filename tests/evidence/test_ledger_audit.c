/* Ledger audit: tampering is detected and located; inclusion proofs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_keys.h"
#include "gr_ledger_audit.h"
#include "gr_merkle.h"
#include "gr_output.h"
#include "gr_sign.h"

static gr_keypair k_proc, k_stranger, k_seller;
static gr_keyring *ring;

#define MAXL 64

typedef struct ledger {
        char *line[MAXL];
        size_t n;
} ledger;

static void add(ledger *L, const char *s, size_t len) {
        assert_true(L->n < MAXL);
        L->line[L->n] = malloc(len + 1);
        memcpy(L->line[L->n], s, len);
        L->line[L->n][len] = '\0';
        L->n++;
}

static void ledger_free(ledger *L) {
        for (size_t i = 0; i < L->n; i++)
                free(L->line[i]);
        L->n = 0;
}

typedef struct gen_opts {
        const char *tamper_job; /* this row gets settlement=release */
        uint64_t tamper_seq;
        const gr_keypair *head_key_late; /* signs heads from batch `from` */
        size_t late_from;
        size_t tail_rows; /* extra partition-1 rows after the last head */
} gen_opts;

/*
 * The fixture: partition 0 holds jobs run_a, run_b, run_c, four rows each,
 * interleaved a1 b1 c1 a2 b2 c2 ... (12 rows), with a signed tree head
 * after every 4 rows; partition 1 holds run_d with 6 rows and heads after
 * 3 and 6.  Row index = line order among rows: partition 0 rows are
 * indexes 0..11, partition 1 rows 12..17.
 */
static void gen(ledger *L, const gen_opts *o) {
        static const char *const p0_jobs[3] = {"run_a", "run_b", "run_c"};
        char prev[4][65], eid[64], dec[65];
        gr_merkle_frontier fr;
        gr_ledger_row r;
        gr_tree_head th;
        gr_buf b;
        int64_t t0;
        size_t batch = 0;

        gr_time_parse("2026-05-25T08:00:00Z", 20, &t0);
        for (int j = 0; j < 4; j++)
                memset(prev[j], '0', 64), prev[j][64] = '\0';
        gr_buf_init(&b);
        L->n = 0;
        for (int part = 0; part < 2; part++) {
                int nrows = part == 0 ? 12 : 6 + (int)o->tail_rows;
                int per_head = part == 0 ? 4 : 3;
                int nheads = part == 0 ? 3 : 2;
                char pl[64];
                int len = snprintf(pl, sizeof(pl),
                                   "{\"type\":\"partition\",\"partition\":%d}",
                                   part);
                add(L, pl, (size_t)len);
                gr_merkle_frontier_init(&fr);
                for (int i = 0; i < nrows; i++) {
                        int j = part == 0 ? i % 3 : 3;
                        const char *job = part == 0 ? p0_jobs[j] : "run_d";
                        uint64_t seq = part == 0 ? (uint64_t)(i / 3 + 1)
                                                 : (uint64_t)(i + 1);
                        uint8_t lh[GR_HASH_LEN];

                        memset(&r, 0, sizeof(r));
                        snprintf(eid, sizeof(eid), "%s-e%llu", job,
                                 (unsigned long long)seq);
                        r.job_id = job;
                        r.attempt = 1;
                        r.seq = seq;
                        r.transition = (gr_event_type_t)(seq % GR_EVT__CNT);
                        r.event_id = eid;
                        r.occurred_at = t0 + (int64_t)i * 60000;
                        r.capacity = GR_CAP_PASS;
                        r.execution = seq > 2 ? GR_EXEC_FAIL : GR_EXEC_RUNNING;
                        r.output = GR_OUT_NONE;
                        r.evaluation = GR_EVAL_NOT_STARTED;
                        r.settlement = seq > 2 ? GR_SETTLE_HOLD
                                               : GR_SETTLE_PENDING;
                        if (o->tamper_job && !strcmp(job, o->tamper_job) &&
                            seq == o->tamper_seq)
                                r.settlement = GR_SETTLE_RELEASE;
                        r.seller_packet = seq == 2 ? "sha256:51ab" : NULL;
                        if (seq == 3) {
                                gr_sha256_hex(eid, strlen(eid), dec);
                                r.decision = dec;
                        }
                        memcpy(r.prev_hash, prev[j], 65);
                        gr_buf_reset(&b);
                        gr_ledger_row_to_json(&r, 0, &b);
                        gr_sha256_hex(b.data, b.len, r.row_hash);
                        memcpy(prev[j], r.row_hash, 65);
                        gr_buf_reset(&b);
                        gr_ledger_row_to_json(&r, 1, &b);
                        add(L, b.data, b.len);
                        gr_merkle_leaf_hash(b.data, b.len, lh);
                        gr_merkle_frontier_append(&fr, lh);

                        if ((i + 1) % per_head == 0 &&
                            (i + 1) / per_head <= nheads) {
                                const gr_keypair *k = &k_proc;
                                if (o->head_key_late && batch >= o->late_from)
                                        k = o->head_key_late;
                                memset(&th, 0, sizeof(th));
                                th.partition = part;
                                th.tree_size = fr.size;
                                gr_merkle_frontier_root(&fr, th.root_hash);
                                th.timestamp = r.occurred_at;
                                assert_int_equal(gr_tree_head_sign(&th, k), 0);
                                gr_buf_reset(&b);
                                gr_tree_head_to_json(&th, &b);
                                add(L, b.data, b.len);
                                batch++;
                        }
                }
        }
        gr_buf_free(&b);
}

/* Line index (0-based in L) of the n-th row (0-based). */
static size_t row_line(const ledger *L, size_t n) {
        for (size_t i = 0; i < L->n; i++) {
                if (!strncmp(L->line[i], "{\"type\"", 7))
                        continue;
                if (n-- == 0)
                        return i;
        }
        fail_msg("no row %zu", n);
        return 0;
}

static void audit(const ledger *L, gr_audit_report *rep) {
        char es[64];
        gr_ledger_audit *a = gr_ledger_audit_new(ring, NULL, es, sizeof(es));

        assert_non_null(a);
        for (size_t i = 0; i < L->n; i++)
                assert_int_equal(gr_ledger_audit_line(a, L->line[i],
                                                      strlen(L->line[i])),
                                 0);
        gr_ledger_audit_finish(a, rep);
        gr_ledger_audit_destroy(a);
}

static void expect(const ledger *L, gr_audit_problem_t what, size_t row,
                   const char *job, uint64_t seq) {
        gr_audit_report rep;

        audit(L, &rep);
        if (rep.ok || rep.problem != what || rep.row_index != row ||
            (job && strcmp(rep.job_id, job)) || (job && rep.seq != seq))
                fail_msg("got ok=%d %s row %llu line %llu job %s seq %llu: "
                         "%s; want %s row %zu job %s seq %llu",
                         rep.ok, gr_audit_problem_t_name(rep.problem),
                         (unsigned long long)rep.row_index,
                         (unsigned long long)rep.line, rep.job_id,
                         (unsigned long long)rep.seq, rep.detail,
                         gr_audit_problem_t_name(what), row,
                         job ? job : "-", (unsigned long long)seq);
        /* line is 1-based and names the located row */
        assert_int_equal(rep.line, row_line(L, row) + 1);
}

static int setup(void **state) {
        char es[128], pk[64];
        gr_buf b;
        (void)state;

        if (gr_crypto_init() == -1 ||
            gr_keypair_generate(&k_proc, GR_KROLE_PROCESSOR, "k-receiptd", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_stranger, GR_KROLE_PROCESSOR, "k-mallory",
                                es, sizeof(es)) ||
            gr_keypair_generate(&k_seller, GR_KROLE_SELLER, "k-worker-17", es,
                                sizeof(es)))
                return -1;
        gr_buf_init(&b);
        gr_buf_putc(&b, '[');
        gr_keypair_public_to_json(&k_proc, 0, &b);
        gr_buf_putc(&b, ',');
        gr_b64_encode(k_seller.pk, GR_PK_LEN, pk, sizeof(pk));
        gr_buf_printf(&b,
                      "{\"key_id\":\"k-worker-17\",\"role\":\"seller\","
                      "\"public_key\":\"%s\"}]",
                      pk);
        ring = gr_keyring_new(b.data, b.len, es, sizeof(es));
        gr_buf_free(&b);
        return ring ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        gr_keyring_destroy(ring);
        gr_keypair_wipe(&k_proc);
        gr_keypair_wipe(&k_stranger);
        gr_keypair_wipe(&k_seller);
        return 0;
}

static void test_clean(void **state) {
        gen_opts o = {0};
        gr_audit_report rep;
        ledger L;
        (void)state;

        gen(&L, &o);
        audit(&L, &rep);
        if (!rep.ok)
                fail_msg("%s: %s", gr_audit_problem_t_name(rep.problem),
                         rep.detail);
        assert_int_equal(rep.rows, 18);
        assert_int_equal(rep.heads, 5);
        assert_int_equal(rep.heads_valid, 5);
        assert_int_equal(rep.jobs, 4);
        assert_int_equal(rep.partitions, 2);
        assert_int_equal(rep.unanchored, 0);
        ledger_free(&L);

        /* rows after the last head are fine but reported unanchored */
        o.tail_rows = 2;
        gen(&L, &o);
        audit(&L, &rep);
        assert_true(rep.ok);
        assert_int_equal(rep.unanchored, 2);
        ledger_free(&L);

        /* a legitimately different ledger, properly signed, is fine */
        o.tail_rows = 0;
        o.tamper_job = "run_b";
        o.tamper_seq = 2;
        gen(&L, &o);
        audit(&L, &rep);
        assert_true(rep.ok);
        ledger_free(&L);
}

/* Flip every byte of one row, one at a time: always detected, always at
 * that row. */
static void test_flip_every_byte(void **state) {
        gen_opts o = {0};
        ledger L;
        size_t li;
        (void)state;

        gen(&L, &o);
        li = row_line(&L, 5); /* run_c seq 2 */
        size_t len = strlen(L.line[li]);
        for (size_t k = 0; k < len; k++) {
                L.line[li][k] ^= 0x01;
                gr_audit_report rep;
                audit(&L, &rep);
                if (rep.ok || rep.row_index != 5)
                        fail_msg("flip at byte %zu: ok=%d row %llu %s", k,
                                 rep.ok, (unsigned long long)rep.row_index,
                                 rep.detail);
                L.line[li][k] ^= 0x01;
        }
        /* and a specific one: a digit of row_hash -> row_hash_mismatch */
        char *p = strstr(L.line[li], "\"row_hash\":\"") + 12;
        *p = *p == 'a' ? 'b' : 'a';
        expect(&L, GR_AUDIT_ROW_HASH, 5, "run_c", 2);
        ledger_free(&L);
}

static void test_delete_row(void **state) {
        gen_opts o = {0};
        ledger L;
        size_t li;
        (void)state;

        /* run_a seq 2 (row 3) removed: run_a seq 3 (row 6, now row 5) is
         * where the chain breaks */
        gen(&L, &o);
        li = row_line(&L, 3);
        free(L.line[li]);
        memmove(&L.line[li], &L.line[li + 1],
                (L.n - li - 1) * sizeof(L.line[0]));
        L.n--;
        expect(&L, GR_AUDIT_SEQ, 5, "run_a", 3);
        ledger_free(&L);

        /* the last row of partition 0 (run_c seq 4, row 11) removed: no
         * chain notices, the head over 12 rows does, located at the first
         * row its batch covers (row 8) */
        gen(&L, &o);
        li = row_line(&L, 11);
        free(L.line[li]);
        memmove(&L.line[li], &L.line[li + 1],
                (L.n - li - 1) * sizeof(L.line[0]));
        L.n--;
        expect(&L, GR_AUDIT_HEAD_BEYOND_LOG, 8, "run_c", 3);
        ledger_free(&L);
}

static void swap_rows(ledger *L, size_t r1, size_t r2) {
        size_t a = row_line(L, r1), b = row_line(L, r2);
        char *t = L->line[a];
        L->line[a] = L->line[b];
        L->line[b] = t;
}

static void test_swap_rows(void **state) {
        gen_opts o = {0};
        ledger L;
        (void)state;

        /* run_b seq 2 and seq 3 (rows 4 and 7) trade places */
        gen(&L, &o);
        swap_rows(&L, 4, 7);
        expect(&L, GR_AUDIT_SEQ, 4, "run_b", 3);
        ledger_free(&L);

        /* run_a seq 2 and run_b seq 2 (rows 3 and 4, different jobs):
         * every chain still holds; the head of their batch (rows 0..3)
         * or (rows 4..7) does not, located at the first row of batch 0's
         * successor that no longer matches: the batch starting at row 0
         * covers row 3, so row 0 */
        gen(&L, &o);
        swap_rows(&L, 3, 4);
        expect(&L, GR_AUDIT_HEAD_ROOT, 0, "run_a", 1);
        ledger_free(&L);

        /* inside one batch (rows 5 and 6, run_c seq 2 and run_a seq 3) */
        gen(&L, &o);
        swap_rows(&L, 5, 6);
        expect(&L, GR_AUDIT_HEAD_ROOT, 4, "run_b", 2);
        ledger_free(&L);
}

static void test_replace_and_resign(void **state) {
        gen_opts o = {0};
        ledger L;
        gr_audit_report rep;
        (void)state;

        /* run_b seq 2 (row 4) rewritten to settlement=release, its chain
         * recomputed, and every head from that batch on re-signed with a
         * foreign key: located at the first row the forged heads cover */
        o.tamper_job = "run_b";
        o.tamper_seq = 2;
        o.head_key_late = &k_stranger;
        o.late_from = 1;
        gen(&L, &o);
        expect(&L, GR_AUDIT_HEAD_SIGNATURE, 4, "run_b", 2);
        audit(&L, &rep);
        assert_non_null(strstr(rep.detail, "k-mallory"));
        assert_non_null(strstr(rep.detail, "unknown_key"));
        ledger_free(&L);

        /* the same forgery claiming the real processor's key id */
        gr_keypair impostor = k_stranger;
        snprintf(impostor.key_id, sizeof(impostor.key_id), "k-receiptd");
        o.head_key_late = &impostor;
        gen(&L, &o);
        expect(&L, GR_AUDIT_HEAD_SIGNATURE, 4, "run_b", 2);
        audit(&L, &rep);
        assert_non_null(strstr(rep.detail, "bad_signature"));
        ledger_free(&L);

        /* re-signed with a registered key of the wrong role */
        o.head_key_late = &k_seller;
        gen(&L, &o);
        expect(&L, GR_AUDIT_HEAD_SIGNATURE, 4, "run_b", 2);
        audit(&L, &rep);
        assert_non_null(strstr(rep.detail, "unauthorized_role"));
        ledger_free(&L);
        gr_keypair_wipe(&impostor);

        /* replaced with the chain redone but the genuine heads kept: the
         * root no longer matches, located at the batch */
        ledger good;
        gen_opts clean = {0};
        gen(&good, &clean);
        o.head_key_late = NULL;
        gen(&L, &o);
        for (size_t i = 0; i < L.n; i++) {
                if (!strncmp(L.line[i], "{\"type\":\"tree_head\"", 19)) {
                        free(L.line[i]);
                        L.line[i] = strdup(good.line[i]);
                }
        }
        expect(&L, GR_AUDIT_HEAD_ROOT, 4, "run_b", 2);
        ledger_free(&L);
        ledger_free(&good);
}

static void test_heads_inconsistent(void **state) {
        gen_opts o = {0};
        ledger L;
        (void)state;

        /* a genuine older head replayed after a newer one */
        gen(&L, &o);
        size_t first_head = 0;
        while (strncmp(L.line[first_head], "{\"type\":\"tree_head\"", 19))
                first_head++;
        char *dup = strdup(L.line[first_head]);
        /* insert after partition 0's last head (line 15) */
        size_t at = 0;
        for (size_t i = 0, h = 0; i < L.n; i++)
                if (!strncmp(L.line[i], "{\"type\":\"tree_head\"", 19) &&
                    ++h == 3)
                        at = i + 1;
        memmove(&L.line[at + 1], &L.line[at], (L.n - at) * sizeof(char *));
        L.line[at] = dup;
        L.n++;
        expect(&L, GR_AUDIT_HEAD_INCONSISTENT, 4, "run_b", 2);
        ledger_free(&L);

        /* garbage line */
        gen(&L, &o);
        free(L.line[1]);
        L.line[1] = strdup("{\"job_id\":");
        expect(&L, GR_AUDIT_INVALID_LINE, 0, NULL, 0);
        ledger_free(&L);
}

static void test_inclusion_proofs(void **state) {
        gen_opts o = {0};
        ledger L;
        gr_ledger_audit *a;
        gr_audit_report rep;
        char es[128], job[GR_ID_MAX];
        uint64_t seq, unproven;
        gr_buf out;
        gr_err err;
        (void)state;

        o.tail_rows = 1;
        gen(&L, &o);
        /* partition 0, job run_b: 4 rows, all covered */
        a = gr_ledger_audit_new(ring, "run_b", es, sizeof(es));
        for (size_t i = 0; i < L.n; i++)
                gr_ledger_audit_line(a, L.line[i], strlen(L.line[i]));
        gr_ledger_audit_finish(a, &rep);
        assert_true(rep.ok);
        gr_buf_init(&out);
        assert_int_equal(gr_ledger_audit_prove(a, &out, &unproven), 4);
        assert_int_equal(unproven, 0);
        gr_ledger_audit_destroy(a);

        /* each proof verifies with the public key alone */
        gr_buf pubring;
        gr_buf_init(&pubring);
        gr_keypair_public_to_json(&k_proc, 0, &pubring);
        gr_keyring *pub = gr_keyring_new(pubring.data, pubring.len, es,
                                         sizeof(es));
        assert_non_null(pub);
        gr_buf_free(&pubring);
        char *line = out.data, *nl;
        uint64_t want_seq = 1;
        while ((nl = strchr(line, '\n'))) {
                *nl = '\0';
                if (gr_inclusion_proof_verify_json(pub, line, strlen(line),
                                                   job, &seq, &err) != 0)
                        fail_msg("proof %llu: %s",
                                 (unsigned long long)want_seq, err.detail);
                assert_string_equal(job, "run_b");
                assert_int_equal(seq, want_seq++);

                /* tampering with the row inside the proof */
                char *t = strdup(line), *p = strstr(t, "pending");
                if (!p)
                        p = strstr(t, "hold");
                p[0] ^= 1;
                assert_int_equal(gr_inclusion_proof_verify_json(
                                     pub, t, strlen(t), NULL, NULL, &err),
                                 -1);
                assert_int_equal(err.reason, GR_REJ_BAD_SIGNATURE);
                free(t);
                /* a verifier that does not know the processor key */
                gr_keyring *empty = gr_keyring_new("[]", 2, es, sizeof(es));
                assert_int_equal(gr_inclusion_proof_verify_json(
                                     empty, line, strlen(line), NULL, NULL,
                                     &err),
                                 -1);
                assert_int_equal(err.reason, GR_REJ_UNKNOWN_KEY);
                gr_keyring_destroy(empty);
                line = nl + 1;
        }
        assert_int_equal(want_seq, 5);
        gr_buf_free(&out);

        /* run_d's 7th row is after the last head: no proof for it */
        a = gr_ledger_audit_new(ring, "run_d", es, sizeof(es));
        for (size_t i = 0; i < L.n; i++)
                gr_ledger_audit_line(a, L.line[i], strlen(L.line[i]));
        gr_ledger_audit_finish(a, &rep);
        gr_buf_init(&out);
        assert_int_equal(gr_ledger_audit_prove(a, &out, &unproven), 6);
        assert_int_equal(unproven, 1);
        gr_buf_free(&out);
        gr_ledger_audit_destroy(a);
        gr_keyring_destroy(pub);
        ledger_free(&L);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clean),
            cmocka_unit_test(test_flip_every_byte),
            cmocka_unit_test(test_delete_row),
            cmocka_unit_test(test_swap_rows),
            cmocka_unit_test(test_replace_and_resign),
            cmocka_unit_test(test_heads_inconsistent),
            cmocka_unit_test(test_inclusion_proofs),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
