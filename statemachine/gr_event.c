/* The event field table, its setters and per-type validation (docs/SPEC.md §3). */
#include "gr_event.h"

#include "gr_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GR__DESC(M, P, K, KIND, SZ)                                            \
        {GR_P_##P, K, #M, GR_FK_##KIND, offsetof(gr_event, M), SZ},
const gr_field_desc gr_event_fields[GR_F__CNT] = {GR_EVENT_FIELD_MAP(GR__DESC)};

static const char *const parent_names[GR_P__CNT] = {"", "actor", "body",
                                                    "price", "resources"};

const char *gr_parent_name(gr_parent_t p) {
        return (unsigned)p < GR_P__CNT ? parent_names[p] : "?";
}

int gr_err_set(gr_err *err, gr_reject_t reason, const char *fmt, ...) {
        va_list ap;
        if (!err)
                return -1;
        err->reason = reason;
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
        return -1;
}

void gr_event_reset(gr_event *ev) {
        ev->present = 0;
}

int gr_event_field_find(gr_parent_t parent, const char *key, size_t keylen) {
        for (int i = 0; i < GR_F__CNT; i++) {
                const gr_field_desc *d = &gr_event_fields[i];
                if (d->parent == parent && strlen(d->key) == keylen &&
                    memcmp(d->key, key, keylen) == 0)
                        return i;
        }
        return -1;
}

#define FIELD_PTR(ev, f) ((char *)(ev) + gr_event_fields[f].offset)

static void mark(gr_event *ev, gr_field_t f) {
        ev->present |= (uint64_t)1 << f;
}

static const char *kind_name(gr_field_kind_t k) {
        switch (k) {
        case GR_FK_STR: return "a string";
        case GR_FK_INT: return "an integer";
        case GR_FK_NUM: return "a number";
        case GR_FK_BOOL: return "a boolean";
        case GR_FK_TIME: return "an RFC 3339 time";
        case GR_FK_EVTYPE: return "an event type";
        case GR_FK_ROLE: return "a role";
        case GR_FK_FAILURE: return "a failure_class";
        case GR_FK_RESULT: return "pass or fail";
        case GR_FK_SETTLEMENT: return "a settlement";
        }
        return "?";
}

static int wrong_kind(gr_field_t f, gr_err *err) {
        return gr_err_set(err, GR_REJ_SCHEMA, "%s%s%s must be %s",
                          gr_parent_name(gr_event_fields[f].parent),
                          gr_event_fields[f].parent == GR_P_TOP ? "" : ".",
                          gr_event_fields[f].key,
                          kind_name(gr_event_fields[f].kind));
}

/* Printable, bounded excerpt of untrusted text for a reject detail. */
static void excerpt(char *dst, size_t dsz, const char *s, size_t len) {
        size_t n = 0;
        for (size_t i = 0; i < len && n + 1 < dsz && i < 40; i++)
                dst[n++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"')
                                   ? s[i]
                                   : '?';
        dst[n] = '\0';
}

int gr_event_set_str(gr_event *ev, gr_field_t f, const char *s, size_t len,
                     gr_err *err) {
        const gr_field_desc *d = &gr_event_fields[f];
        void *p = FIELD_PTR(ev, f);
        char ex[48];
        int rc = 0;

        if (memchr(s, '\0', len))
                return gr_err_set(err, GR_REJ_SCHEMA, "%s contains NUL",
                                  d->key);
        switch (d->kind) {
        case GR_FK_STR:
                if (len >= d->size)
                        return gr_err_set(err, GR_REJ_TOO_LARGE,
                                          "%s is %zu bytes, limit %zu", d->key,
                                          len, d->size - 1);
                memcpy(p, s, len);
                ((char *)p)[len] = '\0';
                break;
        case GR_FK_TIME:
                if (gr_time_parse(s, len, (int64_t *)p) == -1) {
                        excerpt(ex, sizeof(ex), s, len);
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "%s \"%s\" is not an RFC 3339 time",
                                          d->key, ex);
                }
                break;
        case GR_FK_EVTYPE:
                if (gr_event_type_t_parse(s, len, (gr_event_type_t *)p) ==
                    -1) {
                        excerpt(ex, sizeof(ex), s, len);
                        return gr_err_set(err, GR_REJ_UNKNOWN_TYPE,
                                          "type \"%s\" is not a lifecycle "
                                          "event type",
                                          ex);
                }
                break;
        case GR_FK_ROLE:
                rc = gr_role_t_parse(s, len, (gr_role_t *)p);
                break;
        case GR_FK_FAILURE:
                rc = gr_failure_t_parse(s, len, (gr_failure_t *)p);
                /* "none" is our spelling of null, not a SPEC value. */
                if (rc == 0 && *(gr_failure_t *)p == GR_FAIL_NONE)
                        rc = -1;
                break;
        case GR_FK_RESULT:
                rc = gr_result_t_parse(s, len, (gr_result_t *)p);
                break;
        case GR_FK_SETTLEMENT:
                rc = gr_settlement_t_parse(s, len, (gr_settlement_t *)p);
                break;
        case GR_FK_INT:
        case GR_FK_NUM:
        case GR_FK_BOOL:
                return wrong_kind(f, err);
        }
        if (rc == -1) {
                excerpt(ex, sizeof(ex), s, len);
                return gr_err_set(err, GR_REJ_SCHEMA,
                                  "%s \"%s\" is not %s", d->key, ex,
                                  kind_name(d->kind));
        }
        mark(ev, f);
        return 0;
}

int gr_event_set_int(gr_event *ev, gr_field_t f, int64_t v, gr_err *err) {
        const gr_field_desc *d = &gr_event_fields[f];
        void *p = FIELD_PTR(ev, f);

        switch (d->kind) {
        case GR_FK_TIME: /* Avro timestamp-millis */
                if (v < GR_TIME_MIN_MS || v > GR_TIME_MAX_MS)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "%s %lld ms is outside years "
                                          "0000-9999",
                                          d->key, (long long)v);
                *(int64_t *)p = v;
                break;
        case GR_FK_INT:
                *(int64_t *)p = v;
                break;
        case GR_FK_NUM:
                *(double *)p = (double)v;
                break;
        case GR_FK_STR:
        case GR_FK_BOOL:
        case GR_FK_EVTYPE:
        case GR_FK_ROLE:
        case GR_FK_FAILURE:
        case GR_FK_RESULT:
        case GR_FK_SETTLEMENT:
                return wrong_kind(f, err);
        }
        mark(ev, f);
        return 0;
}

