/* Job state lifetime, the duplicate set, and footprint accounting. */
#include "gr_job.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gr_intern.h"

/* ---- strings ------------------------------------------------------------
 *
 * The arena is a packed run of [tag][string][NUL] entries.  A job string
 * member is a handle (gr_job.h): the offset of its string in the arena, or
 * a shared-table reference.  ARENA entries belong to a member (released by
 * dropping the handle; the space comes back when the arena is compacted);
 * a party is an entry of its own, never released while the job lives, found
 * by walking the arena. */
enum { TAG_ARENA = 'A' };
enum { TAG_BUYER = 'B', TAG_SELLER = 'S' };

/* Every string member of a job (job_id is not an arena string): what
 * compaction walks.  The packets' are counted only while their piece
 * exists. */
#define JOB_QSTR(m) offsetof(gr_job, quote.m),
#define JOB_ASTR(m) offsetof(gr_job, cur.m),
static const size_t job_str_fields[] = {GR_QUOTE_STRINGS(JOB_QSTR)
                                            GR_ATTEMPT_STRINGS(JOB_ASTR)
                                                offsetof(gr_job, amounts.currency)};
#undef JOB_QSTR
#undef JOB_ASTR
#define N_JOB_STR (sizeof(job_str_fields) / sizeof(job_str_fields[0]))
#define SELLER_STR(m) offsetof(gr_seller_packet, m),
static const size_t seller_str_fields[] = {GR_SELLER_STRINGS(SELLER_STR)};
#undef SELLER_STR
#define N_SELLER_STR (sizeof(seller_str_fields) / sizeof(seller_str_fields[0]))
#define BUYER_STR(m) offsetof(gr_buyer_packet, m),
static const size_t buyer_str_fields[] = {GR_BUYER_STRINGS(BUYER_STR)};
#undef BUYER_STR
#define N_BUYER_STR (sizeof(buyer_str_fields) / sizeof(buyer_str_fields[0]))
#define MAX_STRS (N_JOB_STR + N_SELLER_STR + N_BUYER_STR)

const gr_seller_packet gr_seller_packet_none = {.failure_class = GR_FAIL_NONE};
const gr_buyer_packet gr_buyer_packet_none = {.observed_failure_class =
                                                  GR_FAIL_NONE};

/* Every string member the job has now, into out[] (MAX_STRS room).
 * @returns how many. */
static size_t job_strs(gr_job *job, gr_jstr *out[MAX_STRS]) {
        size_t n = 0;
        for (size_t i = 0; i < N_JOB_STR; i++)
                out[n++] = (gr_jstr *)(void *)((char *)job + job_str_fields[i]);
        if (job->more && job->more->seller)
                for (size_t i = 0; i < N_SELLER_STR; i++)
                        out[n++] = (gr_jstr *)(void *)((char *)job->more->seller +
                                                       seller_str_fields[i]);
        if (job->more && job->more->buyer)
                for (size_t i = 0; i < N_BUYER_STR; i++)
                        out[n++] = (gr_jstr *)(void *)((char *)job->more->buyer +
                                                       buyer_str_fields[i]);
        return n;
}

gr_seller_packet *gr_job_seller_mut(gr_job *job) {
        gr_job_more *m = gr_job_more_mut(job);
        if (!m)
                return NULL;
        if (!m->seller && (m->seller = malloc(sizeof(*m->seller))))
                *m->seller = gr_seller_packet_none;
        return m->seller;
}

gr_job_more *gr_job_more_mut(gr_job *job) {
        if (!job->more)
                job->more = calloc(1, sizeof(*job->more));
        return job->more;
}

int gr_job_history_push(gr_job *job, const gr_attempt_summary *s) {
        gr_job_more *m = gr_job_more_mut(job);
        gr_attempt_summary *h =
            m ? realloc(m->history, (m->nhistory + 1) * sizeof(*h)) : NULL;

        if (!h)
                return -1;
        h[m->nhistory++] = *s;
        m->history = h;
        return 0;
}

int gr_job_park(gr_job *job, gr_event *ev) {
        gr_job_more *m = gr_job_more_mut(job);
        gr_event **p = m ? realloc(m->parked, ((size_t)m->nparked + 1) *
                                                  sizeof(*p))
                         : NULL;

        if (!p)
                return -1;
        p[m->nparked++] = ev;
        m->parked = p;
        return 0;
}

gr_buyer_packet *gr_job_buyer_mut(gr_job *job) {
        gr_job_more *m = gr_job_more_mut(job);
        if (!m)
                return NULL;
        if (!m->buyer && (m->buyer = malloc(sizeof(*m->buyer))))
                *m->buyer = gr_buyer_packet_none;
        return m->buyer;
}

