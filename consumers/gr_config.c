#include "gr_config.h"
#include "gr_codec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "gr_keys.h"
#include "gr_topics.h"
#include "gr_verify_pool.h"

/* Largest key registry / key file read (a registry of ~50k keys). */
#define GR_KEYFILE_MAX (16 * 1024 * 1024)

gr_config *gr_config_new(void) {
        gr_config *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->topic_prefix = strdup(GR_TOPIC_PREFIX_DEFAULT);
        c->group_id = strdup("gpu-receipts");
        if (!c->topic_prefix || !c->group_id)
                goto err;
        c->guarantee = GR_GUARANTEE_EXACTLY_ONCE;
        c->batch_size = 500;
        c->processing_threads = 1;
        c->batch_ms = 100;
        c->startup_timeout_ms = 10000;
        c->restore_timeout_ms = 60000;
        c->log_level = 1;
        c->window_clock_interval_ms = 1000;
        {
                gr_metrics_opts mo;
                gr_metrics_opts_default(&mo);
                c->metrics_auth_window_s = mo.auth_window_s;
                c->metrics_nonces_max = (int)mo.nonces_max;
                c->metrics_max_connections = (int)mo.max_connections;
                c->metrics_per_ip_connections = (int)mo.per_ip_connections;
                c->metrics_timeout_s = (int)mo.timeout_s;
                c->metrics_request_max_bytes = (int)mo.request_max_bytes;
        }
        {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                c->verify_threads =
                    n < 1 ? 1 : n > GR_VERIFY_THREADS_MAX ?
                                GR_VERIFY_THREADS_MAX : (int)n;
        }
        return c;
err:
        gr_config_destroy(c);
        return NULL;
}

void gr_config_destroy(gr_config *c) {
        if (!c)
                return;
        free(c->topic_prefix);
        free(c->group_id);
        free(c->group_instance_id);
        free(c->policy_file);
        free(c->schema_dir);
        free(c->keys_registry);
        gr_keyring_destroy(c->keyring);
        free(c->processor_key);
        if (c->processor_kp) {
                gr_keypair_wipe(c->processor_kp);
                free(c->processor_kp);
        }
        free(c->metrics_listen);
        if (c->metrics_token) {
                sodium_memzero(c->metrics_token, strlen(c->metrics_token));
                free(c->metrics_token);
        }
        free(c->metrics_tls_cert);
        if (c->metrics_tls_key) {
                sodium_memzero(c->metrics_tls_key, strlen(c->metrics_tls_key));
                free(c->metrics_tls_key);
        }
        for (size_t i = 0; i < c->nkv; i++) {
                free(c->kv[i].key);
                free(c->kv[i].value);
        }
        free(c->kv);
        free(c);
}

static int set_str(char **dst, const char *v, char *errstr,
                   size_t errstr_size) {
        char *s = strdup(v);

        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        free(*dst);
        *dst = s;
        return 0;
}

static int set_int(int *dst, const char *key, const char *v, long lo, long hi,
                   char *errstr, size_t errstr_size) {
        char *end;
        long n;

        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < lo || n > hi) {
                snprintf(errstr, errstr_size,
                         "%s: expected an integer in %ld..%ld, got \"%s\"", key,
                         lo, hi, v);
                return -1;
        }
        *dst = (int)n;
        return 0;
}

/* Read a whole file of at most GR_KEYFILE_MAX bytes; NUL-terminated,
 * caller wipes and frees. */
static char *file_read_ex(const char *key, const char *path, size_t *len,
                          int secret, char *errstr, size_t errstr_size) {
        FILE *fp = fopen(path, "rb");
        char *buf = NULL;
        struct stat st;
        size_t n;

        if (!fp) {
                snprintf(errstr, errstr_size, "%s: %s: %s", key, path,
                         strerror(errno));
                return NULL;
        }
        if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
                snprintf(errstr, errstr_size, "%s: %s: not a regular file",
                         key, path);
                goto out;
        }
        /* A secret others can read is no longer a secret: refuse it, as
         * ssh does, rather than use it. */
        if (secret && (st.st_mode & 077)) {
                snprintf(errstr, errstr_size,
                         "%s: %s is accessible to group or others (mode "
                         "%04o); chmod 600 it",
                         key, path, (unsigned)(st.st_mode & 07777));
                goto out;
        }
        if (!(buf = malloc(GR_KEYFILE_MAX + 1))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        n = fread(buf, 1, GR_KEYFILE_MAX + 1, fp);
        if (ferror(fp) || n > GR_KEYFILE_MAX) {
                snprintf(errstr, errstr_size,
                         "%s: %s: unreadable or larger than %d bytes", key,
                         path, GR_KEYFILE_MAX);
                sodium_memzero(buf, n > GR_KEYFILE_MAX ? GR_KEYFILE_MAX : n);
                free(buf);
                buf = NULL;
                goto out;
        }
        buf[n] = '\0';
        *len = n;
out:
        fclose(fp);
        return buf;
}