int gr_event_set_num(gr_event *ev, gr_field_t f, double v, gr_err *err) {
        const gr_field_desc *d = &gr_event_fields[f];

        if (!isfinite(v))
                return gr_err_set(err, GR_REJ_SCHEMA, "%s is not finite",
                                  d->key);
        if (d->kind == GR_FK_NUM) {
                *(double *)FIELD_PTR(ev, f) = v;
                mark(ev, f);
                return 0;
        }
        /* An integer-kind field given 3.0 is fine; 3.5 or 1e300 is not. */
        if ((d->kind == GR_FK_INT || d->kind == GR_FK_TIME) && v == floor(v) &&
            fabs(v) < 9.0e15)
                return gr_event_set_int(ev, f, (int64_t)v, err);
        return wrong_kind(f, err);
}

int gr_event_set_bool(gr_event *ev, gr_field_t f, int v, gr_err *err) {
        if (gr_event_fields[f].kind != GR_FK_BOOL)
                return wrong_kind(f, err);
        *(int *)FIELD_PTR(ev, f) = v ? 1 : 0;
        mark(ev, f);
        return 0;
}

int gr_event_set_null(gr_event *ev, gr_field_t f, gr_err *err) {
        (void)err;
        if (gr_event_fields[f].kind == GR_FK_FAILURE) {
                *(gr_failure_t *)FIELD_PTR(ev, f) = GR_FAIL_NONE;
                mark(ev, f);
        } else {
                ev->present &= ~((uint64_t)1 << f);
        }
        return 0;
}

/*
 * docs/SPEC.md §3 type table: who may send each type, and its required body fields.
 */
