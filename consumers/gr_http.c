/* receiptd's HTTP server on libmicrohttpd: routing to /metrics,
 * /healthz, /readyz and /jobs/, the request counters, the listen address,
 * start and stop (see gr_metrics.h; the request side without HTTP is
 * gr_http_auth.c, the /jobs/ queue gr_http_jobs.c). */
#include "gr_metrics_priv.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <sodium.h>

#include "gr_html.h"
#include "gr_output.h"

const unsigned gr_metrics_http_codes[NCODES] = {200, 400, 401, 403, 404,
                                                405, 413, 500, 503};
const char *const gr_metrics_term_names[NTERM] = {
    "server_reply", "error", "timeout", "shutdown", "read_error",
    "client_abort"};

/* Per request: what the handler answered (0: nothing yet). */
typedef struct req_ctx {
        unsigned status;
} req_ctx;

static int code_index(unsigned status) {
        for (int i = 0; i < NCODES; i++)
                if (gr_metrics_http_codes[i] == status)
                        return i;
        return NCODES; /* "other" */
}

static const char csp[] =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* One request being answered. */
typedef struct call {
        gr_metrics *m;
        struct MHD_Connection *c;
        req_ctx *ctx;
} call;

static enum MHD_Result reply_h(call *k, unsigned status, const char *type,
                               const char *body, size_t len,
                               const char *www_auth) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(len, (void *)body,
                                               MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        if (www_auth)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        www_auth);
        ret = MHD_queue_response(k->c, status, resp);
        MHD_destroy_response(resp);
        if (ret == MHD_YES && k->ctx && !k->ctx->status) {
                k->ctx->status = status;
                add(&k->m->http_codes[code_index(status)], 1);
        }
        return ret;
}

static enum MHD_Result reply(call *k, unsigned status, const char *type,
                             const char *body, size_t len) {
        return reply_h(k, status, type, body, len, NULL);
}

static enum MHD_Result reply_text(call *k, unsigned status,
                                  const char *text) {
        return reply(k, status, "text/plain; charset=utf-8", text,
                     strlen(text));
}

static void auth_fail(gr_metrics *m, gr_auth_result why) {
        if ((unsigned)why < GR_AUTH__CNT && why != GR_AUTH_OK)
                add(&m->auth_failures[why], 1);
}

/* An error page for /jobs/: HTML, or a small JSON object for JSON. */
static enum MHD_Result job_error(call *k, unsigned status, int json,
                                 const char *job_id, const char *msg,
                                 const char *www_auth) {
        gr_buf page;
        enum MHD_Result ret;

        gr_buf_init(&page);
        if (json) {
                gr_jw w;
                gr_jw_init(&w, &page);
                gr_jw_obj_begin(&w);
                gr_jw_kint(&w, "status", status);
                gr_jw_kstr(&w, "error", msg);
                gr_jw_obj_end(&w);
                gr_buf_putc(&page, '\n');
        } else {
                gr_buf_printf(&page,
                              "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                              "<meta charset=\"utf-8\"><title>%u</title>"
                              "</head><body><p>",
                              status);
                if (job_id) {
                        gr_buf_puts(&page, "Job <code>");
                        gr_html_escape(&page, job_id, strlen(job_id));
                        gr_buf_puts(&page, "</code>: ");
                }
                gr_html_escape(&page, msg, strlen(msg));
                gr_buf_puts(&page, "</p></body></html>\n");
        }
        ret = page.oom ? MHD_NO
                       : reply_h(k, status,
                                 json ? "application/json"
                                      : "text/html; charset=utf-8",
                                 page.data, page.len, www_auth);
        gr_buf_free(&page);
        return ret;
}

