/* Signatures over events, decisions and tree heads. */
#include "gr_sign.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gr_output.h"

int gr_sign_b64(const gr_keypair *kp, const void *msg, size_t len,
                char out[GR_SIG_B64_LEN]) {
        uint8_t sig[GR_SIGBIN_LEN];

        if (crypto_sign_detached(sig, NULL, msg, len, kp->sk) != 0)
                return -1;
        return gr_b64_encode(sig, sizeof(sig), out, GR_SIG_B64_LEN);
}

/* ---- canonical bytes --------------------------------------------------- */

static void put_u8(gr_buf *b, uint8_t v) {
        gr_buf_append(b, &v, 1);
}

static void put_u32(gr_buf *b, uint32_t v) {
        uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
                        (uint8_t)(v >> 8), (uint8_t)v};
        gr_buf_append(b, p, 4);
}

static void put_u64(gr_buf *b, uint64_t v) {
        uint8_t p[8];
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (56 - 8 * i));
        gr_buf_append(b, p, 8);
}

static void put_str(gr_buf *b, const char *s) {
        size_t n = strlen(s);
        put_u8(b, 's');
        put_u32(b, (uint32_t)n);
        gr_buf_append(b, s, n);
}

static const char *parent_path(gr_parent_t p) {
        switch (p) {
        case GR_P_TOP: return "";
        case GR_P_ACTOR: return "actor.";
        case GR_P_BODY: return "body.";
        case GR_P_PRICE: return "body.price.";
        case GR_P_RESOURCES: return "body.resources.";
        case GR_P__CNT: break;
        }
        return "?.";
}

int gr_event_signing_bytes(const gr_event *ev, gr_buf *out) {
        static const char tag[] = "gr-event-v1\n";

        gr_buf_append(out, tag, sizeof(tag) - 1);
        for (int f = 0; f < GR_F__CNT; f++) {
                const gr_field_desc *d = &gr_event_fields[f];
                const char *p = (const char *)ev + d->offset;
                const char *pp = parent_path(d->parent);
                int64_t i64;
                double num;
                uint64_t bits;

                if (f == GR_F_sig)
                        continue;
                if (!gr_event_has(ev, (gr_field_t)f) && f != GR_F_attempt)
                        continue;
                put_u8(out, (uint8_t)(strlen(pp) + strlen(d->key)));
                gr_buf_puts(out, pp);
                gr_buf_puts(out, d->key);
                switch (d->kind) {
                case GR_FK_STR:
                        put_str(out, p);
                        break;
                case GR_FK_INT:
                        memcpy(&i64, p, sizeof(i64));
                        /* validate() defaults a missing attempt to 1; sign
                         * as if it had already run */
                        if (f == GR_F_attempt && !gr_event_has(ev, GR_F_attempt))
                                i64 = 1;
                        put_u8(out, 'i');
                        put_u64(out, (uint64_t)i64);
                        break;
                case GR_FK_TIME:
                        memcpy(&i64, p, sizeof(i64));
                        put_u8(out, 't');
                        put_u64(out, (uint64_t)i64);
                        break;
                case GR_FK_NUM:
                        memcpy(&num, p, sizeof(num));
                        if (num == 0)
                                num = 0; /* -0 -> +0 */
                        memcpy(&bits, &num, sizeof(bits));
                        put_u8(out, 'd');
                        put_u64(out, bits);
                        break;
                case GR_FK_BOOL:
                        put_u8(out, 'b');
                        put_u8(out, *(const int *)p ? 1 : 0);
                        break;
                case GR_FK_EVTYPE:
                        put_str(out, gr_event_type_t_name(
                                         *(const gr_event_type_t *)p));
                        break;
                case GR_FK_ROLE:
                        put_str(out, gr_role_t_name(*(const gr_role_t *)p));
                        break;
                case GR_FK_FAILURE:
                        if (*(const gr_failure_t *)p == GR_FAIL_NONE)
                                put_u8(out, 'n');
                        else
                                put_str(out, gr_failure_t_name(
                                                 *(const gr_failure_t *)p));
                        break;
                case GR_FK_RESULT:
                        put_str(out,
                                gr_result_t_name(*(const gr_result_t *)p));
                        break;
                case GR_FK_SETTLEMENT:
                        put_str(out, gr_settlement_t_name(
                                         *(const gr_settlement_t *)p));
                        break;
                }
        }
        return out->oom ? -1 : 0;
}

