/*
 * Fuzz target for the policy file parser gr_policy_load() (libFuzzer
 * entry point; also driven by fuzz_main.c's replay main).
 *
 * Checks, beyond "no crash, no sanitizer report":
 *  - a reject leaves the policy untouched and says why (bounded, non-empty);
 *  - an accepted policy is within the documented ranges, its hash is the
 *    64-hex SHA-256 of the bytes, and loading the same bytes again gives
 *    the same policy (no hidden state).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_policy.h"
#include "gr_policy_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Field by field: the struct has padding that a copy need not keep. */
static int policy_eq(const gr_policy *a, const gr_policy *b) {
        return a->free_retries_per_job == b->free_retries_per_job &&
               a->park_limit == b->park_limit &&
               a->park_timeout_ms == b->park_timeout_ms &&
               a->require_sig_roles == b->require_sig_roles &&
               a->require_sig_types == b->require_sig_types &&
               a->window_clock == b->window_clock &&
               a->retention_ms == b->retention_ms &&
               !memcmp(a->rule_enabled, b->rule_enabled,
                       sizeof(a->rule_enabled)) &&
               !strcmp(a->hash, b->hash);
}

_Noreturn static void die(const char *what) {
        fprintf(stderr, "fuzz_policy: %s\n", what);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        gr_policy p1, p2, before;
        char errstr[256];
        size_t n;

        gr_policy_default(&p1);
        before = p1;
        errstr[0] = '\0';
        if (gr_policy_load(&p1, (const char *)data, size, errstr,
                           sizeof(errstr))) {
                n = strnlen(errstr, sizeof(errstr));
                if (n == 0 || n == sizeof(errstr))
                        die("reject without a bounded reason");
                if (!policy_eq(&p1, &before))
                        die("a rejected load changed the policy");
                return 0;
        }
        if (p1.free_retries_per_job < 0 || p1.free_retries_per_job > 100 ||
            p1.park_limit < 0 || p1.park_limit > 1024 ||
            p1.park_timeout_ms < 0 || p1.retention_ms < 0)
                die("accepted policy out of range");
        if (strlen(p1.hash) != 64 ||
            strspn(p1.hash, "0123456789abcdef") != 64)
                die("policy hash is not 64 hex digits");
        for (int i = 0; i < GR_RULE__CNT; i++)
                if (p1.rule_enabled[i] != 0 && p1.rule_enabled[i] != 1)
                        die("rule switch not 0/1");
        memset(&p2, 0xa5, sizeof(p2));
        if (gr_policy_load(&p2, (const char *)data, size, errstr,
                           sizeof(errstr)))
                die("same bytes rejected on the second load");
        if (!policy_eq(&p1, &p2))
                die("same bytes gave a different policy");
        return 0;
}
