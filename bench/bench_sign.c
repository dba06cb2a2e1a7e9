/*
 * bench_sign: the cost of evidence (Speed).
 *
 *   bench_sign [N_EVENTS]
 *
 * Prints: event sign and verify throughput single-threaded, verify
 * throughput with 1..ncpu threads (the pure function receiptd's pool
 * calls; a keyring is read-only so threads share it), decision signing,
 * and the cost of a signed tree head per batch of 100 and 1000 ledger
 * rows (leaf hashes + frontier + one signature).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gr_hash.h"
#include "gr_json_event.h"
#include "gr_keys.h"
#include "gr_merkle.h"
#include "gr_output.h"
#include "gr_sign.h"

static const char event_json[] =
    "{\"event_id\":\"run_8841-f1\",\"job_id\":\"run_8841\",\"attempt\":1,"
    "\"type\":\"execution_failed\",\"occurred_at\":\"2026-05-25T08:11:33Z\","
    "\"actor\":{\"role\":\"seller\",\"id\":\"worker-17\",\"key_id\":"
    "\"k-worker-17\"},\"body\":{\"failure_class\":\"container_oom\","
    "\"output_written\":false,\"stderr_class\":\"cuda_oom\",\"resources\":{"
    "\"peak_vram_mb\":81920,\"gpu_seconds\":149}}}";

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: the cost of the work itself, however loaded
 * the machine is (wall-clock rates below also depend on other load). */
static double cpu(void) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct work {
        const gr_keyring *kr;
        gr_event *ev;
        size_t from, to;
        size_t bad;
} work;

static void *verify_range(void *arg) {
        work *w = arg;
        gr_err err;

        for (size_t i = w->from; i < w->to; i++)
                if (gr_event_verify(w->kr, &w->ev[i], &err) != 0)
                        w->bad++;
        return NULL;
}

static double verify_threads(const gr_keyring *kr, gr_event *ev, size_t n,
                             int nthreads, size_t *bad) {
        pthread_t th[64];
        work w[64];
        double t0 = now();

        for (int k = 0; k < nthreads; k++) {
                w[k] = (work){kr, ev, n * (size_t)k / (size_t)nthreads,
                              n * (size_t)(k + 1) / (size_t)nthreads, 0};
                pthread_create(&th[k], NULL, verify_range, &w[k]);
        }
        *bad = 0;
        for (int k = 0; k < nthreads; k++) {
                pthread_join(th[k], NULL);
                *bad += w[k].bad;
        }
        return now() - t0;
}

/* A realistic ledger row line (~560 bytes) for leaf i. */
static size_t row_line(char *buf, size_t size, size_t i) {
        return (size_t)snprintf(
            buf, size,
            "{\"job_id\":\"run_%06zu\",\"attempt\":1,\"seq\":%zu,"
            "\"transition\":\"execution_failed\",\"event_id\":\"e-%zu\","
            "\"occurred_at\":\"2026-05-25T08:11:33Z\",\"capacity_status\":"
            "\"pass\",\"execution_status\":\"fail\",\"output_status\":"
            "\"none\",\"evaluation_status\":\"not_started\",\"settlement\":"
            "\"hold\",\"seller_packet\":null,\"buyer_packet\":null,"
            "\"decision\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"
            "d15d6c15b0f00a08\",\"prev_hash\":\"60303ae22b998861bce3b28f33ee"
            "c1be758a213c86c93c076dbe9f558c11c752\",\"row_hash\":\"fd61a03af4"
            "f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13\"}",
            i / 5, i % 5 + 1, i);
}

static void tree_head_cost(const gr_keypair *kp, size_t batch) {
        enum { BATCHES = 200 };
        gr_merkle_frontier f;
        gr_tree_head th;
        gr_buf out;
        double t0, hash_s = 0, sign_s = 0;
        size_t row = 0, bytes = 0;

        char (*lines)[600] = malloc(batch * sizeof(*lines));
        size_t *lens = malloc(batch * sizeof(*lens));

        gr_merkle_frontier_init(&f);
        gr_buf_init(&out);
        for (size_t i = 0; i < batch; i++)
                lens[i] = row_line(lines[i], sizeof(lines[i]), i);
        for (int b = 0; b < BATCHES; b++) {
                double t1 = cpu();
                for (size_t i = 0; i < batch; i++, row++) {
                        uint8_t lh[GR_HASH_LEN];
                        bytes += lens[i];
                        gr_merkle_leaf_hash(lines[i], lens[i], lh);
                        gr_merkle_frontier_append(&f, lh);
                }
                t0 = cpu();
                hash_s += t0 - t1;
                memset(&th, 0, sizeof(th));
                th.tree_size = f.size;
                gr_merkle_frontier_root(&f, th.root_hash);
                th.timestamp = 1779696693000;
                gr_tree_head_sign(&th, kp);
                gr_buf_reset(&out);
                gr_tree_head_to_json(&th, &out);
                sign_s += cpu() - t0;
        }
        printf("tree head per batch of %4zu rows (%zu B/row), CPU: %7.1f us "
               "(leaf hashing %6.1f us = %.2f us/row, root+sign+render "
               "%5.1f us)\n",
               batch, bytes / row, (hash_s + sign_s) / BATCHES * 1e6,
               hash_s / BATCHES * 1e6, hash_s / (double)row * 1e6,
               sign_s / BATCHES * 1e6);
        gr_buf_free(&out);
        free(lines);
        free(lens);
}

