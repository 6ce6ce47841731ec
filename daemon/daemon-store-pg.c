/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The task store on PostgreSQL, shared by several daemons (TaskStore = postgresql://…): the same
 * tables as daemon-store-sqlite.c, plus the shared queue. A PENDING task is claimed by one daemon
 * with SELECT … FOR UPDATE SKIP LOCKED into a lease (lease_owner, lease_until on the server's clock),
 * renewed while it runs; a lease that expires (its daemon died) is requeued by task_store_reap() up to
 * an attempt limit. Writes of a running task name the lease's owner, so that a daemon that lost its
 * lease cannot write results over another's run. Idle daemons wait on LISTEN retrace_tasks.
 *
 * Connections: a small pool (each connection used by one thread at a time) and one for LISTEN. A lost
 * connection is reopened on the next call; opening is tried at most once a second while the server is
 * unreachable, so that HTTP answers at once (503) instead of hanging. With retry_sec (the workers'
 * store) a call retries a lost connection with backoff for that long before it fails. */
#include "daemon-store-backend.h"

#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"
#include "common-time.h"

#define PG_POOL_MAX        16
#define USEC_PER_SEC       1000000LL
#define PG_CONNECT_TIMEOUT "5"
#define PG_CHANNEL         "retrace_tasks"
#define UPLOAD_HOLD_SEC    600 /* a created task waits this long at most for its files */
/* The server's clock, in µs: leases compare against one clock whatever the daemons' hosts say. */
#define NOW_USEC "(extract(epoch from clock_timestamp()) * 1000000)::bigint"

typedef struct PgConn {
        PGconn *conn;
        bool busy;
} PgConn;

typedef struct PgStore {
        TaskStore base;
        char *conninfo, *password, *owner;
        char *safe_name; /* host, port, database and user: what the log may say */
        bool has_connect_timeout;
        unsigned lease_sec, retry_sec;

        pthread_mutex_t lock;
        pthread_cond_t freed;
        PgConn pool[PG_POOL_MAX];
        unsigned n_pool;
        bool down;                 /* the last attempt failed for want of a connection */
        bool logged_down;          /* and that was logged: once per outage */
        int64_t last_attempt_usec; /* of a connection that failed */

        pthread_mutex_t listen_lock;
        PGconn *listen;
} PgStore;

#define PG(s) ((PgStore *) (s))

/* The server's notices (e.g. "relation … already exists, skipping") are for debugging only. */
static void pg_notice(void *userdata, const char *message)
{
        log_debug("PostgreSQL: %.*s", (int) strcspn(message, "\n"), message);
}

static PGconn *pg_connect(PgStore *p)
{
        const char *keys[5] = { "dbname", "application_name" },
                   *values[5] = { p->conninfo, "retrace-server" };
        size_t n = 2;
        PGconn *c;

        if (p->password) {
                keys[n] = "password";
                values[n++] = p->password;
        }
        if (!p->has_connect_timeout) {
                keys[n] = "connect_timeout";
                values[n++] = PG_CONNECT_TIMEOUT;
        }
        keys[n] = values[n] = NULL;
        c = PQconnectdbParams(keys, values, /* expand_dbname= */ 1);
        if (c && PQstatus(c) == CONNECTION_OK) {
                (void) PQsetNoticeProcessor(c, pg_notice, NULL);
                return c;
        }
        if (c) {
                _cleanup_free_ char *msg = strdup(PQerrorMessage(c));

                if (msg)
                        msg[strcspn(msg, "\n")] = '\0';
                pthread_mutex_lock(&p->lock);
                if (!p->logged_down)
                        log_warning("Cannot connect to the task store (PostgreSQL %s): %s; trying again "
                                    "until it answers",
                                    p->safe_name, strna(msg));
                p->logged_down = true;
                pthread_mutex_unlock(&p->lock);
                PQfinish(c);
        }
        return NULL;
}

/* A connection of the pool for this thread alone; -ENOTCONN when the server cannot be reached (tried
 * at most once a second unless force). */
static int pg_acquire(PgStore *p, bool force, PgConn **ret)
{
        PgConn *c = NULL;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                for (unsigned i = 0; i < p->n_pool && !c; i++)
                        if (!p->pool[i].busy)
                                c = &p->pool[i];
                if (c)
                        break;
                pthread_cond_wait(&p->freed, &p->lock);
        }
        c->busy = true;
        if (c->conn && PQstatus(c->conn) != CONNECTION_OK) {
                PQfinish(c->conn);
                c->conn = NULL;
        }
        if (!c->conn && !force && p->down && now_monotonic_usec() - p->last_attempt_usec < USEC_PER_SEC) {
                c->busy = false;
                pthread_cond_signal(&p->freed);
                pthread_mutex_unlock(&p->lock);
                return -ENOTCONN;
        }
        pthread_mutex_unlock(&p->lock);
        if (!c->conn) {
                PGconn *conn = pg_connect(p);

                pthread_mutex_lock(&p->lock);
                c->conn = conn;
                if (!conn) {
                        p->down = true;
                        p->last_attempt_usec = now_monotonic_usec();
                        c->busy = false;
                        pthread_cond_signal(&p->freed);
                        pthread_mutex_unlock(&p->lock);
                        return -ENOTCONN;
                }
                if (p->logged_down)
                        log_info("Connected to the task store (PostgreSQL %s) again", p->safe_name);
                p->logged_down = false;
                p->down = false;
                pthread_mutex_unlock(&p->lock);
        }
        *ret = c;
        return 0;
}

static void pg_release_conn(PgStore *p, PgConn *c, bool broken)
{
        pthread_mutex_lock(&p->lock);
        if (broken) {
                PQfinish(c->conn);
                c->conn = NULL;
                p->down = true;
                p->last_attempt_usec = now_monotonic_usec();
        }
        c->busy = false;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
}

/* Runs one statement with text parameters (NULL: SQL NULL). A lost connection is retried once on a
 * fresh one at once (a server restart closes every connection), then for retry_sec with backoff.
 * A unique violation is -EEXIST; other SQL errors are logged and -EIO. */
static int pg_exec(PgStore *p, PGresult **ret, const char *sql, int n, const char *const *params)
{
        int64_t deadline = now_monotonic_usec() + (int64_t) p->retry_sec * USEC_PER_SEC;
        unsigned delay_ms = 100;

        for (unsigned attempt = 0;; attempt++) {
                PgConn *c;
                int r;

                r = pg_acquire(p, attempt > 0, &c);
                if (r >= 0) {
                        PGresult *res = PQexecParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);
                        ExecStatusType st = PQresultStatus(res);

                        if (IN_SET(st, PGRES_COMMAND_OK, PGRES_TUPLES_OK)) {
                                pg_release_conn(p, c, false);
                                if (ret)
                                        *ret = res;
                                else
                                        PQclear(res);
                                return 0;
                        }
                        if (PQstatus(c->conn) != CONNECTION_OK) {
                                PQclear(res);
                                pg_release_conn(p, c, true);
                        } else {
                                const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

                                if (state && streq(state, "23505"))
                                        r = -EEXIST;
                                else {
                                        _cleanup_free_ char *msg = strdup(PQresultErrorMessage(res));

                                        if (msg)
                                                msg[strcspn(msg, "\n")] = '\0';
                                        log_error("The task store (PostgreSQL) refused a statement: %s",
                                                  strna(msg));
                                        r = -EIO;
                                }
                                PQclear(res);
                                pg_release_conn(p, c, false);
                                return r;
                        }
                }
                if (attempt == 0)
                        continue;
                if (now_monotonic_usec() + (int64_t) delay_ms * 1000 > deadline)
                        return -ENOTCONN;
                (void) usleep(delay_ms * 1000);
                delay_ms = MIN(delay_ms * 2, 2000u);
        }
}

