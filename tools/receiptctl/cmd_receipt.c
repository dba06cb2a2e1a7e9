/* receiptctl receipt JOB_ID: read the job's latest state from the state
 * topic (its partition by the murmur2 hash of the job_id, or --all) and
 * print its receipt as pretty JSON.
 *
 * With --server URL --key FILE it asks a receiptd instead, over HTTP(S):
 * GET URL/jobs/ID.json (or the HTML page with --html), signed with the key
 * as docs/OPERATIONS.md describes (gr_http_auth.h).  --print-auth prints
 * only the Authorization header, for curl. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef GR_HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include "cli.h"
#include "commands.h"
#include "gr_html.h"
#include "gr_http_auth.h"
#include "gr_lookup.h"
#include "gr_topics.h"
#include "keyfile.h"

/* Largest response read. */
#define RESP_MAX (64u << 20)

typedef struct url_parts {
        int tls;
        char host[256];
        char port[8];
        char prefix[512]; /* path before /jobs/, without a trailing '/' */
} url_parts;

static int url_parse(const char *url, url_parts *u) {
        const char *p, *hs, *he, *slash;
        size_t n;

        memset(u, 0, sizeof(*u));
        if (!strncmp(url, "http://", 7)) {
                p = url + 7;
                strcpy(u->port, "80");
        } else if (!strncmp(url, "https://", 8)) {
                p = url + 8;
                u->tls = 1;
                strcpy(u->port, "443");
        } else {
                return -1;
        }
        slash = strchr(p, '/');
        if (!slash)
                slash = p + strlen(p);
        if (*p == '[') {
                if (!(he = memchr(p, ']', (size_t)(slash - p))))
                        return -1;
                hs = p + 1;
                p = he + 1;
        } else {
                hs = p;
                he = memchr(p, ':', (size_t)(slash - p));
                if (!he)
                        he = slash;
                p = he;
        }
        n = (size_t)(he - hs);
        if (n == 0 || n >= sizeof(u->host))
                return -1;
        memcpy(u->host, hs, n);
        if (*p == ':') {
                n = (size_t)(slash - p - 1);
                if (n == 0 || n >= sizeof(u->port) ||
                    strspn(p + 1, "0123456789") < n)
                        return -1;
                memcpy(u->port, p + 1, n);
                u->port[n] = '\0';
        } else if (p != slash) {
                return -1;
        }
        n = strlen(slash);
        while (n && slash[n - 1] == '/')
                n--;
        if (n >= sizeof(u->prefix) || memchr(slash, '?', n) ||
            memchr(slash, '#', n))
                return -1;
        memcpy(u->prefix, slash, n);
        return 0;
}

/* Every byte but A-Z a-z 0-9 - _ ~ percent-encoded ('.' too, so an id
 * ending in ".json" is not taken for the JSON suffix). */
static void path_escape(gr_buf *b, const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~')
                        gr_buf_putc(b, (char)c);
                else
                        gr_buf_printf(b, "%%%02X", c);
        }
}

static int dial(const url_parts *u, int timeout_ms, char *err, size_t esz) {
        struct addrinfo hints, *res = NULL, *a;
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        int fd = -1, e;

        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        if ((e = getaddrinfo(u->host, u->port, &hints, &res))) {
                snprintf(err, esz, "%s: %s", u->host, gai_strerror(e));
                return -1;
        }
        for (a = res; a; a = a->ai_next) {
                if ((fd = socket(a->ai_family, a->ai_socktype,
                                 a->ai_protocol)) == -1)
                        continue;
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                        break;
                close(fd);
                fd = -1;
        }
        if (fd == -1)
                snprintf(err, esz, "cannot connect to %s port %s: %s",
                         u->host, u->port, strerror(errno));
        freeaddrinfo(res);
        return fd;
}

