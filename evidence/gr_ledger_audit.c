/* Ledger audit: per-job chains, signed tree heads, inclusion proofs. */
#include "gr_ledger_audit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_merkle.h"
#include "gr_output.h"
#include "gr_sign.h"

#define GR__ANAME(N, S) S,
static const char *const audit_names[] = {GR_AUDIT_PROBLEM_MAP(GR__ANAME)};

const char *gr_audit_problem_t_name(gr_audit_problem_t v) {
        if ((int)v < 0 || (int)v >= (int)GR_AUDIT__CNT)
                return "?";
        return audit_names[v];
}

int gr_audit_problem_t_parse(const char *s, size_t len,
                             gr_audit_problem_t *out) {
        for (int i = 0; i < (int)GR_AUDIT__CNT; i++) {
                if (strlen(audit_names[i]) == len &&
                    memcmp(audit_names[i], s, len) == 0) {
                        *out = (gr_audit_problem_t)i;
                        return 0;
                }
        }
        return -1;
}

static const char zero_hash[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* ---- row parsing ------------------------------------------------------- */

static int member_str(json_t *o, const char *k, char *dst, size_t size,
                      int nullable, const char **ptr) {
        json_t *v = json_object_get(o, k);

        if (nullable && json_is_null(v)) {
                *ptr = NULL;
                return 0;
        }
        if (!json_is_string(v) || json_string_length(v) >= size)
                return -1;
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
        *ptr = dst;
        return 0;
}

#define ENUM_MEMBER(o, key, type, dst)                                         \
        (json_is_string(json_object_get(o, key)) &&                            \
         type##_parse(json_string_value(json_object_get(o, key)),              \
                      json_string_length(json_object_get(o, key)),             \
                      &(dst)) == 0)

static int hash_member(json_t *o, const char *k, char dst[65]) {
        json_t *v = json_object_get(o, k);
        const char *s;

        if (!json_is_string(v) || json_string_length(v) != 64)
                return -1;
        s = json_string_value(v);
        for (int i = 0; i < 64; i++)
                if (!((s[i] >= '0' && s[i] <= '9') ||
                      (s[i] >= 'a' && s[i] <= 'f')))
                        return -1;
        memcpy(dst, s, 65);
        return 0;
}

