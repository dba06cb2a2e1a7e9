/* The policy file (docs/SPEC.md §5): JSON text -> gr_policy. */
#include "gr_policy_json.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gr_hash.h"

static int int_in(json_t *v, const char *key, long long lo, long long hi,
                  long long *out, char *errstr, size_t errstr_size) {
        if (!json_is_integer(v) || json_integer_value(v) < lo ||
            json_integer_value(v) > hi) {
                snprintf(errstr, errstr_size,
                         "policy: %s must be an integer in %lld..%lld", key, lo,
                         hi);
                return -1;
        }
        *out = json_integer_value(v);
        return 0;
}

/* "require_signatures": true | false | {"roles":[...], "types":[...]} */
static int load_sigs(gr_policy *p, json_t *v, char *errstr,
                     size_t errstr_size) {
        json_t *roles, *types, *it;
        size_t i;

        if (json_is_boolean(v)) {
                p->require_sig_roles = json_is_true(v) ? ~0u : 0;
                p->require_sig_types = 0;
                return 0;
        }
        if (!json_is_object(v))
                goto bad;
        roles = json_object_get(v, "roles");
        types = json_object_get(v, "types");
        if ((roles && !json_is_array(roles)) || (types && !json_is_array(types)))
                goto bad;
        json_array_foreach(roles, i, it) {
                gr_role_t r;
                if (!json_is_string(it) ||
                    gr_role_t_parse(json_string_value(it),
                                    json_string_length(it), &r) == -1)
                        goto bad;
                p->require_sig_roles |= 1u << r;
        }
        json_array_foreach(types, i, it) {
                gr_event_type_t t;
                if (!json_is_string(it) ||
                    gr_event_type_t_parse(json_string_value(it),
                                          json_string_length(it), &t) == -1)
                        goto bad;
                p->require_sig_types |= 1u << t;
        }
        return 0;
bad:
        snprintf(errstr, errstr_size,
                 "policy: require_signatures must be a boolean or "
                 "{\"roles\":[role...],\"types\":[event type...]}");
        return -1;
}

int gr_policy_load(gr_policy *out, const char *json, size_t len, char *errstr,
                   size_t errstr_size) {
        gr_policy p;
        json_error_t jerr;
        json_t *root, *v;
        const char *key;
        long long n;

        gr_policy_init(&p);
        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size, "policy: line %d: %s", jerr.line,
                         jerr.text);
                return -1;
        }
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size, "policy: not a JSON object");
                goto err;
        }
        json_object_foreach(root, key, v) {
                if (!strcmp(key, "free_retries_per_job")) {
                        if (int_in(v, key, 0, 100, &n, errstr, errstr_size))
                                goto err;
                        p.free_retries_per_job = (int)n;
                } else if (!strcmp(key, "park_limit")) {
                        if (int_in(v, key, 0, 1024, &n, errstr, errstr_size))
                                goto err;
                        p.park_limit = (int)n;
                } else if (!strcmp(key, "park_timeout_seconds")) {
                        if (int_in(v, key, 0, 365LL * 86400, &n, errstr,
                                   errstr_size))
                                goto err;
                        p.park_timeout_ms = n * 1000;
                } else if (!strcmp(key, "require_signatures")) {
                        if (load_sigs(&p, v, errstr, errstr_size))
                                goto err;
                } else if (!strcmp(key, "retention_seconds")) {
                        if (int_in(v, key, 0, 3650LL * 86400, &n, errstr,
                                   errstr_size))
                                goto err;
                        p.retention_ms = n * 1000;
                } else if (!strcmp(key, "window_clock")) {
                        if (!json_is_boolean(v)) {
                                snprintf(errstr, errstr_size,
                                         "policy: window_clock must be a "
                                         "boolean");
                                goto err;
                        }
                        p.window_clock = json_is_true(v);
                } else if (!strcmp(key, "rules")) {
                        const char *rk;
                        json_t *rv;
                        if (!json_is_object(v)) {
                                snprintf(errstr, errstr_size,
                                         "policy: rules must be an object");
                                goto err;
                        }
                        json_object_foreach(v, rk, rv) {
                                gr_rule_t r;
                                if (gr_rule_t_parse(rk, strlen(rk), &r) == -1 ||
                                    r == GR_RULE_NONE || !json_is_boolean(rv)) {
                                        snprintf(errstr, errstr_size,
                                                 "policy: rules.%s: expected "
                                                 "R1..R12 set to true/false",
                                                 rk);
                                        goto err;
                                }
                                p.rule_enabled[r] = json_is_true(rv);
                        }
                } else {
                        snprintf(errstr, errstr_size,
                                 "policy: unknown key \"%s\"", key);
                        goto err;
                }
        }
        json_decref(root);
        gr_sha256_hex(json, len, p.hash);
        *out = p;
        return 0;
err:
        json_decref(root);
        return -1;
}