/* Send req, read the whole response into resp.  0 or -1 (err filled). */
static int exchange(const url_parts *u, const char *cacert, int timeout_ms,
                    const gr_buf *req, gr_buf *resp, char *err, size_t esz) {
        char chunk[16384];
        int fd = dial(u, timeout_ms, err, esz), rc = -1;

        if (fd == -1)
                return -1;
        if (!u->tls) {
                size_t off = 0;
                ssize_t n;
                (void)cacert;
                while (off < req->len) {
                        if ((n = send(fd, req->data + off, req->len - off,
                                      MSG_NOSIGNAL)) <= 0) {
                                snprintf(err, esz, "send: %s",
                                         strerror(errno));
                                goto out;
                        }
                        off += (size_t)n;
                }
                while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
                        gr_buf_append(resp, chunk, (size_t)n);
                        if (resp->len > RESP_MAX)
                                break;
                }
                if (n < 0) {
                        snprintf(err, esz, "recv: %s", strerror(errno));
                        goto out;
                }
                rc = 0;
                goto out;
        }
#ifdef GR_HAVE_GNUTLS
        {
                gnutls_certificate_credentials_t cred = NULL;
                gnutls_session_t s = NULL;
                ssize_t n;
                size_t off = 0;
                int e;

                int ncerts = 0;

                if ((e = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
                    (e = ncerts = cacert
                                      ? gnutls_certificate_set_x509_trust_file(
                                            cred, cacert, GNUTLS_X509_FMT_PEM)
                                      : gnutls_certificate_set_x509_system_trust(
                                            cred)) < 0 ||
                    (e = gnutls_init(&s, GNUTLS_CLIENT)) < 0 ||
                    (e = gnutls_server_name_set(s, GNUTLS_NAME_DNS, u->host,
                                                strlen(u->host))) < 0 ||
                    (e = gnutls_set_default_priority(s)) < 0 ||
                    (e = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
                                                cred)) < 0) {
                        snprintf(err, esz, "TLS setup: %s",
                                 gnutls_strerror(e));
                        goto tls_out;
                }
                if (cacert && ncerts == 0) {
                        snprintf(err, esz, "%s: no certificate in it",
                                 cacert);
                        goto tls_out;
                }
                gnutls_session_set_verify_cert(s, u->host, 0);
                gnutls_transport_set_int(s, fd);
                gnutls_handshake_set_timeout(s, (unsigned)timeout_ms);
                do
                        e = gnutls_handshake(s);
                while (e < 0 && !gnutls_error_is_fatal(e));
                if (e < 0) {
                        snprintf(err, esz, "TLS handshake with %s: %s",
                                 u->host, gnutls_strerror(e));
                        goto tls_out;
                }
                while (off < req->len) {
                        n = gnutls_record_send(s, req->data + off,
                                               req->len - off);
                        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                                continue;
                        if (n <= 0) {
                                snprintf(err, esz, "TLS send: %s",
                                         gnutls_strerror((int)n));
                                goto tls_out;
                        }
                        off += (size_t)n;
                }
                for (;;) {
                        n = gnutls_record_recv(s, chunk, sizeof(chunk));
                        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                                continue;
                        if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
                                break; /* closed (with or without notify) */
                        if (n < 0) {
                                snprintf(err, esz, "TLS recv: %s",
                                         gnutls_strerror((int)n));
                                goto tls_out;
                        }
                        gr_buf_append(resp, chunk, (size_t)n);
                        if (resp->len > RESP_MAX)
                                break;
                }
                rc = 0;
        tls_out:
                if (s) {
                        if (rc == 0)
                                gnutls_bye(s, GNUTLS_SHUT_WR);
                        gnutls_deinit(s);
                }
                if (cred)
                        gnutls_certificate_free_credentials(cred);
        }
#else
        snprintf(err, esz, "this receiptctl was built without TLS; use "
                           "--print-auth with curl (docs/OPERATIONS.md)");
#endif
out:
        close(fd);
        return rc;
}