#define PG_EXEC(p, ret, sql, ...)                                               \
        ({                                                                      \
                const char *const _params[] = { __VA_ARGS__ };                  \
                pg_exec((p), (ret), (sql), (int) ELEMENTSOF(_params), _params); \
        })

DEFINE_TRIVIAL_CLEANUP_FUNC(PGresult *, PQclear);
#define _cleanup_pgresult_ _cleanup_(PQclearp)

typedef struct Num {
        char s[24];
} Num;

static Num num_i64(int64_t v)
{
        Num n;
        (void) snprintf(n.s, sizeof(n.s), "%" PRIi64, v);
        return n;
}

static Num num_u64(uint64_t v)
{
        Num n;
        (void) snprintf(n.s, sizeof(n.s), "%" PRIu64, v);
        return n;
}

static int64_t col_i64(PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static char *col_strdup(PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

/* ---------------------------------------------------------------- schema */

/* Each entry brings the schema from version i to i + 1; never edit one that was released, append. */
static const char *const migrations[] = {
        /* v1: the tables of the sqlite store (v4), and the shared queue's leases and daemons. */
        "CREATE TABLE tasks ("
        "  id bigint PRIMARY KEY,"
        "  password_hash bytea NOT NULL,"
        "  type integer NOT NULL,"
        "  status text NOT NULL,"
        "  stage text NOT NULL,"
        "  created_usec bigint NOT NULL,"
        "  started_usec bigint,"
        "  finished_usec bigint,"
        "  content_hash text,"
        "  lease_owner text,"
        "  lease_until bigint,"
        "  attempts integer NOT NULL DEFAULT 0,"
        "  claimed_usec bigint);"
        "CREATE INDEX tasks_status ON tasks(status, created_usec);"
        "CREATE INDEX tasks_content_hash ON tasks(content_hash);"
        "CREATE INDEX tasks_lease ON tasks(status, lease_until);"
        "CREATE TABLE stats ("
        "  task_id bigint PRIMARY KEY,"
        "  finished_usec bigint NOT NULL,"
        "  package text, release text, arch text,"
        "  core_size bigint NOT NULL,"
        "  analyze_usec bigint NOT NULL, prepare_usec bigint NOT NULL,"
        "  run_usec bigint NOT NULL, total_usec bigint NOT NULL,"
        "  success boolean NOT NULL,"
        "  missing_build_ids text NOT NULL,"
        "  duphash text);"
        "CREATE INDEX stats_duphash ON stats(duphash);"
        "CREATE TABLE task_stages ("
        "  seq bigserial PRIMARY KEY,"
        "  task_id bigint NOT NULL,"
        "  stage text NOT NULL,"
        "  started_usec bigint NOT NULL);"
        "CREATE INDEX task_stages_task ON task_stages(task_id, started_usec);"
        "CREATE TABLE task_waits ("
        "  task_id bigint PRIMARY KEY,"
        "  release text NOT NULL,"
        "  modules text NOT NULL,"
        "  build_ids text NOT NULL,"
        "  since_usec bigint NOT NULL,"
        "  stamp bigint NOT NULL DEFAULT -1);"
        "CREATE TABLE daemons ("
        "  owner text PRIMARY KEY,"
        "  seen_usec bigint NOT NULL,"
        "  running integer NOT NULL DEFAULT 0,"
        "  claimed_total bigint NOT NULL DEFAULT 0);",
        /* v2: the task manager's notes and case (bug) reference of a task (sqlite v5). */
        "ALTER TABLE tasks ADD COLUMN notes text;"
        "ALTER TABLE tasks ADD COLUMN case_ref text;",
};

/* Applies the migrations the database lacks, in one transaction under an advisory lock: daemons
 * starting together migrate once. -EPROTONOSUPPORT for a schema newer than this daemon's. */
static int pg_migrate(PgStore *p)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        PgConn *c;
        int version, r;

        r = pg_acquire(p, true, &c);
        if (r < 0)
                return r;
#define RUN(sql)                                                                                       \
        do {                                                                                           \
                PQclear(res);                                                                          \
                res = PQexec(c->conn, sql);                                                            \
                if (!IN_SET(PQresultStatus(res), PGRES_COMMAND_OK, PGRES_TUPLES_OK)) {                 \
                        log_error("Migrating the task store (PostgreSQL %s) failed: %s", p->safe_name, \
                                  PQresultErrorMessage(res));                                          \
                        PQclear(PQexec(c->conn, "ROLLBACK"));                                          \
                        r = -EIO;                                                                      \
                        goto out;                                                                      \
                }                                                                                      \
        } while (0)
        RUN("BEGIN");
        RUN("SELECT pg_advisory_xact_lock(7318420916)");
        RUN("CREATE TABLE IF NOT EXISTS retrace_schema (version integer NOT NULL)");
        RUN("SELECT COALESCE(MAX(version), 0) FROM retrace_schema");
        version = (int) col_i64(res, 0, 0);
        if (version > (int) ELEMENTSOF(migrations)) {
                log_error("The task store (PostgreSQL %s) has schema version %d, newer than this daemon's "
                          "%zu: "
                          "upgrade this daemon",
                          p->safe_name, version, ELEMENTSOF(migrations));
                PQclear(PQexec(c->conn, "ROLLBACK"));
                r = -EPROTONOSUPPORT;
                goto out;
        }
        for (size_t i = version; i < ELEMENTSOF(migrations); i++) {
                char sql[96];

                RUN(migrations[i]);
                (void) snprintf(sql, sizeof(sql),
                                "DELETE FROM retrace_schema; INSERT INTO retrace_schema VALUES (%zu)",
                                i + 1);
                RUN(sql);
                log_info("Task store (PostgreSQL %s) migrated to schema version %zu", p->safe_name, i + 1);
        }
        RUN("COMMIT");
        r = 0;
#undef RUN
out:
        pg_release_conn(p, c, PQstatus(c->conn) != CONNECTION_OK);
        return r;
}

static TaskStore *pg_store_free(TaskStore *s)
{
        PgStore *p = PG(s);

        if (!p)
                return NULL;
        for (unsigned i = 0; i < p->n_pool; i++)
                if (p->pool[i].conn)
                        PQfinish(p->pool[i].conn);
        if (p->listen)
                PQfinish(p->listen);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->freed);
        pthread_mutex_destroy(&p->listen_lock);
        free(p->conninfo);
        if (p->password) {
                explicit_bzero(p->password, strlen(p->password));
                free(p->password);
        }
        free(p->owner);
        free(p->safe_name);
        return mfree(p);
}

