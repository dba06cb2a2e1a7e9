#include "gr_hash.h"

#include <sodium.h>

#include "gr_buf.h"

#ifdef GR_OPENSSL_SHA256
#include <openssl/evp.h>

/* One fetched digest and one context per thread: OpenSSL 3's one-shot
 * SHA256() fetches the algorithm on every call, which costs more than
 * hashing a ledger row. */
static _Thread_local EVP_MD_CTX *tl_ctx;
static _Thread_local EVP_MD *tl_md;

static int ossl_sha256(const void *p, size_t n, uint8_t out[32]) {
        if (!tl_ctx) {
                if (!(tl_md = EVP_MD_fetch(NULL, "SHA256", NULL)) ||
                    !(tl_ctx = EVP_MD_CTX_new()))
                        return -1;
        }
        return EVP_DigestInit_ex2(tl_ctx, tl_md, NULL) == 1 &&
                       EVP_DigestUpdate(tl_ctx, p, n) == 1 &&
                       EVP_DigestFinal_ex(tl_ctx, out, NULL) == 1
                   ? 0
                   : -1;
}
#endif

void gr_sha256_ref(const void *p, size_t n, uint8_t out[GR_SHA256_BYTES]) {
        crypto_hash_sha256(out, (const unsigned char *)p, n);
}

void gr_sha256(const void *p, size_t n, uint8_t out[GR_SHA256_BYTES]) {
#ifdef GR_OPENSSL_SHA256
        if (ossl_sha256(p, n, out) == 0)
                return;
#endif
        gr_sha256_ref(p, n, out);
}

char *gr_sha256_hex(const void *p, size_t n, char out[65]) {
        uint8_t h[GR_SHA256_BYTES];
        gr_sha256(p, n, h);
        return gr_hex(h, sizeof(h), out);
}

const char *gr_sha256_impl(void) {
#ifdef GR_OPENSSL_SHA256
        return "openssl";
#else
        return "libsodium";
#endif
}

void gr_hash_thread_done(void) {
#ifdef GR_OPENSSL_SHA256
        EVP_MD_CTX_free(tl_ctx);
        EVP_MD_free(tl_md);
        tl_ctx = NULL;
        tl_md = NULL;
#endif
}