static int in_arena(gr_jstr h) { return h && !(h & GR_JSTR_SHARED); }

static int is_party_tag(char t) { return t == TAG_BUYER || t == TAG_SELLER; }

/* gr_job_seen_slots(), to write (the job is the caller's). */
static uint64_t *seen_of(gr_job *job) {
        return (uint64_t *)(uintptr_t)gr_job_seen_slots(job);
}

#define SEEN_BYTES(cap) ((size_t)(cap) * sizeof(uint64_t))

/* Make room for `need` more arena bytes: a new block holding the live arena
 * strings (all members but *dst, which is about to be replaced) and the
 * room, with an eighth to spare (more compactions, less slack per job),
 * then the duplicate set as it is.  The arena's size stays a multiple of
 * 16, so the set after it is aligned.  @returns 0 or -1 (ENOMEM; nothing
 * changed). */
static int arena_make_room(gr_job *job, gr_jstr *dst, size_t need) {
        size_t live = 0, cap, len = 0;
        const size_t seen_bytes = SEEN_BYTES(job->seen_cap);
        char *nb;
        gr_jstr *strs[MAX_STRS];
        const size_t nf = job_strs(job, strs);

        for (size_t i = 0; i < nf; i++) {
                gr_jstr *f = strs[i];
                if (in_arena(*f) && f != dst)
                        live += strlen(job->arena + *f) + 2;
        }
        for (uint32_t pos = 0; job->nparties && pos < job->arena_len;) {
                size_t n = strlen(job->arena + pos + 1) + 2;
                if (is_party_tag(job->arena[pos]))
                        live += n;
                pos += (uint32_t)n;
        }
        cap = live + need;
        cap = (cap + cap / 8 + 15) & ~(size_t)15;
        if (cap >= GR_JSTR_SHARED || !(nb = malloc(cap + seen_bytes)))
                return -1;
        if (seen_bytes)
                memcpy(nb + cap, seen_of(job), seen_bytes);
        for (uint32_t pos = 0; job->nparties && pos < job->arena_len;) {
                size_t n = strlen(job->arena + pos + 1) + 2;
                if (is_party_tag(job->arena[pos])) {
                        memcpy(nb + len, job->arena + pos, n);
                        len += n;
                }
                pos += (uint32_t)n;
        }
        for (size_t i = 0; i < nf; i++) {
                gr_jstr *f = strs[i];
                size_t n;
                if (!in_arena(*f))
                        continue;
                if (f == dst) { /* replaced next: its old bytes go away */
                        *f = 0;
                        continue;
                }
                n = strlen(job->arena + *f) + 2;
                memcpy(nb + len, job->arena + *f - 1, n);
                *f = (gr_jstr)(len + 1);
                len += n;
        }
        free(job->arena);
        job->arena = nb;
        job->arena_len = (uint32_t)len;
        job->arena_cap = (uint32_t)cap;
        return 0;
}

/* Fields whose values repeat across jobs — a marketplace has few GPU
 * models, regions, driver families, currencies, capacity checks, worker
 * statuses, images, commands, stderr classes and evaluation rules — refer
 * to one shared copy (gr_intern.h) instead of one per job.  Identifiers,
 * hashes, paths and notes (mostly distinct per job) stay in the arena. */
static const size_t shared_job_fields[] = {
    offsetof(gr_job, quote.provider_id),   offsetof(gr_job, quote.gpu),
    offsetof(gr_job, quote.region),        offsetof(gr_job, quote.driver_family),
    offsetof(gr_job, quote.price_currency), offsetof(gr_job, cur.check),
    offsetof(gr_job, cur.worker_status),   offsetof(gr_job, cur.capacity_detail),
    offsetof(gr_job, cur.container_image), offsetof(gr_job, cur.command),
    offsetof(gr_job, cur.stderr_class),    offsetof(gr_job, cur.evaluation_rule),
    offsetof(gr_job, amounts.currency),
};
static const size_t shared_buyer_fields[] = {
    offsetof(gr_buyer_packet, container_image),
    offsetof(gr_buyer_packet, command),
    offsetof(gr_buyer_packet, evaluation_rule),
};

static int in_list(const void *base, size_t size, const gr_jstr *dst,
                   const size_t *offs, size_t n) {
        uintptr_t b = (uintptr_t)base, d = (uintptr_t)dst;
        if (!base || d < b || d >= b + size)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (d - b == offs[i])
                        return 1;
        return 0;
}