static char *file_read(const char *key, const char *path, size_t *len,
                       char *errstr, size_t errstr_size) {
        return file_read_ex(key, path, len, 0, errstr, errstr_size);
}

/* A small text file (token, PEM) into *dst: secret ones must be private,
 * the token loses its trailing newline and may not be empty. */
static int set_file_text(char **dst, const char *key, const char *path,
                         int secret, int token, char *errstr,
                         size_t errstr_size) {
        size_t len = 0;
        char *text = file_read_ex(key, path, &len, secret, errstr,
                                  errstr_size);

        if (!text)
                return -1;
        if (strlen(text) != len) {
                snprintf(errstr, errstr_size, "%s: %s holds a NUL byte", key,
                         path);
                goto err;
        }
        if (token) {
                while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                        text[--len] = '\0';
                if (!len) {
                        snprintf(errstr, errstr_size, "%s: %s is empty", key,
                                 path);
                        goto err;
                }
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char)text[i] <= 0x20 ||
                            (unsigned char)text[i] >= 0x7f) {
                                snprintf(errstr, errstr_size,
                                         "%s: %s: the token must be one line "
                                         "of printable ASCII without spaces",
                                         key, path);
                                goto err;
                        }
        } else if (!strstr(text, "-----BEGIN ")) {
                snprintf(errstr, errstr_size, "%s: %s is not PEM", key, path);
                goto err;
        }
        {
                /* keep only what the file held, not the read buffer */
                char *copy = strdup(text);
                sodium_memzero(text, len);
                free(text);
                if (!copy) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                text = copy;
        }
        if (*dst) {
                sodium_memzero(*dst, strlen(*dst));
                free(*dst);
        }
        *dst = text;
        return 0;
err:
        sodium_memzero(text, len);
        free(text);
        return -1;
}

static int set_registry(gr_config *c, const char *key, const char *path,
                        char *errstr, size_t errstr_size) {
        char err[256], *text;
        gr_keyring *kr;
        size_t len = 0;

        if (gr_crypto_init() == -1) {
                snprintf(errstr, errstr_size, "%s: libsodium init failed",
                         key);
                return -1;
        }
        if (!(text = file_read(key, path, &len, errstr, errstr_size)))
                return -1;
        kr = gr_keyring_new(text, len, err, sizeof(err));
        free(text);
        if (!kr) {
                snprintf(errstr, errstr_size, "%s: %s: %s", key, path, err);
                return -1;
        }
        if (set_str(&c->keys_registry, path, errstr, errstr_size) == -1) {
                gr_keyring_destroy(kr);
                return -1;
        }
        gr_keyring_destroy(c->keyring);
        c->keyring = kr;
        return 0;
}

