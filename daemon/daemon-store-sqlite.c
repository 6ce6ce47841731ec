/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The task store on sqlite: schema and migrations, tasks, their stage history, statistics. One file
 * on purpose (a little over 800 lines): every SQL statement on these tables is here, next to the
 * schema it depends on, so that a change of a column is made and reviewed in one place; the second
 * backend (PostgreSQL, daemon-store-pg.c) implements the same daemon-store-backend.h beside it. */
#include "daemon-store-backend.h"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-sqlite.h"
#include "common-string.h"
#include "common-time.h"

#define SCHEMA_VERSION 5

/* One connection in serialized mode (SQLITE_OPEN_FULLMUTEX): HTTP threads and workers share it. */
typedef struct SqliteStore {
        TaskStore base;
        sqlite3 *db;
} SqliteStore;

#define sqlite_db(s) (((SqliteStore *) (s))->db)

static int store_exec(TaskStore *s, const char *sql)
{
        return sqlite_errno(sqlite3_exec(sqlite_db(s), sql, NULL, NULL, NULL));
}

static int store_prepare(TaskStore *s, const char *sql, sqlite3_stmt **ret)
{
        return sqlite_errno(sqlite3_prepare_v2(sqlite_db(s), sql, -1, ret, NULL));
}

static int store_migrate_v1(TaskStore *s);
static char *column_strdup(sqlite3_stmt *st, int i);
static int sqlite_store_clear_waiting(TaskStore *s, uint64_t id);

static int store_migrate(TaskStore *s)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, version;

        r = store_prepare(s, "PRAGMA user_version", &st);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        version = sqlite3_column_int(st, 0);
        if (version == SCHEMA_VERSION)
                return 0;
        if (version > SCHEMA_VERSION)
                return -EPROTONOSUPPORT; /* written by a newer daemon */
        if (version < 1) {
                r = store_migrate_v1(s);
                if (r < 0)
                        return r;
        }
        if (version < 2) {
                r = store_exec(s, "BEGIN;"
                                  "CREATE TABLE stats ("
                                  "  task_id INTEGER PRIMARY KEY,"
                                  "  finished_usec INTEGER NOT NULL,"
                                  "  package TEXT, release TEXT, arch TEXT,"
                                  "  core_size INTEGER NOT NULL,"
                                  "  analyze_usec INTEGER NOT NULL, prepare_usec INTEGER NOT NULL,"
                                  "  run_usec INTEGER NOT NULL, total_usec INTEGER NOT NULL,"
                                  "  success INTEGER NOT NULL,"
                                  "  missing_build_ids TEXT NOT NULL);"
                                  "PRAGMA user_version = 2;"
                                  "COMMIT;");
                if (r < 0)
                        return r;
        }
        /* v3: when each stage of a task began, for the Web UI's task page. */
        if (version < 3) {
                r = store_exec(s, "BEGIN;"
                                  "CREATE TABLE task_stages ("
                                  "  task_id INTEGER NOT NULL,"
                                  "  stage TEXT NOT NULL,"
                                  "  started_usec INTEGER NOT NULL);"
                                  "CREATE INDEX task_stages_task ON task_stages(task_id, started_usec);"
                                  "PRAGMA user_version = 3;"
                                  "COMMIT;");
                if (r < 0)
                        return r;
        }
        /* v4: each finished task's crash bucket (its duplicate hash); each task's content hash over its
         * crash files, for reusing the result of an identical upload. */
        if (version < 4) {
                r = store_exec(s, "BEGIN;"
                                  "ALTER TABLE stats ADD COLUMN duphash TEXT;"
                                  "CREATE INDEX stats_duphash ON stats(duphash);"
                                  "ALTER TABLE tasks ADD COLUMN content_hash TEXT;"
                                  "CREATE INDEX tasks_content_hash ON tasks(content_hash);"
                                  "CREATE TABLE task_waits ("
                                  "  task_id INTEGER PRIMARY KEY,"
                                  "  release TEXT NOT NULL,"
                                  "  modules TEXT NOT NULL,"
                                  "  build_ids TEXT NOT NULL,"
                                  "  since_usec INTEGER NOT NULL,"
                                  "  stamp INTEGER NOT NULL DEFAULT -1);"
                                  "PRAGMA user_version = 4;"
                                  "COMMIT;");
                if (r < 0)
                        return r;
        }
        /* v5: the task manager's notes and case (bug) reference of a task. */
        return store_exec(s, "BEGIN;"
                             "ALTER TABLE tasks ADD COLUMN notes TEXT;"
                             "ALTER TABLE tasks ADD COLUMN case_ref TEXT;"
                             "PRAGMA user_version = 5;"
                             "COMMIT;");
}

