/*
 * The canonical receipt page as a browser shows it: render docs/SPEC.md §1's case,
 * load the file in headless Chromium (--dump-dom), and read the text a
 * person would see.  Exits 77 (ctest SKIP_RETURN_CODE) when no chromium
 * binary is installed, so a machine without it skips instead of failing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gr_html.h"
#include "ops_fixture.h"

#define SKIP 77

static const char *chromium;
static char tmpdir[64];

static const char *find_chromium(void) {
        static const char *const cands[] = {
            "/usr/bin/chromium", "/usr/bin/chromium-browser",
            "/usr/lib/chromium/chromium", NULL};
        const char *env = getenv("GR_CHROMIUM");
        if (env && access(env, X_OK) == 0)
                return env;
        for (int i = 0; cands[i]; i++)
                if (access(cands[i], X_OK) == 0)
                        return cands[i];
        return NULL;
}

/* Visible text of a serialized DOM: <style>/<head> dropped, tags removed,
 * the entities the page uses decoded, whitespace collapsed. */
static char *dom_text(const char *dom) {
        static const struct {
                const char *ent, *ch;
        } ents[] = {{"&amp;", "&"},  {"&lt;", "<"},   {"&gt;", ">"},
                    {"&quot;", "\""}, {"&#39;", "'"},  {"&nbsp;", " "}};
        size_t n = strlen(dom);
        char *out = malloc(n + 1), *o = out;
        const char *p = strstr(dom, "</head>");
        int space = 0;

        p = p ? p : dom;
        while (*p) {
                if (*p == '<') {
                        const char *e = strchr(p, '>');
                        if (!e)
                                break;
                        p = e + 1;
                        space = 1;
                        continue;
                }
                if (*p == '&') {
                        int hit = 0;
                        for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]);
                             i++) {
                                size_t l = strlen(ents[i].ent);
                                if (!strncmp(p, ents[i].ent, l)) {
                                        if (space && o > out)
                                                *o++ = ' ';
                                        space = 0;
                                        *o++ = ents[i].ch[0];
                                        p += l;
                                        hit = 1;
                                        break;
                                }
                        }
                        if (hit)
                                continue;
                }
                if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
                        space = 1;
                        p++;
                        continue;
                }
                if (space && o > out)
                        *o++ = ' ';
                space = 0;
                *o++ = *p++;
        }
        *o = '\0';
        return out;
}

static char *slurp_cmd(const char *cmd) {
        FILE *fp = popen(cmd, "r");
        char *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!fp)
                return NULL;
        do {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 65536;
                        buf = realloc(buf, cap);
                }
                n = fread(buf + len, 1, cap - len - 1, fp);
                len += n;
        } while (n > 0);
        buf[len] = '\0';
        if (pclose(fp) != 0) {
                fprintf(stderr, "chromium exited non-zero; output:\n%.2000s\n",
                        buf);
                free(buf);
                return NULL;
        }
        return buf;
}

static void test_canonical_in_chromium(void **state) {
        ops_run r = {0};
        char path[600], cmd[2048];
        gr_buf b;
        gr_job *j;
        FILE *fp;
        char *dom, *text;
        (void)state;

        snprintf(path, sizeof(path), "%s/canonical.jsonl", GR_TEST_DATA_DIR);
        assert_int_equal(ops_run_file(&r, path), 0);
        assert_non_null(j = gr_jobtab_get(gr_engine_jobs(r.eng), "run_8841",
                                          0));
        gr_buf_init(&b);
        gr_receipt_to_html(j, &b);
        assert_int_equal(b.oom, 0);
        snprintf(path, sizeof(path), "%s/receipt-run_8841.html", tmpdir);
        assert_non_null(fp = fopen(path, "w"));
        assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
        assert_int_equal(fclose(fp), 0);
        gr_buf_free(&b);
        ops_run_free(&r);

        snprintf(cmd, sizeof(cmd),
                 "timeout 120 %s --headless --no-sandbox --disable-gpu "
                 "--disable-background-networking --disable-component-update "
                 "--disable-sync --no-first-run --user-data-dir=%s/profile "
                 "--dump-dom file://%s 2>%s/chromium.log",
                 chromium, tmpdir, path, tmpdir);
        dom = slurp_cmd(cmd);
        assert_non_null(dom);
        /* The DOM Chromium built: the execution lane carries the failure. */
        assert_non_null(strstr(dom, "<section class=\"lane failed\" "
                                    "id=\"lane-execution\">"));
        text = dom_text(dom);
        for (const char *const *w = (const char *const[]){
                 "Quote accepted", "Capacity pass", "Execution fail",
                 "Output not reached", "Evaluation not reached",
                 "Settlement hold", "FAILED HERE: container_oom",
                 "decided by rule R7", "reason container_oom",
                 "capacity=pass execution=fail output=none settlement=hold "
                 "reason=container_oom",
                 NULL};
             *w; w++) {
                if (!strstr(text, *w))
                        fail_msg("rendered text lacks \"%s\":\n%s", *w, text);
        }
        /* The marker sits inside the execution lane, before the output lane. */
        assert_true(strstr(text, "FAILED HERE") > strstr(text, "Execution fail"));
        assert_true(strstr(text, "FAILED HERE") < strstr(text, "Output "));
        free(text);
        free(dom);
}

int main(void) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_canonical_in_chromium),
        };
        char cmd[128];
        int rc;

        if (!(chromium = find_chromium())) {
                printf("chromium not installed: skipped\n");
                return SKIP;
        }
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/gr-html-XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", tmpdir);
        return rc;
}
