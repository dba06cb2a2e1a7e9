/* Routing, signed requests, replay cache and read rights of receiptd's
 * HTTP server (see gr_http_auth.h).  No HTTP library and no clock here. */
#include "gr_http_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "gr_sign.h"

#define GR__AUTH_NAME(N, S) S,
static const char *const auth_names[] = {GR_AUTH_RESULT_MAP(GR__AUTH_NAME)};
#undef GR__AUTH_NAME

const char *gr_auth_result_name(gr_auth_result r) {
        return (unsigned)r < GR_AUTH__CNT ? auth_names[r] : "unknown";
}

/* ---- routing ------------------------------------------------------- */

static int hexval(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static gr_route_t bad(gr_http_route_t *out, const char *why) {
        out->route = GR_ROUTE_BAD;
        out->why = why;
        out->job_id[0] = '\0';
        return GR_ROUTE_BAD;
}

static int accept_json(const char *accept) {
        static const char want[] = "application/json";
        size_t n = sizeof(want) - 1;

        if (!accept)
                return 0;
        for (const char *p = accept; *p; p++)
                if (!strncasecmp(p, want, n))
                        return 1;
        return 0;
}

gr_route_t gr_http_route(const char *path, const char *accept,
                         gr_http_route_t *out) {
        const char *rest;
        size_t n, o = 0;

        memset(out, 0, sizeof(*out));
        out->route = GR_ROUTE_NOT_FOUND;
        if (!path)
                return out->route;
        if (!strcmp(path, "/"))
                return out->route = GR_ROUTE_INDEX;
        if (!strcmp(path, "/metrics"))
                return out->route = GR_ROUTE_METRICS;
        if (!strcmp(path, "/healthz"))
                return out->route = GR_ROUTE_HEALTHZ;
        if (!strcmp(path, "/readyz"))
                return out->route = GR_ROUTE_READYZ;
        if (strncmp(path, "/jobs/", 6))
                return out->route;
        rest = path + 6;
        if (strchr(rest, '/'))
                return out->route; /* no walking: /jobs/a/b is no route */
        n = strlen(rest);
        if (n >= 5 && !memcmp(rest + n - 5, ".json", 5)) {
                out->json = 1;
                n -= 5;
        }
        if (accept_json(accept))
                out->json = 1;
        if (n == 0)
                return bad(out, "empty job id");
        /* Percent-decoding can only shrink, but the raw text is bounded
         * too so a huge path is refused without decoding it. */
        if (n > 3 * (GR_ID_MAX - 1))
                return bad(out, "job id longer than 127 bytes");
        for (size_t i = 0; i < n; i++) {
                int c = (unsigned char)rest[i];
                if (c == '%') {
                        int hi, lo;
                        if (n - i < 3) /* fewer than two characters follow */
                                return bad(out, "bad percent escape");
                        hi = hexval((unsigned char)rest[i + 1]);
                        lo = hexval((unsigned char)rest[i + 2]);
                        if (hi < 0 || lo < 0)
                                return bad(out, "bad percent escape");
                        c = hi * 16 + lo;
                        i += 2;
                }
                if (c < 0x20 || c == 0x7f)
                        return bad(out, "control character in job id");
                if (o >= GR_ID_MAX - 1)
                        return bad(out, "job id longer than 127 bytes");
                out->job_id[o++] = (char)c;
        }
        out->job_id[o] = '\0';
        return out->route = GR_ROUTE_JOB;
}

/* ---- header -------------------------------------------------------- */

static int keyid_char(int c) {
        return c > 0x20 && c < 0x7f && c != ',' && c != '=' && c != '"' &&
               c != '\\';
}

static int nonce_char(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Copy [s, s+n) into dst (size) when every byte passes ok().  0 or -1. */
static int take(const char *s, size_t n, char *dst, size_t size,
                int (*ok)(int)) {
        if (n == 0 || n >= size)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (!ok((unsigned char)s[i]))
                        return -1;
        memcpy(dst, s, n);
        dst[n] = '\0';
        return 0;
}

static int digit_char(int c) {
        return c >= '0' && c <= '9';
}

static int b64_char(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

int gr_http_sig_parse(const char *value, gr_http_sig_hdr *out) {
        static const size_t scheme_len = sizeof(GR_HTTP_AUTH_SCHEME) - 1;
        const char *p;
        int seen = 0; /* bits: key_id, ts, nonce, sig */
        char sigb64[GR_SIG_B64_LEN];

        memset(out, 0, sizeof(*out));
        if (!value || strlen(value) > GR_HTTP_AUTH_HDR_MAX)
                return -1;
        if (strncasecmp(value, GR_HTTP_AUTH_SCHEME, scheme_len) ||
            value[scheme_len] != ' ')
                return -1;
        p = value + scheme_len;
        for (;;) {
                const char *name, *val;
                size_t nlen, vlen;
                int bit;

                while (*p == ' ')
                        p++;
                name = p;
                while (*p && *p != '=' && *p != ',' && *p != ' ')
                        p++;
                if (*p != '=')
                        return -1;
                nlen = (size_t)(p - name);
                val = ++p;
                while (*p && *p != ',' && *p != ' ')
                        p++;
                vlen = (size_t)(p - val);
                if (nlen == 6 && !memcmp(name, "key_id", 6)) {
                        bit = 1;
                        if (take(val, vlen, out->key_id, sizeof(out->key_id),
                                 keyid_char))
                                return -1;
                } else if (nlen == 2 && !memcmp(name, "ts", 2)) {
                        bit = 2;
                        if (vlen > 12 || take(val, vlen, out->ts,
                                              sizeof(out->ts), digit_char))
                                return -1;
                        out->ts_s = 0;
                        for (size_t i = 0; i < vlen; i++)
                                out->ts_s = out->ts_s * 10 + (val[i] - '0');
                } else if (nlen == 5 && !memcmp(name, "nonce", 5)) {
                        bit = 4;
                        if (vlen < GR_HTTP_NONCE_MIN ||
                            take(val, vlen, out->nonce, sizeof(out->nonce),
                                 nonce_char))
                                return -1;
                } else if (nlen == 3 && !memcmp(name, "sig", 3)) {
                        bit = 8;
                        if (take(val, vlen, sigb64, sizeof(sigb64),
                                 b64_char) ||
                            gr_b64_decode(sigb64, vlen, out->sig,
                                          GR_SIGBIN_LEN))
                                return -1;
                } else {
                        return -1; /* unknown parameter */
                }
                if (seen & bit)
                        return -1; /* twice */
                seen |= bit;
                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                if (*p++ != ',')
                        return -1;
        }
        return seen == 15 ? 0 : -1;
}

int gr_http_signing_bytes(const char *method, const char *path,
                          const char *ts, const char *nonce,
                          const char *key_id, gr_buf *out) {
        gr_buf_puts(out, "gr-http-v1\n");
        gr_buf_puts(out, method);
        gr_buf_putc(out, '\n');
        gr_buf_puts(out, path);
        gr_buf_putc(out, '\n');
        gr_buf_puts(out, ts);
        gr_buf_putc(out, '\n');
        gr_buf_puts(out, nonce);
        gr_buf_putc(out, '\n');
        gr_buf_puts(out, key_id);
        gr_buf_putc(out, '\n');
        return out->oom ? -1 : 0;
}

int gr_http_sign_request(const gr_keypair *kp, const char *method,
                         const char *path, int64_t now_s, const char *nonce,
                         gr_buf *out) {
        static const char alpha[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        char ts[24], nb[GR_HTTP_NONCE_MAX + 1], chk[GR_HTTP_NONCE_MAX + 1];
        char kid[GR_ID_MAX], sig[GR_SIG_B64_LEN];
        gr_buf msg;
        int rc;

        if (now_s < 0)
                return -1;
        snprintf(ts, sizeof(ts), "%" PRId64, now_s);
        if (!nonce) {
                uint8_t rnd[24];
                randombytes_buf(rnd, sizeof(rnd));
                for (size_t i = 0; i < sizeof(rnd); i++)
                        nb[i] = alpha[rnd[i] & 63];
                nb[sizeof(rnd)] = '\0';
                nonce = nb;
        }
        if (strlen(nonce) < GR_HTTP_NONCE_MIN ||
            take(nonce, strlen(nonce), chk, sizeof(chk), nonce_char) ||
            take(kp->key_id, strlen(kp->key_id), kid, sizeof(kid),
                 keyid_char))
                return -1;
        gr_buf_init(&msg);
        if (gr_http_signing_bytes(method, path, ts, nonce, kp->key_id,
                                  &msg) == -1) {
                gr_buf_free(&msg);
                return -1;
        }
        rc = gr_sign_b64(kp, msg.data, msg.len, sig);
        gr_buf_free(&msg);
        if (rc == -1)
                return -1;
        gr_buf_printf(out, "%s key_id=%s, ts=%s, nonce=%s, sig=%s",
                      GR_HTTP_AUTH_SCHEME, kp->key_id, ts, nonce, sig);
        return out->oom ? -1 : 0;
}

/* ---- nonce cache --------------------------------------------------- */

typedef struct nonce_slot {
        uint64_t h;     /* 0 = empty */
        int64_t until;  /* seconds; refused while now <= until */
} nonce_slot;

struct gr_nonce_cache {
        pthread_mutex_t lock;
        nonce_slot *t;
        size_t cap, mask, used, max;
        uint8_t key[crypto_shorthash_KEYBYTES];
};

gr_nonce_cache *gr_nonce_cache_new(size_t max) {
        gr_nonce_cache *nc;
        size_t cap = 16;

        if (max == 0 || max > ((size_t)1 << 28) || gr_crypto_init() == -1)
                return NULL;
        while (cap < 2 * max)
                cap <<= 1;
        if (!(nc = calloc(1, sizeof(*nc))))
                return NULL;
        if (!(nc->t = calloc(cap, sizeof(*nc->t))) ||
            pthread_mutex_init(&nc->lock, NULL)) {
                free(nc->t);
                free(nc);
                return NULL;
        }
        nc->cap = cap;
        nc->mask = cap - 1;
        nc->max = max;
        randombytes_buf(nc->key, sizeof(nc->key));
        return nc;
}

void gr_nonce_cache_destroy(gr_nonce_cache *nc) {
        if (!nc)
                return;
        pthread_mutex_destroy(&nc->lock);
        free(nc->t);
        free(nc);
}

size_t gr_nonce_cache_count(gr_nonce_cache *nc) {
        size_t n;

        if (!nc)
                return 0;
        pthread_mutex_lock(&nc->lock);
        n = nc->used;
        pthread_mutex_unlock(&nc->lock);
        return n;
}

static void slot_put(gr_nonce_cache *nc, uint64_t h, int64_t until) {
        size_t i = (size_t)h & nc->mask;

        while (nc->t[i].h && nc->t[i].h != h)
                i = (i + 1) & nc->mask;
        if (!nc->t[i].h)
                nc->used++;
        nc->t[i].h = h;
        nc->t[i].until = until;
}

/* Drop the expired entries (rehash in place through a scratch copy). */
static int sweep(gr_nonce_cache *nc, int64_t now) {
        nonce_slot *old = nc->t, *t = calloc(nc->cap, sizeof(*t));

        if (!t)
                return -1;
        nc->t = t;
        nc->used = 0;
        for (size_t i = 0; i < nc->cap; i++)
                if (old[i].h && old[i].until >= now)
                        slot_put(nc, old[i].h, old[i].until);
        free(old);
        return 0;
}

/* GR_AUTH_OK (recorded), GR_AUTH_REPLAY or GR_AUTH_BUSY. */
static gr_auth_result nonce_take(gr_nonce_cache *nc, const char *key_id,
                                 const char *nonce, int64_t until,
                                 int64_t now) {
        uint8_t in[GR_ID_MAX + GR_HTTP_NONCE_MAX + 2], hb[8];
        size_t kn = strlen(key_id), nn = strlen(nonce), i;
        gr_auth_result r = GR_AUTH_OK;
        uint64_t h = 0;

        memcpy(in, key_id, kn);
        in[kn] = '\n';
        memcpy(in + kn + 1, nonce, nn);
        crypto_shorthash(hb, in, kn + 1 + nn, nc->key);
        for (i = 0; i < 8; i++)
                h = h << 8 | hb[i];
        if (!h)
                h = 1;
        pthread_mutex_lock(&nc->lock);
        for (i = (size_t)h & nc->mask; nc->t[i].h; i = (i + 1) & nc->mask)
                if (nc->t[i].h == h) {
                        if (nc->t[i].until >= now)
                                r = GR_AUTH_REPLAY;
                        else
                                nc->t[i].until = until; /* reuse */
                        goto out;
                }
        if (nc->used >= nc->max &&
            (sweep(nc, now) == -1 || nc->used >= nc->max)) {
                r = GR_AUTH_BUSY;
                goto out;
        }
        slot_put(nc, h, until);
out:
        pthread_mutex_unlock(&nc->lock);
        return r;
}

/* ---- checks -------------------------------------------------------- */

gr_auth_result gr_http_auth_check(const gr_keyring *kr, gr_nonce_cache *nc,
                                  int window_s, const char *method,
                                  const char *path, const char *value,
                                  int64_t now_s, gr_http_principal *who) {
        gr_http_sig_hdr h;
        const gr_key_entry *e;
        gr_buf msg;
        int ok;

        if (!value || !*value)
                return GR_AUTH_MISSING;
        if (!method || !path || gr_http_sig_parse(value, &h) == -1)
                return GR_AUTH_MALFORMED;
        if (h.ts_s > now_s + window_s || h.ts_s < now_s - window_s)
                return GR_AUTH_STALE;
        if (!(e = gr_keyring_find(kr, h.key_id)))
                return GR_AUTH_UNKNOWN_KEY;
        if (now_s > INT64_MAX / 1000 || now_s < INT64_MIN / 1000 ||
            !gr_key_valid_at(e, now_s * 1000))
                return GR_AUTH_EXPIRED_KEY;
        gr_buf_init(&msg);
        if (gr_http_signing_bytes(method, path, h.ts, h.nonce, h.key_id,
                                  &msg) == -1) {
                gr_buf_free(&msg);
                return GR_AUTH_BUSY;
        }
        ok = crypto_sign_verify_detached(h.sig, (const uint8_t *)msg.data,
                                         msg.len, e->pk) == 0;
        gr_buf_free(&msg);
        if (!ok)
                return GR_AUTH_BAD_SIGNATURE;
        if (!nc)
                return GR_AUTH_BUSY;
        {
                gr_auth_result r =
                    nonce_take(nc, h.key_id, h.nonce, h.ts_s + window_s, now_s);
                if (r != GR_AUTH_OK)
                        return r;
        }
        if (who) {
                memset(who, 0, sizeof(*who));
                memcpy(who->key_id, e->key_id, sizeof(who->key_id));
                memcpy(who->actor_id, e->actor_id, sizeof(who->actor_id));
                who->role = e->role;
        }
        return GR_AUTH_OK;
}

int gr_http_may_read(const gr_http_principal *who, const gr_job *job) {
        if (!who || !job)
                return 0;
        if (who->anonymous)
                return 1;
        switch (who->role) {
        case GR_KROLE_MARKETPLACE:
        case GR_KROLE_REVIEWER:
                return 1;
        case GR_KROLE_BUYER:
                return gr_job_is_party(job, GR_ROLE_BUYER, who->actor_id);
        case GR_KROLE_SELLER:
                return gr_job_is_party(job, GR_ROLE_SELLER, who->actor_id);
        default:
                return 0;
        }
}

int gr_http_bearer_ok(const char *value, const char *token) {
        uint8_t a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];

        if (!value || !token || !*token || strncasecmp(value, "Bearer ", 7))
                return 0;
        value += 7;
        /* Hash both sides so the comparison takes the same time whatever
         * the lengths and the first differing byte. */
        crypto_generichash(a, sizeof(a), (const uint8_t *)value,
                           strlen(value), NULL, 0);
        crypto_generichash(b, sizeof(b), (const uint8_t *)token,
                           strlen(token), NULL, 0);
        return sodium_memcmp(a, b, sizeof(a)) == 0;
}
