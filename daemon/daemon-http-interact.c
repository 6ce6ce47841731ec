/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Interactive sessions over a WebSocket (PROTOCOL.md, "Our additions"): POST /<id>/interact hands the
 * task's owner a one-time token; GET /<id>/interact?token=… upgrades to a WebSocket (RFC 6455, framing
 * by wslay) that carries the pseudo-terminal of the task's debugger, started again in retrace-sandbox
 * with the batch run's isolation plus --tty and --no-exec. One session per task, an idle and a total
 * time limit, and a transcript (results/interact-log) the owner downloads from /<id>/interact/log. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "common-file.h"
#include "common-json.h"
#include "common-log.h"
#include "common-parse.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-crashdata.h"
#include "daemon-http-parse.h"
#include "daemon-http-private.h"
#include "daemon-interact.h"
#include "daemon-taskdir.h"

#define TOKEN_LIFETIME_USEC (60 * 1000000LL)
#define MAX_TOKENS          256        /* tokens handed out and not used yet, all tasks together */
#define MAX_TASK_TOKENS     4          /* the same for one task */
#define MAX_SESSIONS        64         /* sessions at once, all tasks together */
#define MAX_FRAME_MESSAGE   (64 << 10) /* a message from the client: keystrokes or a resize */
#define WS_GUID             "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

extern char **environ;

typedef struct InteractToken {
        char token[65];
        uint64_t id;
        int64_t expires_usec; /* monotonic */
} InteractToken;

struct InteractState {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        InteractToken tokens[MAX_TOKENS];
        size_t n_tokens;
        uint64_t active[MAX_SESSIONS]; /* task ids with a session (or one being opened) */
        size_t n_active;
        bool stopping;
};

int interact_state_new(InteractState **ret)
{
        InteractState *st = calloc(1, sizeof(*st));

        if (!st)
                return -ENOMEM;
        pthread_mutex_init(&st->lock, NULL);
        pthread_cond_init(&st->cond, NULL);
        *ret = st;
        return 0;
}

InteractState *interact_state_free(InteractState *st)
{
        if (!st)
                return NULL;
        pthread_mutex_lock(&st->lock);
        st->stopping = true;
        /* The sessions see stopping within their poll interval and end; bounded anyway. */
        for (int i = 0; st->n_active > 0 && i < 100; i++) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 100 * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                (void) pthread_cond_timedwait(&st->cond, &st->lock, &ts);
        }
        pthread_mutex_unlock(&st->lock);
        /* A session still running now owns st: leave it (the daemon exits). */
        if (st->n_active > 0)
                return NULL;
        pthread_mutex_destroy(&st->lock);
        pthread_cond_destroy(&st->cond);
        free(st);
        return NULL;
}

static bool active_locked(InteractState *st, uint64_t id)
{
        for (size_t i = 0; i < st->n_active; i++)
                if (st->active[i] == id)
                        return true;
        return false;
}

static void active_remove(InteractState *st, uint64_t id)
{
        pthread_mutex_lock(&st->lock);
        for (size_t i = 0; i < st->n_active; i++)
                if (st->active[i] == id) {
                        st->active[i] = st->active[--st->n_active];
                        break;
                }
        pthread_cond_broadcast(&st->cond);
        pthread_mutex_unlock(&st->lock);
}

static void tokens_prune_locked(InteractState *st, int64_t now)
{
        for (size_t i = 0; i < st->n_tokens;)
                if (st->tokens[i].expires_usec <= now)
                        st->tokens[i] = st->tokens[--st->n_tokens];
                else
                        i++;
}

/* The task's interactive environment, or a refusal already answered (*ret_answer). */
static int load_spec(HttpServer *s, uint64_t id, InteractiveSpec **ret, const char **ret_why)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int dfd = -EBADF;
        size_t len;
        int r;

        r = task_dir_open_part(s->save_dirfd, id, TASK_PART_RESULTS, false, &dfd);
        if (r >= 0)
                r = file_read_at(dfd, INTERACTIVE_SPEC_NAME, 4 << 20, &buf, &len);
        if (r == -ENOENT) {
                *ret_why = "it kept no environment: interactive sessions need a successful task of type 3 "
                           "or 4 (or InteractiveAnyTask = yes) finished while AllowInteractive = yes";
                return r;
        }
        if (r >= 0)
                r = interactive_spec_from_json(buf, len, ret);
        if (r < 0)
                *ret_why = "its environment record cannot be read";
        return r;
}

