/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cache-index.h"
#include "cache-store.h"

/* The kernel debuginfo package of a vmcore: by the vmlinux build-id (a .build-id link), else by the
 * path of vmlinux for the kernel release osrelease (Fedora's /usr/lib/debug/lib/modules/R/vmlinux,
 * merged-/usr and Debian layouts). Any release of the index is searched. Either of build_id and
 * osrelease may be NULL. ret_vmlinux is the path of vmlinux in the package, ret_how "build-id" or
 * "release". -ENOENT when no package has it. */
int cache_find_kernel_debuginfo(CacheIndex *idx, const char *build_id, const char *osrelease, int64_t *ret_id,
                                char **ret_vmlinux, const char **ret_how);

/* The path of the cache object holding the content of path among files (the file list of package
 * pkg), following the package's own symlinks (a .build-id link points to vmlinux), so that one file
 * of a package can be bound into a sandbox without the whole package. -ENOENT when the package has no
 * such file, -EBADF when it is not a regular file with a digest. */
int cache_package_file_object(Cache *c, const PackageInfo *pkg, const PackageFile *files, size_t n,
                              const char *path, char **ret);

/* The debug files of the modules of kernel release osrelease among files (the file list of its
 * debuginfo package): regular files named *.ko or *.ko.debug below /usr/lib/debug/lib/modules/R/ or
 * /usr/lib/debug/usr/lib/modules/R/. -ENOENT when there is none. */
int cache_kernel_module_files(const PackageFile *files, size_t n, const char *osrelease, char ***ret);