static int store_migrate_v1(TaskStore *s)
{
        return store_exec(s, "BEGIN;"
                             "CREATE TABLE tasks ("
                             "  id INTEGER PRIMARY KEY,"
                             "  password_hash BLOB NOT NULL,"
                             "  type INTEGER NOT NULL,"
                             "  status TEXT NOT NULL,"
                             "  stage TEXT NOT NULL,"
                             "  created_usec INTEGER NOT NULL,"
                             "  started_usec INTEGER,"
                             "  finished_usec INTEGER);"
                             "CREATE INDEX tasks_status ON tasks(status, created_usec);"
                             "PRAGMA user_version = 1;"
                             "COMMIT;");
}

int sqlite_store_open(const char *path, TaskStore **ret)
{
        _cleanup_(task_store_freep) TaskStore *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        s = calloc(1, sizeof(SqliteStore));
        if (!s)
                return -ENOMEM;
        s->backend = &task_store_backend_sqlite;
        /* The store holds every task's password hash: 0600 whatever the umask, and sqlite gives its
         * -wal and -shm files the mode of the database file. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0600) < 0)
                return -errno;
        fd = safe_close(fd);
        r = sqlite3_open_v2(path, &sqlite_db(s),
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
        if (r != SQLITE_OK)
                return sqlite_errno(r) ?: -EIO;
        (void) sqlite3_busy_timeout(sqlite_db(s), 5000);
        r = store_exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
        if (r < 0)
                return r;
        r = store_migrate(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static TaskStore *sqlite_store_free(TaskStore *s)
{
        if (!s)
                return NULL;
        if (sqlite_db(s))
                (void) sqlite3_close_v2(sqlite_db(s));
        return mfree(s);
}

static int sqlite_store_create(TaskStore *s, TaskType type, uint64_t *ret_id,
                               char ret_password[TASK_PASSWORD_LEN + 1])
{
        char password[TASK_PASSWORD_LEN + 1];
        uint8_t hash[32];
        int r;

        r = store_random_password(password);
        if (r < 0)
                return r;
        r = store_password_hash(password, hash);
        if (r < 0)
                return r;
        for (int attempt = 0; attempt < 100; attempt++) {
                _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
                uint64_t id;

                r = store_random_task_id(&id);
                if (r < 0)
                        return r;
                r = store_prepare(s,
                                  "INSERT INTO tasks (id, password_hash, type, status, stage, created_usec) "
                                  "VALUES (?, ?, ?, 'PENDING', 'Analyzing crash data', ?)",
                                  &st);
                if (r < 0)
                        return r;
                sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
                sqlite3_bind_blob(st, 2, hash, sizeof(hash), SQLITE_STATIC);
                sqlite3_bind_int(st, 3, type);
                sqlite3_bind_int64(st, 4, now_realtime_usec());
                r = sqlite3_step(st);
                if ((r & 0xff) == SQLITE_CONSTRAINT)
                        continue; /* id taken: draw again */
                if (r != SQLITE_DONE)
                        return sqlite_errno(r) ?: -EIO;
                *ret_id = id;
                memcpy(ret_password, password, sizeof(password));
                return 0;
        }
        return -EEXIST;
}

/* Runs a query of one task by id (its only parameter) and steps to the row; -ENOENT without one. */
static int store_select_task(TaskStore *s, const char *sql, uint64_t id, sqlite3_stmt **ret)
{
        sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r != SQLITE_ROW) {
                (void) sqlite3_finalize(st);
                return r == SQLITE_DONE ? -ENOENT : sqlite_errno(r) ?: -EIO;
        }
        *ret = st;
        return 0;
}