static int field_shared(const gr_job *job, const gr_jstr *dst) {
        return in_list(job, sizeof(*job), dst, shared_job_fields,
                       sizeof(shared_job_fields) /
                           sizeof(shared_job_fields[0])) ||
               in_list(job->more ? job->more->buyer : NULL,
                       sizeof(gr_buyer_packet), dst,
                       shared_buyer_fields,
                       sizeof(shared_buyer_fields) /
                           sizeof(shared_buyer_fields[0]));
}

int gr_job_str_set(gr_job *job, gr_jstr *dst, const char *src) {
        size_t n, need;
        char *p, *tmp = NULL;
        const char *cur = gr_jstr_get(job, *dst);

        if (!src) {
                *dst = 0;
                return 0;
        }
        if (cur && !strcmp(cur, src))
                return 0;
        n = strlen(src);
        if (field_shared(job, dst)) {
                gr_jstr ref = gr_intern_ref(src, n);
                if (ref) {
                        *dst = ref;
                        return 0;
                }
        }
        need = n + 2;
        if (job->arena_len + need > job->arena_cap) {
                /* src may be one of this job's own strings, which
                 * compaction moves: copy it out first. */
                uintptr_t a = (uintptr_t)job->arena, sp = (uintptr_t)src;
                if (job->arena && sp >= a && sp < a + job->arena_cap) {
                        if (!(tmp = malloc(n + 1)))
                                return -1;
                        memcpy(tmp, src, n + 1);
                        src = tmp;
                }
                if (arena_make_room(job, dst, need) == -1) {
                        free(tmp);
                        return -1;
                }
        }
        p = job->arena + job->arena_len;
        p[0] = TAG_ARENA;
        memcpy(p + 1, src, n + 1);
        *dst = job->arena_len + 1;
        job->arena_len += (uint32_t)need;
        free(tmp);
        return 0;
}

void gr_attempt_reset(gr_attempt *a) {
        memset(a, 0, sizeof(*a));
        a->capacity = GR_CAP_UNKNOWN;
        a->execution = GR_EXEC_NOT_STARTED;
        a->output = GR_OUT_NONE;
        a->evaluation = GR_EVAL_NOT_STARTED;
        a->capacity_at = a->started_at = a->failed_at = a->completed_at =
            a->delivered_at = a->evaluated_at = a->cancelled_at =
                a->reviewed_at = GR_JT_NONE;
        a->failure_class = GR_FAIL_NONE;
        a->output_written = -1;
        a->review_settlement = GR_SETTLE_PENDING;
}

gr_job *gr_job_new(const char *job_id) {
        /* job_id lives in the same allocation, right after the struct. */
        size_t n = strlen(job_id);
        gr_job *job = calloc(1, sizeof(*job) + n + 1);
        if (!job)
                return NULL;
        memcpy(job->job_id, job_id, n + 1);
        job->attempt = 1;
        job->time = job->t_base = GR_TIME_NONE;
        job->quote.window_start = job->quote.window_end = GR_JT_NONE;
        job->settlement = GR_SETTLE_PENDING;
        job->retry = GR_RETRY_NONE;
        job->reason = GR_REASON_IN_PROGRESS;
        job->rule = GR_RULE_NONE;
        gr_attempt_reset(&job->cur);
        return job;
}

gr_amounts gr_job_amounts(const gr_job *job) {
        const gr_kept_amounts *k = &job->amounts;
        gr_amounts m;
        const char *c = gr_jstr_get(job, k->currency);

        memset(&m, 0, sizeof(m));
        m.present = k->present;
        m.price_minor = k->price_minor;
        m.charge_minor = k->charge_minor;
        m.refund_minor = k->refund_minor;
        m.held_minor = k->held_minor;
        if (c) { /* kept from a gr_amounts: it fits (cut to be sure) */
                size_t n = strnlen(c, sizeof(m.currency) - 1);
                memcpy(m.currency, c, n);
        }
        return m;
}

int gr_job_amounts_set(gr_job *job, const gr_amounts *m) {
        gr_kept_amounts *k = &job->amounts;
        const char *q = gr_jstr_get(job, job->quote.price_currency);

        /* Mostly the quote's currency: share its string. */
        if (!m->currency[0])
                k->currency = 0;
        else if (q && !strcmp(q, m->currency))
                k->currency = job->quote.price_currency;
        else if (gr_job_str_set(job, &k->currency, m->currency) == -1)
                return -1;
        k->present = m->present != 0;
        k->price_minor = m->price_minor;
        k->charge_minor = m->charge_minor;
        k->refund_minor = m->refund_minor;
        k->held_minor = m->held_minor;
        return 0;
}