/* ---- events ------------------------------------------------------------ */

int gr_event_sign(const gr_keypair *kp, gr_event *ev, gr_err *err) {
        char sig[GR_SIG_B64_LEN];
        gr_buf b;
        int rc;

        if (gr_event_set_str(ev, GR_F_key_id, kp->key_id, strlen(kp->key_id),
                             err) == -1)
                return -1;
        gr_buf_init(&b);
        if (gr_event_signing_bytes(ev, &b) == -1) {
                gr_buf_free(&b);
                return gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
        }
        rc = gr_sign_b64(kp, b.data, b.len, sig);
        gr_buf_free(&b);
        if (rc == -1)
                return gr_err_set(err, GR_REJ_BAD_SIGNATURE, "signing failed");
        return gr_event_set_str(ev, GR_F_sig, sig, strlen(sig), err);
}

/* Why a known key does not count at t, and what to do about it: a key is
 * valid from its valid_from (keygen's default is the moment it was made),
 * so events, decisions or ledgers from before then need a key made with an
 * earlier --valid-from. */
static int key_not_valid(gr_err *err, const char *what, const char *key_id,
                         const gr_key_entry *e, int64_t t) {
        char when[40], bound[40];

        gr_time_format(t, when, sizeof(when));
        if (t < e->valid_from)
                return gr_err_set(
                    err, GR_REJ_UNKNOWN_KEY,
                    "%skey \"%.100s\" is not valid at %s, only from %s: "
                    "make the key with receiptctl keygen --valid-from %s "
                    "(or earlier)",
                    what, key_id, when,
                    gr_time_format(e->valid_from, bound, sizeof(bound)),
                    when);
        return gr_err_set(err, GR_REJ_UNKNOWN_KEY,
                          "%skey \"%.100s\" is not valid at %s: it expired "
                          "at %s",
                          what, key_id, when,
                          gr_time_format(e->valid_to, bound, sizeof(bound)));
}

int gr_event_verify(const gr_keyring *kr, const gr_event *ev, gr_err *err) {
        const gr_key_entry *e;
        uint8_t sig[GR_SIGBIN_LEN];
        gr_buf b;
        int rc;

        if (!gr_event_has(ev, GR_F_sig) || !ev->sig[0])
                return gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                                  "event is not signed");
        if (!gr_event_has(ev, GR_F_key_id) || !ev->key_id[0])
                return gr_err_set(err, GR_REJ_UNKNOWN_KEY,
                                  "actor.key_id missing on a signed event");
        if (!(e = gr_keyring_find(kr, ev->key_id)))
                return gr_err_set(err, GR_REJ_UNKNOWN_KEY,
                                  "key \"%.100s\" is not in the registry",
                                  ev->key_id);
        if (!gr_event_has(ev, GR_F_occurred_at))
                return gr_err_set(err, GR_REJ_MISSING_FIELD,
                                  "occurred_at required");
        if (!gr_key_valid_at(e, ev->occurred_at))
                return key_not_valid(err, "", ev->key_id, e, ev->occurred_at);
        if (gr_b64_decode(ev->sig, strlen(ev->sig), sig, sizeof(sig)) == -1)
                return gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                                  "sig is not base64 of %d bytes",
                                  GR_SIGBIN_LEN);
        gr_buf_init(&b);
        if (gr_event_signing_bytes(ev, &b) == -1) {
                gr_buf_free(&b);
                return gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
        }
        rc = crypto_sign_verify_detached(sig, (const uint8_t *)b.data, b.len,
                                         e->pk);
        gr_buf_free(&b);
        if (rc != 0)
                return gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                                  "signature does not verify with key "
                                  "\"%.100s\"",
                                  ev->key_id);
        /* Only now do the claims in the event count as the key holder's. */
        if ((int)e->role != (int)ev->role)
                return gr_err_set(err, GR_REJ_UNAUTHORIZED_ROLE,
                                  "key \"%.80s\" belongs to a %s, the event "
                                  "claims %s",
                                  ev->key_id, gr_key_role_t_name(e->role),
                                  gr_role_t_name(ev->role));
        if (e->types && !((e->types >> ev->type) & 1))
                return gr_err_set(err, GR_REJ_UNAUTHORIZED_ROLE,
                                  "key \"%.80s\" may not sign %s", ev->key_id,
                                  gr_event_type_t_name(ev->type));
        return 0;
}