int gr_ledger_row_parse(const char *line, size_t len, gr_ledger_row_buf *rb,
                        char *errstr, size_t errstr_size) {
        gr_ledger_row *r = &rb->row;
        json_error_t jerr;
        json_t *o, *v;
        char h[65];
        gr_buf b;
        int rc = -1;

        memset(rb, 0, sizeof(*rb));
        if (!(o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr))) {
                snprintf(errstr, errstr_size, "not JSON: %s", jerr.text);
                return -1;
        }
        if (!json_is_object(o)) {
                snprintf(errstr, errstr_size, "not a JSON object");
                goto out;
        }
        if (member_str(o, "job_id", rb->job_id, sizeof(rb->job_id), 0,
                       &r->job_id) ||
            member_str(o, "event_id", rb->event_id, sizeof(rb->event_id), 0,
                       &r->event_id)) {
                snprintf(errstr, errstr_size, "job_id/event_id missing");
                goto out;
        }
        v = json_object_get(o, "attempt");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > UINT32_MAX) {
                snprintf(errstr, errstr_size, "attempt must be an integer");
                goto out;
        }
        r->attempt = (uint32_t)json_integer_value(v);
        v = json_object_get(o, "seq");
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
                snprintf(errstr, errstr_size, "seq must be an integer >= 1");
                goto out;
        }
        r->seq = (uint64_t)json_integer_value(v);
        v = json_object_get(o, "occurred_at");
        if (!json_is_string(v) ||
            gr_time_parse(json_string_value(v), json_string_length(v),
                          &r->occurred_at) == -1) {
                snprintf(errstr, errstr_size, "occurred_at must be a time");
                goto out;
        }
        if (!ENUM_MEMBER(o, "transition", gr_event_type_t, r->transition) ||
            !ENUM_MEMBER(o, "capacity_status", gr_capacity_t, r->capacity) ||
            !ENUM_MEMBER(o, "execution_status", gr_exec_t, r->execution) ||
            !ENUM_MEMBER(o, "output_status", gr_output_t, r->output) ||
            !ENUM_MEMBER(o, "evaluation_status", gr_eval_t, r->evaluation) ||
            !ENUM_MEMBER(o, "settlement", gr_settlement_t, r->settlement)) {
                snprintf(errstr, errstr_size,
                         "a status or the transition is missing or unknown");
                goto out;
        }
        if (member_str(o, "seller_packet", rb->seller_packet,
                       sizeof(rb->seller_packet), 1, &r->seller_packet) ||
            member_str(o, "buyer_packet", rb->buyer_packet,
                       sizeof(rb->buyer_packet), 1, &r->buyer_packet) ||
            member_str(o, "decision", rb->decision, sizeof(rb->decision), 1,
                       &r->decision)) {
                snprintf(errstr, errstr_size,
                         "seller_packet/buyer_packet/decision must be "
                         "strings or null");
                goto out;
        }
        if (hash_member(o, "prev_hash", r->prev_hash) ||
            hash_member(o, "row_hash", r->row_hash)) {
                snprintf(errstr, errstr_size,
                         "prev_hash/row_hash must be 64 lower-case hex "
                         "digits");
                goto out;
        }

        /* The row's own renderer makes the bytes that were hashed. */
        gr_buf_init(&b);
        gr_ledger_row_to_json(r, 0, &b);
        if (b.oom) {
                gr_buf_free(&b);
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        gr_sha256_hex(b.data, b.len, h);
        if (sodium_memcmp(h, r->row_hash, 64) != 0) {
                snprintf(errstr, errstr_size,
                         "row_hash %.12s... does not match the row contents "
                         "(%.12s...)",
                         r->row_hash, h);
                rc = 1;
        } else {
                gr_buf_reset(&b);
                gr_ledger_row_to_json(r, 1, &b);
                if (b.oom || b.len != len || memcmp(b.data, line, len)) {
                        snprintf(errstr, errstr_size,
                                 "row is not in canonical form (edited or "
                                 "re-encoded)");
                        rc = 2;
                } else {
                        rc = 0;
                }
        }
        gr_buf_free(&b);
out:
        json_decref(o);
        return rc;
}

/* ---- the audit state --------------------------------------------------- */

typedef struct job_ent {
        char *id; /* owned; NULL = empty slot */
        uint64_t seq;
        char hash[65];
} job_ent;

typedef struct head_ent {
        gr_tree_head th;
        uint64_t line;
} head_ent;

typedef struct row_ent {
        uint64_t line;
        uint64_t row_index;
        const char *job; /* borrowed from the job table, or NULL */
        uint64_t seq;
} row_ent;

typedef struct part {
        int32_t id;
        gr_merkle_log *log;
        row_ent *rows; /* per leaf */
        size_t rows_cap;
        head_ent *heads;
        size_t nheads, heads_cap;
        long good; /* index of the latest valid head, -1 none */
} part;

typedef struct kept {
        char *line; /* owned */
        size_t len;
        int32_t partition;
        uint64_t leaf;
        uint64_t seq;
} kept;

typedef struct problem {
        int set;
        gr_audit_problem_t what;
        uint64_t line, row_index;
        uint64_t leaf;      /* index in its partition, UINT64_MAX none */
        uint64_t range_end; /* head problems: rows [leaf, range_end) */
        int32_t partition;
        char job_id[GR_ID_MAX];
        uint64_t seq;
        char detail[384];
} problem;

struct gr_ledger_audit {
        const gr_keyring *kr;
        char *prove_job;
        uint64_t lines, rows, heads, heads_valid, unanchored;
        int32_t cur;
        part *parts;
        size_t nparts, parts_cap;
        job_ent *jobs;
        size_t njobs, jobs_cap; /* power of two */
        kept *kept;
        size_t nkept, kept_cap;
        problem row_prob;  /* first row problem, in input order */
        problem head_prob; /* first head problem, by located line */
        int finished;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
        size_t c;
        void *np;