/* "host … port … dbname … user …" of a connection string: never its password. */
static int pg_describe(const char *conninfo, char **ret_name, bool *ret_has_timeout, char **ret_error)
{
        _cleanup_free_ char *name = NULL;
        PQconninfoOption *opts;
        char *err = NULL;
        size_t size = 0;
        FILE *f;

        opts = PQconninfoParse(conninfo, &err);
        if (!opts) {
                if (err) {
                        *ret_error = strdup(err);
                        PQfreemem(err);
                }
                return -EINVAL;
        }
        f = open_memstream(&name, &size);
        if (!f) {
                PQconninfoFree(opts);
                return -ENOMEM;
        }
        *ret_has_timeout = false;
        for (PQconninfoOption *o = opts; o->keyword; o++) {
                if (streq(o->keyword, "connect_timeout") && o->val)
                        *ret_has_timeout = true;
                if (o->val &&
                    (streq(o->keyword, "host") || streq(o->keyword, "hostaddr") ||
                     streq(o->keyword, "port") || streq(o->keyword, "dbname") || streq(o->keyword, "user")))
                        fprintf(f, "%s%s=%s", size > 0 || ftell(f) > 0 ? " " : "", o->keyword, o->val);
        }
        PQconninfoFree(opts);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_name = isempty(name) ? strdup("(libpq defaults)") : TAKE_PTR(name);
        return *ret_name ? 0 : -ENOMEM;
}

int pg_store_open(const TaskStoreOptions *o, TaskStore **ret)
{
        _cleanup_free_ char *error = NULL;
        PgStore *p;
        int r;

        p = calloc(1, sizeof(PgStore));
        if (!p)
                return -ENOMEM;
        p->base.backend = &task_store_backend_pg;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->freed, NULL);
        pthread_mutex_init(&p->listen_lock, NULL);
        p->n_pool = MIN(MAX(o->connections, 1u), (unsigned) PG_POOL_MAX);
        p->lease_sec = o->lease_sec ?: 60;
        p->retry_sec = o->retry_sec;
        p->conninfo = strdup(o->uri);
        p->owner = o->owner ? strdup(o->owner) : NULL;
        if (!p->conninfo || (o->owner && !p->owner)) {
                r = -ENOMEM;
                goto fail;
        }
        r = pg_describe(o->uri, &p->safe_name, &p->has_connect_timeout, &error);
        if (r < 0) {
                log_error("TaskStore is not a PostgreSQL connection string (postgresql://USER@HOST/DB or "
                          "\"host=… dbname=…\"): %s",
                          strna(error));
                goto fail;
        }
        if (!isempty(o->password_file)) {
                r = file_read_line_at(AT_FDCWD, o->password_file, 4096, &p->password);
                if (r < 0) {
                        log_error_errno(r, "Cannot read TaskStorePasswordFile %s: %m", o->password_file);
                        goto fail;
                }
        }
        r = pg_migrate(p);
        if (r == -ENOTCONN)
                log_error("The task store (PostgreSQL %s) cannot be reached or refused the login (the "
                          "error above says which): start PostgreSQL, or correct TaskStore, "
                          "TaskStorePasswordFile or PGPASSWORD",
                          p->safe_name);
        if (r < 0)
                goto fail;
        log_info("Task store: PostgreSQL %s (%u connection(s))", p->safe_name, p->n_pool);
        *ret = &p->base;
        return 0;
fail:
        pg_store_free(&p->base);
        return r;
}

/* ---------------------------------------------------------------- tasks */

static int pg_store_create(TaskStore *s, TaskType type, uint64_t *ret_id,
                           char ret_password[TASK_PASSWORD_LEN + 1])
{
        char password[TASK_PASSWORD_LEN + 1], hex[2 * 32 + 3] = "\\x";
        uint8_t hash[32];
        int r;

        r = store_random_password(password);
        if (r < 0)
                return r;
        r = store_password_hash(password, hash);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(hash); i++)
                (void) snprintf(hex + 2 + 2 * i, 3, "%02x", hash[i]);
        for (int attempt = 0; attempt < 100; attempt++) {
                uint64_t id;

                r = store_random_task_id(&id);
                if (r < 0)
                        return r;
                /* Held (a lease without owner) until its files are in SaveDir: pg_store_enqueue(). An
                 * api daemon that dies in between leaves the hold to expire and the reaper. */
                r = PG_EXEC(PG(s), NULL,
                            "INSERT INTO tasks (id, password_hash, type, status, stage, created_usec, "
                            "lease_until) "
                            "VALUES ($1, $2::bytea, $3, 'PENDING', 'Analyzing crash data', $4, " NOW_USEC
                            " + $5::bigint * 1000000)",
                            num_u64(id).s, hex, num_i64(type).s, num_i64(now_realtime_usec()).s,
                            num_i64(UPLOAD_HOLD_SEC).s);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return r;
                *ret_id = id;
                memcpy(ret_password, password, sizeof(password));
                return 0;
        }
        return -EEXIST;
}

static int pg_store_get(TaskStore *s, uint64_t id, Task **ret)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        r = PG_EXEC(PG(s), &res,
                    "SELECT type, status, stage, created_usec, started_usec, finished_usec, notes, case_ref "
                    "FROM tasks WHERE id = $1",
                    num_u64(id).s);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return -ENOENT;
        t = calloc(1, sizeof(Task));
        if (!t)
                return -ENOMEM;
        t->id = id;
        t->type = (TaskType) col_i64(res, 0, 0);
        t->status = task_status_from_string(PQgetvalue(res, 0, 1));
        t->stage = strdup(PQgetvalue(res, 0, 2));
        if (!t->stage)
                return -ENOMEM;
        t->created_usec = col_i64(res, 0, 3);
        t->started_usec = col_i64(res, 0, 4);
        t->finished_usec = col_i64(res, 0, 5);
        t->notes = col_strdup(res, 0, 6);
        t->case_ref = col_strdup(res, 0, 7);
        *ret = TAKE_PTR(t);
        return 0;
}

static int pg_store_check_password(TaskStore *s, uint64_t id, const char *password)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        uint8_t hash[32], diff = 0;
        const char *stored;
        int r;

        r = PG_EXEC(PG(s), &res, "SELECT encode(password_hash, 'hex') FROM tasks WHERE id = $1",
                    num_u64(id).s);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return -ENOENT;
        stored = PQgetvalue(res, 0, 0);
        if (strlen(stored) != 2 * sizeof(hash))
                return -EBADMSG;
        r = store_password_hash(password, hash);
        if (r < 0)
                return r;
        /* Compare hashes in constant time. */
        for (size_t i = 0; i < sizeof(hash); i++) {
                unsigned v;

                if (sscanf(stored + 2 * i, "%2x", &v) != 1)
                        return -EBADMSG;
                diff |= hash[i] ^ (uint8_t) v;
        }
        return diff == 0 ? 0 : -EACCES;
}

/* After a write of a running task that changed no row: -ENOENT when the task is gone, -ESTALE when
 * this daemon no longer holds its lease (another one runs it now). */
static int pg_missing_or_stale(PgStore *p, uint64_t id)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(p, &res, "SELECT 1 FROM tasks WHERE id = $1", num_u64(id).s);
        if (r < 0)
                return r;
        return PQntuples(res) == 0 ? -ENOENT : -ESTALE;
}