int gr_jtime_set(gr_job *job, gr_jtime *dst, int k, int64_t v) {
        gr_job_more *m;

        if (v == GR_TIME_NONE) {
                *dst = GR_JT_NONE;
                return 0;
        }
        if (job->t_base == GR_TIME_NONE)
                job->t_base = v;
        /* v - t_base in (GR_JT_WIDE, INT32_MAX]?  (Unsigned: any two
         * int64_t, e.g. from a state record, without overflow.) */
        if (v >= job->t_base
                ? (uint64_t)v - (uint64_t)job->t_base <= INT32_MAX
                : (uint64_t)job->t_base - (uint64_t)v <= INT32_MAX - 1u) {
                *dst = (gr_jtime)(v - job->t_base);
                return 0;
        }
        if (gr_job_wide_reserve(job) == -1)
                return -1;
        m = job->more;
        m->wide[k] = v;
        *dst = GR_JT_WIDE;
        return 0;
}

int gr_job_wide_reserve(gr_job *job) {
        gr_job_more *m = gr_job_more_mut(job);

        if (!m ||
            (!m->wide && !(m->wide = malloc(GR_JT__CNT * sizeof(*m->wide)))))
                return -1;
        return 0;
}

int gr_job_party_add(gr_job *job, gr_role_t role, const char *id) {
        size_t n;
        char *tmp = NULL, *p;

        if ((role != GR_ROLE_BUYER && role != GR_ROLE_SELLER) || !id || !*id ||
            gr_job_is_party(job, role, id) ||
            job->nparties >= GR_JOB_PARTIES_MAX)
                return 0;
        n = strlen(id);
        if (job->arena_len + n + 2 > job->arena_cap) {
                /* as in gr_job_str_set: compaction moves the job's strings */
                uintptr_t a = (uintptr_t)job->arena, sp = (uintptr_t)id;
                if (job->arena && sp >= a && sp < a + job->arena_cap) {
                        if (!(tmp = malloc(n + 1)))
                                return -1;
                        memcpy(tmp, id, n + 1);
                        id = tmp;
                }
                if (arena_make_room(job, NULL, n + 2) == -1) {
                        free(tmp);
                        return -1;
                }
        }
        p = job->arena + job->arena_len;
        p[0] = role == GR_ROLE_BUYER ? TAG_BUYER : TAG_SELLER;
        memcpy(p + 1, id, n + 1);
        job->arena_len += (uint32_t)(n + 2);
        job->nparties++;
        free(tmp);
        return 0;
}

/* Party entries in arena order: @returns the next one at or after *pos
 * (its id; *tag set), *pos moved past it; NULL at the end. */
static const char *party_next(const gr_job *job, uint32_t *pos, char *tag) {
        while (*pos < job->arena_len) {
                const char *e = job->arena + *pos;
                size_t n = strlen(e + 1) + 2;
                *pos += (uint32_t)n;
                if (is_party_tag(e[0])) {
                        *tag = e[0];
                        return e + 1;
                }
        }
        return NULL;
}

int gr_job_is_party(const gr_job *job, gr_role_t role, const char *id) {
        uint32_t pos = 0;
        const char *s;
        char tag;

        if (!job || !id || !job->nparties ||
            (role != GR_ROLE_BUYER && role != GR_ROLE_SELLER))
                return 0;
        while ((s = party_next(job, &pos, &tag)))
                if (tag == (role == GR_ROLE_BUYER ? TAG_BUYER : TAG_SELLER) &&
                    !strcmp(s, id))
                        return 1;
        return 0;
}

const char *gr_job_party(const gr_job *job, int i, gr_role_t *role) {
        uint32_t pos = 0;
        const char *s = NULL;
        char tag = 0;

        if (i < 0 || i >= job->nparties)
                return NULL;
        for (int k = 0; k <= i; k++)
                if (!(s = party_next(job, &pos, &tag)))
                        return NULL;
        *role = tag == TAG_BUYER ? GR_ROLE_BUYER : GR_ROLE_SELLER;
        return s;
}

