/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Archiving finished tasks to ArchiveDir (daemon-archive-tasks.h). */
#include "daemon-archive-tasks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-file.h"
#include "common-json.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-hooks.h"
#include "daemon-taskdir.h"

#define ARCHIVE_MAX_DEPTH 8 /* a task directory is two levels deep; anything deeper is not ours */

static int copy_file_at(int from_fd, int to_fd, const char *name, mode_t mode)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;

        in = openat(from_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in < 0)
                return -errno;
        out = openat(to_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0777);
        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t k = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && IN_SET(errno, EXDEV, EINVAL, ENOSYS, EOPNOTSUPP))
                        break; /* not between these file systems: read and write */
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
        }
        for (;;) {
                char buf[65536];
                ssize_t k = read(in, buf, sizeof(buf));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                if (fd_write_all(out, buf, (size_t) k) < 0)
                        return -EIO;
        }
}

/* Copies the directory tree below from_fd into to_fd: directories and regular files (their modes);
 * nothing else occurs in a task directory and nothing else is copied. */
static int copy_tree_at(int from_fd, int to_fd, unsigned depth)
{
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        int fd, r = 0;

        if (depth > ARCHIVE_MAX_DEPTH)
                return -ELOOP;
        fd = openat(from_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    (r = strv_extend(&names, de->d_name)) < 0)
                        break;
        closedir(d);
        if (r < 0)
                return r;
        STRV_FOREACH (n, names) {
                struct stat st;

                if (fstatat(from_fd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISREG(st.st_mode))
                        r = copy_file_at(from_fd, to_fd, *n, st.st_mode);
                else if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub_from = -EBADF, sub_to = -EBADF;

                        if (mkdirat(to_fd, *n, st.st_mode & 0777) < 0)
                                return -errno;
                        sub_from = openat(from_fd, *n, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        sub_to = openat(to_fd, *n, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (sub_from < 0 || sub_to < 0)
                                return -errno;
                        r = copy_tree_at(sub_from, sub_to, depth + 1);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* SaveDir/<id> → ArchiveDir/<id>: rename() on one file system; else a copy under a hidden name renamed
 * into place once complete, then the original removed. */
static int move_task_dir(const char *from, const char *archive_dir, uint64_t id, const char *to)
{
        _cleanup_free_ char *partial = NULL;
        _cleanup_close_ int from_fd = -EBADF, to_fd = -EBADF;
        struct stat st;
        int r;

        if (lstat(to, &st) >= 0)
                return -EEXIST;
        if (rename(from, to) >= 0)
                return 0;
        if (errno != EXDEV)
                return -errno;
        if (asprintf(&partial, "%s/.%" PRIu64 ".partial", archive_dir, id) < 0)
                return -ENOMEM;
        (void) path_rm_rf(partial); /* an earlier attempt's */
        if (mkdir(partial, 0700) < 0)
                return -errno;
        from_fd = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        to_fd = open(partial, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        r = from_fd < 0 || to_fd < 0 ? -errno : copy_tree_at(from_fd, to_fd, 0);
        if (r >= 0 && fsync(to_fd) < 0)
                r = -errno;
        if (r >= 0 && rename(partial, to) < 0)
                r = -errno;
        if (r < 0) {
                (void) path_rm_rf(partial);
                return r;
        }
        return path_rm_rf(from);
}

/* task.json: what the store knew of the task, beside its files. */
static int write_task_json(const char *dir, const Task *t)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        json_t *o;
        int r;

        o = json_pack("{s:I, s:i, s:o, s:o, s:I, s:I, s:I, s:o, s:o}", "id", (json_int_t) t->id, "type",
                      t->type, "status", json_string_safe(task_status_to_string(t->status)), "stage",
                      json_string_safe(t->stage), "created_usec", (json_int_t) t->created_usec,
                      "started_usec", (json_int_t) t->started_usec, "finished_usec",
                      (json_int_t) t->finished_usec, "notes", json_string_safe(t->notes ?: ""), "case",
                      json_string_safe(t->case_ref ?: ""));
        if (!o)
                return -ENOMEM;
        r = json_dump_take(o, true, &text);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        return file_write_atomic_at(fd, "task.json", text, strlen(text), 0640);
}

int task_archive(const RetraceConfig *c, TaskStore *s, uint64_t id, char **ret_error)
{
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_free_ char *from = NULL, *to = NULL;
        HookTask h;
        bool hooks;
        int r;

        r = task_store_get(s, id, &t);
        if (r < 0)
                return r;
        r = task_dir_path(c->save_dir, id, &from);
        if (r < 0)
                return r;
        if (asprintf(&to, "%s/%" PRIu64, c->archive_dir, id) < 0)
                return -ENOMEM;
        r = path_mkdir_p(c->archive_dir, 0750);
        if (r < 0)
                return asprintf(ret_error, "cannot create ArchiveDir %s: %s", c->archive_dir, strerror(-r)) <
                                       0
                               ? -ENOMEM
                               : r;
        hooks = !isempty(c->hook_dir) && hook_task_from_store(c, s, id, &h) >= 0;
        if (hooks) {
                h.cleanup = "archive";
                (void) hooks_run(c, HOOK_PRE_CLEAN_TASK, &h, NULL);
        }
        r = write_task_json(from, t);
        if (r >= 0)
                r = move_task_dir(from, c->archive_dir, id, to);
        if (r < 0) {
                if (hooks)
                        hook_task_done(&h);
                if (asprintf(ret_error, "cannot move %s to %s: %s%s", from, to, strerror(-r),
                             r == -EEXIST ? " (an earlier archive of that id is in the way: move it)" : "") <
                    0)
                        *ret_error = NULL;
                return r;
        }
        r = task_store_delete(s, id);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Task %" PRIu64 " archived to %s but still in the task store: %m", id,
                                  to);
        if (hooks) {
                h.dir = to;
                (void) hooks_run(c, HOOK_POST_CLEAN_TASK, &h, NULL);
                hook_task_done(&h);
        }
        return 0;
}

bool task_archived(const RetraceConfig *c, uint64_t id)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (isempty(c->archive_dir) || asprintf(&p, "%s/%" PRIu64, c->archive_dir, id) < 0)
                return false;
        return stat(p, &st) >= 0 && S_ISDIR(st.st_mode);
}