static int pg_store_set_stage(TaskStore *s, uint64_t id, const char *stage)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(
                PG(s), &res,
                "WITH u AS (UPDATE tasks SET stage = $1, started_usec = COALESCE(started_usec, $2::bigint) "
                "WHERE id = $3 AND ($4::text IS NULL OR lease_owner = $4::text) "
                "RETURNING id) "
                "INSERT INTO task_stages (task_id, stage, started_usec) SELECT id, $1, $2::bigint FROM u "
                "RETURNING task_id",
                stage, num_i64(now_realtime_usec()).s, num_u64(id).s, PG(s)->owner);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : pg_missing_or_stale(PG(s), id);
}

static int pg_store_finish(TaskStore *s, uint64_t id, bool success, const char *stage)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        /* The lease ends with the task; lease_owner stays: which daemon ran it. */
        r = PG_EXEC(
                PG(s), &res,
                "WITH u AS (UPDATE tasks SET status = $5, stage = $1, finished_usec = $2::bigint, "
                "lease_until = NULL "
                "WHERE id = $3 AND ($4::text IS NULL OR lease_owner = $4::text) "
                "RETURNING id) "
                "INSERT INTO task_stages (task_id, stage, started_usec) SELECT id, $1, $2::bigint FROM u "
                "RETURNING task_id",
                stage, num_i64(now_realtime_usec()).s, num_u64(id).s, PG(s)->owner,
                success ? "FINISHED_SUCCESS" : "FINISHED_FAILURE");
        if (r < 0)
                return r;
        if (PQntuples(res) > 0)
                return 0;
        /* Not ours any more: to the pipeline as good as deleted, it must not write over another run. */
        r = pg_missing_or_stale(PG(s), id);
        return r == -ESTALE ? -ENOENT : r;
}

static int pg_store_list_stages(TaskStore *s, uint64_t id, TaskStage **ret, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        TaskStage *v;
        int r, n;

        r = PG_EXEC(PG(s), &res,
                    "SELECT stage, started_usec FROM task_stages WHERE task_id = $1 "
                    "ORDER BY started_usec, seq LIMIT 64",
                    num_u64(id).s);
        if (r < 0)
                return r;
        n = PQntuples(res);
        v = calloc(n + 1, sizeof(TaskStage));
        if (!v)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                v[i].started_usec = col_i64(res, i, 1);
                if (!(v[i].stage = strdup(PQgetvalue(res, i, 0)))) {
                        task_stages_free(v, i);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int pg_store_restart(TaskStore *s, uint64_t id)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        Task *t = NULL;
        TaskStatus status;
        int r;

        r = pg_store_get(s, id, &t);
        if (r < 0)
                return r;
        status = t->status;
        task_free(t);
        if (status == TASK_STATUS_PENDING)
                return -EBUSY;
        /* Held like a new upload until the caller has removed the old results: pg_store_enqueue(). */
        r = PG_EXEC(PG(s), &res,
                    "WITH u AS (UPDATE tasks SET status = 'PENDING', stage = 'Analyzing crash data', "
                    "started_usec = NULL, finished_usec = NULL, created_usec = $1::bigint, "
                    "content_hash = '" TASK_CONTENT_HASH_RERUN "', lease_owner = NULL, "
                    "lease_until = " NOW_USEC " + $3::bigint * 1000000, attempts = 0, claimed_usec = NULL "
                    "WHERE id = $2 AND status != 'PENDING' RETURNING id), "
                    "d AS (DELETE FROM task_stages WHERE task_id IN (SELECT id FROM u)) "
                    "SELECT id FROM u",
                    num_i64(now_realtime_usec()).s, num_u64(id).s, num_i64(UPLOAD_HOLD_SEC).s);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : -EBUSY;
}

static int pg_store_delete(TaskStore *s, uint64_t id)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(PG(s), &res,
                    "WITH a AS (DELETE FROM task_stages WHERE task_id = $1), "
                    "b AS (DELETE FROM task_waits WHERE task_id = $1) "
                    "DELETE FROM tasks WHERE id = $1 RETURNING id",
                    num_u64(id).s);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : -ENOENT;
}

static int pg_store_count(TaskStore *s, TaskStatus status, uint64_t *ret)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(PG(s), &res, "SELECT COUNT(*) FROM tasks WHERE status = $1",
                    task_status_to_string(status));
        if (r < 0)
                return r;
        *ret = (uint64_t) col_i64(res, 0, 0);
        return 0;
}

static int pg_store_list_pending(TaskStore *s, uint64_t **ret_ids, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        uint64_t *ids;
        int r, n;

        r = pg_exec(PG(s), &res, "SELECT id FROM tasks WHERE status = 'PENDING' ORDER BY created_usec", 0,
                    NULL);
        if (r < 0)
                return r;
        n = PQntuples(res);
        ids = calloc(n + 1, sizeof(uint64_t));
        if (!ids)
                return -ENOMEM;
        for (int i = 0; i < n; i++)
                ids[i] = (uint64_t) col_i64(res, i, 0);
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}

static int pg_store_add_stats(TaskStore *s, const TaskStats *t)
{
        _cleanup_free_ char *missing = NULL;

        missing = t->missing_build_ids ? strv_join(t->missing_build_ids, "\n") : strdup("");
        if (!missing)
                return -ENOMEM;
        return PG_EXEC(
                PG(s), NULL,
                "INSERT INTO stats (task_id, finished_usec, package, release, arch, core_size, "
                "analyze_usec, prepare_usec, run_usec, total_usec, success, missing_build_ids, duphash) "
                "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::boolean, $12, $13 "
                "WHERE EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND "
                "($14::text IS NULL OR lease_owner = $14::text)) "
                "ON CONFLICT (task_id) DO UPDATE SET finished_usec = EXCLUDED.finished_usec, "
                "package = EXCLUDED.package, release = EXCLUDED.release, arch = EXCLUDED.arch, "
                "core_size = EXCLUDED.core_size, analyze_usec = EXCLUDED.analyze_usec, "
                "prepare_usec = EXCLUDED.prepare_usec, run_usec = EXCLUDED.run_usec, "
                "total_usec = EXCLUDED.total_usec, success = EXCLUDED.success, "
                "missing_build_ids = EXCLUDED.missing_build_ids, duphash = EXCLUDED.duphash",
                num_u64(t->id).s, num_i64(now_realtime_usec()).s, t->package, t->release, t->arch,
                num_u64(t->core_size).s, num_i64(t->analyze_usec).s, num_i64(t->prepare_usec).s,
                num_i64(t->run_usec).s, num_i64(t->total_usec).s, t->success ? "true" : "false", missing,
                t->duphash, PG(s)->owner);
}

static int pg_store_set_content_hash(TaskStore *s, uint64_t id, const char *hash)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(PG(s), &res, "UPDATE tasks SET content_hash = $1 WHERE id = $2 RETURNING id", hash,
                    num_u64(id).s);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : -ENOENT;
}

static int pg_store_get_content_hash(TaskStore *s, uint64_t id, char **ret)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        char *hash = NULL;
        int r;

        r = PG_EXEC(PG(s), &res, "SELECT content_hash FROM tasks WHERE id = $1", num_u64(id).s);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return -ENOENT;
        if (!PQgetisnull(res, 0, 0) && !(hash = col_strdup(res, 0, 0)))
                return -ENOMEM;
        *ret = hash;
        return 0;
}

