/* gr_sha256 (OpenSSL or libsodium) against FIPS 180-2 and the reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "gr_hash.h"

static void test_fips_vectors(void **state) {
        char hex[65];
        (void)state;
        assert_string_equal(gr_sha256_hex("abc", 3, hex),
                            "ba7816bf8f01cfea414140de5dae2223"
                            "b00361a396177a9cb410ff61f20015ad");
        assert_string_equal(gr_sha256_hex("", 0, hex),
                            "e3b0c44298fc1c149afbf4c8996fb924"
                            "27ae41e4649b934ca495991b7852b855");
        assert_string_equal(
            gr_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnom"
                          "nopnopq",
                          56, hex),
            "248d6a61d20638b8e5c026930c3e6039"
            "a33ce45964ff2167f6ecedd419db06c1");
}

/* Every length across several block boundaries, random bytes. */
static void test_matches_reference(void **state) {
        uint8_t buf[1100], a[32], b[32];
        (void)state;
        randombytes_buf(buf, sizeof(buf));
        for (size_t n = 0; n <= sizeof(buf); n++) {
                gr_sha256(buf, n, a);
                gr_sha256_ref(buf, n, b);
                assert_memory_equal(a, b, 32);
        }
        print_message("gr_sha256 implementation: %s\n", gr_sha256_impl());
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fips_vectors),
            cmocka_unit_test(test_matches_reference),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
