/* SPDX-License-Identifier: GPL-2.0-or-later */
/* debuginfod's questions answered from the package cache (see cache-debuginfod.h). */
#include "cache-debuginfod.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-elf.h"
#include "cache-lookup.h"
#include "common-path.h"
#include "common-string.h"

static const char *const debuginfod_kind_table[_DEBUGINFOD_KIND_MAX] = {
        [DEBUGINFOD_DEBUGINFO] = "debuginfo",
        [DEBUGINFOD_EXECUTABLE] = "executable",
        [DEBUGINFOD_SOURCE] = "source",
        [DEBUGINFOD_SECTION] = "section",
};

DEFINE_STRING_TABLE_TO_STRING(debuginfod_kind, DebuginfodKind, _DEBUGINFOD_KIND_MAX)
DEFINE_STRING_TABLE_FROM_STRING(debuginfod_kind, DebuginfodKind, _DEBUGINFOD_KIND_MAX,
                                _DEBUGINFOD_KIND_INVALID)

void debuginfod_file_done(DebuginfodFile *f)
{
        f->fd = safe_close(f->fd);
        free(f->nevra);
        free(f->path);
        *f = (DebuginfodFile){ .fd = -EBADF };
}

int debuginfod_source_path(const char *path, char **ret)
{
        char *out;
        int r;

        if (!path)
                return -EINVAL;
        r = path_simplify(path, true, &out);
        if (r < 0)
                return r;
        if (streq(out, "/")) {
                free(out);
                return -EINVAL; /* the root itself is no file */
        }
        *ret = out;
        return 0;
}

/* One place an answer may come from: a regular file of a package. */
typedef struct Candidate {
        PackageInfo package;
        PackageFile file;
} Candidate;

static void candidates_free(Candidate *a, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                package_info_done(&a[i].package);
                package_file_done(&a[i].file);
        }
        free(a);
}

static int package_info_copy(const PackageInfo *p, PackageInfo *ret)
{
        *ret = *p;
        ret->sha256 = strdup(p->sha256);
        ret->name = strdup(p->name);
        ret->version = strdup(p->version);
        ret->release = strdup(p->release);
        ret->arch = strdup(p->arch);
        ret->sourcerpm = p->sourcerpm ? strdup(p->sourcerpm) : NULL;
        if (!ret->sha256 || !ret->name || !ret->version || !ret->release || !ret->arch ||
            (p->sourcerpm && !ret->sourcerpm)) {
                package_info_done(ret);
                return -ENOMEM;
        }
        return 0;
}

/* Adds path of package p when it is a regular file there. */
static int candidate_add(Cache *c, const PackageInfo *p, const char *path, Candidate **a, size_t *n)
{
        PackageFile f = {};
        Candidate *grown;
        int r;

        r = cache_index_get_file(c->index, p->id, path, &f);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!S_ISREG(f.mode) || !f.digest) {
                package_file_done(&f);
                return 0;
        }
        grown = realloc(*a, (*n + 1) * sizeof(Candidate));
        if (!grown) {
                package_file_done(&f);
                return -ENOMEM;
        }
        *a = grown;
        r = package_info_copy(p, &grown[*n].package);
        if (r < 0) {
                package_file_done(&f);
                return r;
        }
        grown[*n].file = f;
        (*n)++;
        return 0;
}

/* A source file: in any package of the build the debug file (else the binary) comes from. */
static int source_candidates(Cache *c, const LookupHit *hit, const char *path, Candidate **a, size_t *n)
{
        PackageInfo *siblings = NULL;
        size_t n_siblings = 0;
        int r;

        r = cache_index_find_build_siblings(c->index, NULL, &hit->package, &siblings, &n_siblings);
        if (r == -ENOENT)
                return candidate_add(c, &hit->package, path, a, n);
        for (size_t i = 0; r >= 0 && i < n_siblings && *n == 0; i++)
                r = candidate_add(c, &siblings[i], path, a, n);
        package_info_array_free(siblings, n_siblings);
        return r;
}

/* The regular file a build-id link of package p leads to inside p itself (the usual layout: the
 * link and its target ship together); -ENOENT when it leads elsewhere. */
static int link_in_package(Cache *c, const PackageInfo *p, const char *link, PackageFile *ret)
{
        _cleanup_free_ char *path = strdup(link);
        PackageFile f = {};
        int r;

        if (!path)
                return -ENOMEM;
        for (unsigned hops = 0; hops < 8; hops++) {
                char *next;

                r = cache_index_get_file(c->index, p->id, path, &f);
                if (r < 0)
                        return r;
                if (S_ISREG(f.mode) && f.digest) {
                        *ret = f;
                        return 0;
                }
                if (!S_ISLNK(f.mode) || !f.link) {
                        package_file_done(&f);
                        return -ENOENT;
                }
                next = path_resolve_link(path, f.link);
                package_file_done(&f);
                if (!next)
                        return -ENOMEM;
                free(path);
                path = next;
        }
        return -ENOENT;
}