static int pg_store_find_reusable(TaskStore *s, const char *hash, int type, uint64_t exclude,
                                  ReusableTask *ret)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(PG(s), &res,
                    "SELECT t.id, st.package, st.release, st.arch, st.duphash, st.core_size FROM tasks t "
                    "JOIN stats st ON st.task_id = t.id WHERE t.content_hash = $1 AND t.type = $2 AND "
                    "t.id != $3 AND t.status = 'FINISHED_SUCCESS' AND st.success "
                    "ORDER BY t.finished_usec DESC LIMIT 1",
                    hash, num_i64(type).s, num_u64(exclude).s);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return -ENOENT;
        *ret = (ReusableTask){
                .id = (uint64_t) col_i64(res, 0, 0),
                .package = col_strdup(res, 0, 1),
                .release = col_strdup(res, 0, 2),
                .arch = col_strdup(res, 0, 3),
                .duphash = col_strdup(res, 0, 4),
                .core_size = (uint64_t) col_i64(res, 0, 5),
        };
        return 0;
}

/* ---------------------------------------------------------------- waiting for debuginfo */

static int pg_store_set_waiting(TaskStore *s, uint64_t id, const char *release, char *const *modules,
                                char *const *build_ids)
{
        _cleanup_free_ char *m = strv_join(modules, "\n"), *b = strv_join(build_ids, "\n");

        if (!m || !b)
                return -ENOMEM;
        /* a task waiting again after a retry keeps the start of its window */
        return PG_EXEC(PG(s), NULL,
                       "INSERT INTO task_waits (task_id, release, modules, build_ids, since_usec) "
                       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_id) DO UPDATE SET release = $2, "
                       "modules = $3, build_ids = $4, stamp = -1",
                       num_u64(id).s, release, m, b, num_i64(now_realtime_usec()).s);
}

static int pg_store_clear_waiting(TaskStore *s, uint64_t id)
{
        return PG_EXEC(PG(s), NULL, "DELETE FROM task_waits WHERE task_id = $1", num_u64(id).s);
}

static int pg_store_set_waiting_stamp(TaskStore *s, uint64_t id, int64_t stamp)
{
        return PG_EXEC(PG(s), NULL, "UPDATE task_waits SET stamp = $1 WHERE task_id = $2", num_i64(stamp).s,
                       num_u64(id).s);
}