        if (need <= *cap)
                return 0;
        c = *cap ? *cap : 16;
        while (c < need)
                c *= 2;
        if (!(np = realloc(*p, c * elem)))
                return -1;
        *p = np;
        *cap = c;
        return 0;
}

gr_ledger_audit *gr_ledger_audit_new(const gr_keyring *kr,
                                     const char *prove_job_id, char *errstr,
                                     size_t errstr_size) {
        gr_ledger_audit *a = calloc(1, sizeof(*a));

        if (!a)
                goto err;
        a->kr = kr;
        a->jobs_cap = 64;
        if (!(a->jobs = calloc(a->jobs_cap, sizeof(*a->jobs))))
                goto err;
        if (prove_job_id && !(a->prove_job = strdup(prove_job_id)))
                goto err;
        return a;
err:
        snprintf(errstr, errstr_size, "out of memory");
        gr_ledger_audit_destroy(a);
        return NULL;
}

void gr_ledger_audit_destroy(gr_ledger_audit *a) {
        if (!a)
                return;
        for (size_t i = 0; i < a->nparts; i++) {
                gr_merkle_log_destroy(a->parts[i].log);
                free(a->parts[i].rows);
                free(a->parts[i].heads);
        }
        free(a->parts);
        if (a->jobs)
                for (size_t i = 0; i < a->jobs_cap; i++)
                        free(a->jobs[i].id);
        free(a->jobs);
        for (size_t i = 0; i < a->nkept; i++)
                free(a->kept[i].line);
        free(a->kept);
        free(a->prove_job);
        free(a);
}

static part *part_get(gr_ledger_audit *a, int32_t id) {
        char es[64];
        part *p;

        for (size_t i = 0; i < a->nparts; i++)
                if (a->parts[i].id == id)
                        return &a->parts[i];
        if (grow((void **)&a->parts, &a->parts_cap, a->nparts + 1,
                 sizeof(*a->parts)))
                return NULL;
        p = &a->parts[a->nparts];
        memset(p, 0, sizeof(*p));
        p->id = id;
        p->good = -1;
        if (!(p->log = gr_merkle_log_new(es, sizeof(es))))
                return NULL;
        a->nparts++;
        return p;
}