static int sqlite_store_get(TaskStore *s, uint64_t id, Task **ret)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        r = store_select_task(
                s,
                "SELECT type, status, stage, created_usec, started_usec, finished_usec, notes, case_ref "
                "FROM tasks WHERE id = ?",
                id, &st);
        if (r < 0)
                return r;
        t = calloc(1, sizeof(Task));
        if (!t)
                return -ENOMEM;
        t->id = id;
        t->type = (TaskType) sqlite3_column_int(st, 0);
        t->status = task_status_from_string((const char *) sqlite3_column_text(st, 1));
        t->stage = strdup((const char *) sqlite3_column_text(st, 2));
        if (!t->stage)
                return -ENOMEM;
        t->created_usec = sqlite3_column_int64(st, 3);
        t->started_usec = sqlite3_column_int64(st, 4);
        t->finished_usec = sqlite3_column_int64(st, 5);
        t->notes = column_strdup(st, 6);
        t->case_ref = column_strdup(st, 7);
        *ret = TAKE_PTR(t);
        return 0;
}

static int sqlite_store_check_password(TaskStore *s, uint64_t id, const char *password)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        uint8_t hash[32], diff = 0;
        const uint8_t *stored;
        int r;

        r = store_select_task(s, "SELECT password_hash FROM tasks WHERE id = ?", id, &st);
        if (r < 0)
                return r;
        if (sqlite3_column_bytes(st, 0) != sizeof(hash))
                return -EBADMSG;
        stored = sqlite3_column_blob(st, 0);
        r = store_password_hash(password, hash);
        if (r < 0)
                return r;
        /* Compare hashes in constant time. */
        for (size_t i = 0; i < sizeof(hash); i++)
                diff |= hash[i] ^ stored[i];
        return diff == 0 ? 0 : -EACCES;
}

static int store_update(TaskStore *s, const char *sql, uint64_t id, const char *text, int64_t usec)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, usec);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        return sqlite3_changes(sqlite_db(s)) > 0 ? 0 : -ENOENT;
}

static int store_delete_stages(TaskStore *s, uint64_t id)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "DELETE FROM task_stages WHERE task_id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        r = sqlite3_step(st);
        return r == SQLITE_DONE ? 0 : sqlite_errno(r) ?: -EIO;
}

/* Appends (id, stage, usec) to task_stages. */
static int store_add_stage(TaskStore *s, uint64_t id, const char *stage, int64_t usec)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "INSERT INTO task_stages (task_id, stage, started_usec) VALUES (?, ?, ?)", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, usec);
        r = sqlite3_step(st);
        return r == SQLITE_DONE ? 0 : sqlite_errno(r) ?: -EIO;
}

static int sqlite_store_set_stage(TaskStore *s, uint64_t id, const char *stage)
{
        int64_t now = now_realtime_usec();
        int r;

        r = store_update(
                s, "UPDATE tasks SET stage = ?1, started_usec = COALESCE(started_usec, ?2) WHERE id = ?3",
                id, stage, now);
        if (r < 0)
                return r;
        return store_add_stage(s, id, stage, now);
}

static int sqlite_store_finish(TaskStore *s, uint64_t id, bool success, const char *stage)
{
        int64_t now = now_realtime_usec();
        int r;

        r = store_update(
                s,
                success ? "UPDATE tasks SET status = 'FINISHED_SUCCESS', stage = ?1, finished_usec = ?2 "
                          "WHERE id = ?3"
                        : "UPDATE tasks SET status = 'FINISHED_FAILURE', stage = ?1, finished_usec = ?2 "
                          "WHERE id = ?3",
                id, stage, now);
        if (r < 0)
                return r;
        return store_add_stage(s, id, stage, now);
}

static int sqlite_store_list_stages(TaskStore *s, uint64_t id, TaskStage **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        TaskStage *v = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = store_prepare(s,
                          "SELECT stage, started_usec FROM task_stages WHERE task_id = ? "
                          "ORDER BY started_usec, rowid LIMIT 64",
                          &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(v, alloc, n + 1) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                v[n].stage = strdup((const char *) sqlite3_column_text(st, 0));
                if (!v[n].stage) {
                        r = -ENOMEM;
                        goto fail;
                }
                v[n++].started_usec = sqlite3_column_int64(st, 1);
        }
        if (r != SQLITE_DONE) {
                r = sqlite_errno(r) ?: -EIO;
                goto fail;
        }
        *ret = v;
        *ret_n = n;
        return 0;
fail:
        task_stages_free(v, n);
        return r;
}

/* A finished task runs again from the start: PENDING, its stage history cleared. -EBUSY while it is
 * still PENDING (waiting or running). */
