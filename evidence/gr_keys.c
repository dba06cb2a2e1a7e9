/* Ed25519 role keys, key files and the key registry. */
#include "gr_keys.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(GR_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(GR_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(GR_SIGBIN_LEN == crypto_sign_BYTES, "sig size");
_Static_assert((int)GR_KROLE_REVIEWER == (int)GR_ROLE_REVIEWER &&
                   (int)GR_KROLE_PROCESSOR == (int)GR_ROLE__CNT,
               "key roles extend actor roles");
_Static_assert(GR_EVT__CNT <= 32, "types mask is 32 bits");

#define GR__KNAME(N, S) S,
static const char *const key_role_names[] = {GR_KEY_ROLE_MAP(GR__KNAME)};

const char *gr_key_role_t_name(gr_key_role_t v) {
        if ((int)v < 0 || (int)v >= (int)GR_KROLE__CNT)
                return "?";
        return key_role_names[v];
}

int gr_key_role_t_parse(const char *s, size_t len, gr_key_role_t *out) {
        for (int i = 0; i < (int)GR_KROLE__CNT; i++) {
                if (strlen(key_role_names[i]) == len &&
                    memcmp(key_role_names[i], s, len) == 0) {
                        *out = (gr_key_role_t)i;
                        return 0;
                }
        }
        return -1;
}

int gr_crypto_init(void) {
        /* sodium_init() is itself thread-safe and returns 1 when already
         * initialised; only a negative value is a failure. */
        return sodium_init() < 0 ? -1 : 0;
}

/* ---- encodings --------------------------------------------------------- */

int gr_b64_encode(const uint8_t *bin, size_t n, char *out, size_t size) {
        if (size < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL))
                return -1;
        sodium_bin2base64(out, size, bin, n, sodium_base64_VARIANT_ORIGINAL);
        return 0;
}

int gr_b64_decode(const char *s, size_t len, uint8_t *bin, size_t want) {
        size_t got = 0;
        const char *end = NULL;
        uint8_t tmp[128];

        /* Decode into a buffer one byte larger than wanted so that longer
         * input is detected rather than truncated. */
        if (want + 1 > sizeof(tmp))
                return -1;
        if (sodium_base642bin(tmp, want + 1, s, len, NULL, &got, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            got != want || end != s + len) {
                sodium_memzero(tmp, sizeof(tmp));
                return -1;
        }
        memcpy(bin, tmp, want);
        sodium_memzero(tmp, sizeof(tmp));
        return 0;
}

int gr_hex_decode(const char *s, size_t len, uint8_t *bin, size_t want) {
        size_t got = 0;
        const char *end = NULL;

        if (len != 2 * want ||
            sodium_hex2bin(bin, want, s, len, NULL, &got, &end) != 0 ||
            got != want || end != s + len)
                return -1;
        return 0;
}

/* ---- key pairs --------------------------------------------------------- */

static int key_id_ok(const char *key_id, char *errstr, size_t errstr_size) {
        size_t n = key_id ? strlen(key_id) : 0;

        if (n == 0 || n >= GR_ID_MAX) {
                snprintf(errstr, errstr_size,
                         "key_id must be 1..%d bytes", GR_ID_MAX - 1);
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)key_id[i];
                /* key ids become file names: keep them tame */
                if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\') {
                        snprintf(errstr, errstr_size,
                                 "key_id may hold printable ASCII without "
                                 "spaces or slashes");
                        return -1;
                }
        }
        return 0;
}

int gr_keypair_generate(gr_keypair *kp, gr_key_role_t role,
                        const char *key_id, char *errstr, size_t errstr_size) {
        memset(kp, 0, sizeof(*kp));
        if (key_id_ok(key_id, errstr, errstr_size) == -1)
                return -1;
        if ((unsigned)role >= GR_KROLE__CNT) {
                snprintf(errstr, errstr_size, "unknown key role");
                return -1;
        }
        snprintf(kp->key_id, sizeof(kp->key_id), "%s", key_id);
        kp->role = role;
        crypto_sign_keypair(kp->pk, kp->sk);
        return 0;
}

void gr_keypair_wipe(gr_keypair *kp) {
        if (kp)
                sodium_memzero(kp, sizeof(*kp));
}

void gr_buf_wipe(gr_buf *b) {
        if (!b)
                return;
        if (b->data)
                sodium_memzero(b->data, b->cap);
        gr_buf_free(b);
}

void gr_keypair_public_to_json(const gr_keypair *kp, int64_t valid_from,
                               gr_buf *out) {
        char b64[64];
        gr_jw w;

        gr_b64_encode(kp->pk, GR_PK_LEN, b64, sizeof(b64));
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "key_id", kp->key_id);
        gr_jw_kstr(&w, "role", gr_key_role_t_name(kp->role));
        gr_jw_kstr(&w, "public_key", b64);
        gr_jw_ktime(&w, "valid_from", valid_from);
        gr_jw_key(&w, "valid_to");
        gr_jw_null(&w);
        gr_jw_obj_end(&w);
}

