/*
 * The request side of receiptd's HTTP server (consumers/gr_http_auth.h),
 * without HTTP: routing of raw paths, the Authorization header grammar,
 * signatures checked against a registry with the clock passed in (window
 * edges exact, replays, a full nonce cache), who may read which job, the
 * bearer token; and the job parties the core records for it (gr_job,
 * state document, registry actor_id).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gr_http_auth.h"
#include "gr_sign.h"
#include "gr_state_json.h"
#include "ops_fixture.h"

#define T0 1780000000 /* a fixed "now", seconds */

static gr_keypair k_buyer, k_seller, k_mkt, k_rev, k_ver, k_proc, k_old;
static gr_keyring *kr;

static void entry(gr_buf *b, const gr_keypair *kp, const char *actor_id,
                  const char *extra) {
        gr_buf tmp;
        gr_buf_init(&tmp);
        gr_keypair_public_to_json(kp, 0, &tmp);
        /* drop the closing brace to add members */
        tmp.len--;
        gr_buf_append(b, tmp.data, tmp.len);
        if (actor_id)
                gr_buf_printf(b, ",\"actor_id\":\"%s\"", actor_id);
        if (extra)
                gr_buf_puts(b, extra);
        gr_buf_putc(b, '}');
        gr_buf_free(&tmp);
}

static int setup(void **state) {
        char es[256];
        gr_buf b;
        (void)state;

        if (gr_crypto_init() == -1 ||
            gr_keypair_generate(&k_buyer, GR_KROLE_BUYER, "k-buyer-5", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_seller, GR_KROLE_SELLER, "worker-17", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_mkt, GR_KROLE_MARKETPLACE, "k-mkt", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_rev, GR_KROLE_REVIEWER, "k-rev", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_ver, GR_KROLE_VERIFIER, "k-ver", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_proc, GR_KROLE_PROCESSOR, "k-proc", es,
                                sizeof(es)) ||
            gr_keypair_generate(&k_old, GR_KROLE_BUYER, "k-old", es,
                                sizeof(es)))
                return -1;
        gr_buf_init(&b);
        gr_buf_putc(&b, '[');
        entry(&b, &k_buyer, "buyer-5", NULL);
        gr_buf_putc(&b, ',');
        entry(&b, &k_seller, NULL, NULL); /* actor id = key_id */
        gr_buf_putc(&b, ',');
        entry(&b, &k_mkt, NULL, NULL);
        gr_buf_putc(&b, ',');
        entry(&b, &k_rev, NULL, NULL);
        gr_buf_putc(&b, ',');
        entry(&b, &k_ver, NULL, NULL);
        gr_buf_putc(&b, ',');
        entry(&b, &k_proc, NULL, NULL);
        /* valid_from 0 is written by public_to_json; valid_to before T0:
         * the key has expired by then. */
        gr_buf_putc(&b, ',');
        {
                gr_buf tmp;
                gr_buf_init(&tmp);
                gr_keypair_public_to_json(&k_old, 0, &tmp);
                /* replace "valid_to":null */
                char *p = strstr(tmp.data, "\"valid_to\":null");
                assert_non_null(p);
                gr_buf_append(&b, tmp.data, (size_t)(p - tmp.data));
                gr_buf_puts(&b, "\"valid_to\":\"2026-05-20T00:00:00Z\","
                                "\"actor_id\":\"buyer-5\"}");
                gr_buf_free(&tmp);
        }
        gr_buf_putc(&b, ']');
        kr = gr_keyring_new(b.data, b.len, es, sizeof(es));
        if (!kr)
                fprintf(stderr, "registry: %s\n%.*s\n", es, (int)b.len,
                        b.data);
        gr_buf_free(&b);
        return kr ? 0 : -1;
}

static int teardown(void **state) {
        (void)state;
        gr_keyring_destroy(kr);
        gr_keypair_wipe(&k_buyer);
        gr_keypair_wipe(&k_seller);
        return 0;
}

/* ---- routing ------------------------------------------------------- */

