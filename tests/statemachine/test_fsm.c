/*
 * Table-driven FSM tests: every docs/SPEC.md §5 rule and §4 invariant has rows that
 * fail if it breaks.  Each row: a script (fsm_script.h), an optional policy,
 * the expected outcome letter per event (A applied, P parked, D duplicate,
 * R rejected), the reasons of rejects in the order they happen, and the
 * expected summary line at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsm_script.h"
#include "gr_amounts.h"
#include "gr_policy_json.h"
#include "gr_engine.h"
#include "gr_output.h"
#include "gr_rules.h"

#define MAXEV 32
#define LINE(att, cap, exe, out, set, rea, ret)                                \
        "job_id=j attempt=" att " capacity=" cap " execution=" exe             \
        " output=" out " settlement=" set " reason=" rea " retry=" ret

static const struct row {
        const char *name;
        const char *script;
        const char *policy; /* NULL = SPEC defaults */
        const char *outcomes;
        const char *rejects; /* space-separated reasons, in order */
        const char *line;
        const char *rule; /* rule of the last decision, NULL = none */
} rows[] = {
    /* ---- docs/SPEC.md §1 canonical case ---- */
    {"canonical", "Q C+ S F:container_oom", NULL, "AAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "container_oom", "free"), "R7"},
    {"otherwise pending", "Q C+", NULL, "AA", "",
     LINE("1", "pass", "not_started", "none", "pending", "in_progress", "none"),
     NULL},

    /* ---- R1 review ---- */
    {"R1 review decides", "Q C+ S F:unknown RV:refund", NULL, "AAAAA", "",
     LINE("1", "pass", "fail", "none", "refund", "manual_review", "none"),
     "R1"},
    {"R1 review overrides a final posture (I5)", "Q C+ S D O RV:partial_refund",
     NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "partial_refund", "manual_review",
          "none"),
     "R1"},
    {"R1 switched off by policy", "Q C+ S F:unknown RV:refund",
     "{\"rules\":{\"R1\":false}}", "AAAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "unknown", "free"), "R7"},

    /* ---- R2 cancel before start ---- */
    {"R2 cancel before start", "Q X", NULL, "AA", "",
     LINE("1", "unknown", "not_started", "none", "refund", "buyer_cancelled",
          "none"),
     "R2"},
    {"R2 not after start: R12 decides", "Q C+ S X", NULL, "AAAA", "",
     LINE("1", "pass", "running", "none", "partial_refund", "buyer_cancelled",
          "none"),
     "R12"},

    /* ---- R12 cancel while running ---- */
    {"R12 the kill that follows does not undo it", "Q C+ S X F:container_oom",
     NULL, "AAAAA", "",
     LINE("1", "pass", "fail", "none", "partial_refund", "buyer_cancelled",
          "none"),
     "R12"},
    {"R12 before R5 and R6", "Q:40 C+ S BP:timeout:80 X F:container_oom SP:null",
     NULL, "AAAAAAA", "",
     LINE("1", "pass", "fail", "none", "partial_refund", "buyer_cancelled",
          "none"),
     "R12"},
    {"R12 switched off by policy", "Q C+ S X", "{\"rules\":{\"R12\":false}}",
     "AAAA", "",
     LINE("1", "pass", "running", "none", "pending", "in_progress", "none"),
     NULL},
    {"R12 not once execution ended", "Q C+ S D X", NULL, "AAAAA", "",
     LINE("1", "pass", "pass", "none", "hold", "output_missing", "none"),
     "R11"},
    {"R12 the first cancel stands", "Q X C+ S X", NULL, "AAAAA", "",
     LINE("1", "pass", "running", "none", "refund", "buyer_cancelled", "none"),
     "R2"},

    /* ---- R3 capacity fail ---- */
    {"R3 capacity fail", "Q C-", NULL, "AA", "",
     LINE("1", "fail", "not_started", "none", "refund", "capacity_fail",
          "reassign"),
     "R3"},
    {"R3 first capacity result stands", "Q C+ C-", NULL, "AAA", "",
     LINE("1", "pass", "not_started", "none", "pending", "in_progress", "none"),
     NULL},

    /* ---- R4 no-show ---- */
    {"R4 reservation expired", "Q C+ EXP", NULL, "AAA", "",
     LINE("1", "pass", "not_started", "none", "refund", "provider_no_show",
          "reassign"),
     "R4"},
    {"R4 job time past window_end", "Q C+ T:08:31 SP:null", NULL, "AAA", "",
     LINE("1", "pass", "not_started", "none", "refund", "provider_no_show",
          "reassign"),
     "R4"},
    {"R4 not at window_end exactly", "Q C+ T:08:30 SP:null", NULL, "AAA", "",
     LINE("1", "pass", "not_started", "none", "pending", "in_progress", "none"),
     NULL},
    {"R4 not once execution started", "Q C+ S EXP", NULL, "AAAA", "",
     LINE("1", "pass", "running", "none", "pending", "in_progress", "none"),
     NULL},

    /* ---- R5 memory budget over quote ---- */
    {"R5 budget exceeds quote", "Q:80 C+ S BP:container_oom:120 F:container_oom",
     NULL, "AAAAA", "",
     LINE("1", "pass", "fail", "none", "partial_refund",
          "memory_budget_exceeds_quote", "none"),
     "R5"},
    {"R5 budget equal to quote is not over", "Q:80 C+ S BP:container_oom:80 "
     "F:container_oom", NULL, "AAAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "container_oom", "free"), "R7"},
    {"R5 before R6", "Q:40 C+ S BP:timeout:80 SP:container_oom F:container_oom",
     NULL, "AAAAAA", "",
     LINE("1", "pass", "fail", "none", "partial_refund",
          "memory_budget_exceeds_quote", "none"),
     "R5"},

    /* ---- R6 packets disagree ---- */
    {"R6 classes differ", "Q C+ S F:runtime_error SP:runtime_error "
     "BP:driver_mismatch:40", NULL, "AAAAAA", "",
     LINE("1", "pass", "fail", "none", "escalate", "logs_disagree",
          "manual_review"),
     "R6"},
    {"R6 seller claims no failure", "Q C+ S F:timeout SP:null", NULL, "AAAAA",
     "",
     LINE("1", "pass", "fail", "none", "escalate", "logs_disagree",
          "manual_review"),
     "R6"},
    {"R6 not when packets agree", "Q C+ S F:timeout SP:timeout BP:timeout:40",
     NULL, "AAAAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "timeout", "free"), "R7"},
    {"R6 buyer reports a failure on a passed run: escalate before release",
     "Q C+ S D BP:timeout:40 O", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "escalate", "logs_disagree",
          "manual_review"),
     "R6"},
    {"R6 after a release: posture stays, retry and reason follow",
     "Q C+ S D O BP:container_oom:40", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "release", "logs_disagree",
          "manual_review"),
     "R6"},
    {"R6 not on a passed run when the buyer saw nothing",
     "Q C+ S D BP:null:40 O", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"R6 not when only buyer saw nothing", "Q C+ S F:timeout BP:null:40", NULL,
     "AAAAA", "", LINE("1", "pass", "fail", "none", "hold", "timeout", "free"),
     "R7"},

    /* ---- R7 / R8 retry contract ---- */
    {"R7 free retry offered", "Q C+ S F:driver_mismatch", NULL, "AAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "driver_mismatch", "free"),
     "R7"},
    {"R8 second failure after the free retry",
     "Q C+ S F:container_oom @2 C+ S F:worker_lost", NULL, "AAAAAAA", "",
     LINE("2", "pass", "fail", "none", "hold", "worker_lost", "none"), "R8"},
    {"R8 when the policy gives no free retry", "Q C+ S F:nonzero_exit",
     "{\"free_retries_per_job\":0}", "AAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "nonzero_exit", "none"), "R8"},
    {"R8 when R7 is switched off", "Q C+ S F:timeout",
     "{\"rules\":{\"R7\":false}}", "AAAA", "",
     LINE("1", "pass", "fail", "none", "hold", "timeout", "none"), "R8"},
    {"retry then success", "Q C+ S F:container_oom @2 C+ S D O", NULL,
     "AAAAAAAA", "",
     LINE("2", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"attempt n+1 starts fresh and is pending", "Q C+ S F:container_oom @2 C+",
     NULL, "AAAAA", "",
     LINE("2", "pass", "not_started", "none", "pending", "in_progress", "none"),
     NULL},

    /* ---- R9 / R10 / R11 ---- */
    {"R9 evaluation failed", "Q C+ S D O E-", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "release", "evaluation_failed",
          "quality_review"),
     "R9"},
    {"R10 delivered", "Q C+ S D O", NULL, "AAAAA", "",
     LINE("1", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"R10 evaluation pass stays delivered", "Q C+ S D O E+", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"R11 output missing", "Q C+ S D", NULL, "AAAA", "",
     LINE("1", "pass", "pass", "none", "hold", "output_missing", "none"),
     "R11"},

    /* ---- invariants ---- */
    {"I1 no output after a dead container", "Q C+ S F:container_oom O", NULL,
     "AAAAR", "impossible_transition",
     LINE("1", "pass", "fail", "none", "hold", "container_oom", "free"), "R7"},
    {"I1 one output per attempt", "Q C+ S D O O", NULL, "AAAAAR",
     "impossible_transition",
     LINE("1", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"I2 no evaluation without output: parks", "Q C+ S D E+", NULL, "AAAAP", "",
     LINE("1", "pass", "pass", "none", "hold", "output_missing", "none"),
     "R11"},
    {"I2 no evaluation after a failure", "Q C+ S F:timeout E-", NULL, "AAAAR",
     "impossible_transition",
     LINE("1", "pass", "fail", "none", "hold", "timeout", "free"), "R7"},
    {"I3 no start after capacity fail", "Q C- S", NULL, "AAR",
     "impossible_transition",
     LINE("1", "fail", "not_started", "none", "refund", "capacity_fail",
          "reassign"),
     "R3"},
    {"I4 review cannot release a failed run", "Q C+ S F:timeout RV:release",
     NULL, "AAAAR", "impossible_transition",
     LINE("1", "pass", "fail", "none", "hold", "timeout", "free"), "R7"},
    {"I5 refund stays refund", "Q C+ EXP S D O", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "refund", "delivered", "none"),
     "R10"},
    {"I5 R9 after R10 keeps release", "Q C+ S D O E-", NULL, "AAAAAA", "",
     LINE("1", "pass", "pass", "present", "release", "evaluation_failed",
          "quality_review"),
     "R9"},
    {"I5 partial refund is final", "Q:40 C+ S BP:null:80 F:container_oom "
     "SP:timeout", NULL, "AAAAAA", "",
     LINE("1", "pass", "fail", "none", "partial_refund",
          "memory_budget_exceeds_quote", "none"),
     "R5"},

    /* ---- preconditions, parking, duplicates, attempts ---- */
    {"out of order start parks then applies", "Q S C+ D O", NULL, "APAAA", "",
     LINE("1", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"completion before start parks", "Q C+ D S O", NULL, "AAPAA", "",
     LINE("1", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"parked start rejected when capacity fails", "Q S C-", NULL, "APA",
     "impossible_transition",
     LINE("1", "fail", "not_started", "none", "refund", "capacity_fail",
          "reassign"),
     "R3"},
    {"park limit", "Q S D", "{\"park_limit\":1}", "APR", "precondition_timeout",
     LINE("1", "unknown", "not_started", "none", "pending", "in_progress",
          "none"),
     NULL},
    {"parked events given up when the job settles", "Q E+ X", NULL, "APA",
     "precondition_timeout",
     LINE("1", "unknown", "not_started", "none", "refund", "buyer_cancelled",
          "none"),
     "R2"},
    {"park timeout in event time", "Q C+ S D E+ T:10:00 SP:null",
     "{\"park_timeout_seconds\":60}", "AAAAPA", "precondition_timeout",
     LINE("1", "pass", "pass", "none", "hold", "output_missing", "none"),
     "R11"},
    {"duplicate event id changes nothing", "Q C+ DUP S DUP", NULL, "AADAD", "",
     LINE("1", "pass", "running", "none", "pending", "in_progress", "none"),
     NULL},
    {"duplicate of a parked event", "Q S DUP C+", NULL, "APDA", "",
     LINE("1", "pass", "running", "none", "pending", "in_progress", "none"),
     NULL},
    {"attempt n+1 parks until n concludes", "Q C+ S @2 C+ @1 F:timeout", NULL,
     "AAAPA", "",
     LINE("2", "pass", "not_started", "none", "pending", "in_progress", "none"),
     NULL},
    {"events of a closed attempt are rejected",
     "Q C+ S F:timeout @2 C+ @1 D", NULL, "AAAAAR", "impossible_transition",
     LINE("2", "pass", "not_started", "none", "pending", "in_progress", "none"),
     NULL},
    {"attempt may not skip ahead", "Q @3 C+", NULL, "AR",
     "impossible_transition",
     LINE("1", "unknown", "not_started", "none", "pending", "in_progress",
          "none"),
     NULL},
    {"packets are accepted from any attempt",
     "Q C+ S F:timeout @2 C+ S F:timeout @1 SP:null", NULL, "AAAAAAAA", "",
     LINE("2", "pass", "fail", "none", "escalate", "logs_disagree",
          "manual_review"),
     "R6"},
    {"retry after capacity fail reassigns", "Q C- @2 C+ S D O", NULL, "AAAAAA",
     "",
     LINE("2", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},

    /* ---- I5 per attempt (amended): n+1 begins pending ---- */
    {"I5 per attempt: no-show, then the second provider delivers",
     "Q C+ EXP @2 C+ S D O", NULL, "AAAAAAA", "",
     LINE("2", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"I5 per attempt: attempt n+1 begins pending", "Q C- @2 C+", NULL, "AAA",
     "",
     LINE("2", "pass", "not_started", "none", "pending", "in_progress",
          "none"),
     NULL},
    {"I5 per attempt: refund, then hold, then release",
     "Q C+ EXP @2 C+ S F:timeout @3 C+ S D O", NULL, "AAAAAAAAAA", "",
     LINE("3", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"a delivered attempt does not conclude: n+1 parks",
     "Q C+ EXP @2 C+ S D O @3 C-", NULL, "AAAAAAAP", "",
     LINE("2", "pass", "pass", "present", "release", "delivered", "none"),
     "R10"},
    {"reassignment consumes no free retry", "Q C- @2 C+ S F:timeout", NULL,
     "AAAAA", "",
     LINE("2", "pass", "fail", "none", "hold", "timeout", "free"), "R7"},
    {"R1 review decides partial_refund on a failed run",
     "Q C+ S F:timeout RV:partial_refund", NULL, "AAAAA", "",
     LINE("1", "pass", "fail", "none", "partial_refund", "manual_review",
          "none"),
     "R1"},
};

/* ---- harness ----------------------------------------------------------- */

typedef struct rec {
        char rejects[512];
        gr_buf out; /* every action, rendered */
        gr_rule_t last_rule;
        int decisions;
} rec;

static void on_ledger(void *op, const gr_job *j, const gr_ledger_row *r) {
        rec *c = op;
        (void)j;
        gr_ledger_row_to_json(r, 1, &c->out);
        gr_buf_putc(&c->out, '\n');
}

static void on_decision(void *op, const gr_job *j, const gr_decision *d) {
        rec *c = op;
        (void)j;
        c->last_rule = d->rule;
        c->decisions++;
        gr_decision_to_json(d, NULL, NULL, &c->out);
        gr_buf_putc(&c->out, '\n');
}

static void on_reject(void *op, const gr_event *ev, const gr_err *err) {
        rec *c = op;
        size_t n = strlen(c->rejects);
        snprintf(c->rejects + n, sizeof(c->rejects) - n, "%s%s",
                 n ? " " : "", gr_reject_t_name(err->reason));
        gr_reject_to_json(ev->event_id, ev->job_id, err, &c->out);
        gr_buf_putc(&c->out, '\n');
}

static void load_policy(gr_policy *p, const char *json) {
        char errstr[256];
        gr_policy_default(p);
        if (json)
                assert_int_equal(
                    gr_policy_load(p, json, strlen(json), errstr, sizeof(errstr)),
                    0);
}

static void run_row(const struct row *r) {
        static gr_event evs[MAXEV];
        gr_policy pol;
        rec c;
        gr_fsm_sink sink = {&c, on_ledger, on_decision, on_reject};
        gr_engine *e;
        char outcomes[MAXEV + 1] = {0}, line[256];
        int n;
        gr_job *j;
        const gr_stats *st;

        memset(&c, 0, sizeof(c));
        c.last_rule = GR_RULE_NONE;
        gr_buf_init(&c.out);
        load_policy(&pol, r->policy);
        n = fsm_script_parse(r->script, evs, MAXEV);
        assert_true(n > 0);
        e = gr_engine_new(&pol, &sink);
        assert_non_null(e);
        for (int i = 0; i < n; i++) {
                gr_err err;
                if (gr_event_validate(&evs[i], &err)) {
                        gr_engine_reject(e, &evs[i], &err);
                        outcomes[i] = 'R';
                        continue;
                }
                switch (gr_engine_apply(e, &evs[i])) {
                case GR_APPLIED: outcomes[i] = 'A'; break;
                case GR_PARKED: outcomes[i] = 'P'; break;
                case GR_DUPLICATE: outcomes[i] = 'D'; break;
                case GR_REJECTED: outcomes[i] = 'R'; break;
                }
        }
        j = gr_jobtab_get(gr_engine_jobs(e), "j", 0);
        assert_non_null(j);
        if (strcmp(outcomes, r->outcomes) || strcmp(c.rejects, r->rejects) ||
            strcmp(gr_job_line(j, line, sizeof(line)), r->line) ||
            (r->rule ? c.last_rule != GR_RULE_NONE &&
                           strcmp(gr_rule_t_name(c.last_rule), r->rule)
                     : c.last_rule != GR_RULE_NONE))
                print_message("row \"%s\":\n  outcomes %s (want %s)\n"
                              "  rejects  [%s] (want [%s])\n  line %s\n"
                              "  want %s\n  rule %s (want %s)\n",
                              r->name, outcomes, r->outcomes, c.rejects,
                              r->rejects, line, r->line,
                              gr_rule_t_name(c.last_rule),
                              r->rule ? r->rule : "none");
        assert_string_equal(outcomes, r->outcomes);
        assert_string_equal(c.rejects, r->rejects);
        assert_string_equal(line, r->line);
        if (r->rule)
                assert_string_equal(gr_rule_t_name(c.last_rule), r->rule);
        else
                assert_int_equal(c.last_rule, GR_RULE_NONE);
        /* Nothing is lost: every input is applied, parked, a duplicate or
         * a reject. */
        st = gr_engine_stats(e);
        assert_int_equal(st->events_in, st->applied + st->duplicates +
                                            st->rejected + st->parked_now);
        assert_int_equal(st->parked_now, (uint64_t)gr_job_nparked(j));
        gr_engine_destroy(e);
        gr_buf_free(&c.out);
}

static void test_rows(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                run_row(&rows[i]);
}

/* Every rule R1..R12 is the decider of at least one row. */
static void test_every_rule_has_a_row(void **state) {
        int seen[GR_RULE__CNT] = {0};
        (void)state;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                gr_rule_t r;
                if (rows[i].rule &&
                    gr_rule_t_parse(rows[i].rule, strlen(rows[i].rule), &r) == 0)
                        seen[r] = 1;
        }
        for (int r = GR_RULE_R1; r < GR_RULE__CNT; r++) {
                if (!seen[r])
                        print_message("no row decided by %s\n",
                                      gr_rule_t_name((gr_rule_t)r));
                assert_true(seen[r]);
        }
}

/* I6: a role not listed for the type is rejected before the FSM. */
static void test_i6_unauthorized_role(void **state) {
        static gr_event evs[4];
        gr_err err;
        (void)state;
        assert_int_equal(fsm_script_parse("ROLE:seller C+ ROLE:buyer Q "
                                          "ROLE:verifier E+ ROLE:seller RV:hold",
                                          evs, 4),
                         4);
        assert_int_equal(gr_event_validate(&evs[0], &err), -1);
        assert_int_equal(err.reason, GR_REJ_UNAUTHORIZED_ROLE);
        assert_int_equal(gr_event_validate(&evs[1], &err), -1);
        assert_int_equal(err.reason, GR_REJ_UNAUTHORIZED_ROLE);
        assert_int_equal(gr_event_validate(&evs[2], &err), 0); /* verifier may */
        assert_int_equal(gr_event_validate(&evs[3], &err), -1);
        assert_int_equal(err.reason, GR_REJ_UNAUTHORIZED_ROLE);
}

static void count_evict(void *op, const gr_job *j) {
        int *n = op;
        assert_string_equal(j->job_id, "j");
        (*n)++;
}

/* Retention: a settled job leaves memory once the watermark is a
 * retention past its time; open jobs and jobs with parked events stay. */
static void test_retention_evicts_settled_jobs(void **state) {
        static gr_event a[8], b[8];
        gr_policy pol;
        gr_engine *e;
        int evicted = 0, na, nb;
        (void)state;

        load_policy(&pol, "{\"retention_seconds\":600,"
                          "\"park_timeout_seconds\":3600}");
        na = fsm_script_parse("Q C+ S D O", a, 8);          /* j: release */
        nb = fsm_script_parse("T:08:02 Q C+ T:08:20 S T:08:40 RA", b, 8);
        assert_int_equal(na, 5);
        assert_int_equal(nb, 4);
        for (int i = 0; i < nb; i++) {
                snprintf(b[i].job_id, sizeof(b[i].job_id), "k");
                snprintf(b[i].event_id, sizeof(b[i].event_id), "k%d", i);
        }
        e = gr_engine_new(&pol, NULL);
        gr_engine_set_evict(e, count_evict, &evicted);
        for (int i = 0; i < na; i++)
                assert_int_equal(gr_engine_apply(e, &a[i]), GR_APPLIED);
        for (int i = 0; i < nb; i++)
                assert_int_equal(gr_engine_apply(e, &b[i]), GR_APPLIED);
        /* j settled at 08:05, watermark 08:41 > 08:05 + 10 min */
        assert_int_equal(evicted, 1);
        assert_int_equal(gr_engine_stats(e)->evicted, 1);
        assert_null(gr_jobtab_get(gr_engine_jobs(e), "j", 0));
        assert_non_null(gr_jobtab_get(gr_engine_jobs(e), "k", 0));
        /* A late event for the evicted job starts an orphan holding only a
         * parked event; once the park timeout passes at the watermark the
         * sweep gives the event up and the orphan leaves too. */
        {
                static gr_event late[2], more[4];
                const gr_stats *st;
                assert_int_equal(fsm_script_parse("T:08:42 O", late, 2), 1);
                snprintf(late[0].event_id, sizeof(late[0].event_id), "late");
                assert_int_equal(gr_engine_apply(e, &late[0]), GR_PARKED);
                assert_non_null(gr_jobtab_get(gr_engine_jobs(e), "j", 0));
                assert_int_equal(fsm_script_parse("T:09:50 RA T:10:30 RA",
                                                  more, 4),
                                 2);
                for (int i = 0; i < 2; i++) {
                        snprintf(more[i].job_id, sizeof(more[i].job_id), "k");
                        snprintf(more[i].event_id, sizeof(more[i].event_id),
                                 "km%d", i);
                        assert_int_equal(gr_engine_apply(e, &more[i]),
                                         GR_APPLIED);
                }
                assert_null(gr_jobtab_get(gr_engine_jobs(e), "j", 0));
                st = gr_engine_stats(e);
                assert_int_equal(st->parked_now, 0);
                assert_int_equal(st->rejected_by[GR_REJ_PRECONDITION_TIMEOUT],
                                 1);
                assert_int_equal(st->events_in, st->applied + st->duplicates +
                                                    st->rejected +
                                                    st->parked_now);
        }
        gr_engine_destroy(e);
        /* keep_all (replay) keeps it */
        evicted = 0;
        e = gr_engine_new(&pol, NULL);
        gr_engine_keep_all(e);
        gr_engine_set_evict(e, count_evict, &evicted);
        for (int i = 0; i < na; i++)
                gr_engine_apply(e, &a[i]);
        for (int i = 0; i < nb; i++)
                gr_engine_apply(e, &b[i]);
        assert_int_equal(evicted, 0);
        assert_non_null(gr_jobtab_get(gr_engine_jobs(e), "j", 0));
        gr_engine_destroy(e);
}


/* ---- amounts (docs/SPEC.md §6) ---------------------------------------- */

#define AMT(p, c, r, h)                                                        \
        "{\"currency\":\"USD\",\"price_minor\":" p ",\"charge_minor\":" c      \
        ",\"refund_minor\":" r ",\"held_minor\":" h "}"
#define I64MAX "9223372036854775807"

/* Each row: a script and the amounts of its last decision (rendered), the
 * window being 08:00-08:30 and events one minute apart from 08:01. */
static const struct amount_row {
        const char *name, *script, *amounts;
} amount_rows[] = {
    {"no price: null", "Q C+ S F:container_oom", "null"},
    {"pending holds the price", "PRICE:1000 Q C+", AMT("1000", "0", "0", "1000")},
    {"hold (R7)", "PRICE:1000 Q C+ S F:container_oom",
     AMT("1000", "0", "0", "1000")},
    {"refund (R3)", "PRICE:1000 Q C-", AMT("1000", "0", "1000", "0")},
    {"release (R10)", "PRICE:1000 Q C+ S D O", AMT("1000", "1000", "0", "0")},
    {"escalate (R6) holds", "PRICE:1000 Q C+ S F:timeout SP:null",
     AMT("1000", "0", "0", "1000")},
    /* S 08:03, F 08:05: 2 of 30 minutes, 1000*2/30 = 66.67 -> 66 */
    {"partial refund R5 rounds down",
     "PRICE:1000 Q:80 C+ S BP:container_oom:120 F:container_oom",
     AMT("1000", "66", "934", "0")},
    {"partial refund R12, half the window",
     "PRICE:1000 Q C+ T:08:03 S T:08:18 X", AMT("1000", "500", "500", "0")},
    {"R12 kept when the kill follows (I5)",
     "PRICE:1000 Q C+ T:08:03 S T:08:18 X T:08:29 F:container_oom",
     AMT("1000", "500", "500", "0")},
    {"R12 rounds a small price down to 0",
     "PRICE:7 Q C+ T:08:10 S T:08:11 X", AMT("7", "0", "7", "0")},
    {"R12 used time clamped to the window",
     "PRICE:1000 Q C+ T:08:05 S T:09:40 X", AMT("1000", "1000", "0", "0")},
    {"R12 with the largest int64 price, exact",
     "PRICE:" I64MAX " Q C+ T:08:03 S T:08:18 X",
     AMT(I64MAX, "4611686018427387903", "4611686018427387904", "0")},
    {"R12 largest price, 29 of 30 minutes",
     "PRICE:" I64MAX " Q C+ T:08:00 S T:08:29 X",
     AMT(I64MAX, "8915926302292949946", "307445734561825861", "0")},
    {"review partial_refund while running: up to the review",
     "PRICE:900 Q C+ T:08:10 S T:08:20 RV:partial_refund",
     AMT("900", "300", "600", "0")},
    {"review amounts kept when execution ends later (I5)",
     "PRICE:900 Q C+ T:08:10 S T:08:20 RV:partial_refund T:08:25 F:timeout",
     AMT("900", "300", "600", "0")},
    {"review partial_refund after a failure: up to failed_at",
     "PRICE:900 Q C+ T:08:10 S T:08:19 F:timeout T:08:25 RV:partial_refund",
     AMT("900", "270", "630", "0")},
    {"review partial_refund before any start charges 0",
     "PRICE:900 Q C+ RV:partial_refund", AMT("900", "0", "900", "0")},
    {"attempt 2 after a refund is released in full",
     "PRICE:1000 Q C- @2 C+ S D O", AMT("1000", "1000", "0", "0")},
    {"a late price is a decision of its own", "C+ PRICE:1000 Q",
     AMT("1000", "0", "0", "1000")},
    {"a currency-only change is a decision of its own",
     "PRICE:420 Q C- @2 C+ PRICE:420:EUR Q",
     "{\"currency\":\"EUR\",\"price_minor\":420,\"charge_minor\":0,"
     "\"refund_minor\":0,\"held_minor\":420}"},
    /* job times more than 2^31 ms (~24.8 days) from the job's first time
     * are kept whole (gr_jtime): the window ends 40 days after it starts,
     * the cancel comes 30 days in; started 08:03 on day 0.
     * 1000 * (30 d - 3 min) / 40 d = 749.95 -> 749 */
    {"R12 over a 40-day window, times far apart",
     "PRICE:1000 WIN:40 Q C+ S DAY:30 T:08:00 X", AMT("1000", "749", "251", "0")},
    {"locked amounts keep the currency they were decided in",
     "PRICE:420 Q C- @2 C+ S D O PRICE:500:EUR Q BP:timeout:40",
     AMT("420", "420", "0", "0")},
};

typedef struct amount_rec {
        char last[512];
        int decisions;
} amount_rec;

static void on_amount_decision(void *op, const gr_job *j, const gr_decision *d) {
        amount_rec *c = op;
        gr_buf b;
        gr_jw w;
        (void)j;
        /* charge + refund + held = price, every decision */
        if (d->amounts.present) {
                assert_true(d->amounts.charge_minor >= 0 &&
                            d->amounts.refund_minor >= 0 &&
                            d->amounts.held_minor >= 0);
                assert_true(d->amounts.price_minor - d->amounts.charge_minor -
                                d->amounts.refund_minor ==
                            d->amounts.held_minor);
        }
        gr_buf_init(&b);
        gr_jw_init(&w, &b);
        gr_jw_obj_begin(&w);
        gr_jw_kamounts(&w, "a", &d->amounts);
        gr_jw_obj_end(&w);
        /* strip {"a": ... } */
        snprintf(c->last, sizeof(c->last), "%.*s", (int)b.len - 6, b.data + 5);
        gr_buf_free(&b);
        c->decisions++;
}

static void test_amounts(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(amount_rows) / sizeof(amount_rows[0]);
             i++) {
                static gr_event evs[MAXEV];
                const struct amount_row *r = &amount_rows[i];
                amount_rec c;
                gr_fsm_sink sink = {&c, NULL, on_amount_decision, NULL};
                gr_policy pol;
                gr_engine *e;
                int n = fsm_script_parse(r->script, evs, MAXEV);

                memset(&c, 0, sizeof(c));
                assert_true(n > 0);
                load_policy(&pol, NULL);
                e = gr_engine_new(&pol, &sink);
                for (int k = 0; k < n; k++) {
                        gr_err err;
                        assert_int_equal(gr_event_validate(&evs[k], &err), 0);
                        assert_int_equal(gr_engine_apply(e, &evs[k]),
                                         GR_APPLIED);
                }
                if (strcmp(c.last, r->amounts))
                        print_message("amounts row \"%s\":\n  got  %s\n"
                                      "  want %s\n",
                                      r->name, c.last, r->amounts);
                assert_true(c.decisions > 0);
                assert_string_equal(c.last, r->amounts);
                gr_engine_destroy(e);
        }
}

/* floor(a*b/c) exactly, against 128-bit arithmetic where the compiler has
 * it, and at the edges everywhere. */
static void test_muldiv(void **state) {
        (void)state;
        assert_true(gr_muldiv_floor(INT64_MAX, 1, 2) == INT64_MAX / 2);
        assert_true(gr_muldiv_floor(INT64_MAX, INT64_MAX - 1, INT64_MAX) ==
                    INT64_MAX - 1);
        assert_true(gr_muldiv_floor(INT64_MAX, 5, 5) == INT64_MAX);
        assert_true(gr_muldiv_floor(INT64_MAX, 7, 5) == INT64_MAX); /* clamp */
        assert_true(gr_muldiv_floor(1000, 0, 5) == 0);
        assert_true(gr_muldiv_floor(1000, 3, 0) == 0); /* zero window */
        assert_true(gr_muldiv_floor(0, 3, 5) == 0);
        assert_true(gr_muldiv_floor(-5, 3, 5) == 0);
        assert_true(gr_muldiv_floor(10, 1, 3) == 3);
#ifdef __SIZEOF_INT128__
        {
                uint64_t x = 0x9e3779b97f4a7c15u;
                for (int i = 0; i < 100000; i++) {
                        int64_t a, b, c;
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        a = (int64_t)(x >> 1);
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        c = (int64_t)(x >> (1 + i % 62)) + 1;
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        b = (int64_t)(x % (uint64_t)c);
                        assert_true(gr_muldiv_floor(a, b, c) ==
                                    (int64_t)((unsigned __int128)a * b / c));
                }
        }
#endif
}

/* The window clock's test (docs/SPEC.md §5): due once the window passed on
 * the caller's clock, only while nothing has decided the attempt. */
static void test_window_clock_due(void **state) {
        static const struct {
                const char *script;
                const char *now;
                int due;
        } cases[] = {
            {"Q C+", "2026-05-25T08:31:00Z", 1},
            {"Q C+", "2026-05-25T08:30:00Z", 0}, /* at window_end: not past */
            {"Q", "2026-05-25T09:00:00Z", 1},
            {"Q C+ S", "2026-05-25T09:00:00Z", 0},  /* started */
            {"Q C-", "2026-05-25T09:00:00Z", 0},    /* R3 decided */
            {"Q C+ EXP", "2026-05-25T09:00:00Z", 0}, /* already expired */
            {"Q X", "2026-05-25T09:00:00Z", 0},     /* cancelled */
            {"C+", "2026-05-25T09:00:00Z", 0},      /* no quote, no window */
            {"Q C- @2 C+", "2026-05-25T09:00:00Z", 1}, /* attempt 2 owed */
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                static gr_event evs[MAXEV];
                gr_policy pol;
                gr_engine *e;
                int64_t now;
                int n = fsm_script_parse(cases[i].script, evs, MAXEV);

                load_policy(&pol, NULL);
                e = gr_engine_new(&pol, NULL);
                for (int k = 0; k < n; k++)
                        assert_int_equal(gr_engine_apply(e, &evs[k]),
                                         GR_APPLIED);
                assert_int_equal(gr_time_parse(cases[i].now,
                                               strlen(cases[i].now), &now),
                                 0);
                if (gr_window_clock_due(gr_jobtab_get(gr_engine_jobs(e), "j",
                                                      0),
                                        now) != cases[i].due)
                        print_message("window clock: \"%s\" at %s\n",
                                      cases[i].script, cases[i].now);
                assert_int_equal(gr_window_clock_due(
                                     gr_jobtab_get(gr_engine_jobs(e), "j", 0),
                                     now),
                                 cases[i].due);
                gr_engine_destroy(e);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows),
            cmocka_unit_test(test_every_rule_has_a_row),
            cmocka_unit_test(test_amounts),
            cmocka_unit_test(test_muldiv),
            cmocka_unit_test(test_window_clock_due),
            cmocka_unit_test(test_i6_unauthorized_role),
            cmocka_unit_test(test_retention_evicts_settled_jobs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
