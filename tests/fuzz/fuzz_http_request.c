/*
 * Fuzz target for the request side of receiptd's HTTP server
 * (consumers/gr_http_auth.h): routing of the raw path, the Authorization
 * header, the signature check with its nonce cache, read rights and the
 * bearer token (libFuzzer entry point; also driven by fuzz_main.c's replay
 * main).
 *
 * Input: up to four lines, "METHOD\nPATH\nACCEPT\nAUTHORIZATION" (a
 * missing line is absent; bytes after a NUL are cut, as an HTTP library
 * would hand over C strings).  The registry holds one buyer key made from
 * a fixed seed (32 bytes of 0x42, key_id "k-fuzz", actor_id "buyer-fuzz")
 * and the clock reads T0 = 1780000000, so a seed signed by that key at T0
 * passes (tests/fuzz/corpus/http_request was made that way).
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a routed job id is 1..127 bytes without control characters, a bad
 *    route says why, and routing is a pure function of its input;
 *  - a request passes only with a header that parses, for a known key,
 *    with ts inside the window, and passes once: the same header again is
 *    a replay;
 *  - when the header parses, signing the same method/path/ts/nonce with
 *    the registry key gives a request that passes once, then is a replay;
 *    a different path under that signature does not pass;
 *  - the principal of a passing request is that key's, and it reads a job
 *    only when the job names its actor id as a buyer.
 */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_http_auth.h"
#include "gr_sign.h"

#define T0 1780000000
#define WINDOW 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

_Noreturn static void die(const char *what) {
        fprintf(stderr, "fuzz_http_request: %s\n", what);
        abort();
}

static gr_keypair kp;
static gr_keyring *kr;

static void init_once(void) {
        char json[512], b64[64];
        uint8_t seed[32];

        if (kr)
                return;
        if (gr_crypto_init() == -1)
                die("sodium");
        memset(seed, 0x42, sizeof(seed));
        memset(&kp, 0, sizeof(kp));
        strcpy(kp.key_id, "k-fuzz");
        kp.role = GR_KROLE_BUYER;
        crypto_sign_seed_keypair(kp.pk, kp.sk, seed);
        gr_b64_encode(kp.pk, sizeof(kp.pk), b64, sizeof(b64));
        snprintf(json, sizeof(json),
                 "[{\"key_id\":\"k-fuzz\",\"role\":\"buyer\","
                 "\"public_key\":\"%s\",\"actor_id\":\"buyer-fuzz\"}]",
                 b64);
        if (!(kr = gr_keyring_new(json, strlen(json), NULL, 0)))
                die("registry");
}

/* Next line of [p, end) as a NUL-terminated copy, or NULL when absent. */
static char *line(const uint8_t **p, const uint8_t *end) {
        const uint8_t *s = *p, *e;
        char *out;

        if (s > end)
                return NULL;
        e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
                e = end;
        if (!(out = malloc((size_t)(e - s) + 1)))
                die("oom");
        memcpy(out, s, (size_t)(e - s));
        out[e - s] = '\0'; /* bytes after an inner NUL are cut by strlen */
        *p = e + 1;
        return out;
}

static void check_route(const char *path, const char *accept) {
        gr_http_route_t a, b;
        gr_route_t r = gr_http_route(path, accept, &a);

        if (gr_http_route(path, accept, &b) != r ||
            memcmp(&a.job_id, &b.job_id, sizeof(a.job_id)) || a.json != b.json)
                die("routing is not a function of its input");
        if (r == GR_ROUTE_JOB) {
                size_t n = strnlen(a.job_id, sizeof(a.job_id));
                if (n == 0 || n >= GR_ID_MAX)
                        die("routed job id length out of bounds");
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)a.job_id[i] < 0x20 ||
                            a.job_id[i] == 0x7f)
                                die("control character in a routed id");
        }
        if (r == GR_ROUTE_BAD && !a.why)
                die("bad route without a reason");
}

static void check_auth(const char *method, const char *path,
                       const char *auth) {
        gr_nonce_cache *nc = gr_nonce_cache_new(8);
        gr_http_principal who;
        gr_http_sig_hdr h;
        gr_auth_result r;
        int parsed;
        gr_job *j;

        if (!nc)
                die("nonce cache");
        parsed = gr_http_sig_parse(auth, &h) == 0;
        r = gr_http_auth_check(kr, nc, WINDOW, method, path, auth, T0, &who);
        if ((unsigned)r >= GR_AUTH__CNT)
                die("result out of range");
        if (r == GR_AUTH_OK) {
                if (!parsed || strcmp(h.key_id, "k-fuzz") ||
                    h.ts_s < T0 - WINDOW || h.ts_s > T0 + WINDOW)
                        die("passed without a good header");
                if (strcmp(who.actor_id, "buyer-fuzz") ||
                    who.role != GR_KROLE_BUYER || who.anonymous)
                        die("wrong principal");
                if (gr_http_auth_check(kr, nc, WINDOW, method, path, auth,
                                       T0, &who) != GR_AUTH_REPLAY)
                        die("a passing request passed twice");
                if (!(j = gr_job_new("j")))
                        die("oom");
                if (gr_http_may_read(&who, j))
                        die("read a job that does not name it");
                if (gr_job_party_add(j, GR_ROLE_BUYER, "buyer-fuzz") ||
                    !gr_http_may_read(&who, j))
                        die("may not read its own job");
                gr_job_destroy(j);
        } else if (r == GR_AUTH_MISSING && auth && *auth) {
                die("a present header called missing");
        }

        /* The positive path with the fuzzed fields, signed properly. */
        if (parsed && method && path) {
                gr_buf b;
                gr_nonce_cache *n2 = gr_nonce_cache_new(8);
                gr_buf_init(&b);
                if (!n2)
                        die("nonce cache");
                if (gr_http_sign_request(&kp, method, path, T0, h.nonce,
                                         &b) == 0) {
                        if (gr_http_auth_check(kr, n2, WINDOW, method, path,
                                               b.data, T0,
                                               &who) != GR_AUTH_OK)
                                die("a properly signed request failed");
                        if (gr_http_auth_check(kr, n2, WINDOW, method, path,
                                               b.data, T0,
                                               &who) != GR_AUTH_REPLAY)
                                die("a replay was not caught");
                        if (gr_http_auth_check(kr, n2, WINDOW, method, "/x!",
                                               b.data, T0, &who) ==
                                GR_AUTH_OK &&
                            strcmp(path, "/x!"))
                                die("a signature passed for another path");
                } else {
                        die("could not sign with a parsed nonce");
                }
                gr_buf_free(&b);
                gr_nonce_cache_destroy(n2);
        }
        gr_nonce_cache_destroy(nc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = data, *end = data + size;
        char *method, *path, *accept, *auth;

        init_once();
        if (size > 8192)
                return 0;
        method = line(&p, end);
        path = line(&p, end);
        accept = line(&p, end);
        auth = line(&p, end);
        check_route(path, accept);
        check_auth(method, path, auth);
        (void)gr_http_bearer_ok(auth, "fuzz-token");
        if (auth && !strcmp(auth, "Bearer fuzz-token") &&
            !gr_http_bearer_ok(auth, "fuzz-token"))
                die("the right token refused");
        free(method);
        free(path);
        free(accept);
        free(auth);
        return 0;
}