static uint64_t fnv1a(const char *s) {
        uint64_t h = 1469598103934665603ull;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

/* Find or insert job id; NULL on ENOMEM. */
static job_ent *job_get(gr_ledger_audit *a, const char *id) {
        size_t mask = a->jobs_cap - 1, i;

        if ((a->njobs + 1) * 2 > a->jobs_cap) {
                size_t ncap = a->jobs_cap * 2;
                job_ent *nj = calloc(ncap, sizeof(*nj));
                if (!nj)
                        return NULL;
                for (size_t k = 0; k < a->jobs_cap; k++) {
                        if (!a->jobs[k].id)
                                continue;
                        i = fnv1a(a->jobs[k].id) & (ncap - 1);
                        while (nj[i].id)
                                i = (i + 1) & (ncap - 1);
                        nj[i] = a->jobs[k];
                }
                free(a->jobs);
                a->jobs = nj;
                a->jobs_cap = ncap;
                mask = ncap - 1;
        }
        for (i = fnv1a(id) & mask; a->jobs[i].id; i = (i + 1) & mask)
                if (!strcmp(a->jobs[i].id, id))
                        return &a->jobs[i];
        if (!(a->jobs[i].id = strdup(id)))
                return NULL;
        a->jobs[i].seq = 0;
        memcpy(a->jobs[i].hash, zero_hash, 65);
        a->njobs++;
        return &a->jobs[i];
}

static void problem_set(problem *pr, gr_audit_problem_t what, uint64_t line,
                        uint64_t row_index, int32_t partition,
                        const char *job_id, uint64_t seq, const char *fmt,
                        ...) __attribute__((format(printf, 8, 9)));

static void problem_set(problem *pr, gr_audit_problem_t what, uint64_t line,
                        uint64_t row_index, int32_t partition,
                        const char *job_id, uint64_t seq, const char *fmt,
                        ...) {
        va_list ap;

        pr->set = 1;
        pr->leaf = UINT64_MAX;
        pr->range_end = 0;
        pr->what = what;
        pr->line = line;
        pr->row_index = row_index;
        pr->partition = partition;
        snprintf(pr->job_id, sizeof(pr->job_id), "%s", job_id ? job_id : "");
        pr->seq = seq;
        va_start(ap, fmt);
        vsnprintf(pr->detail, sizeof(pr->detail), fmt, ap);
        va_end(ap);
}

static int feed_head(gr_ledger_audit *a, const char *line, size_t len) {
        char es[160];
        head_ent h;
        part *p;

        a->heads++;
        if (gr_tree_head_from_json(&h.th, line, len, es, sizeof(es)) == -1) {
                if (!a->row_prob.set)
                        problem_set(&a->row_prob, GR_AUDIT_INVALID_LINE,
                                    a->lines, UINT64_MAX, a->cur, NULL, 0,
                                    "%s", es);
                return 0;
        }
        h.line = a->lines;
        if (!(p = part_get(a, h.th.partition)) ||
            grow((void **)&p->heads, &p->heads_cap, p->nheads + 1,
                 sizeof(*p->heads)))
                return -1;
        p->heads[p->nheads++] = h;
        return 0;
}

static int feed_partition(gr_ledger_audit *a, const char *line, size_t len) {
        json_t *o = json_loadb(line, len, 0, NULL), *v;

        v = json_object_get(o, "partition");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > INT32_MAX) {
                if (!a->row_prob.set)
                        problem_set(&a->row_prob, GR_AUDIT_INVALID_LINE,
                                    a->lines, UINT64_MAX, a->cur, NULL, 0,
                                    "partition line without a valid "
                                    "partition number");
        } else {
                a->cur = (int32_t)json_integer_value(v);
        }
        json_decref(o);
        return part_get(a, a->cur) ? 0 : -1;
}

static int feed_row(gr_ledger_audit *a, const char *line, size_t len) {
        gr_ledger_row_buf rb;
        const gr_ledger_row *r = &rb.row;
        char es[200];
        part *p;
        row_ent *re;
        job_ent *j = NULL;
        uint64_t leaf;
        int rc;

        if (!(p = part_get(a, a->cur)))
                return -1;
        leaf = gr_merkle_log_size(p->log);
        if (grow((void **)&p->rows, &p->rows_cap, leaf + 1, sizeof(*p->rows)) ||
            gr_merkle_log_append_data(p->log, line, len) == -1)
                return -1;
        re = &p->rows[leaf];
        re->line = a->lines;
        re->row_index = a->rows++;
        re->job = NULL;
        re->seq = 0;

        rc = gr_ledger_row_parse(line, len, &rb, es, sizeof(es));
        if (rc == -1) {
                if (!a->row_prob.set) {
                        problem_set(&a->row_prob, GR_AUDIT_INVALID_LINE,
                                    re->line, re->row_index, p->id, NULL, 0,
                                    "not a ledger row: %s", es);
                        a->row_prob.leaf = leaf;
                }
                return 0;
        }
        if (!(j = job_get(a, r->job_id)))
                return -1;
        re->job = j->id;
        re->seq = r->seq;
        if (!a->row_prob.set) {
                if (rc == 1 || rc == 2)
                        problem_set(&a->row_prob,
                                    rc == 1 ? GR_AUDIT_ROW_HASH
                                            : GR_AUDIT_NOT_CANONICAL,
                                    re->line, re->row_index, p->id, j->id,
                                    r->seq, "%s", es);
                else if (r->seq != j->seq + 1)
                        problem_set(&a->row_prob, GR_AUDIT_SEQ, re->line,
                                    re->row_index, p->id, j->id, r->seq,
                                    j->seq == 0
                                        ? "seq %llu is the job's first row "
                                          "(after seq %llu): earlier rows "
                                          "missing or moved"
                                    : r->seq > j->seq + 1
                                        ? "seq %llu follows seq %llu: row(s) "
                                          "missing before this one"
                                        : "seq %llu follows seq %llu: rows "
                                          "out of order or repeated",
                                    (unsigned long long)r->seq,
                                    (unsigned long long)j->seq);
                else if (sodium_memcmp(r->prev_hash, j->hash, 64) != 0)
                        problem_set(&a->row_prob, GR_AUDIT_PREV_HASH,
                                    re->line, re->row_index, p->id, j->id,
                                    r->seq,
                                    "prev_hash %.12s... is not the row_hash "
                                    "of seq %llu (%.12s...)",
                                    r->prev_hash, (unsigned long long)j->seq,
                                    j->hash);
        }
        if (a->row_prob.set && a->row_prob.line == re->line)
                a->row_prob.leaf = leaf;
        /* Follow the chain as written so one bad row is reported once. */
        j->seq = r->seq;
        memcpy(j->hash, r->row_hash, 65);

        if (a->prove_job && !strcmp(a->prove_job, r->job_id)) {
                kept *k;
                if (grow((void **)&a->kept, &a->kept_cap, a->nkept + 1,
                         sizeof(*a->kept)))
                        return -1;
                k = &a->kept[a->nkept];
                if (!(k->line = malloc(len + 1)))
                        return -1;
                memcpy(k->line, line, len);
                k->line[len] = '\0';
                k->len = len;
                k->partition = p->id;
                k->leaf = leaf;
                k->seq = r->seq;
                a->nkept++;
        }
        return 0;
}