/* Checks everything but the password: enabled, the task finished well with an environment that has
 * not expired. Answers the refusal itself (returns false). */
static bool task_allows_session(HttpServer *s, struct MHD_Connection *c, uint64_t id,
                                InteractiveSpec **ret_spec, enum MHD_Result *ret)
{
        const RetraceConfig *cfg = s->config;
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(interactive_spec_freep) InteractiveSpec *spec = NULL;
        const char *why = NULL;
        int r;

        if (!cfg->allow_interactive) {
                *ret = respond(c, MHD_HTTP_FORBIDDEN,
                               "Interactive sessions are not enabled on this server (AllowInteractive)\n");
                return false;
        }
        r = task_store_get(s->store, id, &t);
        if (r == -ENOTCONN) { /* the shared store went away after the check in route() */
                *ret = respond_store_unavailable(c);
                return false;
        }
        if (r < 0) {
                *ret = r == -ENOENT ? respond(c, MHD_HTTP_NOT_FOUND, "There is no task %" PRIu64 "\n", id)
                                    : respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                              "Cannot read task %" PRIu64 "\n", id);
                return false;
        }
        if (t->status != TASK_STATUS_FINISHED_SUCCESS) {
                *ret = respond(c, MHD_HTTP_CONFLICT,
                               "Task %" PRIu64 " has not finished successfully: interactive sessions start "
                               "on a finished task's environment\n",
                               id);
                return false;
        }
        if (!task_type_is_interactive(t->type) && !cfg->interactive_any_task) {
                *ret = respond(c, MHD_HTTP_CONFLICT,
                               "Task %" PRIu64
                               " is not interactive: upload with X-Task-Type 3 (coredump) or "
                               "4 (vmcore), or enable InteractiveAnyTask\n",
                               id);
                return false;
        }
        if (load_spec(s, id, &spec, &why) < 0) {
                *ret = respond(c, MHD_HTTP_CONFLICT, "Task %" PRIu64 " allows no interactive session: %s\n",
                               id, why);
                return false;
        }
        if (cfg->interactive_expiry > 0 &&
            spec->finished + (int64_t) cfg->interactive_expiry < now_realtime_usec() / 1000000) {
                *ret = respond(c, MHD_HTTP_GONE,
                               "Task %" PRIu64 " no longer allows interactive sessions: they end "
                               "InteractiveExpiry (%" PRIu64 " s) after the task finished\n",
                               id, cfg->interactive_expiry);
                return false;
        }
        if (ret_spec)
                *ret_spec = TAKE_PTR(spec);
        return true;
}

/* POST /<id>/interact (owner): a one-time token for the WebSocket, valid TOKEN_LIFETIME_USEC. */
static enum MHD_Result interact_token(HttpServer *s, struct MHD_Connection *c, uint64_t id)
{
        InteractState *st = s->interact;
        uint8_t rnd[32];
        char token[65], *body = NULL;
        int64_t now = now_monotonic_usec();
        enum MHD_Result ret;
        bool busy, full;

        if (!check_task_password(s, c, id, &ret))
                return ret;
        if (!task_allows_session(s, c, id, NULL, &ret))
                return ret;
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot make a token\n");
        for (size_t i = 0; i < sizeof(rnd); i++)
                (void) snprintf(token + 2 * i, 3, "%02x", rnd[i]);
        pthread_mutex_lock(&st->lock);
        tokens_prune_locked(st, now);
        busy = active_locked(st, id);
        full = st->n_tokens >= MAX_TOKENS;
        {
                size_t mine = 0;

                for (size_t i = 0; i < st->n_tokens; i++)
                        mine += st->tokens[i].id == id;
                full = full || mine >= MAX_TASK_TOKENS;
        }
        if (!busy && !full) {
                InteractToken *t = &st->tokens[st->n_tokens++];

                memcpy(t->token, token, sizeof(token));
                t->id = id;
                t->expires_usec = now + TOKEN_LIFETIME_USEC;
        }
        pthread_mutex_unlock(&st->lock);
        if (busy)
                return respond(c, MHD_HTTP_CONFLICT,
                               "Task %" PRIu64 " has an interactive session open already: one at a time\n",
                               id);
        if (full)
                return respond_too_many(c, 60,
                                        "Too many interactive session tokens waiting; try again later\n");
        if (asprintf(&body, "{\"token\": \"%s\", \"expires\": %" PRIi64 "}\n", token,
                     (int64_t) (now_realtime_usec() / 1000000 + TOKEN_LIFETIME_USEC / 1000000)) < 0)
                return MHD_NO;
        return respond_buffer(c, MHD_HTTP_CREATED, body, strlen(body), "application/json", NULL);
}