static int sqlite_store_restart(TaskStore *s, uint64_t id)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        Task *t = NULL;
        TaskStatus status;
        int r;

        r = sqlite_store_get(s, id, &t);
        if (r < 0)
                return r;
        status = t->status;
        task_free(t);
        if (status == TASK_STATUS_PENDING)
                return -EBUSY;
        r = store_prepare(s,
                          "UPDATE tasks SET status = 'PENDING', stage = 'Analyzing crash data', "
                          "started_usec = NULL, finished_usec = NULL, created_usec = ?1, "
                          "content_hash = '" TASK_CONTENT_HASH_RERUN "' "
                          "WHERE id = ?2 AND status != 'PENDING'",
                          &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, now_realtime_usec());
        sqlite3_bind_int64(st, 2, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        if (sqlite3_changes(sqlite_db(s)) == 0)
                return -EBUSY;
        return store_delete_stages(s, id);
}

static int sqlite_store_delete(TaskStore *s, uint64_t id)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_delete_stages(s, id);
        if (r >= 0)
                r = sqlite_store_clear_waiting(s, id);
        if (r < 0)
                return r;
        r = store_prepare(s, "DELETE FROM tasks WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        return sqlite3_changes(sqlite_db(s)) > 0 ? 0 : -ENOENT;
}

static int sqlite_store_count(TaskStore *s, TaskStatus status, uint64_t *ret)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "SELECT COUNT(*) FROM tasks WHERE status = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, task_status_to_string(status), -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        *ret = (uint64_t) sqlite3_column_int64(st, 0);
        return 0;
}

static int sqlite_store_list_pending(TaskStore *s, uint64_t **ret_ids, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = store_prepare(s, "SELECT id FROM tasks WHERE status = 'PENDING' ORDER BY created_usec", &st);
        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(ids, alloc, n + 1) < 0)
                        return -ENOMEM;
                ids[n++] = (uint64_t) sqlite3_column_int64(st, 0);
        }
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int sqlite_store_add_stats(TaskStore *s, const TaskStats *t)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *missing = NULL;
        int r;

        missing = t->missing_build_ids ? strv_join(t->missing_build_ids, "\n") : strdup("");
        if (!missing)
                return -ENOMEM;
        r = store_prepare(
                s,
                "INSERT OR REPLACE INTO stats (task_id, finished_usec, package, release, arch, core_size, "
                "analyze_usec, prepare_usec, run_usec, total_usec, success, missing_build_ids, duphash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) t->id);
        sqlite3_bind_int64(st, 2, now_realtime_usec());
        sqlite3_bind_text(st, 3, t->package, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, t->release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, t->arch, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64) t->core_size);
        sqlite3_bind_int64(st, 7, t->analyze_usec);
        sqlite3_bind_int64(st, 8, t->prepare_usec);
        sqlite3_bind_int64(st, 9, t->run_usec);
        sqlite3_bind_int64(st, 10, t->total_usec);
        sqlite3_bind_int(st, 11, t->success);
        sqlite3_bind_text(st, 12, missing, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, t->duphash, -1, SQLITE_STATIC);
        r = sqlite3_step(st);
        return r == SQLITE_DONE ? 0 : sqlite_errno(r) ?: -EIO;
}

static int sqlite_store_set_content_hash(TaskStore *s, uint64_t id, const char *hash)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "UPDATE tasks SET content_hash = ? WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        return sqlite3_changes(sqlite_db(s)) > 0 ? 0 : -ENOENT;
}

static int sqlite_store_get_content_hash(TaskStore *s, uint64_t id, char **ret)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        char *hash = NULL;
        int r;

        r = store_select_task(s, "SELECT content_hash FROM tasks WHERE id = ?", id, &st);
        if (r < 0)
                return r;
        if (sqlite3_column_type(st, 0) != SQLITE_NULL && !(hash = column_strdup(st, 0)))
                return -ENOMEM;
        *ret = hash;
        return 0;
}