int gr_event_authenticate(const gr_policy *pol, const gr_keyring *kr,
                          const gr_event *ev, gr_err *err) {
        if (!gr_policy_requires_sig(pol, ev->type, ev->role))
                return 0;
        if (!kr)
                return gr_err_set(err, GR_REJ_UNKNOWN_KEY,
                                  "policy requires a signature on %s but no "
                                  "key registry is loaded",
                                  gr_event_type_t_name(ev->type));
        return gr_event_verify(kr, ev, err);
}

/* ---- decisions --------------------------------------------------------- */

int gr_decision_sign(const gr_keypair *kp, const gr_decision *d,
                     gr_buf *out) {
        char sig[GR_SIG_B64_LEN];
        gr_buf b;
        int rc = -1;

        gr_buf_init(&b);
        gr_decision_to_json(d, NULL, kp->key_id, &b);
        if (!b.oom && gr_sign_b64(kp, b.data, b.len, sig) == 0) {
                gr_decision_to_json(d, sig, kp->key_id, out);
                rc = out->oom ? -1 : 0;
        }
        gr_buf_free(&b);
        return rc;
}

/* Copy a string member into a fixed buffer; NULL member -> empty. */
static int copy_member(json_t *o, const char *k, char *dst, size_t size) {
        json_t *v = json_object_get(o, k);

        if (!json_is_string(v) || json_string_length(v) >= size)
                return -1;
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
        return 0;
}

static const char *str_member(json_t *o, const char *k, size_t *len) {
        json_t *v = json_object_get(o, k);

        if (!json_is_string(v))
                return NULL;
        *len = json_string_length(v);
        return json_string_value(v);
}