void gr_keypair_secret_to_json(const gr_keypair *kp, gr_buf *out) {
        char pk64[64], sk64[128];
        gr_jw w;

        gr_b64_encode(kp->pk, GR_PK_LEN, pk64, sizeof(pk64));
        gr_b64_encode(kp->sk, GR_SK_LEN, sk64, sizeof(sk64));
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "key_id", kp->key_id);
        gr_jw_kstr(&w, "role", gr_key_role_t_name(kp->role));
        gr_jw_kstr(&w, "public_key", pk64);
        gr_jw_kstr(&w, "secret_key", sk64);
        gr_jw_obj_end(&w);
        sodium_memzero(sk64, sizeof(sk64));
}

/* String member of obj, or NULL. */
static const char *jstr(json_t *obj, const char *key, size_t *len) {
        json_t *v = json_object_get(obj, key);

        if (!json_is_string(v))
                return NULL;
        if (len)
                *len = json_string_length(v);
        return json_string_value(v);
}

/* jansson keeps its own copy of every string it parsed; scrub the secret
 * one before the tree is freed.  The storage is jansson's heap copy, so
 * writing to it is safe. */
static void jstr_wipe(json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);

        if (json_is_string(v))
                sodium_memzero((char *)json_string_value(v),
                               json_string_length(v));
}

int gr_keypair_from_json(gr_keypair *kp, const char *json, size_t len,
                         char *errstr, size_t errstr_size) {
        json_error_t jerr;
        json_t *root;
        const char *s;
        size_t n;
        uint8_t pk[GR_PK_LEN], derived[GR_PK_LEN];

        memset(kp, 0, sizeof(*kp));
        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size, "key file: %s (line %d)",
                         jerr.text, jerr.line);
                return -1;
        }
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size, "key file: not an object");
                goto err;
        }
        s = jstr(root, "key_id", NULL);
        if (key_id_ok(s, errstr, errstr_size) == -1)
                goto err;
        snprintf(kp->key_id, sizeof(kp->key_id), "%s", s);
        if (!(s = jstr(root, "role", &n)) ||
            gr_key_role_t_parse(s, n, &kp->role) == -1) {
                snprintf(errstr, errstr_size, "key file: bad or missing role");
                goto err;
        }
        if (!(s = jstr(root, "secret_key", &n)) ||
            gr_b64_decode(s, n, kp->sk, GR_SK_LEN) == -1) {
                snprintf(errstr, errstr_size,
                         "key file: secret_key must be base64 of %d bytes "
                         "(is this a public key file?)",
                         GR_SK_LEN);
                goto err;
        }
        /* The public half stored in secret_key must be the one its seed
         * derives, or every signature made with it fails to verify. */
        {
                uint8_t seed[crypto_sign_SEEDBYTES], sk[GR_SK_LEN];
                int bad;
                crypto_sign_ed25519_sk_to_seed(seed, kp->sk);
                bad = crypto_sign_seed_keypair(derived, sk, seed) != 0 ||
                      sodium_memcmp(sk, kp->sk, GR_SK_LEN) != 0;
                sodium_memzero(seed, sizeof(seed));
                sodium_memzero(sk, sizeof(sk));
                if (bad) {
                        snprintf(errstr, errstr_size,
                                 "key file: secret_key is not a seed || "
                                 "public key pair");
                        goto err;
                }
        }
        if ((s = jstr(root, "public_key", &n))) {
                if (gr_b64_decode(s, n, pk, GR_PK_LEN) == -1 ||
                    sodium_memcmp(pk, derived, GR_PK_LEN) != 0) {
                        snprintf(errstr, errstr_size,
                                 "key file: public_key does not belong to "
                                 "secret_key");
                        goto err;
                }
        }
        memcpy(kp->pk, derived, GR_PK_LEN);
        jstr_wipe(root, "secret_key");
        json_decref(root);
        return 0;
err:
        jstr_wipe(root, "secret_key");
        json_decref(root);
        gr_keypair_wipe(kp);
        return -1;
}

/* ---- the registry ------------------------------------------------------ */

struct gr_keyring {
        gr_key_entry *e; /* sorted by key_id */
        size_t n;
};

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const gr_key_entry *)a)->key_id,
                      ((const gr_key_entry *)b)->key_id);
}

static int time_member(json_t *obj, const char *key, int64_t *out,
                       int64_t absent) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                *out = absent;
                return 0;
        }
        if (!json_is_string(v) ||
            gr_time_parse(json_string_value(v), json_string_length(v), out))
                return -1;
        return 0;
}