#define B(f) ((uint64_t)1 << GR_F_##f)
#define R(r) (1u << GR_ROLE_##r)
static const struct {
        unsigned roles;
        uint64_t required;
} type_spec[GR_EVT__CNT] = {
    [GR_EVT_QUOTE_ACCEPTED] = {R(MARKETPLACE),
                               B(quote_id) | B(provider_id) | B(gpu) |
                                   B(vram_gb) | B(window_start) |
                                   B(window_end)},
    [GR_EVT_CAPACITY_CHECKED] = {R(VERIFIER), B(check) | B(result)},
    [GR_EVT_RESERVATION_ACCEPTED] = {R(SELLER), B(worker_id)},
    [GR_EVT_EXECUTION_STARTED] = {R(SELLER), B(container_image) | B(command)},
    [GR_EVT_EXECUTION_FAILED] = {R(SELLER), B(failure_class)},
    [GR_EVT_EXECUTION_COMPLETED] = {R(SELLER), 0},
    [GR_EVT_OUTPUT_DELIVERED] = {R(SELLER), B(output_hash)},
    [GR_EVT_EVALUATION_REPORTED] = {R(BUYER) | R(VERIFIER), B(status)},
    [GR_EVT_SELLER_PACKET] = {R(SELLER), B(packet_hash)},
    [GR_EVT_BUYER_PACKET] = {R(BUYER), B(packet_hash) | B(memory_budget_gb)},
    [GR_EVT_JOB_CANCELLED] = {R(BUYER), 0},
    [GR_EVT_RESERVATION_EXPIRED] = {R(MARKETPLACE), 0},
    [GR_EVT_REVIEW_DECIDED] = {R(REVIEWER), B(settlement)},
};
#undef R

static const uint64_t envelope_required = B(event_id) | B(job_id) | B(type) |
                                          B(occurred_at) | B(role);

int gr_event_role_allowed(gr_event_type_t type, gr_role_t role) {
        if ((unsigned)type >= GR_EVT__CNT || (unsigned)role >= GR_ROLE__CNT)
                return 0;
        return (type_spec[type].roles >> role) & 1;
}

static int missing(uint64_t need, uint64_t have, gr_err *err, const char *what) {
        uint64_t lack = need & ~have;
        if (!lack)
                return 0;
        for (int i = 0; i < GR_F__CNT; i++) {
                if ((lack >> i) & 1) {
                        const gr_field_desc *d = &gr_event_fields[i];
                        return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                          "%s%s%s required%s%s",
                                          d->parent == GR_P_TOP
                                              ? ""
                                              : gr_parent_name(d->parent),
                                          d->parent == GR_P_TOP ? "" : ".",
                                          d->key, what[0] ? " for " : "", what);
                }
        }
        return 0;
}

int gr_event_validate(gr_event *ev, gr_err *err) {
        if (missing(envelope_required, ev->present, err, ""))
                return -1;
        if (!ev->event_id[0])
                return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                  "event_id is empty");
        if (!ev->job_id[0])
                return gr_err_set(err, GR_REJ_MISSING_FIELD, "job_id is empty");
        if (!gr_event_has(ev, GR_F_attempt)) {
                ev->attempt = 1;
                mark(ev, GR_F_attempt);
        } else if (ev->attempt < 1 || ev->attempt > 1000000) {
                return gr_err_set(err, GR_REJ_SCHEMA,
                                  "attempt %lld out of range 1..1000000",
                                  (long long)ev->attempt);
        }
        if (!gr_event_role_allowed(ev->type, ev->role))
                return gr_err_set(err, GR_REJ_UNAUTHORIZED_ROLE,
                                  "%s may not send %s",
                                  gr_role_t_name(ev->role),
                                  gr_event_type_t_name(ev->type));
        if (missing(type_spec[ev->type].required, ev->present, err,
                    gr_event_type_t_name(ev->type)))
                return -1;

        switch (ev->type) {
        case GR_EVT_QUOTE_ACCEPTED:
                if (ev->window_end <= ev->window_start)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "window_end is not after "
                                          "window_start");
                if (ev->vram_gb <= 0)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "vram_gb must be positive");
                /* A price is money: both halves, never negative. */
                if (gr_event_has(ev, GR_F_price_amount_minor) !=
                    gr_event_has(ev, GR_F_price_currency))
                        return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                          "body.price needs amount_minor "
                                          "and currency");
                if (gr_event_has(ev, GR_F_price_amount_minor) &&
                    ev->price_amount_minor < 0)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "price.amount_minor must not be "
                                          "negative");
                break;
        case GR_EVT_EXECUTION_FAILED:
                /* A failure report that names no failure says nothing. */
                if (ev->failure_class == GR_FAIL_NONE)
                        return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                          "body.failure_class required for "
                                          "execution_failed");
                break;
        case GR_EVT_REVIEW_DECIDED:
                if (ev->settlement == GR_SETTLE_PENDING)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "a review must decide a posture, "
                                          "not pending");
                break;
        case GR_EVT_BUYER_PACKET:
                if (ev->memory_budget_gb <= 0)
                        return gr_err_set(err, GR_REJ_SCHEMA,
                                          "memory_budget_gb must be positive");
                break;
        case GR_EVT_CAPACITY_CHECKED:
        case GR_EVT_RESERVATION_ACCEPTED:
        case GR_EVT_EXECUTION_STARTED:
        case GR_EVT_EXECUTION_COMPLETED:
        case GR_EVT_OUTPUT_DELIVERED:
        case GR_EVT_EVALUATION_REPORTED:
        case GR_EVT_SELLER_PACKET:
        case GR_EVT_JOB_CANCELLED:
        case GR_EVT_RESERVATION_EXPIRED:
        case GR_EVT__CNT:
                break;
        }
        return 0;
}
#undef B