static enum MHD_Result serve_job(call *k, const char *method,
                                 const char *path,
                                 const gr_http_route_t *rt) {
        gr_metrics *m = k->m;
        job_req *r;
        unsigned status;
        enum MHD_Result ret;
        gr_http_principal who;
        gr_auth_result ar;

        memset(&who, 0, sizeof(who));
        if (m->jobs_unsigned) {
                who.anonymous = 1;
        } else {
                ar = gr_http_auth_check(
                    m->keyring, m->nonces, m->auth_window_s, method, path,
                    MHD_lookup_connection_value(k->c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION),
                    (int64_t)time(NULL), &who);
                if (ar != GR_AUTH_OK) {
                        auth_fail(m, ar);
                        if (ar == GR_AUTH_BUSY)
                                return job_error(k,
                                                 MHD_HTTP_SERVICE_UNAVAILABLE,
                                                 rt->json, NULL,
                                                 "too many signed requests "
                                                 "in the window; try again",
                                                 NULL);
                        return job_error(k, MHD_HTTP_UNAUTHORIZED, rt->json,
                                         NULL,
                                         "a request signed with a "
                                         "registered key is required "
                                         "(docs/OPERATIONS.md)",
                                         GR_HTTP_AUTH_SCHEME);
                }
        }
        if (!(r = calloc(1, sizeof(*r))))
                return MHD_NO;
        memcpy(r->job_id, rt->job_id, sizeof(r->job_id));
        r->json = rt->json;
        r->who = who;
        gr_buf_init(&r->out);
        status = gr_http_job_lookup(m, r);
        if (status == MHD_HTTP_OK) {
                ret = rt->json ? reply(k, status, "application/json",
                                       r->out.data, r->out.len)
                               : reply(k, status, "text/html; charset=utf-8",
                                       r->out.data, r->out.len);
        } else if (status == MHD_HTTP_NOT_FOUND) {
                ret = job_error(k, status, rt->json, rt->job_id,
                                "not held by this instance: it is unknown, "
                                "or its partition is owned by another "
                                "instance of the group.",
                                NULL);
        } else if (status == MHD_HTTP_FORBIDDEN) {
                auth_fail(m, GR_AUTH_FORBIDDEN);
                ret = job_error(k, status, rt->json, NULL,
                                "this key may not read that job", NULL);
        } else if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
                ret = job_error(k, status, rt->json, NULL,
                                "the processor did not answer in time; try "
                                "again.",
                                NULL);
        } else {
                ret = job_error(k, status, rt->json, NULL,
                                "the receipt could not be rendered.", NULL);
        }
        gr_buf_free(&r->out);
        free(r);
        return ret;
}

static const char index_page[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>receiptd</title></head><body><h1>receiptd</h1><ul>"
    "<li><a href=\"/metrics\">/metrics</a></li>"
    "<li><a href=\"/healthz\">/healthz</a></li>"
    "<li><a href=\"/readyz\">/readyz</a></li>"
    "<li>/jobs/JOB_ID (signed requests)</li></ul></body></html>\n";

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls) {
        call k = {cls, c, *req_cls};
        gr_metrics *m = cls;
        gr_http_route_t rt;
        const char *te, *cl;
        (void)version;
        (void)upload_data;

        if (k.ctx && k.ctx->status) {
                /* Already answered (a body is arriving): drop it. */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) &&
            strcmp(method, MHD_HTTP_METHOD_HEAD))
                return reply_text(&k, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "GET or HEAD only\n");
        te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_TRANSFER_ENCODING);
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (te || (cl && strspn(cl, "0") != strlen(cl)) || *upload_data_size)
                return reply_text(&k, MHD_HTTP_CONTENT_TOO_LARGE,
                                  "no request body expected\n");

        switch (gr_http_route(url,
                              MHD_lookup_connection_value(
                                  c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
                              &rt)) {
        case GR_ROUTE_METRICS: {
                gr_buf b;
                enum MHD_Result ret;
                if (m->token &&
                    !gr_http_bearer_ok(
                        MHD_lookup_connection_value(
                            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                        m->token)) {
                        auth_fail(m, GR_AUTH_BAD_TOKEN);
                        return reply_h(&k, MHD_HTTP_UNAUTHORIZED,
                                       "text/plain; charset=utf-8",
                                       "bearer token required\n", 22,
                                       "Bearer");
                }
                gr_buf_init(&b);
                gr_metrics_render(m, &b);
                ret = b.oom ? MHD_NO
                            : reply(&k, MHD_HTTP_OK,
                                    "text/plain; version=0.0.4; "
                                    "charset=utf-8",
                                    b.data, b.len);
                gr_buf_free(&b);
                return ret;
        }
        case GR_ROUTE_HEALTHZ:
                return reply_text(&k, MHD_HTTP_OK, "ok\n");
        case GR_ROUTE_READYZ:
                return atomic_load(&m->ready)
                           ? reply_text(&k, MHD_HTTP_OK, "ready\n")
                           : reply_text(&k, MHD_HTTP_SERVICE_UNAVAILABLE,
                                        "restoring state\n");
        case GR_ROUTE_JOB:
                return serve_job(&k, method, url, &rt);
        case GR_ROUTE_BAD:
                return job_error(&k, MHD_HTTP_BAD_REQUEST, rt.json, NULL,
                                 rt.why, NULL);
        case GR_ROUTE_INDEX:
                return reply(&k, MHD_HTTP_OK, "text/html; charset=utf-8",
                             index_page, sizeof(index_page) - 1);
        case GR_ROUTE_NOT_FOUND:
        default:
                return reply_text(&k, MHD_HTTP_NOT_FOUND, "not found\n");
        }
}

/* Every request that got as far as its request line: counted, and given
 * a context that records what the handler answered. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
        gr_metrics *m = cls;
        (void)uri;
        (void)c;
        add(&m->http_started, 1);
        return calloc(1, sizeof(req_ctx));
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe) {
        gr_metrics *m = cls;
        req_ctx *ctx = *req_cls;
        (void)c;

        if (ctx && !ctx->status)
                add(&m->http_unanswered[(unsigned)toe < NTERM ? toe : 0], 1);
        if (!ctx) /* calloc failed in uri_log: still account for it */
                add(&m->http_unanswered[(unsigned)toe < NTERM ? toe : 0], 1);
        free(ctx);
        *req_cls = NULL;
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                        enum MHD_ConnectionNotificationCode toe) {
        gr_metrics *m = cls;
        (void)c;
        (void)socket_ctx;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                add(&m->http_conns_total, 1);
                atomic_fetch_add(&m->http_conns_open, 1);
        } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
                atomic_fetch_sub(&m->http_conns_open, 1);
        }
}