static int pg_list_waiting(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        WaitingTask *v;
        int r, n;

        r = PG_EXEC(PG(s), &res,
                    "SELECT w.task_id, w.release, w.modules, w.build_ids, w.since_usec, w.stamp "
                    "FROM task_waits w JOIN tasks t ON t.id = w.task_id "
                    "WHERE w.since_usec >= $1 AND (($2 = 0 AND t.status != 'PENDING') OR w.task_id = $2) "
                    "ORDER BY w.since_usec",
                    num_i64(since_min).s, num_u64(id).s);
        if (r < 0)
                return r;
        n = PQntuples(res);
        v = calloc(n + 1, sizeof(WaitingTask));
        if (!v)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                v[i] = (WaitingTask){ .id = (uint64_t) col_i64(res, i, 0),
                                      .release = col_strdup(res, i, 1),
                                      .since_usec = col_i64(res, i, 4),
                                      .stamp = col_i64(res, i, 5) };
                if (!v[i].release || strv_split(PQgetvalue(res, i, 2), "\n", &v[i].modules) < 0 ||
                    strv_split(PQgetvalue(res, i, 3), "\n", &v[i].build_ids) < 0) {
                        waiting_tasks_free(v, i + 1);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int pg_store_list_waiting(TaskStore *s, int64_t since_min, WaitingTask **ret, size_t *ret_n)
{
        return pg_list_waiting(s, 0, since_min, ret, ret_n);
}

static int pg_store_get_waiting(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret)
{
        WaitingTask *v = NULL;
        size_t n = 0;
        int r;

        r = pg_list_waiting(s, id, since_min, &v, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(v);
                return -ENOENT;
        }
        *ret = v;
        return 0;
}

static int pg_store_list_finished(TaskStore *s, FinishedTask **ret, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        FinishedTask *l;
        int r, n;

        r = pg_exec(PG(s), &res,
                    "SELECT id, status, COALESCE(finished_usec, created_usec) FROM tasks "
                    "WHERE status != 'PENDING' ORDER BY 3",
                    0, NULL);
        if (r < 0)
                return r;
        n = PQntuples(res);
        l = calloc(n + 1, sizeof(FinishedTask));
        if (!l)
                return -ENOMEM;
        for (int i = 0; i < n; i++)
                l[i] = (FinishedTask){ .id = (uint64_t) col_i64(res, i, 0),
                                       .success = streq(PQgetvalue(res, i, 1), "FINISHED_SUCCESS"),
                                       .finished_usec = col_i64(res, i, 2) };
        *ret = l;
        *ret_n = n;
        return 0;
}

/* ---------------------------------------------------------------- statistics */

static int pg_stats_rows(PgStore *p, const char *sql, StatsRow **ret, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        StatsRow *rows;
        int r, n;

        r = pg_exec(p, &res, sql, 0, NULL);
        if (r < 0)
                return r;
        n = PQntuples(res);
        rows = calloc(n + 1, sizeof(StatsRow));
        if (!rows)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                rows[i].label = strdup(PQgetisnull(res, i, 0) ? "unknown" : PQgetvalue(res, i, 0));
                if (!rows[i].label) {
                        stats_rows_free(rows, i);
                        return -ENOMEM;
                }
                rows[i].count = (uint64_t) col_i64(res, i, 1);
                rows[i].success = (uint64_t) col_i64(res, i, 2);
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static int pg_stats_buckets(PgStore *p, StatsBucket **ret, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        StatsBucket *v;
        int r, n;

        r = PG_EXEC(p, &res,
                    "SELECT duphash, COUNT(*), MIN(finished_usec), MAX(finished_usec), "
                    "string_agg(DISTINCT release, ','), string_agg(DISTINCT package, ',') FROM stats "
                    "WHERE duphash IS NOT NULL AND success GROUP BY duphash "
                    "ORDER BY 2 DESC, 4 DESC LIMIT $1",
                    num_i64(STATS_BUCKETS_MAX).s);
        if (r < 0)
                return r;
        n = PQntuples(res);
        v = calloc(n + 1, sizeof(StatsBucket));
        if (!v)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                v[i] = (StatsBucket){ .hash = col_strdup(res, i, 0),
                                      .count = (uint64_t) col_i64(res, i, 1),
                                      .first_usec = col_i64(res, i, 2),
                                      .last_usec = col_i64(res, i, 3) };
                /* release ids and package NEVRAs hold no ',' (string_agg's separator) */
                if (!v[i].hash || strv_split(PQgetvalue(res, i, 4), ",", &v[i].releases) < 0 ||
                    strv_split(PQgetvalue(res, i, 5), ",", &v[i].packages) < 0) {
                        stats_buckets_free(v, i + 1);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int pg_store_bucket(TaskStore *s, uint64_t id, char **ret_hash, uint64_t *ret_others)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        char *hash;
        int r;

        r = PG_EXEC(PG(s), &res,
                    "SELECT a.duphash, (SELECT COUNT(*) FROM stats b WHERE b.duphash = a.duphash AND "
                    "b.success AND b.task_id != a.task_id) FROM stats a "
                    "WHERE a.task_id = $1 AND a.duphash IS NOT NULL AND a.success",
                    num_u64(id).s);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return -ENOENT;
        hash = col_strdup(res, 0, 0);
        if (!hash)
                return -ENOMEM;
        *ret_hash = hash;
        *ret_others = (uint64_t) col_i64(res, 0, 1);
        return 0;
}

static int pg_store_statistics(TaskStore *s, TaskStatistics *ret)
{
        /* The same tables as the sqlite store's, label by label. */
        static const char *const queries[_STATS_TABLE_MAX] = {
                [STATS_TOTALS] = "SELECT 'all', COUNT(*), COUNT(*) FILTER (WHERE success) FROM stats",
                [STATS_RELEASES] = "SELECT release, COUNT(*), COUNT(*) FILTER (WHERE success) FROM stats "
                                   "GROUP BY release ORDER BY 2 DESC",
                [STATS_ARCHES] = "SELECT arch, COUNT(*), COUNT(*) FILTER (WHERE success) FROM stats "
                                 "GROUP BY arch ORDER BY 2 DESC",
                [STATS_PACKAGES] = "SELECT package, COUNT(*), COUNT(*) FILTER (WHERE success) FROM stats "
                                   "GROUP BY package ORDER BY 2 DESC LIMIT 20",
                [STATS_DAYS] = "SELECT to_char(to_timestamp(finished_usec / 1000000) AT TIME ZONE 'UTC', "
                               "'YYYY-MM-DD'), COUNT(*), COUNT(*) FILTER (WHERE success) "
                               "FROM stats GROUP BY 1 ORDER BY 1 DESC LIMIT 60",
                /* the most frequent missing build-ids: the first 20 in byte order, as counted */
                [STATS_MISSING_BUILD_IDS] =
                        "SELECT m, COUNT(*), 0 FROM stats, unnest(string_to_array(missing_build_ids, "
                        "E'\\n')) m "
                        "WHERE missing_build_ids != '' GROUP BY m ORDER BY m COLLATE \"C\" LIMIT 20",
        };
        static const char *const columns[_TASK_STAGE_KIND_MAX] = { "analyze_usec", "prepare_usec",
                                                                   "run_usec", "total_usec" };
        TaskStatistics st = {};
        int r = 0;

        for (size_t i = 0; i < _STATS_TABLE_MAX && r >= 0; i++)
                r = pg_stats_rows(PG(s), queries[i], &st.rows[i], &st.n_rows[i]);
        for (size_t i = 0; i < _TASK_STAGE_KIND_MAX && r >= 0; i++) {
                _cleanup_pgresult_ PGresult *res = NULL;
                char sql[192];

                /* percentile_disc picks the sqlite store's ranks: (n-1)/2 and ceil(0.95n)-1 */
                (void) snprintf(sql, sizeof(sql),
                                "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY %s), "
                                "percentile_disc(0.95) WITHIN GROUP (ORDER BY %s) FROM stats",
                                columns[i], columns[i]);
                r = pg_exec(PG(s), &res, sql, 0, NULL);
                if (r >= 0)
                        st.durations[i] = (StatsDuration){ .median_usec = col_i64(res, 0, 0),
                                                           .p95_usec = col_i64(res, 0, 1) };
        }
        if (r >= 0)
                r = pg_stats_buckets(PG(s), &st.buckets, &st.n_buckets);
        if (r < 0) {
                task_statistics_done(&st);
                return r;
        }
        *ret = st;
        return 0;
}

static int pg_store_list(TaskStore *s, const char *status, const char *query, unsigned limit,
                         TaskListEntry **ret, size_t *ret_n)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        _cleanup_free_ char *like = NULL;
        TaskListEntry *v;
        int r, n;

        if (!isempty(query)) {
                /* The query is a plain substring: LIKE's own wildcards are escaped. */
                char *p;

                like = malloc(strlen(query) * 2 + 3);
                if (!like)
                        return -ENOMEM;
                p = like;
                *p++ = '%';
                for (const char *c = query; *c; c++) {
                        if (IN_SET(*c, '%', '_', '\\'))
                                *p++ = '\\';
                        *p++ = *c;
                }
                *p++ = '%';
                *p = '\0';
        }
        r = PG_EXEC(PG(s), &res,
                    "SELECT t.id, t.type, t.status, t.stage, t.created_usec, t.finished_usec, "
                    "s.package, s.release, s.arch, t.notes, t.case_ref FROM tasks t "
                    "LEFT JOIN stats s ON s.task_id = t.id "
                    "WHERE ($1::text IS NULL OR t.status = $1) AND ($2::text IS NULL OR t.id::text LIKE $2 "
                    "ESCAPE '\\' OR s.package LIKE $2 ESCAPE '\\' OR s.release LIKE $2 ESCAPE '\\' "
                    "OR t.notes LIKE $2 ESCAPE '\\' OR t.case_ref LIKE $2 ESCAPE '\\') "
                    "ORDER BY t.created_usec DESC LIMIT $3",
                    isempty(status) ? NULL : status, like, num_u64(limit).s);
        if (r < 0)
                return r;
        n = PQntuples(res);
        v = calloc(n + 1, sizeof(TaskListEntry));
        if (!v)
                return -ENOMEM;
        for (int i = 0; i < n; i++)
                v[i] = (TaskListEntry){
                        .id = (uint64_t) col_i64(res, i, 0),
                        .type = (int) col_i64(res, i, 1),
                        .status = col_strdup(res, i, 2),
                        .stage = col_strdup(res, i, 3),
                        .created_usec = col_i64(res, i, 4),
                        .finished_usec = col_i64(res, i, 5),
                        .package = col_strdup(res, i, 6),
                        .release = col_strdup(res, i, 7),
                        .arch = col_strdup(res, i, 8),
                        .notes = col_strdup(res, i, 9),
                        .case_ref = col_strdup(res, i, 10),
                };
        *ret = v;
        *ret_n = n;
        return 0;
}

static int pg_store_set_notes(TaskStore *s, uint64_t id, const char *notes, const char *case_ref)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = PG_EXEC(PG(s), &res, "UPDATE tasks SET notes = $1, case_ref = $2 WHERE id = $3 RETURNING id",
                    isempty(notes) ? NULL : notes, isempty(case_ref) ? NULL : case_ref, num_u64(id).s);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : -ENOENT;
}

static int pg_store_totals(TaskStore *s, TaskTotals *ret)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = pg_exec(
                PG(s), &res,
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE success), COALESCE(SUM(analyze_usec), 0), "
                "COALESCE(SUM(prepare_usec), 0), COALESCE(SUM(run_usec), 0), COALESCE(SUM(total_usec), 0) "
                "FROM stats",
                0, NULL);
        if (r < 0)
                return r;
        ret->finished = (uint64_t) col_i64(res, 0, 0);
        ret->succeeded = (uint64_t) col_i64(res, 0, 1);
        for (int i = 0; i < _TASK_STAGE_KIND_MAX; i++)
                ret->stage_usec_sum[i] = col_i64(res, 0, i + 2);
        return 0;
}

