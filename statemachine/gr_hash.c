#include "gr_hash.h"

#include <sodium.h>

#include "gr_buf.h"

#if defined(GR_OPENSSL_SHA256) && defined(GR_OPENSSL_SHA256_DIRECT)
/* OpenSSL 3 deprecates SHA256_Init/Update/Final in favour of EVP, but EVP
 * costs 30-60 ns more per hash (provider dispatch; every init frees and
 * allocates the digest's context): measured with OpenSSL 3.0 on 64, 455
 * and 1761 bytes (a short input, a ledger row, a receipt), 96 -> 62, 268
 * -> 246 and 884 -> 822 ns.  The engine hashes about two such inputs per
 * event, so that is ~6% of the Avro pipeline.  The same SHA-extension code
 * runs either way.  CMake defines GR_OPENSSL_SHA256_DIRECT only where the
 * headers still declare these at the 1.1.1 API level; else EVP below. */
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>

static int ossl_sha256(const void *p, size_t n, uint8_t out[32]) {
        SHA256_CTX c;

        return SHA256_Init(&c) == 1 && SHA256_Update(&c, p, n) == 1 &&
                       SHA256_Final(out, &c) == 1
                   ? 0
                   : -1;
}

static void ossl_thread_done(void) {}
#elif defined(GR_OPENSSL_SHA256)
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

static void ossl_thread_done(void) {
        EVP_MD_CTX_free(tl_ctx);
        EVP_MD_free(tl_md);
        tl_ctx = NULL;
        tl_md = NULL;
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
        ossl_thread_done();
#endif
}
