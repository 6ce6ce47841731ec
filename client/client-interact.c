/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-client interact: the local terminal attached to a task's interactive session. The connection
 * is curl's (plain or TLS, the same options as every other request), opened with CURLOPT_CONNECT_ONLY;
 * the WebSocket handshake is written here and the frames are wslay's. */
#include "client-interact.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"

#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_HEAD      (16 << 10)
#define MAX_MESSAGE   (16 << 20)
#define HANDSHAKE_SEC 60

typedef struct Conn {
        CURL *curl;
        int sock;
        uint8_t *extra; /* bytes read past the answer's head */
        size_t n_extra;
        bool closed;
        char reason[128];
        int status;
} Conn;

static volatile sig_atomic_t winch = 1; /* the first size is sent at once */

static void on_winch(int sig)
{
        (void) sig;
        winch = 1;
}

static int wait_sock(int sock, short events, int timeout_ms)
{
        struct pollfd p = { .fd = sock, .events = events };
        int r = poll(&p, 1, timeout_ms);

        return r < 0 ? -errno : r;
}

static int send_all(Conn *c, const char *buf, size_t len)
{
        while (len > 0) {
                size_t n = 0;
                CURLcode cc = curl_easy_send(c->curl, buf, len, &n);

                if (cc == CURLE_AGAIN) {
                        if (wait_sock(c->sock, POLLOUT, HANDSHAKE_SEC * 1000) <= 0)
                                return -ETIMEDOUT;
                        continue;
                }
                if (cc != CURLE_OK)
                        return -EIO;
                buf += n;
                len -= n;
        }
        return 0;
}

static int accept_key(const char *key, char ret[64])
{
        char text[128];
        uint8_t digest[20];
        gnutls_datum_t raw = { .data = digest, .size = sizeof(digest) }, b64 = {};

        (void) snprintf(text, sizeof(text), "%s" WS_GUID, key);
        if (gnutls_hash_fast(GNUTLS_DIG_SHA1, text, strlen(text), digest) < 0 ||
            gnutls_base64_encode2(&raw, &b64) < 0)
                return -EIO;
        if (b64.size >= 64) {
                gnutls_free(b64.data);
                return -EINVAL;
        }
        memcpy(ret, b64.data, b64.size);
        ret[b64.size] = 0;
        gnutls_free(b64.data);
        return 0;
}

/* Sends the upgrade request for path and reads the answer's head; anything but 101 with the right
 * Sec-WebSocket-Accept is an error that shows the server's words. */