/* The package and file a build-id link of kind names, when link and file ship in one package. */
static int direct_hit(Cache *c, const char *build_id, BuildIdKind kind, LookupHit *ret)
{
        BuildIdHit *hits = NULL;
        size_t n = 0;
        int r;

        r = cache_index_lookup_build_id(c->index, build_id, NULL, &hits, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n && r == -ENOENT; i++) {
                PackageFile f = {};

                if (hits[i].kind != kind)
                        continue;
                r = link_in_package(c, &hits[i].package, hits[i].path, &f);
                if (r < 0)
                        continue;
                *ret = (LookupHit){ .found = true, .package = hits[i].package, .path = TAKE_PTR(f.path) };
                hits[i].package = (PackageInfo){};
                package_file_done(&f);
        }
        build_id_hit_array_free(hits, n);
        return r;
}

/* The binary and debuginfo hits of a build-id: its links where they lead inside their own package
 * (a few index reads), else the resolver's rules (which also follow links across packages). */
static int lookup(Cache *c, const char *build_id, bool need_binary, bool need_debuginfo, ModulePackages *m)
{
        ModuleQuery q = { .build_id = build_id };
        int r;

        if (need_binary) {
                r = direct_hit(c, build_id, BUILD_ID_BINARY, &m->binary);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if (need_debuginfo) {
                r = direct_hit(c, build_id, BUILD_ID_DEBUG, &m->debuginfo);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if ((!need_binary || m->binary.found) && (!need_debuginfo || m->debuginfo.found))
                return 0;
        module_packages_done(m);
        return cache_lookup_module(c, NULL, &q, m);
}

/* Where the answer may come from, best first (index only). */
static int locate(Cache *c, DebuginfodKind kind, const char *build_id, const char *arg, Candidate **ret,
                  size_t *ret_n)
{
        _cleanup_(module_packages_done) ModulePackages m = {};
        Candidate *a = NULL;
        size_t n = 0;
        int r;

        r = lookup(c, build_id, kind != DEBUGINFOD_DEBUGINFO, kind != DEBUGINFOD_EXECUTABLE, &m);
        if (r < 0)
                return r;
        switch (kind) {
        case DEBUGINFOD_DEBUGINFO:
                if (m.debuginfo.found)
                        r = candidate_add(c, &m.debuginfo.package, m.debuginfo.path, &a, &n);
                break;
        case DEBUGINFOD_EXECUTABLE:
                if (m.binary.found)
                        r = candidate_add(c, &m.binary.package, m.binary.path, &a, &n);
                break;
        case DEBUGINFOD_SOURCE:
                if (m.debuginfo.found)
                        r = source_candidates(c, &m.debuginfo, arg, &a, &n);
                if (r >= 0 && n == 0 && m.binary.found)
                        r = source_candidates(c, &m.binary, arg, &a, &n);
                break;
        case DEBUGINFOD_SECTION:
                if (m.debuginfo.found)
                        r = candidate_add(c, &m.debuginfo.package, m.debuginfo.path, &a, &n);
                if (r >= 0 && m.binary.found)
                        r = candidate_add(c, &m.binary.package, m.binary.path, &a, &n);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0) {
                candidates_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int cache_debuginfod_find(Cache *c, DebuginfodKind kind, const char *build_id, const char *arg,
                          DebuginfodFile *ret)
{
        LookupExtracted extracted = {};
        Candidate *a = NULL;
        size_t n = 0;
        int r;

        if (IN_SET(kind, DEBUGINFOD_SOURCE, DEBUGINFOD_SECTION) == !arg)
                return -EINVAL;
        r = locate(c, kind, build_id, arg, &a, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n && r == -ENOENT; i++) {
                _cleanup_close_ int fd = -EBADF;
                uint64_t offset = 0, size = a[i].file.size;
                struct stat st;

                /* Extracts the package first when needed (of a big debuginfo package only this
                 * file), with the caller's index lock released meanwhile. */
                r = cache_package_file_open(c, &a[i].package, &a[i].file, &fd);
                if (r < 0)
                        break;
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        break;
                }
                size = (uint64_t) st.st_size;
                if (kind == DEBUGINFOD_SECTION) {
                        r = elf_section_locate(fd, arg, &offset, &size);
                        if (r == -EBADMSG)
                                r = -ENOENT;
                        if (r < 0)
                                continue;
                        if (offset > (uint64_t) st.st_size || size > (uint64_t) st.st_size - offset) {
                                r = -ENOENT; /* a section beyond the file's end */
                                continue;
                        }
                }
                *ret = (DebuginfodFile){
                        .fd = TAKE_FD(fd),
                        .offset = offset,
                        .size = size,
                        .nevra = package_info_nevra(&a[i].package),
                        .path = strdup(a[i].file.path),
                };
                if (!ret->nevra || !ret->path) {
                        debuginfod_file_done(ret);
                        r = -ENOMEM;
                } else
                        r = 0;
        }
        candidates_free(a, n);
        /* What this thread's lookups extracted goes to the caller with the answer, never to a task's
         * later report. */
        cache_lookup_take_extracted(&extracted);
        if (r >= 0) {
                ret->extracted_packages = extracted.packages + strv_length(extracted.partial);
                ret->extracted_bytes = extracted.bytes;
                ret->extracted_usec = extracted.usec;
        }
        strv_free(extracted.partial);
        return r;
}