static int sqlite_store_find_reusable(TaskStore *s, const char *hash, int type, uint64_t exclude,
                                      ReusableTask *ret)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        ReusableTask t = {};
        int r;

        r = store_prepare(
                s,
                "SELECT t.id, st.package, st.release, st.arch, st.duphash, st.core_size FROM tasks t "
                "JOIN stats st ON st.task_id = t.id WHERE t.content_hash = ? AND t.type = ? AND "
                "t.id != ? AND t.status = 'FINISHED_SUCCESS' AND st.success "
                "ORDER BY t.finished_usec DESC LIMIT 1",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, type);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) exclude);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return sqlite_errno(r) ?: -EIO;
        t.id = (uint64_t) sqlite3_column_int64(st, 0);
        t.package = column_strdup(st, 1);
        t.release = column_strdup(st, 2);
        t.arch = column_strdup(st, 3);
        t.duphash = column_strdup(st, 4);
        t.core_size = (uint64_t) sqlite3_column_int64(st, 5);
        *ret = t;
        return 0;
}

static int sqlite_store_set_waiting(TaskStore *s, uint64_t id, const char *release, char *const *modules,
                                    char *const *build_ids)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *m = strv_join(modules, "\n"), *b = strv_join(build_ids, "\n");
        int r;

        if (!m || !b)
                return -ENOMEM;
        /* a task waiting again after a retry keeps the start of its window */
        r = store_prepare(s,
                          "INSERT INTO task_waits (task_id, release, modules, build_ids, since_usec) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(task_id) DO UPDATE SET release = ?2, "
                          "modules = ?3, build_ids = ?4, stamp = -1",
                          &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        sqlite3_bind_text(st, 2, release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, m, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, b, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now_realtime_usec());
        r = sqlite3_step(st);
        return r == SQLITE_DONE ? 0 : sqlite_errno(r) ?: -EIO;
}

static int sqlite_store_clear_waiting(TaskStore *s, uint64_t id)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "DELETE FROM task_waits WHERE task_id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        r = sqlite3_step(st);
        return r == SQLITE_DONE ? 0 : sqlite_errno(r) ?: -EIO;
}

static int sqlite_store_set_waiting_stamp(TaskStore *s, uint64_t id, int64_t stamp)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "UPDATE task_waits SET stamp = ? WHERE task_id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, stamp);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) id);
        r = sqlite3_step(st);
        return r == SQLITE_DONE ? 0 : sqlite_errno(r) ?: -EIO;
}

static int store_list_waiting(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        WaitingTask *v = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = store_prepare(
                s,
                "SELECT w.task_id, w.release, w.modules, w.build_ids, w.since_usec, w.stamp "
                "FROM task_waits w JOIN tasks t ON t.id = w.task_id "
                "WHERE w.since_usec >= ?1 AND ((?2 = 0 AND t.status != 'PENDING') OR w.task_id = ?2) "
                "ORDER BY w.since_usec",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, since_min);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) id);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                WaitingTask *w;

                if (ARRAY_RESERVE(v, alloc, n + 1) < 0)
                        goto oom;
                w = &v[n++];
                *w = (WaitingTask){ .id = (uint64_t) sqlite3_column_int64(st, 0),
                                    .release = column_strdup(st, 1),
                                    .since_usec = sqlite3_column_int64(st, 4),
                                    .stamp = sqlite3_column_int64(st, 5) };
                if (!w->release ||
                    strv_split((const char *) sqlite3_column_text(st, 2) ?: "", "\n", &w->modules) < 0 ||
                    strv_split((const char *) sqlite3_column_text(st, 3) ?: "", "\n", &w->build_ids) < 0)
                        goto oom;
        }
        if (r != SQLITE_DONE) {
                waiting_tasks_free(v, n);
                return sqlite_errno(r) ?: -EIO;
        }
        *ret = v;
        *ret_n = n;
        return 0;
oom:
        waiting_tasks_free(v, n);
        return -ENOMEM;
}

static int sqlite_store_list_waiting(TaskStore *s, int64_t since_min, WaitingTask **ret, size_t *ret_n)
{
        return store_list_waiting(s, 0, since_min, ret, ret_n);
}

static int sqlite_store_get_waiting(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret)
{
        WaitingTask *v = NULL;
        size_t n = 0;
        int r;

        r = store_list_waiting(s, id, since_min, &v, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(v);
                return -ENOENT;
        }
        *ret = v;
        return 0;
}

static int sqlite_store_list_finished(TaskStore *s, FinishedTask **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ FinishedTask *l = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = store_prepare(s,
                          "SELECT id, status, COALESCE(finished_usec, created_usec) FROM tasks "
                          "WHERE status != 'PENDING' ORDER BY 3",
                          &st);
        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(l, alloc, n + 1) < 0)
                        return -ENOMEM;
                l[n++] = (FinishedTask){
                        .id = (uint64_t) sqlite3_column_int64(st, 0),
                        .success = streq((const char *) sqlite3_column_text(st, 1), "FINISHED_SUCCESS"),
                        .finished_usec = sqlite3_column_int64(st, 2),
                };
        }
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