/* ---------------------------------------------------------------- the shared queue */

static int pg_store_available(TaskStore *s)
{
        PgStore *p = PG(s);
        bool down, suspect = false;

        pthread_mutex_lock(&p->lock);
        /* An idle connection the server closed (a restart, a shutdown) is readable at once (EOF or
         * its goodbye message): noticed here without a round trip, so that the first request after
         * the server went away answers 503 too, not an error of a failed statement. */
        for (unsigned i = 0; i < p->n_pool; i++) {
                PgConn *c = &p->pool[i];
                struct pollfd pfd;

                if (c->busy || !c->conn)
                        continue;
                pfd = (struct pollfd){ .fd = PQsocket(c->conn), .events = POLLIN };
                if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
                        continue;
                if (PQconsumeInput(c->conn) == 0 || PQstatus(c->conn) != CONNECTION_OK) {
                        PQfinish(c->conn);
                        c->conn = NULL;
                        p->down = true;
                        p->last_attempt_usec = 0; /* try to reconnect now */
                } else
                        suspect = true; /* e.g. the server's "terminating connection" before its EOF */
        }
        down = p->down || suspect;
        pthread_mutex_unlock(&p->lock);
        if (!down)
                return 0;
        /* pg_acquire() tries at most once a second: a request never waits on a dead server. */
        {
                _cleanup_pgresult_ PGresult *res = NULL;
                PgConn *c;
                int r;

                r = pg_acquire(p, false, &c);
                if (r < 0)
                        return r;
                res = PQexec(c->conn, "SELECT 1");
                r = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -ENOTCONN;
                pg_release_conn(p, c, r < 0);
                return r;
        }
}

static int pg_store_claim(TaskStore *s, uint64_t *ret_id)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        PgStore *p = PG(s);
        int r;

        if (!p->owner)
                return -EINVAL;
        r = PG_EXEC(
                p, &res,
                "WITH c AS (UPDATE tasks SET lease_owner = $1, lease_until = " NOW_USEC
                " + $2::bigint * 1000000, attempts = attempts + 1, claimed_usec = " NOW_USEC " "
                "WHERE id = (SELECT id FROM tasks WHERE status = 'PENDING' AND lease_until IS NULL "
                "ORDER BY created_usec LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, attempts), "
                "d AS (INSERT INTO daemons (owner, seen_usec, claimed_total) SELECT $1, " NOW_USEC
                ", 1 FROM c ON CONFLICT (owner) DO UPDATE SET claimed_total = daemons.claimed_total + 1, "
                "seen_usec = EXCLUDED.seen_usec) "
                "SELECT id, attempts FROM c",
                p->owner, num_u64(p->lease_sec).s);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return -ENOENT;
        *ret_id = (uint64_t) col_i64(res, 0, 0);
        log_info("Task %" PRIu64 " claimed by %s (attempt %" PRIi64 ")", *ret_id, p->owner,
                 col_i64(res, 0, 1));
        return 0;
}

static int pg_store_wait_for_work(TaskStore *s, unsigned timeout_ms)
{
        PgStore *p = PG(s);
        struct pollfd pfd;
        PGnotify *n;
        bool woken = false;

        pthread_mutex_lock(&p->listen_lock);
        if (p->listen && PQstatus(p->listen) != CONNECTION_OK) {
                PQfinish(p->listen);
                p->listen = NULL;
        }
        if (!p->listen) {
                p->listen = pg_connect(p);
                if (p->listen) {
                        PGresult *res = PQexec(p->listen, "LISTEN " PG_CHANNEL);

                        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                                PQfinish(p->listen);
                                p->listen = NULL;
                        }
                        PQclear(res);
                }
        }
        if (!p->listen) {
                /* No notifications without the server: the caller polls after the timeout. */
                pthread_mutex_unlock(&p->listen_lock);
                (void) usleep(timeout_ms * 1000);
                return 0;
        }
        pfd = (struct pollfd){ .fd = PQsocket(p->listen), .events = POLLIN };
        (void) PQconsumeInput(p->listen);
        while ((n = PQnotifies(p->listen))) {
                woken = true;
                PQfreemem(n);
        }
        if (!woken && poll(&pfd, 1, (int) timeout_ms) > 0) {
                (void) PQconsumeInput(p->listen);
                while ((n = PQnotifies(p->listen)))
                        PQfreemem(n);
        }
        pthread_mutex_unlock(&p->listen_lock);
        return 0;
}

static int pg_store_renew(TaskStore *s, const uint64_t *ids, size_t n, uint64_t **ret_lost,
                          size_t *ret_n_lost)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        _cleanup_free_ char *array = NULL;
        _cleanup_free_ uint64_t *lost = NULL;
        PgStore *p = PG(s);
        size_t size = 0, n_lost = 0;
        FILE *f;
        int r;

        if (!p->owner)
                return -EINVAL;
        f = open_memstream(&array, &size);
        if (!f)
                return -ENOMEM;
        fputc('{', f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%" PRIu64, i > 0 ? "," : "", ids[i]);
        fputc('}', f);
        if (fclose(f) != 0)
                return -ENOMEM;
        /* The heartbeat of this daemon (/metrics) goes with it. */
        r = PG_EXEC(p, &res,
                    "WITH h AS (INSERT INTO daemons (owner, seen_usec, running) VALUES ($1, " NOW_USEC
                    ", $4) ON CONFLICT (owner) DO UPDATE SET seen_usec = EXCLUDED.seen_usec, "
                    "running = EXCLUDED.running) "
                    "UPDATE tasks SET lease_until = " NOW_USEC " + $2::bigint * 1000000 "
                    "WHERE lease_owner = $1 AND status = 'PENDING' AND lease_until IS NOT NULL "
                    "AND id = ANY($3::bigint[]) RETURNING id",
                    p->owner, num_u64(p->lease_sec).s, array, num_u64(n).s);
        if (r < 0)
                return r;
        lost = calloc(n + 1, sizeof(uint64_t));
        if (!lost)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool kept = false;

                for (int k = 0; k < PQntuples(res) && !kept; k++)
                        kept = (uint64_t) col_i64(res, k, 0) == ids[i];
                if (!kept)
                        lost[n_lost++] = ids[i];
        }
        *ret_lost = TAKE_PTR(lost);
        *ret_n_lost = n_lost;
        return 0;
}

static int pg_store_release(TaskStore *s, uint64_t id)
{
        PgStore *p = PG(s);

        return PG_EXEC(p, NULL,
                       "WITH u AS (UPDATE tasks SET lease_owner = NULL, lease_until = NULL, "
                       "attempts = GREATEST(attempts - 1, 0) WHERE id = $1 AND lease_owner = $2 "
                       "AND status = 'PENDING' AND lease_until IS NOT NULL RETURNING id) "
                       "SELECT pg_notify('" PG_CHANNEL "', id::text) FROM u",
                       num_u64(id).s, p->owner);
}