static void test_route(void **state) {
        static const struct {
                const char *path, *accept;
                gr_route_t route;
                int json;
                const char *id;
        } rows[] = {
            {"/", NULL, GR_ROUTE_INDEX, 0, NULL},
            {"/metrics", NULL, GR_ROUTE_METRICS, 0, NULL},
            {"/healthz", NULL, GR_ROUTE_HEALTHZ, 0, NULL},
            {"/readyz", NULL, GR_ROUTE_READYZ, 0, NULL},
            {"/metrics/", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"//metrics", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"/%6Detrics", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"/jobs", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"/jobs/run_ok", NULL, GR_ROUTE_JOB, 0, "run_ok"},
            {"/jobs/run_ok", "text/html, application/json;q=0.9",
             GR_ROUTE_JOB, 1, "run_ok"},
            {"/jobs/run_ok", "APPLICATION/JSON", GR_ROUTE_JOB, 1, "run_ok"},
            {"/jobs/run_ok.json", NULL, GR_ROUTE_JOB, 1, "run_ok"},
            {"/jobs/run_ok%2Ejson", NULL, GR_ROUTE_JOB, 0, "run_ok.json"},
            {"/jobs/run_ok.json.json", NULL, GR_ROUTE_JOB, 1,
             "run_ok.json"},
            {"/jobs/a%2Fb", NULL, GR_ROUTE_JOB, 0, "a/b"},
            {"/jobs/..%2F..%2Fetc%2Fpasswd", NULL, GR_ROUTE_JOB, 0,
             "../../etc/passwd"},
            {"/jobs/%2e%2e", NULL, GR_ROUTE_JOB, 0, ".."},
            {"/jobs/%3Cscript%3E", NULL, GR_ROUTE_JOB, 0, "<script>"},
            {"/jobs/a+b", NULL, GR_ROUTE_JOB, 0, "a+b"},
            {"/jobs/%C3%A9t%C3%A9", NULL, GR_ROUTE_JOB, 0,
             "\xc3\xa9t\xc3\xa9"},
            {"/jobs/../metrics", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"/jobs/a/b", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"/jobs/run_ok/", NULL, GR_ROUTE_NOT_FOUND, 0, NULL},
            {"/jobs/", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/.json", NULL, GR_ROUTE_BAD, 1, NULL},
            {"/jobs/%", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/%4", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/%4.json", NULL, GR_ROUTE_BAD, 1, NULL},
            {"/jobs/%ZZ", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/%00", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/a%0Ab", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/a%7F", NULL, GR_ROUTE_BAD, 0, NULL},
            {"/jobs/a\tb", NULL, GR_ROUTE_BAD, 0, NULL},
        };
        gr_http_route_t rt;
        (void)state;

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                gr_route_t got = gr_http_route(rows[i].path, rows[i].accept,
                                               &rt);
                if (got != rows[i].route)
                        fail_msg("%s: route %d, want %d", rows[i].path,
                                 (int)got, (int)rows[i].route);
                if (got == GR_ROUTE_JOB || got == GR_ROUTE_BAD)
                        assert_int_equal(rt.json, rows[i].json);
                if (rows[i].id)
                        assert_string_equal(rt.job_id, rows[i].id);
                if (got == GR_ROUTE_BAD)
                        assert_non_null(rt.why);
        }
        assert_int_equal(gr_http_route(NULL, NULL, &rt), GR_ROUTE_NOT_FOUND);

        /* 127 bytes fit, 128 do not, however they are spelt */
        {
                char p[6 + 3 * 130 + 1];
                strcpy(p, "/jobs/");
                memset(p + 6, 'a', 127);
                p[6 + 127] = '\0';
                assert_int_equal(gr_http_route(p, NULL, &rt), GR_ROUTE_JOB);
                assert_int_equal(strlen(rt.job_id), 127);
                p[6 + 127] = 'a';
                p[6 + 128] = '\0';
                assert_int_equal(gr_http_route(p, NULL, &rt), GR_ROUTE_BAD);
                for (int i = 0; i < 127; i++)
                        memcpy(p + 6 + 3 * i, "%41", 3);
                p[6 + 3 * 127] = '\0';
                assert_int_equal(gr_http_route(p, NULL, &rt), GR_ROUTE_JOB);
                assert_int_equal(strlen(rt.job_id), 127);
                memcpy(p + 6 + 3 * 127, "%41", 4);
                assert_int_equal(gr_http_route(p, NULL, &rt), GR_ROUTE_BAD);
        }
}

/* ---- header grammar ------------------------------------------------- */

static char *sign(const gr_keypair *kp, const char *method, const char *path,
                  int64_t ts, const char *nonce) {
        gr_buf b;
        gr_buf_init(&b);
        assert_int_equal(gr_http_sign_request(kp, method, path, ts, nonce, &b),
                         0);
        return b.data;
}

static void test_parse(void **state) {
        gr_http_sig_hdr h;
        char *good = sign(&k_buyer, "GET", "/jobs/x", T0,
                          "nonce-0123456789abcdef");
        char buf[1024];
        const char *sig = strstr(good, "sig=") + 4;
        static const char *const bad[] = {
            "",
            "GR-Ed25519",
            "GR-Ed25519 ",
            "Bearer x",
            "GR-Ed25519x key_id=a",
            "GR-Ed25519 key_id=a,ts=1,nonce=AAAAAAAAAAAAAAAA",
            "GR-Ed25519 key_id=,ts=1,nonce=AAAAAAAAAAAAAAAA,sig=AA==",
            "GR-Ed25519 key_id=a,ts=,nonce=AAAAAAAAAAAAAAAA,sig=AA==",
            "GR-Ed25519 key_id=a,ts=1,nonce=AAAAAAAAAAAAAAAA,sig=AA==",
            "GR-Ed25519 key_id=a b,ts=1,nonce=AAAAAAAAAAAAAAAA,sig=AA==",
            "GR-Ed25519 key_id=\"a\",ts=1,nonce=AAAAAAAAAAAAAAAA,sig=AA==",
            "GR-Ed25519 ;",
            "GR-Ed25519 =,=,=,=",
            "GR-Ed25519 key_id=a,,ts=1",
        };
        (void)state;

        assert_int_equal(gr_http_sig_parse(good, &h), 0);
        assert_string_equal(h.key_id, "k-buyer-5");
        assert_int_equal(h.ts_s, T0);
        assert_string_equal(h.nonce, "nonce-0123456789abcdef");
        /* any order, spaces, scheme case */
        snprintf(buf, sizeof(buf),
                 "gr-ed25519   sig=%s ,nonce=nonce-0123456789abcdef,ts=%d ,"
                 "  key_id=k-buyer-5  ",
                 sig, T0);
        assert_int_equal(gr_http_sig_parse(buf, &h), 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (gr_http_sig_parse(bad[i], &h) != -1)
                        fail_msg("accepted: %s", bad[i]);
        assert_int_equal(gr_http_sig_parse(NULL, &h), -1);
        /* each parameter twice */
        snprintf(buf, sizeof(buf), "%s, ts=%d", good, T0);
        assert_int_equal(gr_http_sig_parse(buf, &h), -1);
        /* nonce bounds: 15 and 65 characters refused, 16 and 64 taken */
        free(good);
        {
                gr_buf b;
                gr_buf_init(&b);
                assert_int_equal(gr_http_sign_request(&k_buyer, "GET", "/",
                                                      T0, "AAAAAAAAAAAAAAA",
                                                      &b),
                                 -1);
                gr_buf_free(&b);
                char n64[65];
                memset(n64, 'n', 64);
                n64[64] = '\0';
                gr_buf_init(&b);
                assert_int_equal(gr_http_sign_request(&k_buyer, "GET", "/",
                                                      T0, n64, &b),
                                 0);
                assert_int_equal(gr_http_sig_parse(b.data, &h), 0);
                gr_buf_free(&b);
                n64[63] = '\0';
                /* 63 fine too; 65 impossible to write: the header refuses */
                gr_buf_init(&b);
                assert_int_equal(gr_http_sign_request(&k_buyer, "GET", "/",
                                                      T0, "bad nonce!!!!!!!!",
                                                      &b),
                                 -1);
                gr_buf_free(&b);
        }
}

/* ---- checks --------------------------------------------------------- */

static gr_auth_result chk(gr_nonce_cache *nc, const char *method,
                          const char *path, const char *hdr, int64_t now,
                          gr_http_principal *who) {
        return gr_http_auth_check(kr, nc, 300, method, path, hdr, now, who);
}

static void test_check(void **state) {
        gr_nonce_cache *nc = gr_nonce_cache_new(1000);
        gr_http_principal who;
        char *h;
        (void)state;

        assert_non_null(nc);
        assert_int_equal(chk(nc, "GET", "/jobs/x", NULL, T0, &who),
                         GR_AUTH_MISSING);
        assert_int_equal(chk(nc, "GET", "/jobs/x", "", T0, &who),
                         GR_AUTH_MISSING);
        assert_int_equal(chk(nc, "GET", "/jobs/x", "Bearer abc", T0, &who),
                         GR_AUTH_MALFORMED);

        h = sign(&k_buyer, "GET", "/jobs/x", T0, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who), GR_AUTH_OK);
        assert_string_equal(who.key_id, "k-buyer-5");
        assert_string_equal(who.actor_id, "buyer-5");
        assert_int_equal(who.role, GR_KROLE_BUYER);
        assert_int_equal(who.anonymous, 0);
        /* replayed: refused, also at another time inside the window */
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who),
                         GR_AUTH_REPLAY);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0 + 299, &who),
                         GR_AUTH_REPLAY);
        /* after the window: stale, never replayable */
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0 + 301, &who),
                         GR_AUTH_STALE);
        free(h);

        /* window edges, both ways */
        h = sign(&k_buyer, "GET", "/jobs/x", T0 - 300, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who), GR_AUTH_OK);
        free(h);
        h = sign(&k_buyer, "GET", "/jobs/x", T0 - 301, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who),
                         GR_AUTH_STALE);
        free(h);
        h = sign(&k_buyer, "GET", "/jobs/x", T0 + 300, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who), GR_AUTH_OK);
        free(h);
        h = sign(&k_buyer, "GET", "/jobs/x", T0 + 301, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who),
                         GR_AUTH_STALE);
        free(h);

        /* bound to method and path */
        h = sign(&k_buyer, "GET", "/jobs/x", T0, NULL);
        assert_int_equal(chk(nc, "HEAD", "/jobs/x", h, T0, &who),
                         GR_AUTH_BAD_SIGNATURE);
        assert_int_equal(chk(nc, "GET", "/jobs/y", h, T0, &who),
                         GR_AUTH_BAD_SIGNATURE);
        assert_int_equal(chk(nc, "GET", "/jobs/x.json", h, T0, &who),
                         GR_AUTH_BAD_SIGNATURE);
        /* the failed tries took no place: the right one still passes */
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who), GR_AUTH_OK);
        free(h);

        /* another key's signature under this key_id */
        {
                char *s = sign(&k_mkt, "GET", "/jobs/x", T0, NULL);
                char buf[600];
                char *sig = strstr(s, "sig=");
                char *nonce = strstr(s, "nonce=");
                snprintf(buf, sizeof(buf), "GR-Ed25519 key_id=k-buyer-5, "
                         "ts=%d, %.*s%s", T0, (int)(sig - nonce), nonce, sig);
                assert_int_equal(chk(nc, "GET", "/jobs/x", buf, T0, &who),
                                 GR_AUTH_BAD_SIGNATURE);
                free(s);
        }
        /* unknown and expired keys; no registry at all */
        {
                gr_keypair k;
                char es[64];
                assert_int_equal(gr_keypair_generate(&k, GR_KROLE_BUYER,
                                                     "k-nobody", es,
                                                     sizeof(es)),
                                 0);
                h = sign(&k, "GET", "/jobs/x", T0, NULL);
                assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who),
                                 GR_AUTH_UNKNOWN_KEY);
                free(h);
                gr_keypair_wipe(&k);
        }
        h = sign(&k_old, "GET", "/jobs/x", T0, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, T0, &who),
                         GR_AUTH_EXPIRED_KEY);
        /* the same key was fine in May 2026 */
        free(h);
        h = sign(&k_old, "GET", "/jobs/x", 1779000000, NULL);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h, 1779000000, &who),
                         GR_AUTH_OK);
        assert_int_equal(gr_http_auth_check(NULL, nc, 300, "GET", "/jobs/x",
                                            h, 1779000000, &who),
                         GR_AUTH_UNKNOWN_KEY);
        free(h);
        gr_nonce_cache_destroy(nc);
}

