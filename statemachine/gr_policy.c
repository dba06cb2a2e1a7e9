/* Policy defaults (docs/SPEC.md §5); the file is read by schemas/gr_policy_json.c. */
#include "gr_policy.h"

#include <string.h>

#include "gr_hash.h"

static const char default_json[] =
    "{\"free_retries_per_job\":1,\"park_limit\":16,"
    "\"park_timeout_seconds\":3600,\"require_signatures\":false,"
    "\"window_clock\":false,\"retention_seconds\":604800}";

const char *gr_policy_default_json(void) {
        return default_json;
}

void gr_policy_init(gr_policy *p) {
        memset(p, 0, sizeof(*p));
        p->free_retries_per_job = 1;
        p->park_limit = 16;
        p->park_timeout_ms = 3600 * 1000;
        p->retention_ms = 7LL * 86400 * 1000;
        for (int i = 0; i < GR_RULE__CNT; i++)
                p->rule_enabled[i] = 1;
}

void gr_policy_default(gr_policy *p) {
        gr_policy_init(p);
        gr_sha256_hex(default_json, strlen(default_json), p->hash);
}

int gr_policy_requires_sig(const gr_policy *p, gr_event_type_t type,
                           gr_role_t role) {
        return ((p->require_sig_roles >> role) & 1) ||
               ((p->require_sig_types >> type) & 1);
}
