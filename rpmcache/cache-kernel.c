/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lookups for vmcore tasks: the kernel debuginfo package, vmlinux's object, the modules' debug files. */
#include "cache-kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache-objects.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"

static const struct {
        const char *prefix, *suffix;
} vmlinux_paths[] = {
        { "/usr/lib/debug/lib/modules/", "/vmlinux" },     /* Fedora, RHEL, CentOS, openSUSE */
        { "/usr/lib/debug/usr/lib/modules/", "/vmlinux" }, /* merged /usr layouts */
        { "/usr/lib/debug/boot/vmlinux-", "" },            /* Debian, Ubuntu */
        { "/usr/lib/debug/vmlinux-", "" },
};

int cache_find_kernel_debuginfo(CacheIndex *idx, const char *build_id, const char *osrelease,
                                int64_t *ret_id, char **ret_vmlinux, const char **ret_how)
{
        BuildIdHit *hits = NULL;
        size_t n = 0;
        int r;

        if (build_id) {
                r = cache_index_lookup_build_id(idx, build_id, NULL, &hits, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (hits[i].kind == BUILD_ID_DEBUG) {
                                char *path = strdup(hits[i].path);
                                int64_t id = hits[i].package.id;

                                build_id_hit_array_free(hits, n);
                                if (!path)
                                        return -ENOMEM;
                                *ret_id = id;
                                *ret_vmlinux = path;
                                *ret_how = "build-id";
                                return 0;
                        }
                build_id_hit_array_free(hits, n);
        }
        for (size_t k = 0; osrelease && k < ELEMENTSOF(vmlinux_paths); k++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s%s%s", vmlinux_paths[k].prefix, osrelease, vmlinux_paths[k].suffix) <
                    0)
                        return -ENOMEM;
                hits = NULL;
                n = 0;
                r = cache_index_lookup_path(idx, path, NULL, &hits, &n);
                if (r < 0)
                        return r;
                if (n > 0) {
                        *ret_id = hits[n - 1].package.id; /* the newest import */
                        *ret_vmlinux = TAKE_PTR(path);
                        *ret_how = "release";
                        build_id_hit_array_free(hits, n);
                        return 0;
                }
                build_id_hit_array_free(hits, n);
        }
        return -ENOENT;
}

int cache_package_file_object(Cache *c, const PackageInfo *pkg, const PackageFile *files, size_t n,
                              const char *path, char **ret)
{
        _cleanup_free_ char *p = strdup(path), *name = NULL;
        int r = -ENOENT;

        if (!p)
                return -ENOMEM;
        for (int hops = 0; hops < 16 && r == -ENOENT; hops++) {
                const PackageFile *f = NULL;

                for (size_t i = 0; i < n && !f; i++)
                        if (streq(files[i].path, p))
                                f = &files[i];
                if (!f)
                        break;
                if (S_ISLNK(f->mode) && f->link) {
                        char *next = path_resolve_link(p, f->link);

                        if (!next)
                                return -ENOMEM;
                        free(p);
                        p = next;
                        continue;
                }
                if (!S_ISREG(f->mode) || !f->digest)
                        return -EBADF;
                r = cache_object_name(pkg->digest_algo, f->digest, f->mode, &name);
        }
        if (r < 0)
                return r;
        if (asprintf(ret, "%s/objects/%s", c->dir, name) < 0)
                return -ENOMEM;
        return 0;
}

int cache_kernel_module_files(const PackageFile *files, size_t n, const char *osrelease, char ***ret)
{
        static const char *const layouts[] = { "/usr/lib/debug/lib/modules/",
                                               "/usr/lib/debug/usr/lib/modules/" };
        _cleanup_strv_free_ char **found = NULL;
        int r = 0;

        if (!osrelease)
                return -ENOENT;
        for (size_t k = 0; k < ELEMENTSOF(layouts) && r >= 0; k++) {
                _cleanup_free_ char *dir = NULL;

                if (asprintf(&dir, "%s%s/", layouts[k], osrelease) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < n && r >= 0; i++)
                        if (S_ISREG(files[i].mode) && string_startswith(files[i].path, dir) &&
                            (string_endswith(files[i].path, ".ko") ||
                             string_endswith(files[i].path, ".ko.debug")))
                                r = strv_extend(&found, files[i].path);
        }
        if (r < 0)
                return r;
        if (!found)
                return -ENOENT;
        *ret = TAKE_PTR(found);
        return 0;
}