static int strcmp_ptr(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Rows of (label, count, success) from a query. */
static int stats_rows(TaskStore *s, const char *sql, StatsRow **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        StatsRow *rows = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                const char *label = (const char *) sqlite3_column_text(st, 0);

                if (ARRAY_RESERVE(rows, alloc, n + 1) < 0 || !(rows[n].label = strdup(label ?: "unknown"))) {
                        stats_rows_free(rows, n);
                        return -ENOMEM;
                }
                rows[n].count = (uint64_t) sqlite3_column_int64(st, 1);
                rows[n].success = (uint64_t) sqlite3_column_int64(st, 2);
                n++;
        }
        if (r != SQLITE_DONE) {
                stats_rows_free(rows, n);
                return sqlite_errno(r) ?: -EIO;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static int cmp_int64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

/* Median and 95th percentile of one duration column of the statistics. */
static int stats_durations(TaskStore *s, const char *column, StatsDuration *ret)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        _cleanup_free_ int64_t *v = NULL;
        size_t n = 0, alloc = 0;
        int r;

        if (asprintf(&sql, "SELECT %s FROM stats", column) < 0)
                return -ENOMEM;
        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(v, alloc, n + 1) < 0)
                        return -ENOMEM;
                v[n++] = sqlite3_column_int64(st, 0);
        }
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        if (n > 0)
                qsort_safe(v, n, sizeof(int64_t), cmp_int64);
        ret->median_usec = n ? v[(n - 1) / 2] : 0;
        ret->p95_usec = n ? v[(n * 95 + 99) / 100 - 1] : 0;
        return 0;
}

/* The most frequent missing build-ids (at most 20), counted over the newline-separated lists. */
static int stats_missing(TaskStore *s, StatsRow **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_strv_free_ char **all = NULL;
        StatsRow *rows = NULL;
        size_t n, n_rows = 0;
        int r;

        r = store_prepare(s, "SELECT missing_build_ids FROM stats WHERE missing_build_ids != ''", &st);
        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                _cleanup_strv_free_ char **l = NULL;

                r = strv_split((const char *) sqlite3_column_text(st, 0), "\n", &l);
                if (r < 0)
                        return r;
                STRV_FOREACH (m, l)
                        if ((r = strv_extend(&all, *m)) < 0)
                                return r;
        }
        n = strv_length(all);
        if (n > 0)
                qsort_safe(all, n, sizeof(char *), strcmp_ptr);
        rows = calloc(MIN(n, (size_t) 20) + 1, sizeof(StatsRow));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n && n_rows < 20;) {
                size_t k = i;

                while (k < n && streq(all[k], all[i]))
                        k++;
                rows[n_rows] = (StatsRow){ .label = strdup(all[i]), .count = k - i };
                if (!rows[n_rows++].label) {
                        stats_rows_free(rows, n_rows);
                        return -ENOMEM;
                }
                i = k;
        }
        *ret = rows;
        *ret_n = n_rows;
        return 0;
}

/* The largest buckets of successful tasks, most crashes first. */
static int stats_buckets(TaskStore *s, StatsBucket **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        StatsBucket *v = NULL;
        size_t n = 0, alloc = 0;
        int r;

        r = store_prepare(s,
                          "SELECT duphash, COUNT(*), MIN(finished_usec), MAX(finished_usec), "
                          "group_concat(DISTINCT release), group_concat(DISTINCT package) FROM stats "
                          "WHERE duphash IS NOT NULL AND success GROUP BY duphash "
                          "ORDER BY 2 DESC, 4 DESC LIMIT ?",
                          &st);
        if (r < 0)
                return r;
        sqlite3_bind_int(st, 1, STATS_BUCKETS_MAX);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                const char *releases = (const char *) sqlite3_column_text(st, 4),
                           *packages = (const char *) sqlite3_column_text(st, 5);
                StatsBucket *b;

                if (ARRAY_RESERVE(v, alloc, n + 1) < 0)
                        goto oom;
                b = &v[n++];
                *b = (StatsBucket){ .hash = column_strdup(st, 0),
                                    .count = (uint64_t) sqlite3_column_int64(st, 1),
                                    .first_usec = sqlite3_column_int64(st, 2),
                                    .last_usec = sqlite3_column_int64(st, 3) };
                /* release ids and package NEVRAs hold no ',' (group_concat's separator) */
                if (!b->hash || strv_split(strempty(releases), ",", &b->releases) < 0 ||
                    strv_split(strempty(packages), ",", &b->packages) < 0)
                        goto oom;
        }
        if (r != SQLITE_DONE) {
                stats_buckets_free(v, n);
                return sqlite_errno(r) ?: -EIO;
        }
        *ret = v;
        *ret_n = n;
        return 0;
