/* docs/SPEC.md §6 amounts: settlement posture -> charge / refund / held. */
#include "gr_amounts.h"

#include <stdio.h>
#include <string.h>

int64_t gr_muldiv_floor(int64_t a, int64_t b, int64_t c) {
        uint64_t x = (uint64_t)a, y = (uint64_t)b, d = (uint64_t)c;
        uint64_t hi, lo, q = 0, r = 0;

        if (a <= 0 || b <= 0 || c <= 0)
                return 0;
        if (b >= c)
                return a;
        /* 128-bit product hi:lo from 32-bit halves (portable C11). */
        {
                uint64_t xl = x & 0xffffffffu, xh = x >> 32;
                uint64_t yl = y & 0xffffffffu, yh = y >> 32;
                uint64_t ll = xl * yl, lh = xl * yh, hl = xh * yl, hh = xh * yh;
                uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) +
                               (hl & 0xffffffffu);
                lo = (ll & 0xffffffffu) | (mid << 32);
                hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
        }
        /* Long division of hi:lo by d, one bit at a time; the quotient
         * fits 64 bits because b < c. */
        for (int i = 127; i >= 0; i--) {
                uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1 : (lo >> i) & 1;
                int carry = (int)(r >> 63);
                r = (r << 1) | bit;
                if (carry || r >= d) {
                        r -= d;
                        if (i < 64)
                                q |= (uint64_t)1 << i;
                }
        }
        return (int64_t)q;
}

int64_t gr_amounts_used_ms(const gr_job *j, gr_rule_t rule, int64_t now) {
        const int64_t started = GR_JT(j, cur, started_at),
                      failed = GR_JT(j, cur, failed_at),
                      completed = GR_JT(j, cur, completed_at);
        int64_t window, end, used;

        if (!j->quote.present)
                return 0;
        window = GR_JT(j, quote, window_end) - GR_JT(j, quote, window_start);
        if (window <= 0 || started == GR_TIME_NONE)
                return 0;
        switch (rule) {
        case GR_RULE_R12: end = GR_JT(j, cur, cancelled_at); break;
        case GR_RULE_R5: end = failed; break;
        default: /* a review: up to the last execution time */
                end = failed != GR_TIME_NONE      ? failed
                      : completed != GR_TIME_NONE ? completed
                                                  : now;
                break;
        }
        if (end == GR_TIME_NONE || end <= started)
                return 0;
        used = end - started; /* both are bounded RFC 3339 times */
        return used > window ? window : used;
}

gr_amounts gr_amounts_of(const gr_job *j, const gr_verdict *v, int64_t now) {
        gr_amounts m;
        int64_t price;

        memset(&m, 0, sizeof(m));
        if (!j->quote.present || !j->quote.has_price)
                return m;
        price = j->quote.price_amount_minor;
        m.present = 1;
        if (j->quote.price_currency) { /* truncated as snprintf would */
                const char *c = GR_JS(j, j->quote.price_currency);
                size_t n = strnlen(c, sizeof(m.currency) - 1);
                memcpy(m.currency, c, n);
                m.currency[n] = '\0';
        }
        m.price_minor = price;
        switch (v->settlement) {
        case GR_SETTLE_REFUND: m.refund_minor = price; break;
        case GR_SETTLE_RELEASE: m.charge_minor = price; break;
        case GR_SETTLE_PARTIAL_REFUND:
                m.charge_minor = gr_muldiv_floor(
                    price, gr_amounts_used_ms(j, v->rule, now),
                    GR_JT(j, quote, window_end) - GR_JT(j, quote, window_start));
                m.refund_minor = price - m.charge_minor;
                break;
        case GR_SETTLE_HOLD:
        case GR_SETTLE_ESCALATE:
        case GR_SETTLE_PENDING:
        case GR_SETTLE__CNT: m.held_minor = price; break;
        }
        return m;
}

int gr_amounts_equal(const gr_amounts *a, const gr_amounts *b) {
        if (a->present != b->present)
                return 0;
        return !a->present || (!strcmp(a->currency, b->currency) &&
                               a->price_minor == b->price_minor &&
                               a->charge_minor == b->charge_minor &&
                               a->refund_minor == b->refund_minor &&
                               a->held_minor == b->held_minor);
}