static gr_keypair *key_load(const char *path) {
        char errstr[256], *text;
        gr_keypair *kp;
        size_t len = 0;
        int rc;

        if (cli_crypto_init("receipt") == -1 ||
            !(text = cli_secret_read("receipt", path, &len)))
                return NULL;
        if (!(kp = calloc(1, sizeof(*kp)))) {
                fprintf(stderr, "receipt: out of memory\n");
                memset(text, 0, len);
                free(text);
                return NULL;
        }
        rc = gr_keypair_from_json(kp, text, len, errstr, sizeof(errstr));
        memset(text, 0, len);
        free(text);
        if (rc == -1) {
                fprintf(stderr, "receipt: %s: %s\n", path, errstr);
                free(kp);
                return NULL;
        }
        return kp;
}

static int receipt_http(const char *job_id, const char *server,
                        const char *keyfile, const char *cacert, int html,
                        int print_auth, int timeout_ms) {
        url_parts u;
        gr_keypair *kp;
        gr_buf path, auth, req, resp;
        char err[512];
        const char *body;
        int rc = 2, status = 0;

        if (url_parse(server, &u) == -1) {
                fprintf(stderr, "receipt: --server %s: expected "
                                "http://HOST[:PORT][/PREFIX] or https://...\n",
                        server);
                return 2;
        }
        if (!keyfile) {
                fprintf(stderr, "receipt: --server needs --key FILE (a "
                                "registered key's secret file)\n");
                return 2;
        }
        if (!(kp = key_load(keyfile)))
                return 2;
        gr_buf_init(&path);
        gr_buf_init(&auth);
        gr_buf_init(&req);
        gr_buf_init(&resp);
        gr_buf_puts(&path, u.prefix);
        gr_buf_puts(&path, "/jobs/");
        path_escape(&path, job_id);
        if (!html)
                gr_buf_puts(&path, ".json");
        if (path.oom || gr_http_sign_request(kp, "GET", path.data,
                                             (int64_t)time(NULL), NULL,
                                             &auth) == -1) {
                fprintf(stderr, "receipt: cannot sign with key %s (its "
                                "key_id must be printable ASCII without "
                                "space , = \" \\)\n",
                        kp->key_id);
                goto out;
        }
        if (print_auth) {
                printf("Authorization: %s\n", auth.data);
                fprintf(stderr, "signed for GET %s%s://%s:%s%s (valid once, "
                                "for the server's window)\n",
                        "", u.tls ? "https" : "http", u.host, u.port,
                        path.data);
                rc = 0;
                goto out;
        }
        gr_buf_printf(&req,
                      "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
                      "Authorization: %s\r\nAccept: %s\r\n"
                      "User-Agent: receiptctl\r\nConnection: close\r\n\r\n",
                      path.data, strchr(u.host, ':') ? "[" : "", u.host,
                      strchr(u.host, ':') ? "]" : "", u.port, auth.data,
                      html ? "text/html" : "application/json");
        if (req.oom) {
                fprintf(stderr, "receipt: out of memory\n");
                goto out;
        }
        if (exchange(&u, cacert, timeout_ms, &req, &resp, err,
                     sizeof(err)) == -1) {
                fprintf(stderr, "receipt: %s\n", err);
                rc = 1;
                goto out;
        }
        gr_buf_putc(&resp, '\0');
        if (resp.oom || sscanf(resp.data, "HTTP/1.%*c %d", &status) != 1 ||
            !(body = strstr(resp.data, "\r\n\r\n"))) {
                fprintf(stderr, "receipt: no HTTP response from %s\n",
                        server);
                rc = 1;
                goto out;
        }
        body += 4;
        if (status != 200) {
                fprintf(stderr, "receipt: HTTP %d: %.300s%s", status, body,
                        *body && body[strlen(body) - 1] == '\n' ? "" : "\n");
                rc = 1;
                goto out;
        }
        rc = fwrite(body, 1, resp.len - 1 - (size_t)(body - resp.data),
                    stdout) == resp.len - 1 - (size_t)(body - resp.data)
                 ? 0
                 : 1;
out:
        gr_keypair_wipe(kp);
        free(kp);
        gr_buf_free(&path);
        gr_buf_free(&auth);
        gr_buf_free(&req);
        gr_buf_free(&resp);
        return rc;
}