static void test_nonce_cache(void **state) {
        gr_nonce_cache *nc = gr_nonce_cache_new(3);
        gr_http_principal who;
        char *h[5], nonce[32];
        (void)state;

        assert_null(gr_nonce_cache_new(0));
        for (int i = 0; i < 5; i++) {
                snprintf(nonce, sizeof(nonce), "nonce-%016d", i);
                h[i] = sign(&k_buyer, "GET", "/jobs/x", T0, nonce);
        }
        for (int i = 0; i < 3; i++)
                assert_int_equal(chk(nc, "GET", "/jobs/x", h[i], T0, &who),
                                 GR_AUTH_OK);
        assert_int_equal(gr_nonce_cache_count(nc), 3);
        /* full of live entries: busy, not a silent forget */
        assert_int_equal(chk(nc, "GET", "/jobs/x", h[3], T0, &who),
                         GR_AUTH_BUSY);
        /* the live ones are still refused */
        assert_int_equal(chk(nc, "GET", "/jobs/x", h[0], T0 + 1, &who),
                         GR_AUTH_REPLAY);
        /* once they expire the sweep frees them */
        for (int i = 0; i < 5; i++)
                free(h[i]);
        for (int i = 0; i < 3; i++) {
                snprintf(nonce, sizeof(nonce), "later-%016d", i);
                h[i] = sign(&k_buyer, "GET", "/jobs/x", T0 + 400, nonce);
                assert_int_equal(chk(nc, "GET", "/jobs/x", h[i], T0 + 400,
                                     &who),
                                 GR_AUTH_OK);
                free(h[i]);
        }
        assert_int_equal(gr_nonce_cache_count(nc), 3);
        /* the same nonce signed anew after its entry expired is fresh */
        h[0] = sign(&k_buyer, "GET", "/jobs/x", T0 + 1000,
                    "later-0000000000000000");
        assert_int_equal(chk(nc, "GET", "/jobs/x", h[0], T0 + 1000, &who),
                         GR_AUTH_OK);
        free(h[0]);
        /* the same nonce from another key is another entry */
        gr_nonce_cache_destroy(nc);
        nc = gr_nonce_cache_new(10);
        h[0] = sign(&k_buyer, "GET", "/jobs/x", T0, "same-nonce-0123456789");
        h[1] = sign(&k_mkt, "GET", "/jobs/x", T0, "same-nonce-0123456789");
        assert_int_equal(chk(nc, "GET", "/jobs/x", h[0], T0, &who),
                         GR_AUTH_OK);
        assert_int_equal(chk(nc, "GET", "/jobs/x", h[1], T0, &who),
                         GR_AUTH_OK);
        free(h[0]);
        free(h[1]);
        gr_nonce_cache_destroy(nc);
}