int gr_ledger_audit_line(gr_ledger_audit *a, const char *line, size_t len) {
        static const char type_prefix[] = "{\"type\"";

        a->lines++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
        if (len == 0)
                return 0;
        /* Rows are rendered with job_id first; only heads and partition
         * markers start with "type". */
        if (len >= sizeof(type_prefix) - 1 &&
            !memcmp(line, type_prefix, sizeof(type_prefix) - 1)) {
                json_t *o = json_loadb(line, len, 0, NULL);
                const char *t = json_string_value(json_object_get(o, "type"));
                int rc;
                if (t && !strcmp(t, "tree_head")) {
                        rc = feed_head(a, line, len);
                } else if (t && !strcmp(t, "partition")) {
                        rc = feed_partition(a, line, len);
                } else {
                        if (!a->row_prob.set)
                                problem_set(&a->row_prob,
                                            GR_AUDIT_INVALID_LINE, a->lines,
                                            UINT64_MAX, a->cur, NULL, 0,
                                            "unknown line type");
                        rc = 0;
                }
                json_decref(o);
                return rc;
        }
        return feed_row(a, line, len);
}

/* Name the first row at or after leaf `from` of p (or the head itself
 * when the head leaves no existing row unproven). */
static void head_problem(problem *out, const part *p, const head_ent *h,
                         uint64_t from, gr_audit_problem_t what,
                         const char *why) {
        /* detail is bounded; a long reason is cut, never overflows */
        uint64_t size = gr_merkle_log_size(p->log);
        uint64_t to = h->th.tree_size < size ? h->th.tree_size : size;
        problem pr;
        char range[96];

        memset(&pr, 0, sizeof(pr));
        if (from < to)
                snprintf(range, sizeof(range),
                         "; rows %llu..%llu of partition %d (lines "
                         "%llu..%llu) are unproven",
                         (unsigned long long)from,
                         (unsigned long long)(to - 1), (int)p->id,
                         (unsigned long long)p->rows[from].line,
                         (unsigned long long)p->rows[to - 1].line);
        else
                range[0] = '\0';
        if (from < size) {
                const row_ent *re = &p->rows[from];
                problem_set(&pr, what, re->line, re->row_index, p->id,
                            re->job, re->seq, "tree head at line %llu: %s%s",
                            (unsigned long long)h->line, why, range);
        } else {
                problem_set(&pr, what, h->line, UINT64_MAX, p->id, NULL, 0,
                            "tree head at line %llu: %s",
                            (unsigned long long)h->line, why);
        }
        if (from < size)
                pr.leaf = from;
        pr.range_end = to;
        *out = pr;
}

