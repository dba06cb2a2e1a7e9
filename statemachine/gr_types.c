/* Name tables and parsers generated from the X-macro lists in gr_types.h. */
#include "gr_types.h"

#include <string.h>

#define GR__NAME(N, S) S,
#define GR__JNAME(N, S) {"\"" S "\"", sizeof(S) + 1},
static const gr_jname jname_unknown = {"\"?\"", 3};
#define GR_DEFINE_ENUM(TYPE, PFX, MAP)                                         \
        static const char *const TYPE##_names[] = {MAP(GR__NAME)};             \
        static const gr_jname TYPE##_jnames[] = {MAP(GR__JNAME)};              \
        const char *TYPE##_name(TYPE v) {                                      \
                if ((int)v < 0 || (int)v >= (int)GR_##PFX##__CNT)              \
                        return "?";                                            \
                return TYPE##_names[v];                                        \
        }                                                                      \
        const gr_jname *TYPE##_jname(TYPE v) {                                 \
                if ((int)v < 0 || (int)v >= (int)GR_##PFX##__CNT)              \
                        return &jname_unknown;                                 \
                return &TYPE##_jnames[v];                                      \
        }                                                                      \
        int TYPE##_parse(const char *s, size_t len, TYPE *out) {               \
                for (int i = 0; i < (int)GR_##PFX##__CNT; i++) {               \
                        if (strlen(TYPE##_names[i]) == len &&                  \
                            memcmp(TYPE##_names[i], s, len) == 0) {            \
                                *out = (TYPE)i;                                \
                                return 0;                                      \
                        }                                                      \
                }                                                              \
                return -1;                                                     \
        }

GR_DEFINE_ENUM(gr_event_type_t, EVT, GR_EVENT_TYPE_MAP)
GR_DEFINE_ENUM(gr_role_t, ROLE, GR_ROLE_MAP)
GR_DEFINE_ENUM(gr_failure_t, FAIL, GR_FAILURE_MAP)
GR_DEFINE_ENUM(gr_result_t, RESULT, GR_RESULT_MAP)
GR_DEFINE_ENUM(gr_capacity_t, CAP, GR_CAPACITY_MAP)
GR_DEFINE_ENUM(gr_exec_t, EXEC, GR_EXEC_MAP)
GR_DEFINE_ENUM(gr_output_t, OUT, GR_OUTPUT_MAP)
GR_DEFINE_ENUM(gr_eval_t, EVAL, GR_EVAL_MAP)
GR_DEFINE_ENUM(gr_settlement_t, SETTLE, GR_SETTLEMENT_MAP)
GR_DEFINE_ENUM(gr_retry_t, RETRY, GR_RETRY_MAP)
GR_DEFINE_ENUM(gr_reject_t, REJ, GR_REJECT_MAP)
GR_DEFINE_ENUM(gr_rule_t, RULE, GR_RULE_MAP)
GR_DEFINE_ENUM(gr_reason_t, REASON, GR_REASON_MAP)

gr_reason_t gr_reason_from_failure(gr_failure_t f) {
        gr_reason_t r;
        const char *n = gr_failure_t_name(f);
        if (f == GR_FAIL_NONE || gr_reason_t_parse(n, strlen(n), &r) == -1)
                return GR_REASON_UNKNOWN;
        return r;
}