int gr_decision_verify_json(const gr_keyring *kr, const char *json,
                            size_t len, char job_id_out[GR_ID_MAX],
                            gr_err *err) {
        static const char *const known[] = {
            "decision_id", "job_id",       "attempt",     "seq",
            "settlement",  "retry",        "reason",      "rule",
            "line",        "receipt_hash", "policy_hash", "decided_at",
            "amounts",     "key_id",       "sig"};
        gr_decision d;
        const gr_key_entry *e;
        json_error_t jerr;
        json_t *o, *v;
        const char *s, *k;
        size_t n;
        char key_id[GR_ID_MAX];
        uint8_t sig[GR_SIGBIN_LEN];
        gr_buf b;
        int rc = -1;

        if (job_id_out)
                job_id_out[0] = '\0';
        gr_buf_init(&b);
        memset(&d, 0, sizeof(d));
        if (!(o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)))
                return gr_err_set(err, GR_REJ_INVALID_JSON, "%s",
                                  jerr.text);
        if (!json_is_object(o)) {
                gr_err_set(err, GR_REJ_SCHEMA, "decision is not an object");
                goto err;
        }
        /* Members outside the canonical rendering are not signed; refuse
         * them rather than let them ride along under a valid signature. */
        json_object_foreach(o, k, v) {
                size_t i;
                for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        if (!strcmp(k, known[i]))
                                break;
                if (i == sizeof(known) / sizeof(known[0])) {
                        gr_err_set(err, GR_REJ_SCHEMA,
                                   "unsigned member \"%.40s\"", k);
                        goto err;
                }
        }
        if (!(s = str_member(o, "job_id", &n)) || n >= GR_ID_MAX) {
                gr_err_set(err, GR_REJ_MISSING_FIELD, "job_id required");
                goto err;
        }
        d.job_id = s;
        if (job_id_out)
                memcpy(job_id_out, s, n + 1);
        if (!(s = str_member(o, "sig", &n))) {
                gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                           "decision is not signed");
                goto err;
        }
        if (gr_b64_decode(s, n, sig, sizeof(sig)) == -1) {
                gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                           "sig is not base64 of %d bytes", GR_SIGBIN_LEN);
                goto err;
        }
        if (copy_member(o, "key_id", key_id, sizeof(key_id)) == -1) {
                gr_err_set(err, GR_REJ_UNKNOWN_KEY, "key_id missing");
                goto err;
        }
        if (copy_member(o, "decision_id", d.decision_id,
                        sizeof(d.decision_id)) == -1 ||
            copy_member(o, "receipt_hash", d.receipt_hash,
                        sizeof(d.receipt_hash)) == -1) {
                gr_err_set(err, GR_REJ_MISSING_FIELD,
                           "decision_id and receipt_hash required (hex)");
                goto err;
        }
        v = json_object_get(o, "attempt");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > UINT32_MAX) {
                gr_err_set(err, GR_REJ_SCHEMA, "attempt must be an integer");
                goto err;
        }
        d.attempt = (uint32_t)json_integer_value(v);
        v = json_object_get(o, "seq");
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
                gr_err_set(err, GR_REJ_SCHEMA, "seq must be an integer");
                goto err;
        }
        d.seq = (uint64_t)json_integer_value(v);
        if (!(s = str_member(o, "settlement", &n)) ||
            gr_settlement_t_parse(s, n, &d.settlement) == -1 ||
            !(s = str_member(o, "retry", &n)) ||
            gr_retry_t_parse(s, n, &d.retry) == -1 ||
            !(s = str_member(o, "reason", &n)) ||
            gr_reason_t_parse(s, n, &d.reason) == -1) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "settlement, retry or reason missing or unknown");
                goto err;
        }
        v = json_object_get(o, "rule");
        if (json_is_null(v)) {
                d.rule = GR_RULE_NONE;
        } else if (!json_is_string(v) ||
                   gr_rule_t_parse(json_string_value(v),
                                   json_string_length(v), &d.rule) == -1) {
                gr_err_set(err, GR_REJ_SCHEMA, "rule unknown");
                goto err;
        }
        v = json_object_get(o, "line");
        d.line = json_is_string(v) ? json_string_value(v) : NULL;
        v = json_object_get(o, "policy_hash");
        d.policy_hash = json_is_string(v) ? json_string_value(v) : NULL;
        if (!(s = str_member(o, "decided_at", &n)) ||
            gr_time_parse(s, n, &d.decided_at) == -1) {
                gr_err_set(err, GR_REJ_SCHEMA,
                           "decided_at must be an RFC 3339 time");
                goto err;
        }

        v = json_object_get(o, "amounts");
        if (v && !json_is_null(v)) {
                static const char *const num[] = {
                    "price_minor", "charge_minor", "refund_minor", "held_minor"};
                int64_t *dst[] = {&d.amounts.price_minor,
                                  &d.amounts.charge_minor,
                                  &d.amounts.refund_minor,
                                  &d.amounts.held_minor};
                json_t *c = json_object_get(v, "currency");
                if (!json_is_object(v) || json_object_size(v) != 5 ||
                    !(json_is_null(c) || json_is_string(c))) {
                        gr_err_set(err, GR_REJ_SCHEMA,
                                   "amounts must be null or an object of "
                                   "currency and four integers");
                        goto err;
                }
                for (size_t i = 0; i < 4; i++) {
                        json_t *x = json_object_get(v, num[i]);
                        if (!json_is_integer(x)) {
                                gr_err_set(err, GR_REJ_SCHEMA,
                                           "amounts.%s must be an integer",
                                           num[i]);
                                goto err;
                        }
                        *dst[i] = json_integer_value(x);
                }
                d.amounts.present = 1;
                if (json_is_string(c)) {
                        if (json_string_length(c) >= sizeof(d.amounts.currency)) {
                                gr_err_set(err, GR_REJ_SCHEMA,
                                           "amounts.currency too long");
                                goto err;
                        }
                        memcpy(d.amounts.currency, json_string_value(c),
                               json_string_length(c) + 1);
                }
        }
        if (!(e = gr_keyring_find(kr, key_id))) {
                gr_err_set(err, GR_REJ_UNKNOWN_KEY,
                           "key \"%.100s\" is not in the registry", key_id);
                goto err;
        }
        if (!gr_key_valid_at(e, d.decided_at)) {
                key_not_valid(err, "", key_id, e, d.decided_at);
                goto err;
        }
        gr_decision_to_json(&d, NULL, key_id, &b);
        if (b.oom) {
                gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
                goto err;
        }
        if (crypto_sign_verify_detached(sig, (const uint8_t *)b.data, b.len,
                                        e->pk) != 0) {
                gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                           "signature does not verify with key \"%.100s\"",
                           key_id);
                goto err;
        }
        if (e->role != GR_KROLE_PROCESSOR) {
                gr_err_set(err, GR_REJ_UNAUTHORIZED_ROLE,
                           "key \"%.80s\" is a %s key, decisions need a "
                           "processor key",
                           key_id, gr_key_role_t_name(e->role));
                goto err;
        }
        rc = 0;