/* The first failing head of a partition is its problem; heads that keep
 * failing right after it widen the range of rows left unproven. */
#define FAIL(p, h, from, what, why)                                            \
        do {                                                                   \
                if (!have) {                                                   \
                        head_problem(&first, p, h, from, what, why);           \
                        have = extending = 1;                                  \
                } else if (extending) {                                        \
                        uint64_t e_ = (h)->th.tree_size < size                 \
                                          ? (h)->th.tree_size                  \
                                          : size;                              \
                        if (e_ > first.range_end)                              \
                                first.range_end = e_;                          \
                }                                                              \
        } while (0)

static void check_heads(gr_ledger_audit *a, part *p) {
        uint64_t size = gr_merkle_log_size(p->log), good_size = 0;
        uint8_t root[GR_HASH_LEN], proof[GR_MERKLE_PROOF_MAX][GR_HASH_LEN];
        char why[300];
        size_t plen;
        gr_err err;
        problem first;
        int have = 0, extending = 0;

        memset(&first, 0, sizeof(first));

        for (size_t i = 0; i < p->nheads; i++) {
                const head_ent *h = &p->heads[i];
                const gr_tree_head *g =
                    p->good >= 0 ? &p->heads[p->good].th : NULL;

                /* Without keys only the hashes are checked (enough to pick
                 * heads for proofs, whose verifier checks signatures). */
                if (a->kr && gr_tree_head_verify(&h->th, a->kr, &err) == -1) {
                        snprintf(why, sizeof(why), "%s (%s)", err.detail,
                                 gr_reject_t_name(err.reason));
                        FAIL(p, h, good_size,
                                     GR_AUDIT_HEAD_SIGNATURE, why);
                        continue;
                }
                if (h->th.tree_size < good_size) {
                        snprintf(why, sizeof(why),
                                 "tree_size %llu shrinks below %llu",
                                 (unsigned long long)h->th.tree_size,
                                 (unsigned long long)good_size);
                        FAIL(p, h, h->th.tree_size,
                                     GR_AUDIT_HEAD_INCONSISTENT, why);
                        continue;
                }
                if (h->th.tree_size > size) {
                        snprintf(why, sizeof(why),
                                 "commits to %llu rows, partition %d has "
                                 "%llu: rows are missing",
                                 (unsigned long long)h->th.tree_size,
                                 (int)p->id, (unsigned long long)size);
                        FAIL(p, h, good_size,
                                     GR_AUDIT_HEAD_BEYOND_LOG, why);
                        continue;
                }
                gr_merkle_log_root(p->log, h->th.tree_size, root);
                if (sodium_memcmp(root, h->th.root_hash, GR_HASH_LEN) != 0) {
                        snprintf(why, sizeof(why),
                                 "root_hash does not match the rows it "
                                 "covers");
                        FAIL(p, h, good_size, GR_AUDIT_HEAD_ROOT,
                                     why);
                        continue;
                }
                /* RFC 9162 consistency between successive signed heads. */
                if (g && g->tree_size > 0 &&
                    (gr_merkle_log_consistency_prove(p->log, g->tree_size,
                                                     h->th.tree_size, proof,
                                                     &plen) == -1 ||
                     !gr_merkle_consistency_verify(
                         g->tree_size, h->th.tree_size, g->root_hash,
                         h->th.root_hash, (const uint8_t(*)[GR_HASH_LEN])proof,
                         plen))) {
                        snprintf(why, sizeof(why),
                                 "not consistent with the previous head");
                        FAIL(p, h, good_size,
                                     GR_AUDIT_HEAD_INCONSISTENT, why);
                        continue;
                }
                p->good = (long)i;
                good_size = h->th.tree_size;
                a->heads_valid++;
                extending = 0;
        }
        a->unanchored += size - good_size;
        if (have && (!a->head_prob.set || first.line < a->head_prob.line))
                a->head_prob = first;
}
#undef FAIL