oom:
        stats_buckets_free(v, n);
        return -ENOMEM;
}

static int sqlite_store_bucket(TaskStore *s, uint64_t id, char **ret_hash, uint64_t *ret_others)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *hash = NULL;
        int r;

        r = store_prepare(s,
                          "SELECT a.duphash, (SELECT COUNT(*) FROM stats b WHERE b.duphash = a.duphash AND "
                          "b.success AND b.task_id != a.task_id) FROM stats a "
                          "WHERE a.task_id = ? AND a.duphash IS NOT NULL AND a.success",
                          &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return sqlite_errno(r) ?: -EIO;
        hash = column_strdup(st, 0);
        if (!hash)
                return -ENOMEM;
        *ret_hash = TAKE_PTR(hash);
        *ret_others = (uint64_t) sqlite3_column_int64(st, 1);
        return 0;
}

static int sqlite_store_statistics(TaskStore *s, TaskStatistics *ret)
{
        static const char *const queries[_STATS_TABLE_MAX] = {
                [STATS_TOTALS] = "SELECT 'all', COUNT(*), COALESCE(SUM(success), 0) FROM stats",
                [STATS_RELEASES] =
                        "SELECT release, COUNT(*), SUM(success) FROM stats GROUP BY release ORDER BY 2 DESC",
                [STATS_ARCHES] =
                        "SELECT arch, COUNT(*), SUM(success) FROM stats GROUP BY arch ORDER BY 2 DESC",
                [STATS_PACKAGES] = "SELECT package, COUNT(*), SUM(success) FROM stats GROUP BY package "
                                   "ORDER BY 2 DESC LIMIT 20",
                [STATS_DAYS] = "SELECT date(finished_usec / 1000000, 'unixepoch'), COUNT(*), SUM(success) "
                               "FROM stats GROUP BY 1 ORDER BY 1 DESC LIMIT 60",
        };
        static const char *const columns[_TASK_STAGE_KIND_MAX] = { "analyze_usec", "prepare_usec",
                                                                   "run_usec", "total_usec" };
        TaskStatistics st = {};
        int r = 0;

        for (size_t i = 0; i < _STATS_TABLE_MAX && r >= 0; i++)
                r = queries[i] ? stats_rows(s, queries[i], &st.rows[i], &st.n_rows[i])
                               : stats_missing(s, &st.rows[i], &st.n_rows[i]);
        for (size_t i = 0; i < _TASK_STAGE_KIND_MAX && r >= 0; i++)
                r = stats_durations(s, columns[i], &st.durations[i]);
        if (r >= 0)
                r = stats_buckets(s, &st.buckets, &st.n_buckets);
        if (r < 0) {
                task_statistics_done(&st);
                return r;
        }
        *ret = st;
        return 0;
}

static char *column_strdup(sqlite3_stmt *st, int i)
{
        const char *v = (const char *) sqlite3_column_text(st, i);
        return v ? strdup(v) : NULL;
}

