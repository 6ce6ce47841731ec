/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-extract.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-evict.h"
#include "cache-import.h"
#include "common-path.h"
#include "common-string.h"
#include "common-time.h"

ExtractPlan *extract_plan_free(ExtractPlan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++) {
                free(p->jobs[i].sha256);
                free(p->jobs[i].nevra);
                free(p->jobs[i].reason);
                strv_free(p->jobs[i].paths);
        }
        free(p->jobs);
        return mfree(p);
}

int cache_rpm_path(const char *repo_dir, const char *sha256, char **ret)
{
        if (!repo_dir)
                return -ENOENT;
        if (strlen(sha256) < 3 || strchr(sha256, '/'))
                return -EINVAL;
        return asprintf(ret, "%s/packages/%.2s/%s.rpm", repo_dir, sha256, sha256) < 0 ? -ENOMEM : 0;
}

bool cache_package_partial(const Cache *c, const PackageInfo *p)
{
        return c->limits.partial_size > 0 && p->installed_size > c->limits.partial_size &&
               (string_endswith(p->name, "-debuginfo") || string_endswith(p->name, "-dbg") ||
                string_endswith(p->name, "-dbgsym"));
}

/* The wanted paths of package id that are not in the store yet (maybe none). */
static int wanted_paths(CacheIndex *idx, int64_t id, const ExtractWant *wants, size_t n_wants, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < n_wants; i++) {
                _cleanup_free_ char *path = NULL;
                bool done = false, regular = false;

                if (wants[i].id != id || !wants[i].path)
                        continue;
                /* The package's own symlinks followed (a .build-id link to the debug file). */
                path = strdup(wants[i].path);
                if (!path)
                        return -ENOMEM;
                for (int hops = 0; hops < 16; hops++) {
                        PackageFile f = {};
                        char *next;

                        r = cache_index_get_file(idx, id, path, &f);
                        if (r == -ENOENT)
                                break;
                        if (r < 0)
                                return r;
                        regular = S_ISREG(f.mode);
                        next = S_ISLNK(f.mode) && f.link ? path_resolve_link(path, f.link) : NULL;
                        package_file_done(&f);
                        if (!next)
                                break;
                        free(path);
                        path = next;
                }
                if (!regular || strv_contains(l, path))
                        continue;
                r = cache_index_get_file_extracted(idx, id, path, &done);
                if (r == -ENOENT || (r >= 0 && done))
                        continue;
                if (r < 0)
                        return r;
                r = strv_extend(&l, path);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool wanted(int64_t id, const ExtractWant *wants, size_t n_wants)
{
        for (size_t i = 0; i < n_wants; i++)
                if (wants[i].id == id && wants[i].path)
                        return true;
        return false;
}

int cache_extract_plan(Cache *c, const int64_t *ids, size_t n, ExtractPlan **ret)
{
        return cache_extract_plan_for(c, ids, n, NULL, 0, ret);
}

int cache_extract_plan_for(Cache *c, const int64_t *ids, size_t n, const ExtractWant *wants, size_t n_wants,
                           ExtractPlan **ret)
{
        _cleanup_(extract_plan_freep) ExtractPlan *p = calloc(1, sizeof(ExtractPlan));
        int r;

        if (!p)
                return -ENOMEM;
        p->jobs = calloc(n ? n : 1, sizeof(ExtractJob));
        if (!p->jobs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                PackageInfo info = {};
                _cleanup_strv_free_ char **paths = NULL;
                bool extracted, dup = false;

                for (size_t j = 0; j < p->n && !dup; j++)
                        dup = p->jobs[j].id == ids[i];
                if (dup)
                        continue;
                r = cache_index_get_extracted(c->index, ids[i], &extracted);
                if (r < 0)
                        return r;
                if (extracted)
                        continue;
                r = cache_index_get_package(c->index, ids[i], &info);
                if (r < 0)
                        return r;
                if (cache_package_partial(c, &info) && wanted(ids[i], wants, n_wants)) {
                        r = wanted_paths(c->index, ids[i], wants, n_wants, &paths);
                        if (r < 0) {
                                package_info_done(&info);
                                return r;
                        }
                        if (!paths) { /* all there already */
                                package_info_done(&info);
                                continue;
                        }
                }
                p->jobs[p->n] = (ExtractJob){
                        .paths = TAKE_PTR(paths),
                        .id = ids[i],
                        .sha256 = TAKE_PTR(info.sha256),
                        .nevra = package_info_nevra(&info),
                        .installed_size = info.installed_size,
                };
                package_info_done(&info);
                if (!p->jobs[p->n++].nevra)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

/* flock on CacheDir/locks/<sha256>, exclusive, on a file description of our own. */
static int lock_package(Cache *c, const char *sha256, int *ret_fd)
{
        _cleanup_close_ int dir_fd = -EBADF;
        int fd;

        if (mkdirat(c->dir_fd, "locks", 0755) < 0 && errno != EEXIST)
                return -errno;
        dir_fd = openat(c->dir_fd, "locks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        fd = openat(dir_fd, sha256, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int r = -errno;

                        (void) close(fd);
                        return r;
                }
        *ret_fd = fd;
        return 0;
}

static int extract_one(Cache *c, CacheIndex *idx, ExtractJob *j)
{
        _cleanup_close_ int lock_fd = -EBADF;
        _cleanup_free_ char *rpm = NULL;
        bool extracted;
        int r;

        r = cache_rpm_path(c->limits.repo_dir, j->sha256, &rpm);
        if (r == -ENOENT) {
                string_set_printf(&j->reason, "no RepoDir to extract it from");
                return r;
        }
        if (r < 0)
                return r;
        r = lock_package(c, j->sha256, &lock_fd);
        if (r < 0) {
                string_set_printf(&j->reason, "cannot lock %s/locks/%s: %s", c->dir, j->sha256,
                                  strerror(-r));
                return r;
        }
        /* Someone else may have extracted it while we waited for the lock. */
        r = cache_index_get_extracted(idx, j->id, &extracted);
        if (r < 0 || extracted)
                return r;
        if (j->paths) {
                size_t m = 0;

                for (size_t i = 0; j->paths[i]; i++) {
                        bool done = false;

                        r = cache_index_get_file_extracted(idx, j->id, j->paths[i], &done);
                        if (r < 0 && r != -ENOENT)
                                return r;
                        if (r >= 0 && !done)
                                j->paths[m++] = j->paths[i];
                        else
                                free(j->paths[i]);
                }
                j->paths[m] = NULL;
                if (m == 0)
                        return 0;
        }
        r = cache_unpack_rpm(c, rpm, j->sha256, j->paths, &j->bytes, &j->reason);
        if (r == -EBADMSG) {
                _cleanup_free_ char *aside = NULL;

                /* Out of the way: the next sync sees it missing and downloads it again. */
                if (asprintf(&aside, "%s.corrupt", rpm) >= 0 && rename(rpm, aside) >= 0)
                        string_set_printf(&j->reason,
                                          "%s; moved aside as %s, the next sync downloads it again",
                                          strna(j->reason), aside);
        }
        if (r < 0)
                return r;
        if (j->paths) {
                r = cache_index_begin(idx);
                if (r >= 0) {
                        r = cache_index_mark_files_extracted(idx, j->id, j->paths);
                        if (r >= 0)
                                r = cache_index_commit(idx);
                        else
                                (void) cache_index_rollback(idx);
                }
        } else
                r = cache_index_set_extracted(idx, j->id, true);
        if (r < 0) {
                string_set_printf(&j->reason, "cannot record the extraction in the index: %s",
                                  cache_index_strerror(idx));
                return r;
        }
        j->extracted = true;
        return 0;
}

typedef struct Runner {
        Cache *cache;
        ExtractPlan *plan;
        size_t next;
        bool failed;
        pthread_mutex_t lock;
} Runner;

static void *runner_thread(void *userdata)
{
        Runner *run = userdata;
        _cleanup_(cache_index_closep) CacheIndex *idx = NULL;
        _cleanup_free_ char *path = path_join(run->cache->dir, "index.sqlite");
        int r;

        r = path ? cache_index_open(path, &idx) : -ENOMEM;
        for (;;) {
                ExtractJob *j;

                pthread_mutex_lock(&run->lock);
                if (run->failed || run->next >= run->plan->n) {
                        pthread_mutex_unlock(&run->lock);
                        break;
                }
                j = &run->plan->jobs[run->next++];
                pthread_mutex_unlock(&run->lock);

                if (r < 0)
                        string_set_printf(&j->reason, "cannot open the index: %s", strerror(-r));
                j->error = r < 0 ? r : extract_one(run->cache, idx, j);
                if (j->error < 0) {
                        pthread_mutex_lock(&run->lock);
                        run->failed = true;
                        pthread_mutex_unlock(&run->lock);
                }
        }
        return NULL;
}

int cache_extract_run(Cache *c, ExtractPlan *plan, unsigned jobs, ExtractResult *ret, char **ret_reason)
{
        Runner run = { .cache = c, .plan = plan, .lock = PTHREAD_MUTEX_INITIALIZER };
        _cleanup_close_ int lock_fd = -EBADF, use_fd = -EBADF;
        ExtractResult result = {};
        pthread_t threads[64];
        unsigned n_threads = 0;
        int64_t start = now_monotonic_usec();
        int r;

        if (plan->n == 0) {
                if (ret)
                        *ret = result;
                return 0;
        }
        r = cache_rpm_init(); /* once, before the threads */
        if (r < 0) {
                string_set_printf(ret_reason, "cannot load the rpm configuration (is rpm installed?)");
                return r;
        }
        r = cache_use_lock(c, NULL, NULL, &use_fd); /* eviction waits */
        if (r < 0)
                return r;
        r = cache_lock_shared(c, NULL, NULL, &lock_fd); /* gc waits while objects are staged */
        if (r < 0)
                return r;
        if (jobs == 0) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);

                jobs = cpus > 0 ? (unsigned) cpus : 1;
        }
        jobs = MIN(MIN(jobs, (unsigned) ELEMENTSOF(threads)), (unsigned) plan->n);
        if (jobs <= 1)
                (void) runner_thread(&run);
        else {
                for (unsigned i = 0; i < jobs; i++) {
                        if (pthread_create(&threads[n_threads], NULL, runner_thread, &run) != 0)
                                break;
                        n_threads++;
                }
                if (n_threads == 0)
                        (void) runner_thread(&run);
                for (unsigned i = 0; i < n_threads; i++)
                        (void) pthread_join(threads[i], NULL);
        }
        pthread_mutex_destroy(&run.lock);

        r = 0;
        for (size_t i = 0; i < plan->n; i++) {
                ExtractJob *j = &plan->jobs[i];

                if (j->error < 0 && r == 0) {
                        r = j->error;
                        string_set_printf(ret_reason, "cannot extract %s: %s", j->nevra,
                                          j->reason ?: strerror(-r));
                }
                if (j->extracted) {
                        result.packages++;
                        if (j->paths) {
                                result.partial++;
                                result.files += strv_length(j->paths);
                        }
                        result.bytes += j->bytes;
                        result.installed_size += j->installed_size;
                }
        }
        result.usec = now_monotonic_usec() - start;
        if (ret)
                *ret = result;
        return r;
}

int cache_extract_packages(Cache *c, const int64_t *ids, size_t n, unsigned jobs, ExtractResult *ret,
                           char **ret_reason)
{
        _cleanup_(extract_plan_freep) ExtractPlan *plan = NULL;
        int r;

        r = cache_extract_plan(c, ids, n, &plan);
        if (r < 0)
                return r;
        return cache_extract_run(c, plan, jobs, ret, ret_reason);
}