/* ---- who reads what ------------------------------------------------- */

static gr_http_principal as(const gr_keypair *kp) {
        gr_http_principal p;
        const gr_key_entry *e = gr_keyring_find(kr, kp->key_id);
        assert_non_null(e);
        memset(&p, 0, sizeof(p));
        strcpy(p.key_id, e->key_id);
        strcpy(p.actor_id, e->actor_id);
        p.role = e->role;
        return p;
}

static void test_may_read(void **state) {
        ops_run r = {0};
        char path[512];
        const gr_job *ok, *rev;
        gr_http_principal p;
        (void)state;

        snprintf(path, sizeof(path), "%s/scenarios.jsonl", GR_TEST_DATA_DIR);
        assert_int_equal(ops_run_file(&r, path), 0);
        assert_non_null(ok = gr_jobtab_get(gr_engine_jobs(r.eng), "run_ok",
                                           0));
        assert_non_null(rev = gr_jobtab_get(gr_engine_jobs(r.eng),
                                            "run_capfail", 0));
        /* run_ok: buyer-5 and worker-17 acted on it */
        assert_true(gr_job_is_party(ok, GR_ROLE_BUYER, "buyer-5"));
        assert_true(gr_job_is_party(ok, GR_ROLE_SELLER, "worker-17"));
        assert_false(gr_job_is_party(ok, GR_ROLE_SELLER, "buyer-5"));
        assert_false(gr_job_is_party(ok, GR_ROLE_BUYER, "mkt-1"));

        p = as(&k_buyer);
        assert_true(gr_http_may_read(&p, ok));
        p = as(&k_seller);
        assert_true(gr_http_may_read(&p, ok));
        p = as(&k_mkt);
        assert_true(gr_http_may_read(&p, ok));
        p = as(&k_rev);
        assert_true(gr_http_may_read(&p, ok));
        p = as(&k_ver);
        assert_false(gr_http_may_read(&p, ok));
        p = as(&k_proc);
        assert_false(gr_http_may_read(&p, ok));
        /* a buyer key naming the seller's id is still a buyer */
        p = as(&k_buyer);
        strcpy(p.actor_id, "worker-17");
        assert_false(gr_http_may_read(&p, ok));
        /* a job without buyer events: the buyer may not read it */
        if (!gr_job_is_party(rev, GR_ROLE_BUYER, "buyer-5")) {
                p = as(&k_buyer);
                assert_false(gr_http_may_read(&p, rev));
        }
        memset(&p, 0, sizeof(p));
        p.anonymous = 1;
        assert_true(gr_http_may_read(&p, ok));
        assert_false(gr_http_may_read(NULL, ok));
        assert_false(gr_http_may_read(&p, NULL));
        ops_run_free(&r);
}