static void report_fill(gr_audit_report *rep, const problem *pr) {
        rep->ok = 0;
        rep->problem = pr->what;
        rep->line = pr->line;
        rep->row_index = pr->row_index;
        rep->partition = pr->partition;
        memcpy(rep->job_id, pr->job_id, sizeof(rep->job_id));
        rep->seq = pr->seq;
        memcpy(rep->detail, pr->detail, sizeof(rep->detail));
}

void gr_ledger_audit_finish(gr_ledger_audit *a, gr_audit_report *rep) {
        const problem *rp = &a->row_prob, *hp = &a->head_prob;

        if (!a->finished) {
                for (size_t i = 0; i < a->nparts; i++)
                        check_heads(a, &a->parts[i]);
                a->finished = 1;
        }
        memset(rep, 0, sizeof(*rep));
        rep->ok = 1;
        rep->problem = GR_AUDIT_NONE;
        rep->row_index = UINT64_MAX;
        rep->lines = a->lines;
        rep->rows = a->rows;
        rep->heads = a->heads;
        rep->heads_valid = a->heads_valid;
        rep->jobs = a->njobs;
        rep->partitions = a->nparts;
        rep->unanchored = a->unanchored;

        /* A row problem wins when it comes first, or when it lies inside
         * the rows a failing head leaves unproven: it names the exact row
         * where the head can only name the batch. */
        if (rp->set &&
            (!hp->set || rp->line <= hp->line ||
             (rp->partition == hp->partition && rp->leaf != UINT64_MAX &&
              rp->leaf < hp->range_end)))
                report_fill(rep, rp);
        else if (hp->set)
                report_fill(rep, hp);
}

/* ---- inclusion proofs -------------------------------------------------- */

long gr_ledger_audit_prove(const gr_ledger_audit *a, gr_buf *out,
                           uint64_t *unproven) {
        uint8_t path[GR_MERKLE_PROOF_MAX][GR_HASH_LEN];
        char hex[2 * GR_HASH_LEN + 1];
        gr_buf thb;
        long n = 0;

        if (unproven)
                *unproven = 0;
        gr_buf_init(&thb);
        for (size_t i = 0; i < a->nkept; i++) {
                const kept *k = &a->kept[i];
                const part *p = NULL;
                const gr_tree_head *th;
                size_t plen;
                gr_jw w;

                for (size_t j = 0; j < a->nparts; j++)
                        if (a->parts[j].id == k->partition)
                                p = &a->parts[j];
                if (!p || p->good < 0 ||
                    p->heads[p->good].th.tree_size <= k->leaf) {
                        if (unproven)
                                (*unproven)++;
                        continue;
                }
                th = &p->heads[p->good].th;
                if (gr_merkle_log_inclusion_prove(p->log, k->leaf,
                                                  th->tree_size, path,
                                                  &plen) == -1)
                        continue;
                gr_jw_init(&w, out);
                gr_jw_obj_begin(&w);
                gr_jw_kstr(&w, "type", "inclusion_proof");
                gr_jw_kstr(&w, "job_id", a->prove_job);
                gr_jw_kint(&w, "seq", (int64_t)k->seq);
                gr_jw_kint(&w, "partition", k->partition);
                gr_jw_kint(&w, "leaf_index", (int64_t)k->leaf);
                gr_jw_kstr(&w, "row", k->line);
                gr_jw_key(&w, "audit_path");
                gr_jw_arr_begin(&w);
                for (size_t q = 0; q < plen; q++)
                        gr_jw_str(&w, gr_hex(path[q], GR_HASH_LEN, hex));
                gr_jw_arr_end(&w);
                gr_buf_reset(&thb);
                gr_tree_head_to_json(th, &thb);
                gr_jw_key(&w, "tree_head");
                gr_jw_raw(&w, thb.data, thb.len);
                gr_jw_obj_end(&w);
                gr_buf_putc(out, '\n');
                n++;
        }
        n = (out->oom || thb.oom) ? -1 : n;
        gr_buf_free(&thb);
        return n;
}