/* Takes the token (one use): true when it is id's and still valid; the task is then marked busy. */
static int token_take(InteractState *st, uint64_t id, const char *token)
{
        int64_t now = now_monotonic_usec();
        int r = -EACCES;

        pthread_mutex_lock(&st->lock);
        tokens_prune_locked(st, now);
        for (size_t i = 0; i < st->n_tokens; i++) {
                InteractToken *t = &st->tokens[i];
                unsigned diff = 0;

                for (size_t k = 0; k < 64; k++)
                        diff |= (unsigned) (t->token[k] ^ token[k]);
                if (diff != 0 || t->id != id)
                        continue;
                st->tokens[i] = st->tokens[--st->n_tokens];
                if (st->stopping)
                        r = -ESHUTDOWN;
                else if (active_locked(st, id))
                        r = -EBUSY;
                else if (st->n_active >= MAX_SESSIONS)
                        r = -EAGAIN;
                else {
                        st->active[st->n_active++] = id;
                        r = 0;
                }
                break;
        }
        pthread_mutex_unlock(&st->lock);
        return r;
}

/* Browsers send Origin: it must be this server (scheme and Host of the request) or one of
 * InteractiveOrigins. Clients that are no browser send none. */
static bool origin_allowed(HttpServer *s, struct MHD_Connection *c)
{
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        _cleanup_strv_free_ char **allowed = NULL;
        _cleanup_free_ char *self = NULL;

        if (!origin)
                return true;
        if (host && asprintf(&self, "%s://%s", request_is_https(s, c) ? "https" : "http", host) >= 0 &&
            strcasecmp(origin, self) == 0)
                return true;
        if (strv_split(s->config->interactive_origins, " \t,", &allowed) < 0)
                return false;
        STRV_FOREACH (a, allowed)
                if (strcasecmp(*a, origin) == 0)
                        return true;
        return false;
}

/* Whether a comma-separated header value lists word (case-insensitive). */
static bool header_lists(const char *value, const char *word)
{
        _cleanup_strv_free_ char **parts = NULL;

        if (!value || strv_split(value, ", \t", &parts) < 0)
                return false;
        STRV_FOREACH (p, parts)
                if (strcasecmp(*p, word) == 0)
                        return true;
        return false;
}

/* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). */
static int websocket_accept(const char *key, char ret[64])
{
        _cleanup_free_ char *text = NULL;
        gnutls_datum_t raw, b64 = {};
        uint8_t digest[20];

        if (asprintf(&text, "%s" WS_GUID, key) < 0)
                return -ENOMEM;
        if (gnutls_hash_fast(GNUTLS_DIG_SHA1, text, strlen(text), digest) < 0)
                return -EIO;
        raw = (gnutls_datum_t){ .data = digest, .size = sizeof(digest) };
        if (gnutls_base64_encode2(&raw, &b64) < 0)
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

/* A Sec-WebSocket-Key is base64 of 16 bytes: 22 characters and "==". */
static bool websocket_key_valid(const char *key)
{
        return key && strlen(key) == 24 && streq(key + 22, "==") &&
               strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 22;
}

/* ---------------------------------------------------------------- the session */

typedef struct Session {
        HttpServer *s;
        uint64_t id;
        char address[64];
        int sock;
        struct MHD_UpgradeResponseHandle *urh;
        uint8_t *extra; /* bytes libmicrohttpd read beyond the request head */
        size_t n_extra;

        int master; /* the pseudo-terminal */
        pid_t pid;  /* retrace-sandbox */
        int log_fd; /* results/interact-log (O_APPEND) */
        uint64_t log_size;
        bool log_full;
        int64_t last_input_usec;
        const char *end_reason;
        char end_buf[256];
        bool peer_closed;
} Session;

static void session_log(Session *ss, const char *prefix, const uint8_t *data, size_t n)
{
        uint64_t limit = ss->s->config->interactive_log_size;
        size_t np = prefix ? strlen(prefix) : 0;

        if (ss->log_fd < 0 || ss->log_full)
                return;
        if (ss->log_size + np + n > limit) {
                static const char note[] =
                        "\n[the session log reached InteractiveLogSize: the rest is not kept]\n";

                ss->log_full = true;
                if (ss->log_size + sizeof(note) <= limit + sizeof(note))
                        (void) !write(ss->log_fd, note, sizeof(note) - 1);
                return;
        }
        if (np > 0)
                (void) !write(ss->log_fd, prefix, np);
        if (n > 0)
                (void) !write(ss->log_fd, data, n);
        ss->log_size += np + n;
}

_printf_(2, 3) static void session_log_event(Session *ss, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL, *line = NULL;
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        (void) strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
        if (msg && asprintf(&line, "\n[%s] %s\n", stamp, msg) >= 0)
                session_log(ss, NULL, (const uint8_t *) line, strlen(line));
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *userdata)
{
        Session *ss = userdata;
        ssize_t n;

        (void) flags;
        if (ss->n_extra > 0) { /* what libmicrohttpd read already comes first */
                n = (ssize_t) MIN(len, ss->n_extra);
                memcpy(buf, ss->extra, (size_t) n);
                memmove(ss->extra, ss->extra + n, ss->n_extra - (size_t) n);
                ss->n_extra -= (size_t) n;
                return n;
        }
        n = recv(ss->sock, buf, len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (n <= 0) {
                ss->peer_closed = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *userdata)
{
        Session *ss = userdata;
        ssize_t n;

        (void) flags;
        n = send(ss->sock, data, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        if (n < 0) {
                ss->peer_closed = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return n;
}

static void session_resize(Session *ss, const uint8_t *msg, size_t len)
{
        struct winsize ws = {};
        unsigned cols, rows;

        if (parse_resize_message((const char *) msg, len, &cols, &rows) < 0)
                return;
        ws.ws_col = (unsigned short) cols;
        ws.ws_row = (unsigned short) rows;
        (void) ioctl(ss->master, TIOCSWINSZ, &ws);
}

static void ws_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                       void *userdata)
{
        Session *ss = userdata;

        (void) ctx;
        if (arg->opcode == WSLAY_BINARY_FRAME) {
                size_t off = 0;

                /* Typed text reaches the transcript as the terminal echoes it. */
                ss->last_input_usec = now_monotonic_usec();
                while (off < arg->msg_length) {
                        ssize_t n = write(ss->master, arg->msg + off, arg->msg_length - off);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && errno == EAGAIN) {
                                struct pollfd p = { .fd = ss->master, .events = POLLOUT };

                                if (poll(&p, 1, 1000) <= 0)
                                        break; /* the debugger reads nothing: the keystrokes are dropped */
                                continue;
                        }
                        if (n <= 0)
                                break;
                        off += (size_t) n;
                }
        } else if (arg->opcode == WSLAY_TEXT_FRAME) {
                ss->last_input_usec = now_monotonic_usec();
                session_resize(ss, arg->msg, arg->msg_length);
        } else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
                ss->end_reason = "the client closed the session";
}

static void session_end(Session *ss, const char *reason)
{
        if (!ss->end_reason)
                ss->end_reason = reason;
}

/* The pseudo-terminal: master for us (non-blocking), slave for the sandbox; 80×24 to start. */
static int open_pty(int *ret_master, int *ret_slave)
{
        _cleanup_close_ int master = -EBADF;
        struct winsize ws = { .ws_col = 80, .ws_row = 24 };
        char name[128];
        int slave;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master < 0)
                return -errno;
        if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return -errno;
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        (void) ioctl(master, TIOCSWINSZ, &ws);
        *ret_master = TAKE_FD(master);
        *ret_slave = slave;
        return 0;
}

/* retrace-sandbox's command line: the batch run's (root, crash files read-only, private /tmp, no
 * network, seccomp, no capabilities, limits), the terminal (--tty), no other program (--no-exec), and
 * InteractiveMaxTime (+30 s) as its timeout. */
static int session_argv(Session *ss, const InteractiveSpec *spec, const char *root, const char *init_path,
                        char ***ret)
{
        const RetraceConfig *cfg = ss->s->config;
        _cleanup_strv_free_ char **argv = NULL;
        char timeout[32], self[32];
        int r;

        /* The session ends itself at InteractiveMaxTime (and says so); the sandbox's own timeout, a little
         * later, is the backstop. */
        (void) snprintf(timeout, sizeof(timeout), "%" PRIu64, (cfg->interactive_max_time ?: 3600) + 30);
        (void) snprintf(self, sizeof(self), "%d", (int) getpid());
        r = strv_extend_many(&argv,
                             (const char *const[]){ cfg->sandbox_path, "--parent-pid", self, "--root", root,
                                                    "--ro-bind", spec->crash_dir, CRASH_MOUNT, "--ro-bind",
                                                    init_path, INTERACTIVE_INIT_MOUNT },
                             11);
        if (r >= 0 && spec->vmlinux)
                r = strv_extend_many(&argv,
                                     (const char *const[]){ "--ro-bind", spec->vmlinux, VMLINUX_MOUNT }, 3);
        if (r >= 0)
                r = strv_extend_many(&argv, (const char *const[]){ "--tmpfs",        "/tmp",      "--chdir",
                                                                   "/tmp",           "--setenv",  "HOME",
                                                                   "/tmp",           "--setenv",  "LANG",
                                                                   "C.UTF-8",        "--setenv",  "TERM",
                                                                   "xterm-256color", "--setenv",  "PATH",
                                                                   "/usr/bin:/bin",  "--timeout", timeout,
                                                                   "--tty",          "--no-exec", "--" },
                                     21);
        STRV_FOREACH (c, spec->command)
                if (r >= 0)
                        r = strv_extend(&argv, *c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

static int spawn_session(char *const *argv, int slave, int err_fd, pid_t *ret)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        posix_spawn_file_actions_adddup2(&fa, slave, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
        r = posix_spawn(ret, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

/* Starts the debugger: the root again from the cache, the command file, the terminal, the sandbox.
 * *ret_message says what went wrong, for the terminal. */
static int session_start(Session *ss, int hold_fds[2], char **ret_message)
{
        HttpServer *s = ss->s;
        _cleanup_(interactive_spec_freep) InteractiveSpec *spec = NULL;
        _cleanup_free_ char *root = NULL, *reason = NULL, *results = NULL, *init_path = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int results_fd = -EBADF, slave = -EBADF, err_fd = -EBADF;
        const char *why = NULL;
        int64_t start = now_monotonic_usec();
        int r;

        r = load_spec(s, ss->id, &spec, &why);
        if (r < 0)
                return asprintf(ret_message, "The task allows no interactive session: %s", why) < 0 ? -ENOMEM
                                                                                                    : r;
        if (!s->interactive_root)
                return asprintf(ret_message, "This server cannot prepare task roots") < 0 ? -ENOMEM
                                                                                          : -ENOTSUP;
        r = s->interactive_root(s->userdata, spec, &root, hold_fds, &reason);
        if (r < 0)
                return asprintf(ret_message, "Cannot prepare the task's root: %s", reason ?: strerror(-r)) <
                                       0
                               ? -ENOMEM
                               : r;
        r = task_dir_open_part(s->save_dirfd, ss->id, TASK_PART_RESULTS, false, &results_fd);
        if (r >= 0)
                r = file_write_atomic_at(results_fd, "interact.init", spec->init, strlen(spec->init), 0644);
        if (r >= 0)
                r = task_dir_part_path(s->config->save_dir, ss->id, TASK_PART_RESULTS, &results);
        if (r >= 0 && asprintf(&init_path, "%s/interact.init", results) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = session_argv(ss, spec, root, init_path, &argv);
        if (r >= 0) {
                ss->log_fd = openat(results_fd, INTERACTIVE_LOG_NAME,
                                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
                err_fd = openat(results_fd, "interact-errors",
                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (ss->log_fd >= 0) {
                        struct stat st;

                        if (fstat(ss->log_fd, &st) >= 0)
                                ss->log_size = (uint64_t) st.st_size;
                }
                if (err_fd < 0)
                        r = -errno;
        }
        if (r >= 0)
                r = open_pty(&ss->master, &slave);
        if (r >= 0)
                r = spawn_session(argv, slave, err_fd, &ss->pid);
        if (r < 0)
                return asprintf(ret_message, "Cannot start the session: %s", strerror(-r)) < 0 ? -ENOMEM : r;
        session_log_event(ss, "session started from %s: %s (root ready in %.3f s)", ss->address, spec->kind,
                          (double) (now_monotonic_usec() - start) / 1e6);
        log_info("Task %" PRIu64 ": interactive %s session from %s started", ss->id, spec->kind,
                 ss->address);
        return 0;
}

/* Copies between the WebSocket and the terminal until one side ends or a limit passes. */
static void session_pump(Session *ss, wslay_event_context_ptr ctx)
{
        const RetraceConfig *cfg = ss->s->config;
        int64_t start = now_monotonic_usec();
        uint8_t buf[16384];

        ss->last_input_usec = start;
        while (!ss->end_reason) {
                struct pollfd p[2] = {
                        { .fd = ss->sock,
                          .events = (short) ((wslay_event_want_read(ctx) ? POLLIN : 0) |
                                             (wslay_event_want_write(ctx) ? POLLOUT : 0)) },
                        /* Output waits while the client is slow to take what was queued. */
                        { .fd = ss->master,
                          .events = wslay_event_get_queued_msg_length(ctx) < (1u << 20) ? POLLIN : 0 },
                };
                int64_t now = now_monotonic_usec();
                bool stopping;

                pthread_mutex_lock(&ss->s->interact->lock);
                stopping = ss->s->interact->stopping;
                pthread_mutex_unlock(&ss->s->interact->lock);
                if (stopping) {
                        session_end(ss, "the server is stopping");
                        break;
                }
                if (cfg->interactive_idle_timeout > 0 &&
                    now - ss->last_input_usec > (int64_t) cfg->interactive_idle_timeout * 1000000) {
                        (void) snprintf(ss->end_buf, sizeof(ss->end_buf),
                                        "idle for InteractiveIdleTimeout (%" PRIu64 " s)",
                                        cfg->interactive_idle_timeout);
                        session_end(ss, ss->end_buf);
                        break;
                }
                if (cfg->interactive_max_time > 0 &&
                    now - start > (int64_t) cfg->interactive_max_time * 1000000) {
                        (void) snprintf(ss->end_buf, sizeof(ss->end_buf),
                                        "the session reached InteractiveMaxTime (%" PRIu64 " s)",
                                        cfg->interactive_max_time);
                        session_end(ss, ss->end_buf);
                        break;
                }
                if (ss->n_extra > 0 && wslay_event_recv(ctx) != 0) {
                        session_end(ss, "the connection failed");
                        break;
                }
                if (poll(p, 2, 200) < 0) {
                        if (errno == EINTR)
                                continue;
                        session_end(ss, "poll failed");
                        break;
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        if (wslay_event_recv(ctx) != 0) {
                                session_end(ss, "the client closed the connection");
                                break;
                        }
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(ss->master, buf, sizeof(buf));

                        if (n > 0) {
                                struct wslay_event_msg m = { .opcode = WSLAY_BINARY_FRAME,
                                                             .msg = buf,
                                                             .msg_length = (size_t) n };

                                session_log(ss, NULL, buf, (size_t) n);
                                if (wslay_event_queue_msg(ctx, &m) != 0) {
                                        session_end(ss, "the connection failed");
                                        break;
                                }
                        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                                session_end(ss, "the debugger exited");
                                break;
                        }
                }
                if (wslay_event_want_write(ctx) && wslay_event_send(ctx) != 0) {
                        session_end(ss, "the connection failed");
                        break;
                }
                if (!wslay_event_want_read(ctx) && !wslay_event_want_write(ctx))
                        session_end(ss, "the client closed the session");
        }
}

/* Sends the close frame with the reason, as far as the client takes it within a second. */
static void session_close(Session *ss, wslay_event_context_ptr ctx)
{
        int64_t deadline = now_monotonic_usec() + 1000000;
        const char *reason = ss->end_reason ?: "the session ended";

        if (ss->peer_closed)
                return;
        (void) wslay_event_queue_close(ctx, 1000, (const uint8_t *) reason, MIN(strlen(reason), 120u));
        while (wslay_event_want_write(ctx) && now_monotonic_usec() < deadline) {
                struct pollfd p = { .fd = ss->sock, .events = POLLOUT };

                if (poll(&p, 1, 100) < 0 || wslay_event_send(ctx) != 0)
                        break;
        }
}

static void *session_thread(void *userdata)
{
        Session *ss = userdata;
        struct wslay_event_callbacks cb = { .recv_callback = ws_recv,
                                            .send_callback = ws_send,
                                            .on_msg_recv_callback = ws_message };
        wslay_event_context_ptr ctx = NULL;
        int hold[2] = { -EBADF, -EBADF };
        _cleanup_free_ char *message = NULL;
        int flags;

        flags = fcntl(ss->sock, F_GETFL);
        if (flags >= 0)
                (void) fcntl(ss->sock, F_SETFL, flags | O_NONBLOCK);
        if (wslay_event_context_server_init(&ctx, &cb, ss) == 0) {
                wslay_event_config_set_max_recv_msg_length(ctx, MAX_FRAME_MESSAGE);
                if (session_start(ss, hold, &message) < 0) {
                        _cleanup_free_ char *text = NULL;

                        log_warning("Task %" PRIu64 ": interactive session not started: %s", ss->id,
                                    strna(message));
                        if (asprintf(&text, "\r\n%s\r\n", strna(message)) >= 0) {
                                struct wslay_event_msg m = { .opcode = WSLAY_BINARY_FRAME,
                                                             .msg = (const uint8_t *) text,
                                                             .msg_length = strlen(text) };

                                (void) wslay_event_queue_msg(ctx, &m);
                        }
                        session_end(ss, "the session could not be started");
                } else
                        session_pump(ss, ctx);
                session_close(ss, ctx);
        }
        if (ss->pid > 0) {
                (void) kill(-ss->pid, SIGKILL);
                (void) kill(ss->pid, SIGKILL);
                while (waitpid(ss->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (ss->log_fd >= 0)
                session_log_event(ss, "session ended: %s", strna(ss->end_reason));
        log_info("Task %" PRIu64 ": interactive session ended: %s", ss->id, strna(ss->end_reason));
        if (ctx)
                wslay_event_context_free(ctx);
        safe_close(ss->master);
        safe_close(ss->log_fd);
        safe_close(hold[0]);
        safe_close(hold[1]);
        (void) MHD_upgrade_action(ss->urh, MHD_UPGRADE_ACTION_CLOSE);
        active_remove(ss->s->interact, ss->id);
        free(ss->extra);
        free(ss);
        return NULL;
}

static void upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
                     size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
        Session *ss = cls;
        pthread_t thread;
        pthread_attr_t attr;

        (void) c;
        (void) req_cls;
        ss->sock = sock;
        ss->urh = urh;
        if (extra_in_size > 0) {
                ss->extra = malloc(extra_in_size);
                if (ss->extra) {
                        memcpy(ss->extra, extra_in, extra_in_size);
                        ss->n_extra = extra_in_size;
                }
        }
        /* The thread lives as long as the sandbox: retrace-sandbox dies with the thread that started it. */
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attr, session_thread, ss) != 0) {
                log_error("Task %" PRIu64 ": cannot start the interactive session's thread", ss->id);
                (void) MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                active_remove(ss->s->interact, ss->id);
                free(ss->extra);
                free(ss);
        }
        pthread_attr_destroy(&attr);
}

/* GET /<id>/interact?token=… with the WebSocket upgrade headers. */
static enum MHD_Result interact_upgrade(HttpServer *s, struct MHD_Connection *c, uint64_t id)
{
        const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
        const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
        const char *version = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
        const union MHD_ConnectionInfo *info;
        struct MHD_Response *resp;
        char accept_key[64];
        enum MHD_Result ret;
        Session *ss;
        int r;

        if (!header_lists(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE),
                          "websocket") ||
            !header_lists(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION),
                          "upgrade"))
                return respond(c, MHD_HTTP_BAD_REQUEST,
                               "GET /<id>/interact opens a WebSocket: send the upgrade headers (RFC 6455); "
                               "POST /<id>/interact with X-Task-Password gives the token\n");
        if (!version || !streq(version, "13")) {
                resp = MHD_create_response_from_buffer(STRLEN("Only WebSocket version 13 is supported\n"),
                                                       (void *) "Only WebSocket version 13 is supported\n",
                                                       MHD_RESPMEM_PERSISTENT);
                if (!resp)
                        return MHD_NO;
                (void) MHD_add_response_header(resp, "Sec-WebSocket-Version", "13");
                ret = queue_response(c, MHD_HTTP_UPGRADE_REQUIRED, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        if (!websocket_key_valid(key))
                return respond(c, MHD_HTTP_BAD_REQUEST, "Invalid Sec-WebSocket-Key\n");
        if (!origin_allowed(s, c))
                return respond(c, MHD_HTTP_FORBIDDEN,
                               "The page's origin may not open sessions here (Origin is neither this server "
                               "nor in InteractiveOrigins)\n");
        if (!token || strlen(token) != 64 || !string_in_charset(token, "0123456789abcdef"))
                return respond(c, MHD_HTTP_FORBIDDEN,
                               "A valid token is needed: POST /%" PRIu64 "/interact with X-Task-Password\n",
                               id);
        if (!task_allows_session(s, c, id, NULL, &ret))
                return ret;
        r = token_take(s->interact, id, token);
        if (r == -EACCES)
                return respond(c, MHD_HTTP_FORBIDDEN,
                               "The token is not valid for task %" PRIu64
                               " (each is used once, within 60 s): POST /%" PRIu64 "/interact again\n",
                               id, id);
        if (r == -EBUSY)
                return respond(c, MHD_HTTP_CONFLICT,
                               "Task %" PRIu64 " has an interactive session open already: one at a time\n",
                               id);
        if (r < 0)
                return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "Too many interactive sessions; try again later\n");
        if (websocket_accept(key, accept_key) < 0) {
                active_remove(s->interact, id);
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot answer the WebSocket key\n");
        }
        ss = calloc(1, sizeof(*ss));
        if (!ss) {
                active_remove(s->interact, id);
                return MHD_NO;
        }
        *ss = (Session){ .s = s, .id = id, .sock = -1, .master = -EBADF, .log_fd = -EBADF };
        info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (info && info->client_addr)
                (void) getnameinfo(info->client_addr,
                                   info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                            : sizeof(struct sockaddr_in),
                                   ss->address, sizeof(ss->address), NULL, 0, NI_NUMERICHOST);
        resp = MHD_create_response_for_upgrade(upgraded, ss);
        if (!resp) {
                active_remove(s->interact, id);
                free(ss);
                return MHD_NO;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
        (void) MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept_key);
        ret = queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
        MHD_destroy_response(resp);
        if (ret != MHD_YES) {
                active_remove(s->interact, id);
                free(ss);
        }
        return ret;
}

/* GET /<id>/interact/log (owner): the transcript of the task's sessions. */
static enum MHD_Result interact_log(HttpServer *s, struct MHD_Connection *c, uint64_t id)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int dfd = -EBADF;
        enum MHD_Result ret;
        size_t len;
        int r;

        if (!check_task_password(s, c, id, &ret))
                return ret;
        r = task_dir_open_part(s->save_dirfd, id, TASK_PART_RESULTS, false, &dfd);
        if (r >= 0)
                r = file_read_at(dfd, INTERACTIVE_LOG_NAME, s->config->interactive_log_size + 4096, &buf,
                                 &len);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "Task %" PRIu64 " has had no interactive session\n",
                               id);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot read the session log\n");
        return respond_buffer(c, MHD_HTTP_OK, TAKE_PTR(buf), len, "text/plain; charset=utf-8", NULL);
}

/* GET /<id>/interact/status (owner): whether a session can start now, for the task page. */
static enum MHD_Result interact_status(HttpServer *s, struct MHD_Connection *c, uint64_t id)
{
        _cleanup_(interactive_spec_freep) InteractiveSpec *spec = NULL;
        _cleanup_free_ char *body = NULL;
        enum MHD_Result ret;
        bool busy;
        json_t *o;
        size_t len;

        if (!check_task_password(s, c, id, &ret))
                return ret;
        pthread_mutex_lock(&s->interact->lock);
        busy = active_locked(s->interact, id);
        pthread_mutex_unlock(&s->interact->lock);
        {
                const char *why = NULL;
                _cleanup_(task_freep) Task *t = NULL;
                bool available = s->config->allow_interactive && task_store_get(s->store, id, &t) >= 0 &&
                                 t->status == TASK_STATUS_FINISHED_SUCCESS &&
                                 (task_type_is_interactive(t->type) || s->config->interactive_any_task) &&
                                 load_spec(s, id, &spec, &why) >= 0 &&
                                 (s->config->interactive_expiry == 0 ||
                                  spec->finished + (int64_t) s->config->interactive_expiry >=
                                          now_realtime_usec() / 1000000);

                o = json_pack("{s:b, s:o, s:b, s:I, s:I}", "available", available, "kind",
                              json_string_safe(available ? spec->kind : NULL), "busy", busy, "idle_timeout",
                              (json_int_t) s->config->interactive_idle_timeout, "max_time",
                              (json_int_t) s->config->interactive_max_time);
        }
        if (!o || json_dump_take(o, 0, &body) < 0)
                return MHD_NO;
        len = strlen(body);
        return respond_buffer(c, MHD_HTTP_OK, TAKE_PTR(body), len, "application/json", NULL);
}

enum MHD_Result handle_interact(HttpServer *s, struct MHD_Connection *c, const char *method, uint64_t id,
                                const char *sub)
{
        if (!streq(sub, "")) {
                if (!streq(method, MHD_HTTP_METHOD_GET))
                        return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use GET\n");
                return streq(sub, "log") ? interact_log(s, c, id) : interact_status(s, c, id);
        }
        if (streq(method, MHD_HTTP_METHOD_POST))
                return interact_token(s, c, id);
        if (streq(method, MHD_HTTP_METHOD_GET))
                return interact_upgrade(s, c, id);
        return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use POST for a token, GET to open the WebSocket\n");
}