int main(int argc, char **argv) {
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
        gr_keypair seller, proc;
        gr_keyring *kr;
        gr_json_decoder *dec;
        gr_event *ev;
        gr_err err;
        gr_buf b;
        char es[256], pk[64];
        double t0, t;
        size_t bad;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        if (n == 0 || gr_crypto_init() == -1)
                return 2;
        gr_keypair_generate(&seller, GR_KROLE_SELLER, "k-worker-17", es,
                            sizeof(es));
        gr_keypair_generate(&proc, GR_KROLE_PROCESSOR, "k-receiptd", es,
                            sizeof(es));
        gr_buf_init(&b);
        gr_b64_encode(seller.pk, GR_PK_LEN, pk, sizeof(pk));
        gr_buf_printf(&b,
                      "[{\"key_id\":\"k-worker-17\",\"role\":\"seller\","
                      "\"public_key\":\"%s\"}]",
                      pk);
        if (!(kr = gr_keyring_new(b.data, b.len, es, sizeof(es)))) {
                fprintf(stderr, "%s\n", es);
                return 1;
        }
        gr_buf_free(&b);

        ev = malloc(n * sizeof(*ev));
        dec = gr_json_decoder_new();
        if (!ev || !dec ||
            gr_json_event_decode(dec, event_json, strlen(event_json), &ev[0],
                                 &err) != 0)
                return 1;
        for (size_t i = 1; i < n; i++) {
                ev[i] = ev[0];
                snprintf(ev[i].event_id, sizeof(ev[i].event_id), "e-%zu", i);
        }

        printf("libsodium %s, sha256 %s, %ld CPUs, %zu events\n",
               sodium_version_string(), gr_sha256_impl(), ncpu, n);
        t0 = cpu();
        for (size_t i = 0; i < n; i++)
                gr_event_sign(&seller, &ev[i], &err);
        t = cpu() - t0;
        printf("event sign   (CPU time): %8.0f events/s (%.1f us each)\n",
               (double)n / t, t / (double)n * 1e6);
        t0 = cpu();
        for (size_t i = 0; i < n; i++)
                gr_event_verify(kr, &ev[i], &err);
        t = cpu() - t0;
        printf("event verify (CPU time): %8.0f events/s (%.1f us each)\n",
               (double)n / t, t / (double)n * 1e6);

        gr_buf_init(&b);
        t0 = cpu();
        for (size_t i = 0; i < n; i++) {
                gr_buf_reset(&b);
                gr_event_signing_bytes(&ev[i], &b);
        }
        t = cpu() - t0;
        printf("canonical bytes (CPU)  : %8.0f events/s (%.2f us each, %zu "
               "B)\n",
               (double)n / t, t / (double)n * 1e6, b.len);
        gr_buf_free(&b);

        for (int k = 1; k <= ncpu && k <= 64; k *= 2) {
                t = verify_threads(kr, ev, n, k, &bad);
                printf("event verify, %d thread%s (wall): %8.0f events/s%s\n",
                       k, k == 1 ? " " : "s", (double)n / t,
                       bad ? "  FAILURES!" : "");
        }
        if (ncpu > 2 && (ncpu & (ncpu - 1))) {
                t = verify_threads(kr, ev, n, (int)ncpu, &bad);
                printf("event verify, %ld threads: %8.0f events/s\n", ncpu,
                       (double)n / t);
        }

        /* decisions */
        {
                gr_decision d;
                memset(&d, 0, sizeof(d));
                gr_sha256_hex("x", 1, d.decision_id);
                d.job_id = "run_8841";
                d.attempt = 1;
                d.seq = 5;
                d.settlement = GR_SETTLE_HOLD;
                d.retry = GR_RETRY_FREE;
                d.reason = GR_REASON_CONTAINER_OOM;
                d.rule = GR_RULE_R7;
                d.line = "job_id=run_8841 attempt=1 capacity=pass "
                         "execution=fail output=none settlement=hold "
                         "reason=container_oom retry=free";
                gr_sha256_hex("r", 1, d.receipt_hash);
                d.policy_hash = "4f2c";
                d.decided_at = 1779696900000;
                size_t nd = n / 4 ? n / 4 : 1;
                gr_buf_init(&b);
                t0 = cpu();
                for (size_t i = 0; i < nd; i++) {
                        gr_buf_reset(&b);
                        gr_decision_sign(&proc, &d, &b);
                }
                t = cpu() - t0;
                printf("decision sign+render (CPU): %8.0f decisions/s (%.1f us "
                       "each)\n",
                       (double)nd / t, t / (double)nd * 1e6);
                gr_buf_free(&b);
        }

        tree_head_cost(&proc, 100);
        tree_head_cost(&proc, 1000);

        /* the auditor's full log: append + proof */
        {
                char es2[64], line[1024];
                gr_merkle_log *log = gr_merkle_log_new(es2, sizeof(es2));
                uint8_t path[GR_MERKLE_PROOF_MAX][GR_HASH_LEN], root[32];
                size_t plen, rows = 100000;
                t0 = cpu();
                for (size_t i = 0; i < rows; i++) {
                        size_t ln = row_line(line, sizeof(line), i);
                        gr_merkle_log_append_data(log, line, ln);
                }
                t = cpu() - t0;
                gr_merkle_log_root(log, rows, root);
                t0 = cpu();
                for (size_t i = 0; i < rows; i += 10)
                        gr_merkle_log_inclusion_prove(log, i, rows, path,
                                                      &plen);
                double tp = cpu() - t0;
                printf("audit log (CPU): append %.2f us/row; inclusion proof in "
                       "%zu rows: %.1f us\n",
                       t / (double)rows * 1e6, rows,
                       tp / (double)(rows / 10) * 1e6);
                gr_merkle_log_destroy(log);
        }

        gr_json_decoder_destroy(dec);
        free(ev);
        gr_keyring_destroy(kr);
        gr_keypair_wipe(&seller);
        gr_keypair_wipe(&proc);
        return 0;
}