/* The path stays as sent: gr_http_route() decodes it, and a signature
 * covers the bytes on the request line. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
        (void)cls;
        (void)c;
        return strlen(s);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" into ss. */
static int parse_listen(const char *addr, struct sockaddr_storage *ss,
                        socklen_t *sslen, char *errstr, size_t errstr_size) {
        char host[256];
        const char *colon, *port;
        struct addrinfo hints, *res = NULL;
        int e;

        if (!addr || !*addr)
                goto bad;
        if (addr[0] == '[') {
                const char *close = strchr(addr, ']');
                if (!close || close[1] != ':' ||
                    (size_t)(close - addr - 1) >= sizeof(host))
                        goto bad;
                memcpy(host, addr + 1, (size_t)(close - addr - 1));
                host[close - addr - 1] = '\0';
                port = close + 2;
        } else {
                if (!(colon = strrchr(addr, ':')) ||
                    (size_t)(colon - addr) >= sizeof(host))
                        goto bad;
                memcpy(host, addr, (size_t)(colon - addr));
                host[colon - addr] = '\0';
                port = colon + 1;
                if (strchr(host, ':'))
                        goto bad; /* bare IPv6 needs brackets */
        }
        if (!*port || strspn(port, "0123456789") != strlen(port) ||
            strlen(port) > 5 || atoi(port) > 65535)
                goto bad;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        if ((e = getaddrinfo(*host ? host : NULL, port, &hints, &res))) {
                snprintf(errstr, errstr_size, "metrics listen address %s: %s",
                         addr, gai_strerror(e));
                return -1;
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *sslen = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
bad:
        snprintf(errstr, errstr_size,
                 "metrics listen address '%s': expected HOST:PORT, "
                 "[IPv6]:PORT or :PORT",
                 addr ? addr : "");
        return -1;
}

static int is_loopback(const struct sockaddr_storage *ss) {
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
                return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
        }
        if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *a =
                    (const struct sockaddr_in6 *)ss;
                if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
                        return 1;
                return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
                       a->sin6_addr.s6_addr[12] == 127;
        }
        return 0;
}

void gr_metrics_opts_default(gr_metrics_opts *o) {
        memset(o, 0, sizeof(*o));
        o->auth_window_s = 300;
        o->nonces_max = 100000;
        o->max_connections = 64;
        o->per_ip_connections = 16;
        o->timeout_s = 10;
        o->request_max_bytes = 16384;
}

gr_metrics *gr_metrics_new(const char *listen_addr, char *errstr,
                           size_t errstr_size) {
        gr_metrics_opts o;

        gr_metrics_opts_default(&o);
        o.listen = listen_addr;
        return gr_metrics_new_opts(&o, errstr, errstr_size);
}