static int handshake(Conn *c, const char *host, const char *path)
{
        _cleanup_free_ char *req = NULL, *head = NULL;
        uint8_t rnd[16];
        char key[64], want[64];
        gnutls_datum_t raw = { .data = rnd, .size = sizeof(rnd) }, b64 = {};
        size_t len = 0;
        char *end, *line;
        int r, status;

        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd) || gnutls_base64_encode2(&raw, &b64) < 0)
                return -EIO;
        (void) snprintf(key, sizeof(key), "%.*s", (int) b64.size, (const char *) b64.data);
        gnutls_free(b64.data);
        r = accept_key(key, want);
        if (r < 0)
                return r;
        if (asprintf(&req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: "
                     "retrace-client\r\n\r\n",
                     path, host, key) < 0)
                return -ENOMEM;
        r = send_all(c, req, strlen(req));
        if (r < 0)
                return log_error_errno(r, "Cannot send the session request: %m");
        head = malloc(MAX_HEAD + 1);
        if (!head)
                return -ENOMEM;
        for (;;) {
                size_t n = 0;
                CURLcode cc = curl_easy_recv(c->curl, head + len, MAX_HEAD - len, &n);

                if (cc == CURLE_AGAIN) {
                        if (wait_sock(c->sock, POLLIN, HANDSHAKE_SEC * 1000) <= 0)
                                return log_error_errno(ETIMEDOUT,
                                                       "The server did not answer the session request");
                        continue;
                }
                if (cc != CURLE_OK || n == 0)
                        break;
                len += n;
                head[len] = 0;
                if (strstr(head, "\r\n\r\n") || len >= MAX_HEAD)
                        break;
        }
        head[len] = 0;
        end = strstr(head, "\r\n\r\n");
        if (!end)
                return log_error_errno(EPROTO, "The server's answer to the session request is incomplete");
        *end = 0;
        if (sscanf(head, "HTTP/1.1 %d", &status) != 1)
                return log_error_errno(EPROTO, "The server's answer is no HTTP");
        if (status != 101) {
                const char *body = end + 4;

                log_error("The server refused the session (%d): %s", status, string_strip((char *) body));
                return -EACCES;
        }
        r = -EPROTO;
        for (line = strtok(head, "\r\n"); line; line = strtok(NULL, "\r\n"))
                if (strncasecmp(line, "Sec-WebSocket-Accept:", 21) == 0 &&
                    streq(string_strip(line + 21), want))
                        r = 0;
        if (r < 0)
                return log_error_errno(r, "The server's Sec-WebSocket-Accept is wrong");
        c->n_extra = len - (size_t) (end + 4 - head);
        if (c->n_extra > 0) {
                c->extra = malloc(c->n_extra);
                if (!c->extra)
                        return -ENOMEM;
                memcpy(c->extra, end + 4, c->n_extra);
        }
        return 0;
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *userdata)
{
        Conn *c = userdata;
        size_t n = 0;
        CURLcode cc;

        (void) flags;
        if (c->n_extra > 0) {
                n = MIN(len, c->n_extra);
                memcpy(buf, c->extra, n);
                memmove(c->extra, c->extra + n, c->n_extra - n);
                c->n_extra -= n;
                return (ssize_t) n;
        }
        cc = curl_easy_recv(c->curl, buf, len, &n);
        if (cc == CURLE_AGAIN) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (cc != CURLE_OK || n == 0) {
                c->closed = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return (ssize_t) n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *userdata)
{
        Conn *c = userdata;
        size_t n = 0;
        CURLcode cc;

        (void) flags;
        cc = curl_easy_send(c->curl, data, len, &n);
        if (cc == CURLE_AGAIN) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (cc != CURLE_OK) {
                c->closed = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return (ssize_t) n;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *userdata)
{
        (void) ctx;
        (void) userdata;
        return getrandom(buf, len, 0) == (ssize_t) len ? 0 : -1;
}

static void ws_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                       void *userdata)
{
        Conn *c = userdata;

        (void) ctx;
        if (arg->opcode == WSLAY_BINARY_FRAME || arg->opcode == WSLAY_TEXT_FRAME) {
                size_t off = 0;

                while (off < arg->msg_length) {
                        ssize_t n = write(STDOUT_FILENO, arg->msg + off, arg->msg_length - off);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        off += (size_t) n;
                }
        } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
                c->status = arg->status_code;
                if (arg->msg_length > 2)
                        (void) snprintf(c->reason, sizeof(c->reason), "%.*s", (int) (arg->msg_length - 2),
                                        (const char *) arg->msg + 2);
                c->closed = true;
        }
}

static void send_resize(wslay_event_context_ptr ctx)
{
        struct winsize ws;
        char text[64];
        struct wslay_event_msg m = { .opcode = WSLAY_TEXT_FRAME, .msg = (const uint8_t *) text };

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0)
                return;
        (void) snprintf(text, sizeof(text), "{\"resize\": [%u, %u]}", ws.ws_col, ws.ws_row);
        m.msg_length = strlen(text);
        (void) wslay_event_queue_msg(ctx, &m);
}