err:
        gr_buf_free(&b);
        json_decref(o);
        return rc;
}

/* ---- tree heads -------------------------------------------------------- */

int gr_tree_head_signing_bytes(const gr_tree_head *th, gr_buf *out) {
        static const char tag[] = "gr-tree-head-v1\n";
        size_t n = strnlen(th->key_id, sizeof(th->key_id) - 1);

        gr_buf_append(out, tag, sizeof(tag) - 1);
        put_u32(out, (uint32_t)th->partition);
        put_u64(out, th->tree_size);
        gr_buf_append(out, th->root_hash, GR_HASH_LEN);
        put_u64(out, (uint64_t)th->timestamp);
        put_u8(out, (uint8_t)n);
        gr_buf_append(out, th->key_id, n);
        return out->oom ? -1 : 0;
}

int gr_tree_head_sign(gr_tree_head *th, const gr_keypair *kp) {
        gr_buf b;
        int rc = -1;

        snprintf(th->key_id, sizeof(th->key_id), "%s", kp->key_id);
        gr_buf_init(&b);
        if (gr_tree_head_signing_bytes(th, &b) == 0)
                rc = crypto_sign_detached(th->sig, NULL,
                                          (const uint8_t *)b.data, b.len,
                                          kp->sk) == 0
                         ? 0
                         : -1;
        gr_buf_free(&b);
        return rc;
}