int cmd_receipt(int argc, char **argv) {
        const char *bootstrap = getenv("GR_BOOTSTRAP"), *prefix = NULL;
        const char *server = NULL, *keyfile = NULL, *cacert = NULL;
        char *kv[64], errstr[512];
        int nkv = 0, c, rc = 1, all = 0, html = 0, timeout_ms = 30000;
        int print_auth = 0;
        static const struct option opts[] = {
            {"server", required_argument, NULL, 's'},
            {"key", required_argument, NULL, 'k'},
            {"cacert", required_argument, NULL, 'C'},
            {"print-auth", no_argument, NULL, 'p'},
            {"bootstrap", required_argument, NULL, 'b'},
            {"prefix", required_argument, NULL, 'P'},
            {"all", no_argument, NULL, 'a'},
            {"html", no_argument, NULL, 'H'},
            {"timeout-ms", required_argument, NULL, 'T'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        gr_topics topics;
        const char *job_id;
        rd_kafka_t *rk;
        gr_job *job;
        int32_t nparts, part;

        cli_parser cp = {.cmd = "receipt",
                         .shortopts = "s:k:C:pb:P:aHT:X:h",
                         .longopts = opts};

        while ((c = cli_getopt(&cp, argc, argv)) != -1) {
                switch (c) {
                case 's':
                        server = optarg;
                        break;
                case 'k':
                        keyfile = optarg;
                        break;
                case 'C':
                        cacert = optarg;
                        break;
                case 'p':
                        print_auth = 1;
                        break;
                case 'b':
                        bootstrap = optarg;
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                case 'a':
                        all = 1;
                        break;
                case 'H':
                        html = 1;
                        break;
                case 'T':
                        timeout_ms = atoi(optarg);
                        break;
                case 'X':
                        if (nkv == 64) {
                                fprintf(stderr, "receipt: too many -X\n");
                                return 2;
                        }
                        kv[nkv++] = optarg;
                        break;
                default:
                        return cli_exit(c);
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("receipt", "need exactly one JOB_ID");
        if (server || keyfile || print_auth || cacert) {
                if (!server || timeout_ms <= 0)
                        return cli_usage_error("receipt",
                                               "--key, --cacert and "
                                               "--print-auth need --server "
                                               "URL (and a positive "
                                               "--timeout-ms)");
                return receipt_http(argv[optind], server, keyfile, cacert,
                                    html, print_auth, timeout_ms);
        }
        if (!bootstrap || timeout_ms <= 0)
                return cli_usage_error("receipt", "need --bootstrap (or "
                                                  "GR_BOOTSTRAP) and a "
                                                  "positive --timeout-ms");
        job_id = argv[optind];
        if (gr_topics_init(&topics, prefix) == -1) {
                fprintf(stderr, "receipt: prefix too long\n");
                return 2;
        }
        if (!(rk = gr_scan_consumer_new(bootstrap, kv, nkv, errstr,
                                        sizeof(errstr)))) {
                fprintf(stderr, "receipt: %s\n", errstr);
                return 2;
        }
        nparts = gr_topic_partitions(rk, topics.name[GR_TOPIC_STATE],
                                     timeout_ms, errstr, sizeof(errstr));
        if (nparts < 0) {
                fprintf(stderr, "receipt: %s\n", errstr);
                goto out;
        }
        part = all ? -1 : gr_partition_of(job_id, strlen(job_id), nparts);
        job = gr_state_lookup(rk, topics.name[GR_TOPIC_STATE], part, nparts,
                              job_id, timeout_ms, errstr, sizeof(errstr));
        if (!job) {
                fprintf(stderr, "receipt: %s\n", errstr);
                goto out;
        }
        if (html) {
                gr_buf b;
                gr_buf_init(&b);
                gr_receipt_to_html(job, &b);
                rc = !b.oom && fwrite(b.data, 1, b.len, stdout) == b.len ? 0 : 1;
                gr_buf_free(&b);
        } else {
                rc = gr_receipt_print(job, stdout) == 0 ? 0 : 1;
        }
        gr_job_destroy(job);
out:
        rd_kafka_destroy(rk);
        return rc;
}