/* ---- parties through the state topic and the registry ---------------- */

static void test_parties_state(void **state) {
        ops_run r = {0};
        char path[512], es[256];
        const gr_job *ok;
        gr_job *back, *j;
        gr_buf b, b2;
        (void)state;

        snprintf(path, sizeof(path), "%s/scenarios.jsonl", GR_TEST_DATA_DIR);
        assert_int_equal(ops_run_file(&r, path), 0);
        ok = gr_jobtab_get(gr_engine_jobs(r.eng), "run_ok", 0);
        gr_buf_init(&b);
        gr_state_encode(ok, &b);
        assert_non_null(strstr(b.data, "\"parties\":["));
        back = gr_state_decode(b.data, b.len, es, sizeof(es));
        assert_non_null(back);
        assert_int_equal(back->nparties, ok->nparties);
        assert_true(gr_job_is_party(back, GR_ROLE_BUYER, "buyer-5"));
        assert_true(gr_job_is_party(back, GR_ROLE_SELLER, "worker-17"));
        gr_buf_init(&b2);
        gr_state_encode(back, &b2);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
        gr_job_destroy(back);

        /* an older document without "parties" reads as none */
        {
                char *p = strstr(b.data, ",\"parties\":[");
                char *e = strstr(p, "]");
                memmove(p, e + 1, strlen(e + 1) + 1);
                back = gr_state_decode(b.data, strlen(b.data), es,
                                       sizeof(es));
                assert_non_null(back);
                assert_int_equal(back->nparties, 0);
                gr_job_destroy(back);
        }
        /* bad parties are refused, not half read */
        {
                static const char *const bad[] = {
                    "{}", "[{\"role\":\"verifier\",\"id\":\"v\"}]",
                    "[{\"role\":\"buyer\"}]", "[{\"role\":\"buyer\",\"id\":\"\"}]",
                    "[{\"role\":\"buyer\",\"id\":7}]", "[1]",
                    "[{\"role\":\"buyer\",\"id\":\"a\\u0000b\"}]"};
                size_t n = strlen(b.data);
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                        gr_buf d;
                        gr_buf_init(&d);
                        gr_buf_append(&d, b.data, n - 1); /* drop '}' */
                        gr_buf_printf(&d, ",\"parties\":%s}", bad[i]);
                        back = gr_state_decode(d.data, d.len, es, sizeof(es));
                        if (back)
                                fail_msg("accepted parties %s", bad[i]);
                        /* (the last one fails in the JSON parser) */
                        if (i < 6 && !strstr(es, "parties"))
                                fail_msg("%s: %s", bad[i], es);
                        gr_buf_free(&d);
                }
        }
        gr_buf_free(&b);
        gr_buf_free(&b2);

        /* at most GR_JOB_PARTIES_MAX; other roles ignored */
        j = gr_job_new("j");
        for (int i = 0; i < GR_JOB_PARTIES_MAX + 5; i++) {
                char id[16];
                snprintf(id, sizeof(id), "b%d", i);
                assert_int_equal(gr_job_party_add(j, GR_ROLE_BUYER, id), 0);
        }
        assert_int_equal(j->nparties, GR_JOB_PARTIES_MAX);
        assert_int_equal(gr_job_party_add(j, GR_ROLE_VERIFIER, "v"), 0);
        assert_int_equal(gr_job_party_add(j, GR_ROLE_BUYER, "b0"), 0);
        assert_int_equal(gr_job_party_add(j, GR_ROLE_BUYER, ""), 0);
        assert_int_equal(j->nparties, GR_JOB_PARTIES_MAX);
        assert_false(gr_job_is_party(j, GR_ROLE_BUYER,
                                     "b" /* prefix only */));
        gr_job_destroy(j);
        ops_run_free(&r);
}