/* Copies the terminal to the session and back until the server closes it or stdin ends. */
static int pump(Conn *c, wslay_event_context_ptr ctx)
{
        bool tty = isatty(STDIN_FILENO), in_open = true;
        uint8_t buf[4096];

        if (c->n_extra > 0)
                (void) wslay_event_recv(ctx);
        while (!c->closed) {
                struct pollfd p[2] = {
                        { .fd = c->sock,
                          .events = (short) (POLLIN | (wslay_event_want_write(ctx) ? POLLOUT : 0)) },
                        { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                };

                if (tty && winch) {
                        winch = 0;
                        send_resize(ctx);
                }
                if (wslay_event_want_write(ctx) && wslay_event_send(ctx) != 0)
                        break;
                if (poll(p, 2, 500) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
                        if (wslay_event_recv(ctx) != 0)
                                break;
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

                        if (n > 0) {
                                struct wslay_event_msg m = { .opcode = WSLAY_BINARY_FRAME,
                                                             .msg = buf,
                                                             .msg_length = (size_t) n };

                                if (wslay_event_queue_msg(ctx, &m) != 0)
                                        break;
                        } else if (n == 0 || errno != EINTR) {
                                /* End of input: the session ends as the server closes it. */
                                in_open = false;
                                (void) wslay_event_queue_close(ctx, 1000, NULL, 0);
                        }
                }
        }
        return 0;
}

int client_interact(CURL *curl, const char *base_url, const char *task, const char *token)
{
        _cleanup_free_ char *host = NULL, *port = NULL, *prefix = NULL, *path = NULL, *hostport = NULL;
        struct wslay_event_callbacks cb = { .recv_callback = ws_recv,
                                            .send_callback = ws_send,
                                            .genmask_callback = ws_genmask,
                                            .on_msg_recv_callback = ws_message };
        struct termios saved, raw;
        bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) >= 0;
        wslay_event_context_ptr ctx = NULL;
        Conn c = { .curl = curl, .sock = -1 };
        curl_socket_t sock;
        CURLU *u;
        int r;

        u = curl_url();
        if (u && curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK) {
                char *v = NULL;

                if (curl_url_get(u, CURLUPART_HOST, &v, 0) == CURLUE_OK) {
                        host = strdup(v);
                        curl_free(v);
                }
                if (curl_url_get(u, CURLUPART_PATH, &v, 0) == CURLUE_OK) {
                        prefix = strdup(v);
                        curl_free(v);
                }
                if (curl_url_get(u, CURLUPART_PORT, &v, 0) == CURLUE_OK) {
                        port = strdup(v);
                        curl_free(v);
                }
        }
        curl_url_cleanup(u);
        if (!host || !prefix)
                return log_error_errno(EINVAL, "Cannot read the server URL %s", base_url);
        if (asprintf(&path, "%s%s%s/interact?token=%s", prefix, string_endswith(prefix, "/") ? "" : "/",
                     task, token) < 0 ||
            asprintf(&hostport, "%s%s%s", host, port ? ":" : "", strempty(port)) < 0)
                return -ENOMEM;

        curl_easy_setopt(curl, CURLOPT_URL, base_url);
        curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
        if (curl_easy_perform(curl) != CURLE_OK)
                return log_error_errno(EIO, "Cannot connect to %s", base_url);
        if (curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD)
                return log_error_errno(EIO, "Cannot connect to %s", base_url);
        c.sock = (int) sock;
        r = handshake(&c, hostport, path);
        if (r < 0) {
                free(c.extra);
                return r;
        }
        if (wslay_event_context_client_init(&ctx, &cb, &c) != 0) {
                free(c.extra);
                return -ENOMEM;
        }
        wslay_event_config_set_max_recv_msg_length(ctx, MAX_MESSAGE);
        if (tty) {
                struct sigaction sa = { .sa_handler = on_winch };

                (void) sigaction(SIGWINCH, &sa, NULL);
                raw = saved;
                cfmakeraw(&raw);
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
        r = pump(&c, ctx);
        if (tty)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        wslay_event_context_free(ctx);
        free(c.extra);
        fprintf(stderr, "\r\nretrace-client: the session ended%s%s\n", c.reason[0] ? ": " : "", c.reason);
        return r;
}