static int entry_parse(json_t *obj, gr_key_entry *e, char *why,
                       size_t why_size) {
        static const char *const known[] = {"key_id",     "role",
                                            "public_key", "valid_from",
                                            "valid_to",   "types",
                                            "actor_id"};
        const char *key, *s;
        json_t *v;
        size_t n;

        memset(e, 0, sizeof(*e));
        if (!json_is_object(obj)) {
                snprintf(why, why_size, "not an object");
                return -1;
        }
        json_object_foreach(obj, key, v) {
                size_t i;
                for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        if (!strcmp(key, known[i]))
                                break;
                if (i == sizeof(known) / sizeof(known[0])) {
                        snprintf(why, why_size, "unknown member \"%.40s\"",
                                 key);
                        return -1;
                }
        }
        s = jstr(obj, "key_id", &n);
        if (!s || n == 0 || n >= GR_ID_MAX) {
                snprintf(why, why_size, "key_id must be a string of 1..%d "
                         "bytes", GR_ID_MAX - 1);
                return -1;
        }
        memcpy(e->key_id, s, n + 1);
        memcpy(e->actor_id, e->key_id, sizeof(e->actor_id));
        if ((v = json_object_get(obj, "actor_id"))) {
                s = jstr(obj, "actor_id", &n);
                if (!s || n == 0 || n >= GR_ID_MAX || strlen(s) != n) {
                        snprintf(why, why_size, "actor_id must be a string "
                                 "of 1..%d bytes", GR_ID_MAX - 1);
                        return -1;
                }
                memcpy(e->actor_id, s, n + 1);
        }
        if (!(s = jstr(obj, "role", &n)) ||
            gr_key_role_t_parse(s, n, &e->role) == -1) {
                snprintf(why, why_size, "role must be an actor role or "
                         "\"processor\"");
                return -1;
        }
        if (!(s = jstr(obj, "public_key", &n)) ||
            gr_b64_decode(s, n, e->pk, GR_PK_LEN) == -1) {
                snprintf(why, why_size,
                         "public_key must be base64 of %d bytes", GR_PK_LEN);
                return -1;
        }
        if (time_member(obj, "valid_from", &e->valid_from, INT64_MIN) ||
            time_member(obj, "valid_to", &e->valid_to, INT64_MAX)) {
                snprintf(why, why_size,
                         "valid_from/valid_to must be RFC 3339 or null");
                return -1;
        }
        if (e->valid_to <= e->valid_from) {
                snprintf(why, why_size, "valid_to is not after valid_from");
                return -1;
        }
        if ((v = json_object_get(obj, "types")) && !json_is_null(v)) {
                size_t i;
                json_t *t;
                if (!json_is_array(v) || json_array_size(v) == 0) {
                        snprintf(why, why_size,
                                 "types must be a non-empty array");
                        return -1;
                }
                json_array_foreach(v, i, t) {
                        gr_event_type_t ty;
                        if (!json_is_string(t) ||
                            gr_event_type_t_parse(json_string_value(t),
                                                  json_string_length(t),
                                                  &ty) == -1) {
                                snprintf(why, why_size,
                                         "types[%zu] is not an event type", i);
                                return -1;
                        }
                        e->types |= 1u << ty;
                }
        }
        return 0;
}

gr_keyring *gr_keyring_new(const char *json, size_t len, char *errstr,
                           size_t errstr_size) {
        gr_keyring *kr = NULL;
        json_error_t jerr;
        json_t *root, *item;
        size_t i, n;
        char why[160];

        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size, "key registry: %s (line %d)",
                         jerr.text, jerr.line);
                return NULL;
        }
        if (!json_is_array(root) && !json_is_object(root)) {
                snprintf(errstr, errstr_size,
                         "key registry: expected an array of keys");
                goto err;
        }
        n = json_is_array(root) ? json_array_size(root) : 1;
        if (!(kr = calloc(1, sizeof(*kr))) ||
            !(kr->e = calloc(n ? n : 1, sizeof(*kr->e)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        for (i = 0; i < n; i++) {
                item = json_is_array(root) ? json_array_get(root, i) : root;
                if (entry_parse(item, &kr->e[i], why, sizeof(why)) == -1) {
                        snprintf(errstr, errstr_size,
                                 "key registry: entry %zu: %s", i, why);
                        goto err;
                }
        }
        kr->n = n;
        qsort(kr->e, n, sizeof(*kr->e), entry_cmp);
        for (i = 1; i < n; i++) {
                if (!strcmp(kr->e[i - 1].key_id, kr->e[i].key_id)) {
                        snprintf(errstr, errstr_size,
                                 "key registry: key_id \"%.60s\" appears "
                                 "twice",
                                 kr->e[i].key_id);
                        goto err;
                }
        }
        json_decref(root);
        return kr;
err:
        json_decref(root);
        gr_keyring_destroy(kr);
        return NULL;
}

void gr_keyring_destroy(gr_keyring *kr) {
        if (!kr)
                return;
        free(kr->e);
        free(kr);
}

const gr_key_entry *gr_keyring_find(const gr_keyring *kr, const char *key_id) {
        size_t lo = 0, hi;

        if (!kr || !key_id)
                return NULL;
        hi = kr->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(key_id, kr->e[mid].key_id);
                if (c == 0)
                        return &kr->e[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

size_t gr_keyring_count(const gr_keyring *kr) {
        return kr ? kr->n : 0;
}

int gr_key_valid_at(const gr_key_entry *e, int64_t t) {
        return t >= e->valid_from && t < e->valid_to;
}