/* ---- time ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        const int64_t era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = (unsigned)(y - era * 400);
        const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
        z += 719468;
        const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        const unsigned doe = (unsigned)(z - era * 146097);
        const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, unsigned *out) {
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        *out = v;
        return 0;
}

int gr_time_parse(const char *s, size_t len, int64_t *ms_out) {
        static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                         31, 31, 30, 31, 30, 31};
        unsigned Y, M, D, h, mi, sec, ms = 0;
        size_t i = 19;
        int64_t off = 0;

        if (len < 20 || s[4] != '-' || s[7] != '-' ||
            (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
            s[16] != ':')
                return -1;
        if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) ||
            digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
            digits(s + 17, 2, &sec))
                return -1;
        if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 ||
            mi > 59 || sec > 60)
                return -1;
        if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
                return -1;
        if (s[i] == '.') {
                size_t nd = 0;
                i++;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                        if (nd < 3)
                                ms = ms * 10 + (unsigned)(s[i] - '0');
                        nd++;
                        i++;
                }
                if (nd == 0 || nd > 9)
                        return -1;
                for (; nd < 3; nd++)
                        ms *= 10;
        }
        if (i >= len)
                return -1;
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
                off = 0;
        } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len &&
                   s[i + 3] == ':') {
                unsigned oh, om;
                if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) ||
                    oh > 23 || om > 59)
                        return -1;
                off = ((int64_t)oh * 60 + om) * 60 * (s[i] == '+' ? 1 : -1);
        } else {
                return -1;
        }
        if (sec == 60) /* leap second: hold at :59.999 rather than roll over */
                sec = 59, ms = 999;
        {
                int64_t t = ((days_from_civil(Y, M, D) * 86400 +
                              (int64_t)h * 3600 + (int64_t)mi * 60 + sec -
                              off) *
                             1000) +
                            ms;
                /* An offset can push the instant out of 0000..9999 UTC,
                 * which gr_time_format could not write back. */
                if (t < GR_TIME_MIN_MS || t > GR_TIME_MAX_MS)
                        return -1;
                *ms_out = t;
        }
        return 0;
}

static inline char *put2(char *p, unsigned v) {
        memcpy(p, gr_digit_pairs + 2 * v, 2);
        return p + 2;
}

size_t gr_time_format_n(int64_t ms, char out[GR_TIME_TEXT_MAX]) {
        int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        unsigned rem = (unsigned)(ms - secs * 1000);
        int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        unsigned sod = (unsigned)(secs - days * 86400);
        int64_t y;
        unsigned m, d;
        char *p = out;

        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999) {
                int n = snprintf(out, GR_TIME_TEXT_MAX,
                                 "%lld-%02u-%02uT%02u:%02u:%02uZ",
                                 (long long)y, m, d, sod / 3600,
                                 sod / 60 % 60, sod % 60);
                return n < 0 ? 0
                             : (size_t)n < GR_TIME_TEXT_MAX
                                   ? (size_t)n
                                   : GR_TIME_TEXT_MAX - 1;
        }
        /* Hand-rolled: this runs for every ledger row and decision. */
        p = put2(p, (unsigned)y / 100);
        p = put2(p, (unsigned)y % 100);
        *p++ = '-';
        p = put2(p, m);
        *p++ = '-';
        p = put2(p, d);
        *p++ = 'T';
        p = put2(p, sod / 3600);
        *p++ = ':';
        p = put2(p, sod / 60 % 60);
        *p++ = ':';
        p = put2(p, sod % 60);
        if (rem) {
                *p++ = '.';
                *p++ = (char)('0' + rem / 100);
                p = put2(p, rem % 100);
        }
        *p++ = 'Z';
        *p = '\0';
        return (size_t)(p - out);
}

char *gr_time_format(int64_t ms, char *buf, size_t size) {
        char t[GR_TIME_TEXT_MAX];
        size_t n = gr_time_format_n(ms, t);

        if (size) {
                if (n > size - 1)
                        n = size - 1;
                memcpy(buf, t, n);
                buf[n] = '\0';
        }
        return buf;
}