static int pg_store_reap(TaskStore *s, unsigned max_attempts)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        PgStore *p = PG(s);
        int r, n;

        r = PG_EXEC(
                p, &res,
                "WITH e AS (SELECT id, attempts, lease_owner FROM tasks WHERE status = 'PENDING' AND "
                "lease_until < " NOW_USEC " FOR UPDATE SKIP LOCKED), "
                "f AS (UPDATE tasks t SET status = 'FINISHED_FAILURE', stage = 'Retrace job failed', "
                "finished_usec = $2::bigint, lease_until = NULL FROM e WHERE t.id = e.id AND "
                "e.attempts >= $1::integer RETURNING t.id), "
                "q AS (UPDATE tasks t SET lease_owner = NULL, lease_until = NULL FROM e WHERE t.id = e.id "
                "AND e.attempts < $1::integer RETURNING t.id), "
                "s AS (INSERT INTO task_stages (task_id, stage, started_usec) SELECT id, "
                "'Retrace job failed', $2::bigint FROM f) "
                "SELECT e.id, e.lease_owner, e.attempts, e.id IN (SELECT id FROM f), "
                "(SELECT COUNT(*) FROM (SELECT pg_notify('" PG_CHANNEL "', id::text) FROM q) x) FROM e",
                num_u64(MAX(max_attempts, 1u)).s, num_i64(now_realtime_usec()).s);
        if (r < 0)
                return r;
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
                uint64_t id = (uint64_t) col_i64(res, i, 0);
                const char *owner = PQgetvalue(res, i, 1);
                int64_t attempts = col_i64(res, i, 2);

                if (streq(PQgetvalue(res, i, 3), "t"))
                        log_error(
                                "Task %" PRIu64 " failed: its lease expired %" PRIi64
                                " time(s), last held by %s (TaskMaxAttempts = %u); the daemons that ran it "
                                "died or lost the task store. Restart it from the task manager once the "
                                "cause "
                                "is found",
                                id, attempts, owner, max_attempts);
                else if (PQgetisnull(res, i, 1))
                        log_warning("Task %" PRIu64 ": its api daemon did not queue it after its upload "
                                    "(it died, or lost the task store); queued now",
                                    id);
                else
                        log_warning("Task %" PRIu64 ": the lease of %s expired (attempt %" PRIi64
                                    " of %u); queued again",
                                    id, owner, attempts, max_attempts);
        }
        return n;
}

static int pg_store_enqueue(TaskStore *s, uint64_t id)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        /* The notification is delivered at commit: the row is claimable for whom it wakes. */
        r = PG_EXEC(
                PG(s), &res,
                "WITH u AS (UPDATE tasks SET lease_until = NULL WHERE id = $1 AND status = 'PENDING' AND "
                "lease_owner IS NULL AND lease_until IS NOT NULL RETURNING id) SELECT pg_notify('" PG_CHANNEL
                "', id::text) FROM u",
                num_u64(id).s);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : -ENOENT;
}

static int pg_store_queue_depth(TaskStore *s, uint64_t *ret_unclaimed, uint64_t *ret_claimed)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        int r;

        r = pg_exec(
                PG(s), &res,
                "SELECT COUNT(*) FILTER (WHERE lease_until IS NULL), COUNT(*) FILTER (WHERE lease_until IS "
                "NOT NULL) FROM tasks WHERE status = 'PENDING'",
                0, NULL);
        if (r < 0)
                return r;
        *ret_unclaimed = (uint64_t) col_i64(res, 0, 0);
        *ret_claimed = (uint64_t) col_i64(res, 0, 1);
        return 0;
}

/* A Prometheus label value: the daemon names are printable, quoting characters are replaced. */
static void put_label(FILE *f, const char *v)
{
        for (; *v; v++)
                fputc(IN_SET(*v, '"', '\\', '\n') || (unsigned char) *v < 0x20 ? '_' : *v, f);
}

static int pg_store_render_metrics(TaskStore *s, FILE *f)
{
        _cleanup_pgresult_ PGresult *res = NULL;
        uint64_t unclaimed = 0, claimed = 0;
        int r, n;

        r = pg_store_queue_depth(s, &unclaimed, &claimed);
        if (r < 0)
                return r;
        fprintf(f,
                "# HELP retrace_shared_queue_tasks PENDING tasks in the shared queue, claimed by a daemon "
                "or "
                "not.\n# TYPE retrace_shared_queue_tasks gauge\n"
                "retrace_shared_queue_tasks{state=\"unclaimed\"} %" PRIu64 "\n"
                "retrace_shared_queue_tasks{state=\"claimed\"} %" PRIu64 "\n",
                unclaimed, claimed);
        r = pg_exec(
                PG(s), &res,
                "SELECT d.owner, d.running, d.claimed_total, (" NOW_USEC " - d.seen_usec) / 1000000, "
                "(SELECT COUNT(*) FROM tasks t WHERE t.lease_owner = d.owner AND t.status = 'PENDING' AND "
                "t.lease_until IS NOT NULL) FROM daemons d ORDER BY d.owner LIMIT 1000",
                0, NULL);
        if (r < 0)
                return r;
        n = PQntuples(res);
        static const char *const metrics[][3] = {
                { "retrace_worker_leases", "gauge", "Tasks each worker holds a lease on." },
                { "retrace_worker_running", "gauge",
                  "Tasks each worker reported running at its last renewal." },
                { "retrace_worker_claimed_total", "counter", "Tasks each worker claimed." },
                { "retrace_worker_seen_seconds", "gauge", "Seconds since each worker's last renewal." },
        };
        static const int column[] = { 4, 1, 2, 3 };
        for (size_t m = 0; m < ELEMENTSOF(metrics); m++) {
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m][0], metrics[m][2], metrics[m][0],
                        metrics[m][1]);
                for (int i = 0; i < n; i++) {
                        fprintf(f, "%s{worker=\"", metrics[m][0]);
                        put_label(f, PQgetvalue(res, i, 0));
                        fprintf(f, "\"} %" PRIi64 "\n", col_i64(res, i, column[m]));
                }
        }
        return 0;
}

const TaskStoreBackend task_store_backend_pg = {
        .name = "postgresql",
        .free = pg_store_free,
        .create = pg_store_create,
        .get = pg_store_get,
        .check_password = pg_store_check_password,
        .set_stage = pg_store_set_stage,
        .finish = pg_store_finish,
        .delete = pg_store_delete,
        .list_stages = pg_store_list_stages,
        .restart = pg_store_restart,
        .list = pg_store_list,
        .count = pg_store_count,
        .add_stats = pg_store_add_stats,
        .bucket = pg_store_bucket,
        .set_content_hash = pg_store_set_content_hash,
        .get_content_hash = pg_store_get_content_hash,
        .find_reusable = pg_store_find_reusable,
        .set_waiting = pg_store_set_waiting,
        .clear_waiting = pg_store_clear_waiting,
        .set_waiting_stamp = pg_store_set_waiting_stamp,
        .list_waiting = pg_store_list_waiting,
        .get_waiting = pg_store_get_waiting,
        .list_finished = pg_store_list_finished,
        .statistics = pg_store_statistics,
        .totals = pg_store_totals,
        .set_notes = pg_store_set_notes,
        .list_pending = pg_store_list_pending,
        .available = pg_store_available,
        .claim = pg_store_claim,
        .wait_for_work = pg_store_wait_for_work,
        .renew = pg_store_renew,
        .release = pg_store_release,
        .reap = pg_store_reap,
        .enqueue = pg_store_enqueue,
        .queue_depth = pg_store_queue_depth,
        .render_metrics = pg_store_render_metrics,
};
