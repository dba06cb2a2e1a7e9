/* Job state lifetime, the duplicate set, and footprint accounting. */
#include "gr_job.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int gr_str_set(char **dst, const char *src) {
        char *p = NULL;
        if (src && !(p = strdup(src)))
                return -1;
        free(*dst);
        *dst = p;
        return 0;
}

static void attempt_free(gr_attempt *a) {
        char **strs[] = {&a->check,          &a->worker_status,
                         &a->capacity_detail, &a->worker_id,
                         &a->container_image, &a->command,
                         &a->model_hash,      &a->input_manifest_hash,
                         &a->stderr_class,    &a->output_hash,
                         &a->output_path,     &a->evaluation_rule,
                         &a->review_note};
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
                free(*strs[i]);
                *strs[i] = NULL;
        }
}

void gr_attempt_reset(gr_attempt *a) {
        attempt_free(a);
        memset(a, 0, sizeof(*a));
        a->capacity = GR_CAP_UNKNOWN;
        a->execution = GR_EXEC_NOT_STARTED;
        a->output = GR_OUT_NONE;
        a->evaluation = GR_EVAL_NOT_STARTED;
        a->capacity_at = a->started_at = a->failed_at = a->completed_at =
            a->delivered_at = a->evaluated_at = a->cancelled_at =
                a->reviewed_at = GR_TIME_NONE;
        a->failure_class = GR_FAIL_NONE;
        a->output_written = -1;
        a->review_settlement = GR_SETTLE_PENDING;
}

gr_job *gr_job_new(const char *job_id) {
        gr_job *job = calloc(1, sizeof(*job));
        if (!job)
                return NULL;
        if (!(job->job_id = strdup(job_id))) {
                free(job);
                return NULL;
        }
        job->attempt = 1;
        job->time = GR_TIME_NONE;
        job->settlement = GR_SETTLE_PENDING;
        job->retry = GR_RETRY_NONE;
        job->reason = GR_REASON_IN_PROGRESS;
        job->rule = GR_RULE_NONE;
        job->seller.failure_class = GR_FAIL_NONE;
        job->buyer.observed_failure_class = GR_FAIL_NONE;
        gr_attempt_reset(&job->cur);
        return job;
}

int gr_job_party_add(gr_job *job, gr_role_t role, const char *id) {
        gr_party *p;

        if ((role != GR_ROLE_BUYER && role != GR_ROLE_SELLER) || !id || !*id ||
            gr_job_is_party(job, role, id) ||
            job->nparties >= GR_JOB_PARTIES_MAX)
                return 0;
        if (!(p = realloc(job->parties,
                          (size_t)(job->nparties + 1) * sizeof(*p))))
                return -1;
        job->parties = p;
        if (!(p[job->nparties].id = strdup(id)))
                return -1;
        p[job->nparties].role = role;
        job->nparties++;
        return 0;
}

int gr_job_is_party(const gr_job *job, gr_role_t role, const char *id) {
        if (!job || !id)
                return 0;
        for (int i = 0; i < job->nparties; i++)
                if (job->parties[i].role == role &&
                    !strcmp(job->parties[i].id, id))
                        return 1;
        return 0;
}

void gr_job_destroy(gr_job *job) {
        if (!job)
                return;
        for (int i = 0; i < job->nparties; i++)
                free(job->parties[i].id);
        free(job->parties);
        free(job->job_id);
        free(job->quote.quote_id);
        free(job->quote.provider_id);
        free(job->quote.gpu);
        free(job->quote.region);
        free(job->quote.driver_family);
        free(job->quote.price_currency);
        free(job->seller.packet_hash);
        free(job->seller.quote_id);
        free(job->seller.worker_id);
        free(job->buyer.packet_hash);
        free(job->buyer.container_image);
        free(job->buyer.command);
        free(job->buyer.model_hash);
        free(job->buyer.input_manifest_hash);
        free(job->buyer.expected_output_path);
        free(job->buyer.evaluation_rule);
        attempt_free(&job->cur);
        free(job->history);
        free(job->seen);
        for (int i = 0; i < job->nparked; i++)
                free(job->parked[i]);
        free(job->parked);
        free(job);
}