int gr_inclusion_proof_verify_json(const gr_keyring *kr, const char *json,
                                   size_t len, char job_id_out[GR_ID_MAX],
                                   uint64_t *seq_out, gr_err *err) {
        uint8_t path[GR_MERKLE_PROOF_MAX][GR_HASH_LEN], leaf[GR_HASH_LEN];
        gr_ledger_row_buf rb;
        gr_tree_head th;
        json_error_t jerr;
        json_t *o, *v, *x;
        const char *row, *t;
        char *thjson = NULL, es[200];
        size_t rowlen, plen, i;
        uint64_t index;
        int rc = -1;

        if (job_id_out)
                job_id_out[0] = '\0';
        if (!(o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)))
                return gr_err_set(err, GR_REJ_INVALID_JSON, "%s", jerr.text);
        t = json_string_value(json_object_get(o, "type"));
        if (!t || strcmp(t, "inclusion_proof")) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "type must be \"inclusion_proof\"");
                goto err;
        }
        v = json_object_get(o, "row");
        if (!json_is_string(v)) {
                gr_err_set(err, GR_REJ_MISSING_FIELD, "row required");
                goto err;
        }
        row = json_string_value(v);
        rowlen = json_string_length(v);
        v = json_object_get(o, "leaf_index");
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
                gr_err_set(err, GR_REJ_SCHEMA, "leaf_index must be >= 0");
                goto err;
        }
        index = (uint64_t)json_integer_value(v);
        v = json_object_get(o, "audit_path");
        if (!json_is_array(v) || json_array_size(v) > GR_MERKLE_PROOF_MAX) {
                gr_err_set(err, GR_REJ_SCHEMA, "audit_path must be an array");
                goto err;
        }
        plen = json_array_size(v);
        json_array_foreach(v, i, x) {
                if (!json_is_string(x) ||
                    gr_hex_decode(json_string_value(x), json_string_length(x),
                                  path[i], GR_HASH_LEN) == -1) {
                        gr_err_set(err, GR_REJ_SCHEMA,
                                   "audit_path[%zu] is not a hex hash", i);
                        goto err;
                }
        }
        if (!(x = json_object_get(o, "tree_head")) ||
            !(thjson = json_dumps(x, JSON_COMPACT)) ||
            gr_tree_head_from_json(&th, thjson, strlen(thjson), es,
                                   sizeof(es)) == -1) {
                gr_err_set(err, GR_REJ_SCHEMA, "tree_head missing or bad");
                goto err;
        }
        v = json_object_get(o, "partition");
        if (!json_is_integer(v) || json_integer_value(v) != th.partition) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "partition does not match the tree head's");
                goto err;
        }
        if (gr_tree_head_verify(&th, kr, err) == -1)
                goto err;
        gr_merkle_leaf_hash(row, rowlen, leaf);
        if (!gr_merkle_inclusion_verify(index, th.tree_size, leaf,
                                        (const uint8_t(*)[GR_HASH_LEN])path,
                                        plen, th.root_hash)) {
                gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                           "audit path does not lead from the row to the "
                           "signed root");
                goto err;
        }
        if (gr_ledger_row_parse(row, rowlen, &rb, es, sizeof(es)) != 0) {
                gr_err_set(err, GR_REJ_SCHEMA, "proven row is not a valid "
                           "ledger row: %s", es);
                goto err;
        }
        v = json_object_get(o, "job_id");
        x = json_object_get(o, "seq");
        if ((v && (!json_is_string(v) ||
                   strcmp(json_string_value(v), rb.row.job_id))) ||
            (x && (!json_is_integer(x) ||
                   (uint64_t)json_integer_value(x) != rb.row.seq))) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "job_id/seq do not match the proven row");
                goto err;
        }
        if (job_id_out)
                snprintf(job_id_out, GR_ID_MAX, "%s", rb.row.job_id);
        if (seq_out)
                *seq_out = rb.row.seq;
        rc = 0;
err:
        free(thjson);
        json_decref(o);
        return rc;
}