static void test_registry_actor_id(void **state) {
        char es[256];
        gr_buf b;
        gr_keyring *k2;
        (void)state;

        assert_string_equal(gr_keyring_find(kr, "k-buyer-5")->actor_id,
                            "buyer-5");
        assert_string_equal(gr_keyring_find(kr, "worker-17")->actor_id,
                            "worker-17");
        for (int i = 0; i < 3; i++) {
                static const char *const bad[] = {",\"actor_id\":\"\"",
                                                  ",\"actor_id\":5",
                                                  ",\"actor_id\":null"};
                gr_buf_init(&b);
                entry(&b, &k_buyer, NULL, bad[i]);
                k2 = gr_keyring_new(b.data, b.len, es, sizeof(es));
                if (k2)
                        fail_msg("accepted %s", bad[i]);
                assert_non_null(strstr(es, "actor_id"));
                gr_buf_free(&b);
        }
}

static void test_bearer(void **state) {
        (void)state;
        assert_true(gr_http_bearer_ok("Bearer s3cret", "s3cret"));
        assert_true(gr_http_bearer_ok("bearer s3cret", "s3cret"));
        assert_false(gr_http_bearer_ok("Bearer s3cre", "s3cret"));
        assert_false(gr_http_bearer_ok("Bearer s3cretx", "s3cret"));
        assert_false(gr_http_bearer_ok("Bearer  s3cret", "s3cret"));
        assert_false(gr_http_bearer_ok("Basic s3cret", "s3cret"));
        assert_false(gr_http_bearer_ok("s3cret", "s3cret"));
        assert_false(gr_http_bearer_ok(NULL, "s3cret"));
        assert_false(gr_http_bearer_ok("Bearer ", ""));
        assert_false(gr_http_bearer_ok("Bearer x", NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_route),
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_check),
            cmocka_unit_test(test_nonce_cache),
            cmocka_unit_test(test_may_read),
            cmocka_unit_test(test_parties_state),
            cmocka_unit_test(test_registry_actor_id),
            cmocka_unit_test(test_bearer),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
