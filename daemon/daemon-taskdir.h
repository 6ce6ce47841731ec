/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* The one owner of SaveDir's layout; nothing else builds these paths:
 *
 *   SaveDir/tasks.db               the task store (daemon-store.c)
 *   SaveDir/.incoming/XXXXXX/      an upload being received: upload (the archive), crash/ (its members)
 *   SaveDir/<id>/crash/            the upload's files, read-only for the debugger
 *   SaveDir/<id>/results/          what the task produces (log, backtrace, …)
 *   SaveDir/<id>/converted/        a vmcore converted from makedumpfile's flattened format
 *   SaveDir/<id>/remote/           a task from a URL or DropDir: request, download, progress
 *   SaveDir/.vmcores/<sha256>      hard links to crash files by content (daemon-dedup.c: DedupVmcores)
 *
 * Used alike by the HTTP layer (spools, results), the pipeline (a task's parts by fd) and the
 * maintenance loop (removal, free space). */

typedef enum TaskPart {
        TASK_PART_CRASH,
        TASK_PART_RESULTS,
        TASK_PART_CONVERTED,
        TASK_PART_REMOTE,
        _TASK_PART_MAX,
        _TASK_PART_INVALID = -22,
} TaskPart;

const char *task_part_to_string(TaskPart p);

/* An upload's spool: SaveDir/.incoming/<owner>XXXXXX (0700) with the archive open for writing; owner
 * names the daemon process that made it, so that a later process knows it as stale. */
typedef struct TaskSpool {
        char *path;
        int upload_fd; /* "upload", O_RDWR */
} TaskSpool;

int task_spool_create(const char *save_dir, const char *owner, TaskSpool *ret);
/* Removes the spools in SaveDir/.incoming whose name does not start with owner (all of them when
 * owner is NULL): uploads of an earlier process, which nobody will finish. Returns how many. */
int task_spool_remove_stale(const char *save_dir, const char *owner);
/* The same, sparing spools modified in the last min_age_sec seconds (a SaveDir shared by several
 * daemons holds the uploads other daemons are receiving). */
int task_spool_remove_stale_older(const char *save_dir, const char *owner, unsigned min_age_sec);
/* Makes the spool's crash/ (0755: readable by the sandbox's unprivileged id; the spool and then the
 * task directory keep everyone else out) and opens it. */
int task_spool_open_crash(TaskSpool *s, int *ret_fd);
/* Makes the spool's remote/ (0700, the daemon's own) and opens it: a task from a URL or DropDir. */
int task_spool_open_remote(TaskSpool *s, int *ret_fd);
/* The archive is no longer needed once unpacked. */
void task_spool_drop_upload(TaskSpool *s);
/* The spool becomes SaveDir/<id>. */
int task_spool_commit(TaskSpool *s, const char *save_dir, uint64_t id);
/* Removes whatever is left of the spool; safe to call twice. */
void task_spool_remove(TaskSpool *s);

/* Opens SaveDir/<id>/<part> below save_dir_fd (results/ and converted/ created when create is set;
 * converted/ writable for the sandbox's id). -ENOENT when the task or the part does not exist. */
int task_dir_open_part(int save_dir_fd, uint64_t id, TaskPart part, int create, int *ret_fd);
/* SaveDir/<id>/<part> as a path, for the sandbox's bind mounts. */
int task_dir_part_path(const char *save_dir, uint64_t id, TaskPart part, char **ret);
/* SaveDir/<id>/sandbox.lock: every sandbox of the task holds an flock on it while any of its
 * processes lives (retrace-sandbox --lock), so a restarted daemon cannot run the task while an
 * older sandbox of it still does. Outside results/, which a rerun removes. */
int task_dir_lock_path(const char *save_dir, uint64_t id, char **ret);
/* Whether SaveDir/<id>/results/<name> exists. */
int task_dir_has_result(int save_dir_fd, uint64_t id, const char *name);
/* SHA-256 (lower-case hex) over the regular files of a task's crash/ (crash_fd) in name order: each
 * file's name, a NUL, its size as 8 bytes little-endian, its content. Other entries count by name. */
int task_dir_content_hash(int crash_fd, char ret[65]);
/* Appends one line to a task's log in its format: "[YYYY-MM-DD HH:MM:SS] [level] msg". */
void task_log_append(int log_fd, char level, const char *msg);
/* The SHA-256 of what fd still has to read, as 64 hex digits. */
int file_sha256_hex(int fd, char ret[65]);
/* Gives task `to` the results of task `from`: every regular file of from's results/ except those
 * in except (NULL-terminated) is hard-linked (copied when a link is not possible) into to's results/,
 * replacing what is there. */
int task_dir_link_results(int save_dir_fd, uint64_t from, uint64_t to, const char *const *except);
/* Removes SaveDir/<id>/results (a task run again from the start). */
int task_dir_remove_results(const char *save_dir, uint64_t id);
/* Removes the crash files of a task (the contents of crash/, and converted/), keeping its results. */
int task_dir_drop_crash_files(const char *save_dir, uint64_t id);
/* SaveDir/<id> as a path (for hooks, which are told where their task is). */
int task_dir_path(const char *save_dir, uint64_t id, char **ret);
/* Removes SaveDir/<id> and everything in it. */
int task_dir_remove(const char *save_dir, uint64_t id);
/* Bytes free for an unprivileged writer in SaveDir. */
int task_dir_free_space(const char *save_dir, uint64_t *ret);
