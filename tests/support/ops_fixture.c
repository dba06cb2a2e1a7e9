/* Replays a JSON-lines file through one engine (see ops_fixture.h). */
#include "ops_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_json_event.h"

int ops_run_file(ops_run *r, const char *path) {
        static const gr_fsm_sink nosink = {NULL, NULL, NULL, NULL};
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        FILE *fp = NULL;
        gr_json_decoder *d = NULL;
        gr_event *ev = NULL;

        gr_policy_default(&r->pol);
        if (!(r->eng = gr_engine_new(&r->pol, &nosink)) ||
            !(d = gr_json_decoder_new()) || !(ev = malloc(sizeof(*ev))) ||
            !(fp = fopen(path, "r")))
                goto err;
        while ((n = getline(&line, &cap, fp)) > 0) {
                gr_err e;
                if (n == 1 && line[0] == '\n')
                        continue;
                if (gr_json_event_decode(d, line, (size_t)n, ev, &e) == -1)
                        gr_engine_reject(r->eng, ev, &e);
                else
                        gr_engine_apply(r->eng, ev);
        }
        free(line);
        fclose(fp);
        free(ev);
        gr_json_decoder_destroy(d);
        return 0;
err:
        free(ev);
        gr_json_decoder_destroy(d);
        ops_run_free(r);
        return -1;
}

void ops_run_free(ops_run *r) {
        gr_engine_destroy(r->eng);
        r->eng = NULL;
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int ops_http_get(int port, const char *method, const char *path, char **body,
                 char *ctype, size_t size) {
        struct sockaddr_in sa;
        struct timeval tv = {20, 0};
        char req[1024], *buf = NULL, *hdr_end, *p;
        size_t len = 0, cap = 0;
        ssize_t n;
        int fd, status = -1;

        if (body)
                *body = NULL;
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                goto out;
        snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n",
                 method, path);
        if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
                goto out;
        for (;;) {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 65536;
                        buf = realloc(buf, cap);
                }
                if ((n = read(fd, buf + len, cap - len - 1)) <= 0)
                        break;
                len += (size_t)n;
        }
        if (!buf)
                goto out;
        buf[len] = '\0';
        if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 ||
            !(hdr_end = strstr(buf, "\r\n\r\n"))) {
                status = -1;
                goto out;
        }
        *hdr_end = '\0';
        if (ctype && size) {
                ctype[0] = '\0';
                for (p = strstr(buf, "\r\n"); p; p = strstr(p + 2, "\r\n"))
                        if (!strncasecmp(p + 2, "Content-Type:", 13)) {
                                const char *v = p + 15, *e;
                                while (*v == ' ')
                                        v++;
                                e = strstr(v, "\r\n");
                                size_t l = e ? (size_t)(e - v) : strlen(v);
                                if (l >= size)
                                        l = size - 1;
                                memcpy(ctype, v, l);
                                ctype[l] = '\0';
                                break;
                        }
        }
        if (body)
                *body = strdup(hdr_end + 4);
out:
        free(buf);
        close(fd);
        return status;
}