static int set_processor_key(gr_config *c, const char *key, const char *path,
                             char *errstr, size_t errstr_size) {
        char err[256], *text;
        gr_keypair *kp = NULL;
        size_t len = 0;
        int rc;

        if (gr_crypto_init() == -1) {
                snprintf(errstr, errstr_size, "%s: libsodium init failed",
                         key);
                return -1;
        }
        if (!(kp = calloc(1, sizeof(*kp)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (!(text = file_read_ex(key, path, &len, 1, errstr, errstr_size)))
                goto err;
        rc = gr_keypair_from_json(kp, text, len, err, sizeof(err));
        sodium_memzero(text, len);
        free(text);
        if (rc == -1) {
                snprintf(errstr, errstr_size, "%s: %s: %s", key, path, err);
                goto err;
        }
        if (kp->role != GR_KROLE_PROCESSOR) {
                snprintf(errstr, errstr_size,
                         "%s: %s: key %s has role %s, not processor", key,
                         path, kp->key_id, gr_key_role_t_name(kp->role));
                goto err;
        }
        if (set_str(&c->processor_key, path, errstr, errstr_size) == -1)
                goto err;
        if (c->processor_kp) {
                gr_keypair_wipe(c->processor_kp);
                free(c->processor_kp);
        }
        c->processor_kp = kp;
        return 0;
err:
        gr_keypair_wipe(kp);
        free(kp);
        return -1;
}

int gr_config_set(gr_config *c, const char *key, const char *value,
                  char *errstr, size_t errstr_size) {
        gr_scope_t scope = GR_SCOPE_BOTH;
        const char *rkey = key;
        rd_kafka_conf_t *probe;
        gr_config_kv *kv;
        char perr[256];

        if (!strcmp(key, "topic.prefix")) {
                gr_topics t;
                if (gr_topics_init(&t, value) == -1) {
                        snprintf(errstr, errstr_size, "%s: too long", key);
                        return -1;
                }
                return set_str(&c->topic_prefix, value, errstr, errstr_size);
        }
        if (!strcmp(key, "group.id")) {
                if (!*value) {
                        snprintf(errstr, errstr_size, "group.id: empty");
                        return -1;
                }
                return set_str(&c->group_id, value, errstr, errstr_size);
        }
        if (!strcmp(key, "group.instance.id") ||
            !strcmp(key, "consumer.group.instance.id")) {
                if (!*value) {
                        snprintf(errstr, errstr_size,
                                 "group.instance.id: empty");
                        return -1;
                }
                return set_str(&c->group_instance_id, value, errstr,
                               errstr_size);
        }
        if (!strcmp(key, "policy.file"))
                return set_str(&c->policy_file, value, errstr, errstr_size);
        if (!strcmp(key, "schema.dir"))
                return set_str(&c->schema_dir, value, errstr, errstr_size);
        if (!strcmp(key, "output.format")) {
                gr_wire_t w;
                if (gr_wire_parse(value, &w) == -1) {
                        snprintf(errstr, errstr_size,
                                 "output.format: expected json, avro, "
                                 "avro-confluent or avro-single, not \"%s\"",
                                 value);
                        return -1;
                }
                c->output_wire = (int)w;
                return 0;
        }
        if (!strcmp(key, "metrics.listen"))
                return set_str(&c->metrics_listen, value, errstr, errstr_size);
        if (!strncmp(key, "metrics.", 8) && strcmp(key, "metrics.listen")) {
                static const char *const known[] = {
                    "metrics.token.file",        "metrics.tls.cert",
                    "metrics.tls.key",           "metrics.jobs.unsigned",
                    "metrics.auth.window.s",     "metrics.auth.nonces.max",
                    "metrics.max.connections",   "metrics.per.ip.connections",
                    "metrics.timeout.s",         "metrics.request.max.bytes"};
                for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        if (!strcmp(key, known[i]))
                                c->metrics_key_set = known[i];
        }
        if (!strcmp(key, "metrics.token.file"))
                return set_file_text(&c->metrics_token, key, value, 1, 1,
                                     errstr, errstr_size);
        if (!strcmp(key, "metrics.tls.cert"))
                return set_file_text(&c->metrics_tls_cert, key, value, 0, 0,
                                     errstr, errstr_size);
        if (!strcmp(key, "metrics.tls.key"))
                return set_file_text(&c->metrics_tls_key, key, value, 1, 0,
                                     errstr, errstr_size);
        if (!strcmp(key, "metrics.jobs.unsigned")) {
                if (!strcmp(value, "true"))
                        c->metrics_jobs_unsigned = 1;
                else if (!strcmp(value, "false"))
                        c->metrics_jobs_unsigned = 0;
                else {
                        snprintf(errstr, errstr_size,
                                 "%s: expected true or false, got \"%s\"",
                                 key, value);
                        return -1;
                }
                return 0;
        }
        if (!strcmp(key, "metrics.auth.window.s"))
                return set_int(&c->metrics_auth_window_s, key, value, 1,
                               86400, errstr, errstr_size);
        if (!strcmp(key, "metrics.auth.nonces.max"))
                return set_int(&c->metrics_nonces_max, key, value, 1,
                               10000000, errstr, errstr_size);
        if (!strcmp(key, "metrics.max.connections"))
                return set_int(&c->metrics_max_connections, key, value, 1,
                               10000, errstr, errstr_size);
        if (!strcmp(key, "metrics.per.ip.connections"))
                return set_int(&c->metrics_per_ip_connections, key, value, 0,
                               10000, errstr, errstr_size);
        if (!strcmp(key, "metrics.timeout.s"))
                return set_int(&c->metrics_timeout_s, key, value, 1, 3600,
                               errstr, errstr_size);
        if (!strcmp(key, "metrics.request.max.bytes"))
                return set_int(&c->metrics_request_max_bytes, key, value,
                               1024, 1048576, errstr, errstr_size);
        if (!strcmp(key, "processing.guarantee")) {
                if (!strcmp(value, "exactly_once") ||
                    !strcmp(value, "exactly_once_v2"))
                        c->guarantee = GR_GUARANTEE_EXACTLY_ONCE;
                else if (!strcmp(value, "at_least_once"))
                        c->guarantee = GR_GUARANTEE_AT_LEAST_ONCE;
                else {
                        snprintf(errstr, errstr_size,
                                 "processing.guarantee: expected exactly_once "
                                 "or at_least_once, got \"%s\"",
                                 value);
                        return -1;
                }
                return 0;
        }
        if (!strcmp(key, "batch.size"))
                return set_int(&c->batch_size, key, value, 1, 100000, errstr,
                               errstr_size);
        if (!strcmp(key, "batch.ms"))
                return set_int(&c->batch_ms, key, value, 1, 60000, errstr,
                               errstr_size);
        if (!strcmp(key, "startup.timeout.ms"))
                return set_int(&c->startup_timeout_ms, key, value, 100,
                               600000, errstr, errstr_size);
        if (!strcmp(key, "restore.timeout.ms"))
                return set_int(&c->restore_timeout_ms, key, value, 100,
                               3600000, errstr, errstr_size);
        if (!strcmp(key, "window.clock.interval.ms"))
                return set_int(&c->window_clock_interval_ms, key, value, 10,
                               3600000, errstr, errstr_size);
        if (!strcmp(key, "log.level"))
                return set_int(&c->log_level, key, value, 0, 2, errstr,
                               errstr_size);
        if (!strcmp(key, "keys.registry"))
                return set_registry(c, key, value, errstr, errstr_size);
        if (!strcmp(key, "processor.key"))
                return set_processor_key(c, key, value, errstr, errstr_size);
        if (!strcmp(key, "processing.threads"))
                return set_int(&c->processing_threads, key, value, 1,
                               GR_PROCESSING_THREADS_MAX, errstr,
                               errstr_size);
        if (!strcmp(key, "verify.threads"))
                return set_int(&c->verify_threads, key, value, 1,
                               GR_VERIFY_THREADS_MAX, errstr, errstr_size);

        if (!strncmp(key, "consumer.", 9)) {
                scope = GR_SCOPE_CONSUMER;
                rkey = key + 9;
        } else if (!strncmp(key, "producer.", 9)) {
                scope = GR_SCOPE_PRODUCER;
                rkey = key + 9;
        }
        /* Let librdkafka judge the key now, so a typo fails at start-up
         * with its own message rather than somewhere later. */
        if (!(probe = rd_kafka_conf_new())) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (rd_kafka_conf_set(probe, rkey, value, perr, sizeof(perr)) !=
            RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(probe);
                snprintf(errstr, errstr_size, "%s: %s", key, perr);
                return -1;
        }
        rd_kafka_conf_destroy(probe);

        kv = realloc(c->kv, (c->nkv + 1) * sizeof(*kv));
        if (!kv) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        c->kv = kv;
        kv[c->nkv].scope = scope;
        kv[c->nkv].key = strdup(rkey);
        kv[c->nkv].value = strdup(value);
        if (!kv[c->nkv].key || !kv[c->nkv].value) {
                free(kv[c->nkv].key);
                free(kv[c->nkv].value);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        c->nkv++;
        return 0;
}

int gr_config_set_kv(gr_config *c, const char *kv, char *errstr,
                     size_t errstr_size) {
        const char *eq = strchr(kv, '=');
        char key[256];

        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
                snprintf(errstr, errstr_size,
                         "expected key=value, got \"%s\"", kv);
                return -1;
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        return gr_config_set(c, key, eq + 1, errstr, errstr_size);
}

/* Trim ASCII whitespace at both ends in place. */
static char *trim(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                         e[-1] == '\n'))
                *--e = '\0';
        return s;
}

int gr_config_load_file(gr_config *c, const char *path, char *errstr,
                        size_t errstr_size) {
        FILE *fp = fopen(path, "r");
        char *line = NULL, err[512];
        size_t cap = 0;
        ssize_t n;
        int lineno = 0;

        if (!fp) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return -1;
        }
        /* Lines of any length: a value such as an inline PEM certificate
         * runs to kilobytes and must not be cut. */
        while ((n = getline(&line, &cap, fp)) != -1) {
                char *s, *eq;

                lineno++;
                if (strlen(line) != (size_t)n) {
                        snprintf(errstr, errstr_size,
                                 "%s:%d: a NUL byte in the line", path,
                                 lineno);
                        goto err;
                }
                s = trim(line);
                if (!*s || *s == '#')
                        continue;
                if (!(eq = strchr(s, '='))) {
                        snprintf(errstr, errstr_size,
                                 "%s:%d: expected key=value", path, lineno);
                        goto err;
                }
                *eq = '\0';
                if (gr_config_set(c, trim(s), trim(eq + 1), err,
                                  sizeof(err)) == -1) {
                        snprintf(errstr, errstr_size, "%s:%d: %s", path,
                                 lineno, err);
                        goto err;
                }
        }
        if (ferror(fp) || !feof(fp)) { /* or getline ran out of memory */
                snprintf(errstr, errstr_size, "%s: read error", path);
                goto err;
        }
        free(line);
        fclose(fp);
        return 0;
err:
        free(line);
        fclose(fp);
        return -1;
}

void gr_config_metrics_opts(const gr_config *c, gr_metrics_opts *o) {
        gr_metrics_opts_default(o);
        o->listen = c->metrics_listen;
        o->tls_cert_pem = c->metrics_tls_cert;
        o->tls_key_pem = c->metrics_tls_key;
        o->token = c->metrics_token;
        o->keyring = c->keyring;
        o->jobs_unsigned = c->metrics_jobs_unsigned;
        o->auth_window_s = c->metrics_auth_window_s;
        o->nonces_max = (size_t)c->metrics_nonces_max;
        o->max_connections = (unsigned)c->metrics_max_connections;
        o->per_ip_connections = (unsigned)c->metrics_per_ip_connections;
        o->timeout_s = (unsigned)c->metrics_timeout_s;
        o->request_max_bytes = (size_t)c->metrics_request_max_bytes;
}

int gr_config_metrics_check(const gr_config *c, char *errstr,
                            size_t errstr_size) {
        if (!c->metrics_listen && c->metrics_key_set) {
                snprintf(errstr, errstr_size,
                         "%s is set but metrics.listen is not: there is no "
                         "HTTP server for it to apply to",
                         c->metrics_key_set);
                return -1;
        }
        return 0;
}

int gr_config_transactional_id(const gr_config *c, char *buf,
                                size_t size) {
        char host[128];
        int n;

        if (c->group_instance_id)
                n = snprintf(buf, size, "%s-%s", c->group_id,
                             c->group_instance_id);
        else {
                if (gethostname(host, sizeof(host)))
                        snprintf(host, sizeof(host), "host");
                host[sizeof(host) - 1] = '\0';
                n = snprintf(buf, size, "%s-%s-%ld", c->group_id, host,
                             (long)getpid());
        }
        return n < 0 || (size_t)n >= size ? -1 : 0;
}

const char *gr_config_rdkafka_get(const gr_config *c, gr_scope_t scope,
                                  const char *key) {
        const char *v = NULL;

        for (size_t i = 0; i < c->nkv; i++)
                if ((c->kv[i].scope == GR_SCOPE_BOTH ||
                     c->kv[i].scope == scope) &&
                    !strcmp(c->kv[i].key, key))
                        v = c->kv[i].value;
        return v;
}

int gr_config_rdkafka_apply(const gr_config *c, gr_scope_t scope,
                            rd_kafka_conf_t *conf, char *errstr,
                            size_t errstr_size) {
        return gr_config_rdkafka_apply_except(c, scope, NULL, conf, errstr,
                                              errstr_size);
}

int gr_config_rdkafka_apply_except(const gr_config *c, gr_scope_t scope,
                                   const char *skip, rd_kafka_conf_t *conf,
                                   char *errstr, size_t errstr_size) {
        for (size_t i = 0; i < c->nkv; i++) {
                if (c->kv[i].scope != GR_SCOPE_BOTH && c->kv[i].scope != scope)
                        continue;
                if (skip && !strcmp(c->kv[i].key, skip))
                        continue;
                if (rd_kafka_conf_set(conf, c->kv[i].key, c->kv[i].value,
                                      errstr, errstr_size) != RD_KAFKA_CONF_OK)
                        return -1;
        }
        return 0;
}