int gr_tree_head_verify(const gr_tree_head *th, const gr_keyring *kr,
                        gr_err *err) {
        const gr_key_entry *e = gr_keyring_find(kr, th->key_id);
        gr_buf b;
        int rc;

        if (!e)
                return gr_err_set(err, GR_REJ_UNKNOWN_KEY,
                                  "tree head key \"%.100s\" is not in the "
                                  "registry",
                                  th->key_id);
        if (!gr_key_valid_at(e, th->timestamp))
                return key_not_valid(err, "tree head ", th->key_id, e,
                                     th->timestamp);
        gr_buf_init(&b);
        if (gr_tree_head_signing_bytes(th, &b) == -1) {
                gr_buf_free(&b);
                return gr_err_set(err, GR_REJ_TOO_LARGE, "out of memory");
        }
        rc = crypto_sign_verify_detached(th->sig, (const uint8_t *)b.data,
                                         b.len, e->pk);
        gr_buf_free(&b);
        if (rc != 0)
                return gr_err_set(err, GR_REJ_BAD_SIGNATURE,
                                  "tree head signature does not verify with "
                                  "key \"%.100s\"",
                                  th->key_id);
        if (e->role != GR_KROLE_PROCESSOR)
                return gr_err_set(err, GR_REJ_UNAUTHORIZED_ROLE,
                                  "tree head signed by a %s key, not a "
                                  "processor key",
                                  gr_key_role_t_name(e->role));
        return 0;
}

void gr_tree_head_to_json(const gr_tree_head *th, gr_buf *out) {
        char hex[2 * GR_HASH_LEN + 1], sig[GR_SIG_B64_LEN];
        gr_jw w;

        gr_b64_encode(th->sig, GR_SIGBIN_LEN, sig, sizeof(sig));
        gr_jw_init(&w, out);
        gr_jw_obj_begin(&w);
        gr_jw_kstr(&w, "type", "tree_head");
        gr_jw_kint(&w, "partition", th->partition);
        gr_jw_kint(&w, "tree_size", (int64_t)th->tree_size);
        gr_jw_kstr(&w, "root_hash", gr_hex(th->root_hash, GR_HASH_LEN, hex));
        gr_jw_ktime(&w, "timestamp", th->timestamp);
        gr_jw_kstr(&w, "key_id", th->key_id);
        gr_jw_kstr(&w, "sig", sig);
        gr_jw_obj_end(&w);
}

int gr_tree_head_from_json(gr_tree_head *th, const char *json, size_t len,
                           char *errstr, size_t errstr_size) {
        json_error_t jerr;
        json_t *o, *v;
        const char *s;
        size_t n;
        int rc = -1;

        memset(th, 0, sizeof(*th));
        if (!(o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr))) {
                snprintf(errstr, errstr_size, "tree head: %s", jerr.text);
                return -1;
        }
        if (!(s = str_member(o, "type", &n)) || strcmp(s, "tree_head")) {
                snprintf(errstr, errstr_size,
                         "tree head: type must be \"tree_head\"");
                goto err;
        }
        v = json_object_get(o, "partition");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > INT32_MAX) {
                snprintf(errstr, errstr_size,
                         "tree head: partition must be an integer >= 0");
                goto err;
        }
        th->partition = (int32_t)json_integer_value(v);
        v = json_object_get(o, "tree_size");
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(errstr, errstr_size,
                         "tree head: tree_size must be an integer >= 0");
                goto err;
        }
        th->tree_size = (uint64_t)json_integer_value(v);
        if (!(s = str_member(o, "root_hash", &n)) ||
            gr_hex_decode(s, n, th->root_hash, GR_HASH_LEN) == -1) {
                snprintf(errstr, errstr_size,
                         "tree head: root_hash must be 64 hex digits");
                goto err;
        }
        if (!(s = str_member(o, "timestamp", &n)) ||
            gr_time_parse(s, n, &th->timestamp) == -1) {
                snprintf(errstr, errstr_size,
                         "tree head: timestamp must be an RFC 3339 time");
                goto err;
        }
        if (copy_member(o, "key_id", th->key_id, sizeof(th->key_id)) == -1) {
                snprintf(errstr, errstr_size, "tree head: key_id missing");
                goto err;
        }
        if (!(s = str_member(o, "sig", &n)) ||
            gr_b64_decode(s, n, th->sig, GR_SIGBIN_LEN) == -1) {
                snprintf(errstr, errstr_size,
                         "tree head: sig must be base64 of %d bytes",
                         GR_SIGBIN_LEN);
                goto err;
        }
        rc = 0;
err:
        json_decref(o);
        return rc;
}
