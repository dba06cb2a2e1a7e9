/*
 * Fuzz target for the key registry and key file readers: gr_keyring_new()
 * (a JSON array of public entries, or one entry) and gr_keypair_from_json()
 * (a secret key file) on the same bytes (libFuzzer entry point; also
 * driven by fuzz_main.c's replay main).
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a reject says why (bounded, non-empty) and a failed secret load
 *    leaves the key pair wiped;
 *  - an accepted registry holds one entry per input entry, each found by
 *    its key_id with a role in range and valid_from < valid_to;
 *  - an accepted secret key's public key is the one its seed derives.
 */
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

_Noreturn static void die(const char *what) {
        fprintf(stderr, "fuzz_keyring: %s\n", what);
        abort();
}

static void reason_check(const char *errstr, size_t size) {
        size_t n = strnlen(errstr, size);
        if (n == 0 || n == size)
                die("reject without a bounded reason");
}

/* Every key_id of an accepted registry must be found, as itself. */
static void entries_check(const gr_keyring *kr, const char *json,
                          size_t len) {
        json_t *root = json_loadb(json, len, 0, NULL), *item;
        size_t n, i;

        if (!root)
                die("accepted registry is not JSON");
        n = json_is_array(root) ? json_array_size(root) : 1;
        if (gr_keyring_count(kr) != n)
                die("registry count differs from its entries");
        for (i = 0; i < n; i++) {
                const gr_key_entry *e;
                const char *id;
                item = json_is_array(root) ? json_array_get(root, i) : root;
                id = json_string_value(json_object_get(item, "key_id"));
                if (!id || !(e = gr_keyring_find(kr, id)))
                        die("accepted entry not found by key_id");
                if (strcmp(e->key_id, id) != 0)
                        die("found the wrong entry");
                if ((unsigned)e->role >= GR_KROLE__CNT)
                        die("entry role out of range");
                if (e->valid_from >= e->valid_to)
                        die("entry valid_from not before valid_to");
        }
        json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t zero[sizeof(gr_keypair)];
        const char *json = (const char *)data;
        char errstr[256];
        gr_keyring *kr;
        gr_keypair kp;

        if (gr_crypto_init())
                die("sodium_init failed");
        errstr[0] = '\0';
        if (!(kr = gr_keyring_new(json, size, errstr, sizeof(errstr))))
                reason_check(errstr, sizeof(errstr));
        else
                entries_check(kr, json, size);
        gr_keyring_destroy(kr);

        errstr[0] = '\0';
        if (gr_keypair_from_json(&kp, json, size, errstr, sizeof(errstr))) {
                reason_check(errstr, sizeof(errstr));
                if (memcmp(&kp, zero, sizeof(kp)) != 0)
                        die("failed secret load left key material");
        } else {
                /* The public key must be the one the seed derives, or
                 * signatures made with this key never verify. */
                uint8_t pk[GR_PK_LEN], sk[GR_SK_LEN];
                if (crypto_sign_seed_keypair(pk, sk, kp.sk) != 0 ||
                    memcmp(pk, kp.pk, GR_PK_LEN) != 0 ||
                    memcmp(sk, kp.sk, GR_SK_LEN) != 0)
                        die("secret and public key do not belong together");
                sodium_memzero(sk, sizeof(sk));
                if ((unsigned)kp.role >= GR_KROLE__CNT)
                        die("key role out of range");
                gr_keypair_wipe(&kp);
        }
        return 0;
}