gr_metrics *gr_metrics_new_opts(const gr_metrics_opts *o, char *errstr,
                                size_t errstr_size) {
        gr_metrics *m = NULL;
        struct sockaddr_storage ss;
        socklen_t sslen;
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
        struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL},
                                        {MHD_OPTION_END, 0, NULL},
                                        {MHD_OPTION_END, 0, NULL}};
        int locks = 0;

        if (parse_listen(o->listen, &ss, &sslen, errstr, errstr_size) == -1)
                return NULL;
        if (o->jobs_unsigned && !is_loopback(&ss)) {
                snprintf(errstr, errstr_size,
                         "metrics.jobs.unsigned=true needs a loopback "
                         "metrics.listen (127.0.0.1 or [::1]), not %s",
                         o->listen);
                return NULL;
        }
        if (!o->tls_cert_pem != !o->tls_key_pem) {
                snprintf(errstr, errstr_size,
                         "metrics.tls.cert and metrics.tls.key go together");
                return NULL;
        }
        if (o->tls_cert_pem &&
            MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
                snprintf(errstr, errstr_size,
                         "metrics.tls.cert: this libmicrohttpd was built "
                         "without TLS support");
                return NULL;
        }
        if (o->auth_window_s < 1 || o->auth_window_s > 86400 ||
            o->nonces_max < 1 || o->max_connections < 1 ||
            o->timeout_s < 1 || o->request_max_bytes < 1024) {
                snprintf(errstr, errstr_size,
                         "metrics server limits out of range");
                return NULL;
        }
        if (o->token && !*o->token) {
                snprintf(errstr, errstr_size, "metrics token is empty");
                return NULL;
        }
        if (!(m = calloc(1, sizeof(*m))) ||
            !(m->parts = calloc(GR_METRICS_PARTITIONS_MAX, sizeof(*m->parts))) ||
            (o->token && !(m->token = strdup(o->token))) ||
            (!o->jobs_unsigned &&
             !(m->nonces = gr_nonce_cache_new(o->nonces_max)))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        m->keyring = o->keyring;
        m->jobs_unsigned = o->jobs_unsigned;
        m->auth_window_s = o->auth_window_s;
        if (pthread_mutex_init(&m->lock, NULL)) {
                snprintf(errstr, errstr_size, "pthread_mutex_init failed");
                goto err;
        }
        if (pthread_cond_init(&m->cond, NULL)) {
                pthread_mutex_destroy(&m->lock);
                snprintf(errstr, errstr_size, "pthread_cond_init failed");
                goto err;
        }
        locks = 1;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (o->tls_cert_pem) {
                flags |= MHD_USE_TLS;
                tls[0].option = MHD_OPTION_HTTPS_MEM_KEY;
                tls[0].ptr_value = (void *)o->tls_key_pem;
                tls[1].option = MHD_OPTION_HTTPS_MEM_CERT;
                tls[1].ptr_value = (void *)o->tls_cert_pem;
        }
        m->d = MHD_start_daemon(
            flags, 0, NULL, NULL, handler, m, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
            o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            o->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->request_max_bytes,
            MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_URI_LOG_CALLBACK,
            uri_log, m, MHD_OPTION_NOTIFY_COMPLETED, completed, m,
            MHD_OPTION_NOTIFY_CONNECTION, conn_notify, m,
            MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_ARRAY,
            tls, MHD_OPTION_END);
        if (!m->d) {
                snprintf(errstr, errstr_size,
                         "metrics server could not listen on %s (address in "
                         "use or not local?%s)",
                         o->listen,
                         o->tls_cert_pem ? " or a TLS certificate/key that "
                                           "does not load"
                                         : "");
                goto err;
        }
        info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
        m->port = info ? info->port : 0;
        (void)sslen;
        return m;
err:
        if (m) {
                if (locks) {
                        pthread_cond_destroy(&m->cond);
                        pthread_mutex_destroy(&m->lock);
                }
                gr_nonce_cache_destroy(m->nonces);
                free(m->token);
                free(m->parts);
                free(m);
        }
        return NULL;
}

int gr_metrics_port(const gr_metrics *m) {
        return m ? m->port : 0;
}

void gr_metrics_destroy(gr_metrics *m) {
        if (!m)
                return;
        /* Queued /jobs/ requests give up at once instead of waiting out
         * their timeout, so stopping the server does not hang. */
        pthread_mutex_lock(&m->lock);
        m->stopping = 1;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        MHD_stop_daemon(m->d);
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        gr_nonce_cache_destroy(m->nonces);
        if (m->token) {
                sodium_memzero(m->token, strlen(m->token));
                free(m->token);
        }
        free(m->parts);
        free(m);
}