void gr_job_destroy(gr_job *job) {
        if (!job)
                return;
        free(job->arena); /* the duplicate set with it */
        if (job->more) {
                free(job->more->seller);
                free(job->more->buyer);
                free(job->more->wide);
                free(job->more->history);
                for (int i = 0; i < job->more->nparked; i++)
                        free(job->more->parked[i]);
                free(job->more->parked);
                free(job->more);
        }
        free(job); /* job_id with it */
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

/* The duplicate set, at the end of the job's block (after the arena,
 * whose size is a multiple of 16).  Most jobs see a handful of events, so
 * up to SEEN_LINEAR_MAX slots the set is an array scanned in order, grown
 * two slots at a time (odd counts: the block plus malloc's 8-byte header
 * then fill a 16-byte multiple).  Past that it becomes an open-addressed
 * set of a power of two >= 16 slots, linear probing, at most 3/4 full. */
#define SEEN_LINEAR_MAX 11
#define SEEN_HASHED_MIN 16

static size_t slot_of(uint64_t h, size_t cap) {
        return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Move the set into a hashed table of ncap slots (a new block, the arena
 * copied as it is).  @returns 0 or -1. */
static int seen_rehash(gr_job *job, size_t ncap) {
        const uint64_t *old = seen_of(job);
        char *nb;
        uint64_t *n;

        if (ncap > (SIZE_MAX - job->arena_cap) / sizeof(uint64_t) ||
            !(nb = malloc(job->arena_cap + SEEN_BYTES(ncap))))
                return -1;
        if (job->arena_len)
                memcpy(nb, job->arena, job->arena_len);
        n = (uint64_t *)(void *)(nb + job->arena_cap);
        memset(n, 0, SEEN_BYTES(ncap));
        for (size_t i = 0; i < job->seen_cap; i++) {
                uint64_t v = old[i];
                size_t s;
                if (!v)
                        continue;
                for (s = slot_of(v, ncap); n[s]; s = (s + 1) & (ncap - 1))
                        ;
                n[s] = v;
        }
        free(job->arena);
        job->arena = nb;
        job->seen_cap = (uint32_t)ncap;
        return 0;
}

int gr_job_seen_add_hash(gr_job *job, uint64_t h) {
        uint64_t *seen = seen_of(job);

        if (h == 0)
                h = 1;
        if (job->seen_cap <= SEEN_LINEAR_MAX) {
                for (uint32_t i = 0; i < job->nseen; i++)
                        if (seen[i] == h)
                                return 0;
                if (job->nseen < job->seen_cap) {
                        seen[job->nseen++] = h;
                        return 0;
                }
                if (job->seen_cap < SEEN_LINEAR_MAX) {
                        /* grow the block at its end: the arena keeps its
                         * offsets, realloc copies the set */
                        size_t ncap = job->seen_cap ? job->seen_cap + 2u : 3u;
                        char *nb = realloc(job->arena,
                                           job->arena_cap + SEEN_BYTES(ncap));
                        if (!nb)
                                return -1;
                        job->arena = nb;
                        seen = (uint64_t *)(void *)(nb + job->arena_cap);
                        memset(seen + job->seen_cap, 0,
                               SEEN_BYTES(ncap - job->seen_cap));
                        job->seen_cap = (uint32_t)ncap;
                        seen[job->nseen++] = h;
                        return 0;
                }
                if (seen_rehash(job, SEEN_HASHED_MIN) == -1)
                        return -1;
        } else if ((job->nseen + 1ull) * 4 > job->seen_cap * 3ull) {
                if (job->seen_cap > UINT32_MAX / 2 ||
                    seen_rehash(job, (size_t)job->seen_cap * 2) == -1)
                        return -1;
        }
        seen = seen_of(job);
        size_t s = slot_of(h, job->seen_cap);
        while (seen[s]) {
                if (seen[s] == h)
                        return 0;
                s = (s + 1) & (job->seen_cap - 1);
        }
        seen[s] = h;
        job->nseen++;
        return 0;
}

int gr_job_seen_hash(const gr_job *job, uint64_t h) {
        const uint64_t *seen = gr_job_seen_slots(job);

        if (job->seen_cap <= SEEN_LINEAR_MAX) {
                for (uint32_t i = 0; i < job->nseen; i++)
                        if (seen[i] == h)
                                return 1;
                return 0;
        }
        for (size_t s = slot_of(h, job->seen_cap); seen[s];
             s = (s + 1) & (job->seen_cap - 1))
                if (seen[s] == h)
                        return 1;
        return 0;
}

size_t gr_job_footprint(const gr_job *job) {
        size_t n = sizeof(*job) + strlen(job->job_id) + 1 + job->arena_cap;

        if (job->more)
                n += sizeof(*job->more) +
                     (job->more->seller ? sizeof(gr_seller_packet) : 0) +
                     (job->more->buyer ? sizeof(gr_buyer_packet) : 0) +
                     (job->more->wide ? GR_JT__CNT * sizeof(int64_t) : 0);
        n += gr_job_nhistory(job) * sizeof(gr_attempt_summary);
        n += SEEN_BYTES(job->seen_cap);
        n += (size_t)gr_job_nparked(job) * (sizeof(gr_event) + sizeof(gr_event *));
        return n;
}
