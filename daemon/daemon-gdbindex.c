/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gdb's own cost: most of a warm retrace is gdb indexing DWARF. A debug file a task needs that has
 * no .gdb_index or .debug_names gets an index built once, by the release's gdb (`save gdb-index`)
 * in the sandbox over the task's root (package data only, nothing of the task's), stored as
 * CacheDir/gdb-index/<build-id>.gdb-index (gdb's index cache naming) beside the object store, so
 * that the package's verified objects stay as they are; every task's gdb reads them through its
 * index cache, bound read-only. A debug file with a dwz alt file gets the alt file's index too
 * (CacheDir/gdb-index/<alt file's build-id>.gdb-index: gdb's index cache reads the debug file's index
 * only with it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-elf.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-path.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-pipeline-task.h"

#define INDEX_DIR            "gdb-index"
#define MAX_INDEXES_PER_TASK 4096
#define MAX_INDEX_SIZE       ((off_t) 1 << 30)

/* Opens path of the root with symlinks resolved inside the root. */
static int open_in_root(const char *root, const char *path, int *ret)
{
        _cleanup_close_ int dir_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        long fd;

        if (dir_fd < 0)
                return -errno;
        fd = fd_openat2(dir_fd, path[0] == '/' ? path + 1 : path, &how);
        if (fd < 0)
                return -errno;
        *ret = (int) fd;
        return 0;
}

static bool valid_build_id(const char *b)
{
        size_t n = b ? strlen(b) : 0;

        return n >= 8 && n <= 128 && strspn(b, "0123456789abcdef") == n;
}

int task_gdb_index_dir(TaskRun *t, char **ret)
{
        _cleanup_free_ char *dir = NULL;

        if (!t->p->config->cache_gdb_index || t->vmcore)
                return -ENOENT;
        dir = path_join(t->p->cache->dir, INDEX_DIR);
        if (!dir)
                return -ENOMEM;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        *ret = TAKE_PTR(dir);
        return 0;
}

/* A regular file of sane size, whatever gdb (in the sandbox) left there, renamed to
 * <index_dir>/<build_id>.gdb-index. */
static int publish_one(int dir_fd, const char *name, int index_fd, const char *build_id, uint64_t *bytes)
{
        _cleanup_free_ char *target = NULL;
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size > MAX_INDEX_SIZE)
                return -EBADMSG;
        if (asprintf(&target, "%s.gdb-index", build_id) < 0)
                return -ENOMEM;
        (void) fchmodat(dir_fd, name, 0444, 0);
        if (renameat(dir_fd, name, index_fd, target) < 0)
                return -errno;
        *bytes += (uint64_t) st.st_size;
        return 0;
}

/* Moves the indexes gdb wrote into out/<i>/ to <index_dir>: `save gdb-index` names them by the files'
 * base names, the debug file's as <basename of path>.gdb-index and, with a dwz alt file, that file's
 * (gdb's index cache wants one for it too) as <its basename>.gdb-index: the one other name there. gdb's
 * index cache looks each up by its file's build-id. */
static int publish_index(int out_fd, size_t i, int index_fd, const char *path, const char *build_id,
                         const char *dwz_build_id, uint64_t *bytes)
{
        _cleanup_free_ char *main_name = NULL, *dwz_name = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_close_ int sub = -EBADF;
        const char *base = strrchr(path, '/');
        char name[32];
        int r;

        if (asprintf(&main_name, "%s.gdb-index", base ? base + 1 : path) < 0)
                return -ENOMEM;
        (void) snprintf(name, sizeof(name), "%zu", i);
        sub = openat(out_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return -errno;
        d = fdopendir(TAKE_FD(sub));
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                if (!string_endswith(de->d_name, ".gdb-index"))
                        continue;
                if (!dwz_build_id || streq(de->d_name, main_name)) {
                        /* without an alt file the one index there is the debug file's, whatever
                         * name gdb gave it (the file's resolved name) */
                        free(main_name);
                        main_name = strdup(de->d_name);
                        if (!main_name)
                                return -ENOMEM;
                        if (!dwz_build_id)
                                break;
                } else if (!dwz_name) {
                        dwz_name = strdup(de->d_name);
                        if (!dwz_name)
                                return -ENOMEM;
                }
        }
        if (dwz_build_id && !dwz_name)
                return -ENOENT; /* without it gdb ignores the debug file's index */
        /* The alt file's first: gdb takes the debug file's index only with it. */
        if (dwz_name) {
                r = publish_one(dirfd(d), dwz_name, index_fd, dwz_build_id, bytes);
                if (r < 0)
                        return r;
        }
        return publish_one(dirfd(d), main_name, index_fd, build_id, bytes);
}

int task_build_gdb_indexes(TaskRun *t)
{
        _cleanup_free_ char *index_dir = NULL, *tmp_name = NULL, *tmp_path = NULL, *failure = NULL;
        _cleanup_strv_free_ char **paths = NULL, **build_ids = NULL, **dwz_ids = NULL, **argv = NULL;
        _cleanup_close_ int index_fd = -EBADF, tmp_fd = -EBADF;
        unsigned cached = 0, indexed = 0, dwz = 0, built = 0, no_dwz = 0;
        uint64_t bytes = 0;
        int64_t start = now_monotonic_usec();
        int r, status;

        r = task_gdb_index_dir(t, &index_dir);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        index_fd = open(index_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (index_fd < 0)
                return -errno;
        for (size_t i = 0; i < t->resolution.n_modules && strv_length(paths) < MAX_INDEXES_PER_TASK; i++) {
                const ModuleResolution *m = &t->resolution.modules[i];
                _cleanup_free_ char *name = NULL;
                _cleanup_close_ int fd = -EBADF;
                ElfFacts f = {};

                if (!m->packages.debuginfo.found || !valid_build_id(m->build_id) ||
                    strv_contains(build_ids, m->build_id))
                        continue;
                if (asprintf(&name, "%s.gdb-index", m->build_id) < 0)
                        return -ENOMEM;
                /* An alt file's index is published before the debug file's: this one is enough. */
                if (faccessat(index_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0) {
                        cached++;
                        continue;
                }
                if (open_in_root(t->root, m->packages.debuginfo.path, &fd) < 0 ||
                    elf_facts_read(fd, 0, &f) < 0)
                        continue;
                if (f.has_index || !f.has_debug_info) {
                        indexed += f.has_index;
                        elf_facts_done(&f);
                        continue;
                }
                if (f.debugaltlink && !valid_build_id(f.altlink_build_id)) {
                        /* gdb's index cache names the alt file's index by its build-id */
                        no_dwz++;
                        elf_facts_done(&f);
                        continue;
                }
                dwz += !!f.debugaltlink;
                if (strv_extend(&paths, m->packages.debuginfo.path) < 0 ||
                    strv_extend(&build_ids, m->build_id) < 0 ||
                    strv_extend(&dwz_ids, f.debugaltlink ? f.altlink_build_id : "") < 0) {
                        elf_facts_done(&f);
                        return -ENOMEM;
                }
                elf_facts_done(&f);
        }
        if (!paths) {
                if (cached > 0 || indexed > 0 || no_dwz > 0)
                        task_log(
                                t, 'I',
                                "gdb indexes: %u in the cache, %u debug files with their own, %u with a dwz "
                                "alt link without build-id (not built)",
                                cached, indexed, no_dwz);
                return 0;
        }

        r = cache_make_tmpdir(t->p->cache, "gdb-index-", &tmp_name, &tmp_fd);
        if (r < 0)
                return r;
        if (asprintf(&tmp_path, "%s/tmp/%s", t->p->cache->dir, tmp_name) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        {
                const RetraceConfig *cfg = t->p->config;
                const char *head[] = { cfg->sandbox_path,
                                       "--root",
                                       t->root,
                                       "--bind",
                                       tmp_path,
                                       "/out",
                                       "--tmpfs",
                                       "/tmp",
                                       "--chdir",
                                       "/tmp",
                                       "--setenv",
                                       "HOME",
                                       "/tmp",
                                       "--setenv",
                                       "LANG",
                                       "C",
                                       "--setenv",
                                       "PATH",
                                       "/usr/bin:/bin",
                                       "--timeout",
                                       "600",
                                       "--output-limit",
                                       "16777216",
                                       "--status-fd",
                                       "3",
                                       "--",
                                       t->plugin->gdb_executable,
                                       "-batch",
                                       "-nx",
                                       "-iex",
                                       "set auto-load off",
                                       "-iex",
                                       "set debuginfod enabled off",
                                       "-iex",
                                       "set index-cache enabled off" };

                r = strv_extend_many(&argv, head, ELEMENTSOF(head));
                for (size_t i = 0; r >= 0 && paths[i]; i++) {
                        _cleanup_free_ char *file = NULL, *save = NULL;
                        char sub[32];

                        (void) snprintf(sub, sizeof(sub), "%zu", i);
                        if (mkdirat(tmp_fd, sub, 0777) < 0 || fchmodat(tmp_fd, sub, 0777, 0) < 0) {
                                r = -errno;
                                break;
                        }
                        if (asprintf(&file, "file %s", paths[i]) < 0 ||
                            asprintf(&save, "save gdb-index /out/%zu", i) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        r = strv_extend_many(&argv, (const char *const[]){ "-ex", file, "-ex", save }, 4);
                }
        }
        if (r < 0)
                goto finish;
        (void) fchmod(tmp_fd, 0777); /* the sandbox's user writes into it */
        r = task_sandbox_run(t, argv, -EBADF, "gdb-index-output", "gdb (building indexes)", 600, &status,
                             &failure);
        if (r < 0)
                goto finish;
        for (size_t i = 0; paths[i]; i++)
                if (publish_index(tmp_fd, i, index_fd, paths[i], build_ids[i],
                                  dwz_ids[i][0] ? dwz_ids[i] : NULL, &bytes) >= 0)
                        built++;
        task_log(
                t, built == strv_length(paths) ? 'I' : 'W',
                "gdb indexes: built %u of %zu for debug files without .gdb_index/.debug_names (%u of them "
                "with a dwz alt file; %.1f MB) in %.3f s; %u in the cache, %u with their own, %u with a dwz "
                "alt link without build-id (not built)",
                built, strv_length(paths), dwz, (double) bytes / 1e6,
                (double) (now_monotonic_usec() - start) / 1e6, cached, indexed, no_dwz);
finish:
        if (r < 0)
                task_log(t, 'W', "gdb indexes not built: %s", failure ?: strerror(-r));
        if (tmp_path)
                (void) path_rm_rf(tmp_path);
        return 0; /* without indexes gdb only takes longer */
}

void task_log_gdb_index_use(TaskRun *t)
{
        _cleanup_free_ char *err = NULL;
        unsigned tried = 0, missed = 0;

        if (file_read_at(t->results_fd, "sandbox-errors", 16 << 20, &err, NULL) < 0 || !err)
                return;
        for (const char *p = err; (p = strstr(p, "[index-cache] ")); p++) {
                if (string_startswith(p, "[index-cache] trying to read "))
                        tried++;
                else if (string_startswith(p, "[index-cache] couldn't read "))
                        missed++;
        }
        if (tried > 0)
                task_log(t, 'I', "gdb read %u indexes from the index cache (%u debug files had none there)",
                         tried - MIN(missed, tried), missed);
}