/* A fixed, public SipHash key: the set only needs a well-mixed 64-bit id
 * that is the same in every process, so receiptd and replay agree. */
static const unsigned char seen_key[crypto_shorthash_KEYBYTES] =
    "gpu-receipts-ev";

uint64_t gr_event_id_hash(const char *event_id) {
        unsigned char out[crypto_shorthash_BYTES];
        uint64_t h;
        crypto_shorthash(out, (const unsigned char *)event_id,
                         strlen(event_id), seen_key);
        memcpy(&h, out, sizeof(h));
        return h ? h : 1; /* 0 marks an empty slot */
}

static size_t slot_of(uint64_t h, size_t cap) {
        return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

int gr_job_seen_add_hash(gr_job *job, uint64_t h) {
        if (h == 0)
                h = 1;
        if ((job->nseen + 1) * 4 > job->seen_cap * 3) {
                size_t ncap = job->seen_cap ? job->seen_cap * 2 : 8;
                uint64_t *n = calloc(ncap, sizeof(*n));
                if (!n)
                        return -1;
                for (size_t i = 0; i < job->seen_cap; i++) {
                        uint64_t v = job->seen[i];
                        size_t s;
                        if (!v)
                                continue;
                        for (s = slot_of(v, ncap); n[s]; s = (s + 1) & (ncap - 1))
                                ;
                        n[s] = v;
                }
                free(job->seen);
                job->seen = n;
                job->seen_cap = ncap;
        }
        size_t s = slot_of(h, job->seen_cap);
        while (job->seen[s]) {
                if (job->seen[s] == h)
                        return 0;
                s = (s + 1) & (job->seen_cap - 1);
        }
        job->seen[s] = h;
        job->nseen++;
        return 0;
}

int gr_job_seen_hash(const gr_job *job, uint64_t h) {
        if (!job->seen_cap)
                return 0;
        for (size_t s = slot_of(h, job->seen_cap); job->seen[s];
             s = (s + 1) & (job->seen_cap - 1))
                if (job->seen[s] == h)
                        return 1;
        return 0;
}

static size_t slen(const char *s) {
        return s ? strlen(s) + 1 : 0;
}

size_t gr_job_footprint(const gr_job *job) {
        const gr_attempt *a = &job->cur;
        size_t n = sizeof(*job) + slen(job->job_id);
        for (int i = 0; i < job->nparties; i++)
                n += sizeof(gr_party) + slen(job->parties[i].id);
        n += slen(job->quote.quote_id) + slen(job->quote.provider_id) +
             slen(job->quote.gpu) + slen(job->quote.region) +
             slen(job->quote.driver_family) + slen(job->quote.price_currency);
        n += slen(job->seller.packet_hash) + slen(job->seller.quote_id) +
             slen(job->seller.worker_id);
        n += slen(job->buyer.packet_hash) + slen(job->buyer.container_image) +
             slen(job->buyer.command) + slen(job->buyer.model_hash) +
             slen(job->buyer.input_manifest_hash) +
             slen(job->buyer.expected_output_path) +
             slen(job->buyer.evaluation_rule);
        n += slen(a->check) + slen(a->worker_status) +
             slen(a->capacity_detail) + slen(a->worker_id) +
             slen(a->container_image) + slen(a->command) +
             slen(a->model_hash) + slen(a->input_manifest_hash) +
             slen(a->stderr_class) + slen(a->output_hash) +
             slen(a->output_path) + slen(a->evaluation_rule) +
             slen(a->review_note);
        n += job->nhistory * sizeof(*job->history);
        n += job->seen_cap * sizeof(*job->seen);
        n += (size_t)job->nparked * (sizeof(gr_event) + sizeof(gr_event *));
        return n;
}