static int sqlite_store_list(TaskStore *s, const char *status, const char *query, unsigned limit,
                             TaskListEntry **ret, size_t *ret_n)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *like = NULL;
        TaskListEntry *v = NULL;
        size_t n = 0, alloc = 0;
        int r;

        if (!isempty(query)) {
                /* The query is a plain substring: LIKE's own wildcards are escaped. */
                size_t len = strlen(query);
                char *p;

                like = malloc(len * 2 + 3);
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
        r = store_prepare(
                s,
                "SELECT t.id, t.type, t.status, t.stage, t.created_usec, t.finished_usec, "
                "s.package, s.release, s.arch, t.notes, t.case_ref FROM tasks t "
                "LEFT JOIN stats s ON s.task_id = t.id "
                "WHERE (?1 IS NULL OR t.status = ?1) AND (?2 IS NULL OR CAST(t.id AS TEXT) LIKE ?2 "
                "ESCAPE '\\' OR s.package LIKE ?2 ESCAPE '\\' OR s.release LIKE ?2 ESCAPE '\\' "
                "OR t.notes LIKE ?2 ESCAPE '\\' OR t.case_ref LIKE ?2 ESCAPE '\\') "
                "ORDER BY t.created_usec DESC LIMIT ?3",
                &st);
        if (r < 0)
                return r;
        if (!isempty(status))
                sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        if (like)
                sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, limit);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(v, alloc, n + 1) < 0) {
                        task_list_entries_free(v, n);
                        return -ENOMEM;
                }
                v[n++] = (TaskListEntry){
                        .id = (uint64_t) sqlite3_column_int64(st, 0),
                        .type = sqlite3_column_int(st, 1),
                        .status = column_strdup(st, 2),
                        .stage = column_strdup(st, 3),
                        .created_usec = sqlite3_column_int64(st, 4),
                        .finished_usec = sqlite3_column_int64(st, 5),
                        .package = column_strdup(st, 6),
                        .release = column_strdup(st, 7),
                        .arch = column_strdup(st, 8),
                        .notes = column_strdup(st, 9),
                        .case_ref = column_strdup(st, 10),
                };
        }
        if (r != SQLITE_DONE) {
                task_list_entries_free(v, n);
                return sqlite_errno(r) ?: -EIO;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int sqlite_store_totals(TaskStore *s, TaskTotals *ret)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(
                s,
                "SELECT COUNT(*), COALESCE(SUM(success), 0), COALESCE(SUM(analyze_usec), 0), "
                "COALESCE(SUM(prepare_usec), 0), COALESCE(SUM(run_usec), 0), COALESCE(SUM(total_usec), 0) "
                "FROM stats",
                &st);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        ret->finished = (uint64_t) sqlite3_column_int64(st, 0);
        ret->succeeded = (uint64_t) sqlite3_column_int64(st, 1);
        for (int i = 0; i < _TASK_STAGE_KIND_MAX; i++)
                ret->stage_usec_sum[i] = sqlite3_column_int64(st, i + 2);
        return 0;
}

static int sqlite_store_set_notes(TaskStore *s, uint64_t id, const char *notes, const char *case_ref)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        r = store_prepare(s, "UPDATE tasks SET notes = ?1, case_ref = ?2 WHERE id = ?3", &st);
        if (r < 0)
                return r;
        if (!isempty(notes))
                sqlite3_bind_text(st, 1, notes, -1, SQLITE_STATIC);
        if (!isempty(case_ref))
                sqlite3_bind_text(st, 2, case_ref, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) id);
        r = sqlite3_step(st);
        if (r != SQLITE_DONE)
                return sqlite_errno(r) ?: -EIO;
        return sqlite3_changes(sqlite_db(s)) > 0 ? 0 : -ENOENT;
}

const TaskStoreBackend task_store_backend_sqlite = {
        .name = "sqlite",
        .free = sqlite_store_free,
        .create = sqlite_store_create,
        .get = sqlite_store_get,
        .check_password = sqlite_store_check_password,
        .set_stage = sqlite_store_set_stage,
        .finish = sqlite_store_finish,
        .delete = sqlite_store_delete,
        .list_stages = sqlite_store_list_stages,
        .restart = sqlite_store_restart,
        .list = sqlite_store_list,
        .count = sqlite_store_count,
        .add_stats = sqlite_store_add_stats,
        .bucket = sqlite_store_bucket,
        .set_content_hash = sqlite_store_set_content_hash,
        .get_content_hash = sqlite_store_get_content_hash,
        .find_reusable = sqlite_store_find_reusable,
        .set_waiting = sqlite_store_set_waiting,
        .clear_waiting = sqlite_store_clear_waiting,
        .set_waiting_stamp = sqlite_store_set_waiting_stamp,
        .list_waiting = sqlite_store_list_waiting,
        .get_waiting = sqlite_store_get_waiting,
        .list_finished = sqlite_store_list_finished,
        .statistics = sqlite_store_statistics,
        .totals = sqlite_store_totals,
        .set_notes = sqlite_store_set_notes,
        .list_pending = sqlite_store_list_pending,
};
