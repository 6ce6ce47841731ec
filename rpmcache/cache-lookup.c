/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-evict.h"
#include "cache-extract.h"
#include "cache-objects.h"
#include "common-path.h"
#include "common-string.h"

#define DEBUG_DIR "/usr/lib/debug"
/* Symlinks followed while making a module's path canonical, as the kernel's limit. */
#define LOOKUP_MAX_LINKS 40
/* Candidates read to confirm a build-id, per module and rule. */
#define LOOKUP_MAX_CANDIDATES 64
/* Largest ELF file read for its notes (debug files can be big; libelf maps, it does not read). */
#define LOOKUP_MAX_ELF_SIZE (UINT64_C(16) << 30)

static const char *const lookup_rule_table[_LOOKUP_RULE_MAX] = {
        [LOOKUP_RULE_BINARY_LINK] = "binary build-id link",
        [LOOKUP_RULE_DEBUG_LINK] = "debug build-id link",
        [LOOKUP_RULE_LINK_TARGET] = "debug build-id link target in the same build",
        [LOOKUP_RULE_PACKAGE_NOTE] = ".note.package",
        [LOOKUP_RULE_CRASH_PACKAGES] = "package named by the crash",
        [LOOKUP_RULE_PATH] = "path in the release",
        [LOOKUP_RULE_BUILD_DEBUG] = "debug file of the same build",
        [LOOKUP_RULE_ALTLINK] = ".gnu_debugaltlink of the debug file",
        [LOOKUP_RULE_BUILD_DWZ] = "dwz directory of the same build",
};

const char *lookup_rule_to_string(LookupRule r)
{
        return r >= 0 && r < _LOOKUP_RULE_MAX ? lookup_rule_table[r] : NULL;
}

static void lookup_hit_done(LookupHit *h)
{
        package_info_done(&h->package);
        free(h->path);
        *h = (LookupHit){};
}

void module_packages_done(ModulePackages *m)
{
        lookup_hit_done(&m->binary);
        lookup_hit_done(&m->debuginfo);
        lookup_hit_done(&m->dwz);
        m->tried = strv_free(m->tried);
}

static int package_info_copy(const PackageInfo *p, PackageInfo *ret)
{
        PackageInfo c = *p;

        c.sha256 = strdup(p->sha256);
        c.name = strdup(p->name);
        c.version = strdup(p->version);
        c.release = strdup(p->release);
        c.arch = strdup(p->arch);
        c.sourcerpm = p->sourcerpm ? strdup(p->sourcerpm) : NULL;
        if (!c.sha256 || !c.name || !c.version || !c.release || !c.arch || (p->sourcerpm && !c.sourcerpm)) {
                package_info_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static int hit_set(LookupHit *h, const PackageInfo *p, const char *path, LookupRule rule, bool confirmed)
{
        LookupHit n = { .found = true, .rule = rule, .confirmed = confirmed };
        int r;

        n.path = strdup(path);
        if (!n.path)
                return -ENOMEM;
        r = package_info_copy(p, &n.package);
        if (r < 0) {
                free(n.path);
                return r;
        }
        lookup_hit_done(h);
        *h = n;
        return 0;
}

#define tried_add(m, ...) strv_extendf(&(m)->tried, __VA_ARGS__)

bool lookup_arch_compatible(const char *core_arch, const char *pkg_arch)
{
        static const char *const x86_32[] = { "i386",   "i486",     "i586",     "i686",
                                              "athlon", "pentium3", "pentium4", NULL };

        if (!core_arch || !pkg_arch || streq(pkg_arch, "noarch") || streq(core_arch, pkg_arch))
                return true;
        if (streq(core_arch, "i386"))
                return strv_contains((char **) x86_32, pkg_arch);
        if (streq(core_arch, "armhfp"))
                return streq(pkg_arch, "armv7hl") || streq(pkg_arch, "armv7hnl");
        return false;
}

bool lookup_version_matches(const char *version, const PackageInfo *p)
{
        const char *colon = strchr(version, ':'), *v = version, *dash;
        size_t vlen;

        if (colon) {
                char *end;
                unsigned long e;

                errno = 0;
                e = strtoul(version, &end, 10);
                if (errno != 0 || end != colon || end == version || e != p->epoch)
                        return false;
                v = colon + 1;
        }
        dash = strrchr(v, '-');
        vlen = dash ? (size_t) (dash - v) : strlen(v);
        if (strlen(p->version) != vlen || strncmp(p->version, v, vlen) != 0)
                return false;
        return !dash || streq(dash + 1, p->release);
}

static bool is_debug_package(const PackageInfo *p)
{
        return string_endswith(p->name, "-debuginfo") || string_endswith(p->name, "-debugsource") ||
               string_endswith(p->name, "-dbg") || string_endswith(p->name, "-dbgsym");
}

static _Thread_local LookupExtracted lookup_extracted;

void cache_lookup_take_extracted(LookupExtracted *ret)
{
        *ret = lookup_extracted;
        lookup_extracted = (LookupExtracted){};
}

int cache_package_file_open(Cache *c, const PackageInfo *p, const PackageFile *f, int *ret_fd)
{
        _cleanup_free_ char *name = NULL;
        int fd, r;

        if (!S_ISREG(f->mode) || !f->digest)
                return -EINVAL;
        r = cache_object_name(p->digest_algo, f->digest, f->mode, &name);
        if (r < 0)
                return r;
        fd = openat(c->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 && errno == ENOENT && c->limits.repo_dir) {
                /* Indexed, never extracted: extract the package now (it is a candidate of the
                 * task's root anyway; a big debuginfo package only this file, see
                 * cache_package_partial()), then read the object. */
                _cleanup_(extract_plan_freep) ExtractPlan *plan = NULL;
                _cleanup_close_ int use_fd = -EBADF;
                ExtractWant want = { .id = p->id, .path = f->path };
                ExtractResult res = {};

                /* Held until the object is open: eviction must not take it in between. */
                r = cache_use_lock(c, NULL, NULL, &use_fd);
                if (r < 0)
                        return r;
                r = cache_extract_plan_for(c, &p->id, 1, &want, 1, &plan);
                if (r >= 0 && plan->n > 0) {
                        /* Without the caller's index lock: other threads use the index meanwhile
                         * (the extraction has connections of its own). */
                        if (c->index_unlock)
                                c->index_unlock(c->index_lock_userdata);
                        r = cache_extract_run(c, plan, 1, &res, NULL);
                        if (c->index_lock)
                                c->index_lock(c->index_lock_userdata);
                }
                lookup_extracted.packages += res.packages;
                lookup_extracted.bytes += res.bytes;
                lookup_extracted.usec += res.usec;
                for (size_t i = 0; plan && i < plan->n; i++) {
                        const ExtractJob *j = &plan->jobs[i];
                        _cleanup_free_ char *paths = NULL, *line = NULL;

                        if (!j->extracted || !j->paths)
                                continue;
                        paths = strv_join(j->paths, ", ");
                        if (paths && asprintf(&line, "%zu files of %s (%.1f MB): %s", strv_length(j->paths),
                                              j->nevra, (double) j->bytes / 1e6, paths) >= 0)
                                (void) strv_extend(&lookup_extracted.partial, line);
                }
                if (r < 0)
                        return r;
                fd = openat(c->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        }
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* Reads the ELF facts of path in package p; -ENOENT when the package has no such regular file or
 * its object is not in the store. */
static int package_elf_facts(Cache *c, const PackageInfo *p, const char *path, ElfFacts *ret)
{
        _cleanup_close_ int fd = -EBADF;
        PackageFile f = {};
        int r;

        r = cache_index_get_file(c->index, p->id, path, &f);
        if (r < 0)
                return r;
        if (!S_ISREG(f.mode))
                r = -ENOENT;
        else
                r = cache_package_file_open(c, p, &f, &fd);
        package_file_done(&f);
        if (r < 0)
                return r;
        return elf_facts_read(fd, LOOKUP_MAX_ELF_SIZE, ret);
}

/* 1 when the file's build-id is the module's, 0 when it differs (recorded in m->tried), -ENOENT
 * when it could not be read. */
static int confirm_build_id(Cache *c, ModulePackages *m, const ModuleQuery *q, const PackageInfo *p,
                            const char *path)
{
        _cleanup_free_ char *nevra = NULL;
        ElfFacts f = {};
        int r;

        r = package_elf_facts(c, p, path, &f);
        if (r == -EBADMSG)
                r = -ENOENT;
        if (r < 0)
                return r;
        if (streq(f.build_id, q->build_id)) {
                elf_facts_done(&f);
                return 1;
        }
        nevra = package_info_nevra(p);
        r = tried_add(m, "%s in %s has build-id %s, not the module's", path, strna(nevra),
                      f.build_id[0] ? f.build_id : "(none)");
        elf_facts_done(&f);
        return r < 0 ? r : 0;
}

/* The path with every symlink that some package of the release ships along it resolved (merged
 * /usr: /lib64 → usr/lib64; soname links: libfoo.so.1 → libfoo.so.1.2.3). */
static int canonical_path(CacheIndex *idx, const char *release, const char *path, char **ret)
{
        _cleanup_free_ char *cur = strdup(path);
        unsigned links = 0;

        if (!cur)
                return -ENOMEM;
restart:
        for (const char *c = cur + 1;; c++) {
                _cleanup_free_ char *prefix = NULL;
                PackageFileHit *hits = NULL;
                size_t n = 0;
                const char *link = NULL;
                int r;

                if (*c != '/' && *c != '\0')
                        continue;
                prefix = strndup(cur, c - cur);
                if (!prefix)
                        return -ENOMEM;
                r = cache_index_find_file(idx, release, prefix, &hits, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n && !link; i++)
                        if (S_ISLNK(hits[i].file.mode) && hits[i].file.link)
                                link = hits[i].file.link;
                if (link) {
                        _cleanup_free_ char *target = path_resolve_link(prefix, link);
                        char *next;

                        if (!target) {
                                package_file_hit_array_free(hits, n);
                                return -ENOMEM;
                        }
                        if (asprintf(&next, "%s%s", streq(target, "/") ? "" : target, c) < 0) {
                                package_file_hit_array_free(hits, n);
                                return -ENOMEM;
                        }
                        package_file_hit_array_free(hits, n);
                        free(cur);
                        cur = next;
                        if (++links > LOOKUP_MAX_LINKS)
                                return -ELOOP;
                        goto restart;
                }
                package_file_hit_array_free(hits, n);
                if (*c == '\0')
                        break;
        }
        *ret = TAKE_PTR(cur);
        return 0;
}

/* Where a package's build-id link points: the absolute path of its target, or NULL when the
 * entry is not a symlink. */
static int link_target(CacheIndex *idx, const PackageInfo *p, const char *link_path, char **ret)
{
        PackageFile f = {};
        int r;

        r = cache_index_get_file(idx, p->id, link_path, &f);
        if (r < 0)
                return r;
        if (!S_ISLNK(f.mode) || !f.link)
                *ret = NULL;
        else if (!(*ret = path_resolve_link(link_path, f.link)))
                r = -ENOMEM;
        package_file_done(&f);
        return r < 0 ? r : 0;
}

/* The binary's path a debug file stands for: /usr/lib/debug/P.debug or, with unique debug names,
 * /usr/lib/debug/P-VERSION-RELEASE.ARCH.debug (VERSION-RELEASE.ARCH of the debuginfo package). */
static char *binary_path_of_debug_file(const char *debug_path, const PackageInfo *debuginfo)
{
        _cleanup_free_ char *suffix = NULL;
        const char *rest = string_startswith(debug_path, DEBUG_DIR), *end;
        size_t n;

        if (!rest || rest[0] != '/' || !(end = string_endswith(rest, ".debug")))
                return NULL;
        n = end - rest;
        if (asprintf(&suffix, "-%s-%s.%s", debuginfo->version, debuginfo->release, debuginfo->arch) < 0)
                return NULL;
        if (n > strlen(suffix) && strncmp(rest + n - strlen(suffix), suffix, strlen(suffix)) == 0)
                n -= strlen(suffix);
        return strndup(rest, n);
}

/* Rule (2): a binary package of the same build as debug_pkg that ships path. */
static int binary_in_build(Cache *c, const char *release, const ModuleQuery *q, const PackageInfo *debug_pkg,
                           const char *path, ModulePackages *m)
{
        PackageInfo *sib = NULL;
        size_t n = 0;
        int r;

        r = cache_index_find_build_siblings(c->index, release, debug_pkg, &sib, &n);
        if (r == -ENOENT)
                return tried_add(m, "%s names no source package", debug_pkg->name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0 && !m->binary.found; i++) {
                PackageFile f = {};

                if (is_debug_package(&sib[i]) || !lookup_arch_compatible(q->arch, sib[i].arch) ||
                    !streq(sib[i].arch, debug_pkg->arch))
                        continue;
                r = cache_index_get_file(c->index, sib[i].id, path, &f);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r >= 0 && S_ISREG(f.mode)) {
                        int ok = q->build_id ? confirm_build_id(c, m, q, &sib[i], path) : -ENOENT;

                        if (ok == -ENOENT || ok == 1)
                                r = hit_set(&m->binary, &sib[i], path, LOOKUP_RULE_LINK_TARGET, ok == 1);
                        else
                                r = ok;
                }
                package_file_done(&f);
        }
        package_info_array_free(sib, n);
        if (r >= 0 && !m->binary.found)
                r = tried_add(m, "no binary package of the build of %s ships %s", debug_pkg->name, path);
        return r;
}

/* Rules (3)-(5): candidates that hold the module's path, confirmed by build-id. With no build-id
 * in the core there is nothing to confirm with: the first candidate is taken, unconfirmed. */
static int binary_from_candidates(Cache *c, const ModuleQuery *q, const char *path, const PackageInfo *cands,
                                  size_t n, LookupRule rule, ModulePackages *m)
{
        unsigned tried = 0;
        int r = 0;

        for (size_t i = 0; i < n && !m->binary.found && tried < LOOKUP_MAX_CANDIDATES; i++) {
                PackageFile f = {};
                int ok;

                if (is_debug_package(&cands[i]) || !lookup_arch_compatible(q->arch, cands[i].arch))
                        continue;
                r = cache_index_get_file(c->index, cands[i].id, path, &f);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        return r;
                ok = S_ISREG(f.mode);
                package_file_done(&f);
                if (!ok)
                        continue;
                tried++;
                if (!q->build_id) {
                        r = hit_set(&m->binary, &cands[i], path, rule, false);
                        break;
                }
                ok = confirm_build_id(c, m, q, &cands[i], path);
                if (ok == -ENOENT) {
                        _cleanup_free_ char *nevra = package_info_nevra(&cands[i]);
                        r = tried_add(m, "%s of %s could not be read to confirm its build-id", path,
                                      strna(nevra));
                        continue;
                }
                if (ok < 0)
                        return ok;
                if (ok == 1)
                        r = hit_set(&m->binary, &cands[i], path, rule, true);
        }
        return r;
}

static int rule_package_note(Cache *c, const char *release, const ModuleQuery *q, const char *path,
                             ModulePackages *m)
{
        PackageInfo *pk = NULL, *keep;
        size_t n = 0, k = 0;
        int r;

        r = cache_index_find_packages(c->index, release, q->note->name, NULL, &pk, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        keep = pk;
        for (size_t i = 0; i < n; i++) {
                if (!lookup_version_matches(q->note->version, &pk[i]) ||
                    (q->note->architecture && !streq(q->note->architecture, pk[i].arch) &&
                     !streq(pk[i].arch, "noarch"))) {
                        package_info_done(&pk[i]);
                        continue;
                }
                keep[k++] = pk[i];
        }
        r = binary_from_candidates(c, q, path, keep, k, LOOKUP_RULE_PACKAGE_NOTE, m);
        package_info_array_free(keep, k);
        if (r >= 0 && !m->binary.found)
                r = tried_add(m, ".note.package names %s %s%s%s: no such package of the release ships %s",
                              q->note->name, q->note->version, q->note->architecture ? " " : "",
                              strempty(q->note->architecture), path);
        return r;
}

static int rule_crash_packages(Cache *c, const char *release, const ModuleQuery *q, const char *path,
                               ModulePackages *m)
{
        int r = 0;

        STRV_FOREACH (spec, q->crash_packages) {
                PackageInfo *pk = NULL;
                size_t n = 0;

                r = cache_index_find_packages(c->index, release, *spec, NULL, &pk, &n);
                if (r == -ENOENT || r == -EINVAL)
                        continue;
                if (r < 0)
                        return r;
                r = binary_from_candidates(c, q, path, pk, n, LOOKUP_RULE_CRASH_PACKAGES, m);
                package_info_array_free(pk, n);
                if (r < 0 || m->binary.found)
                        return r;
        }
        if (q->crash_packages)
                r = tried_add(m, "no package named by the crash ships %s with that build-id", path);
        return r;
}

static int compare_newest_first(const void *a, const void *b)
{
        return package_info_compare_evr(a, b);
}

static int rule_path(Cache *c, const char *release, const ModuleQuery *q, const char *path,
                     ModulePackages *m)
{
        PackageFileHit *hits = NULL;
        PackageInfo *pk;
        size_t n = 0;
        int r;

        r = cache_index_find_file(c->index, release, path, &hits, &n);
        if (r < 0)
                return r;
        /* Newest first: with several versions in a release, the build-id decides anyway. */
        pk = calloc(n ? n : 1, sizeof(PackageInfo));
        if (!pk) {
                package_file_hit_array_free(hits, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                pk[i] = hits[i].package;
                hits[i].package = (PackageInfo){};
        }
        package_file_hit_array_free(hits, n);
        qsort_safe(pk, n, sizeof(PackageInfo), compare_newest_first);
        r = binary_from_candidates(c, q, path, pk, n, LOOKUP_RULE_PATH, m);
        package_info_array_free(pk, n);
        if (r >= 0 && !m->binary.found)
                r = tried_add(m,
                              n == 0 ? "no package of the release ships %s"
                                     : "no package of the release ships %s with that build-id",
                              path);
        return r;
}

/* Rule (b): the debug file for the binary's path in a debuginfo package of the same build. */
static int debuginfo_in_build(Cache *c, const char *release, const ModuleQuery *q, ModulePackages *m)
{
        _cleanup_free_ char *prefix = NULL;
        PackageInfo *sib = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&prefix, DEBUG_DIR "%s", m->binary.path) < 0)
                return -ENOMEM;
        r = cache_index_find_build_siblings(c->index, release, &m->binary.package, &sib, &n);
        if (r == -ENOENT)
                return tried_add(m, "%s names no source package", m->binary.package.name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0 && !m->debuginfo.found; i++) {
                PackageFile *files = NULL;
                size_t nf = 0;

                if (!streq(sib[i].arch, m->binary.package.arch) ||
                    string_endswith(sib[i].name, "-debugsource"))
                        continue;
                r = cache_index_find_file_prefix(c->index, sib[i].id, prefix, &files, &nf);
                for (size_t j = 0; r >= 0 && j < nf && !m->debuginfo.found; j++) {
                        const char *rest = files[j].path + strlen(prefix);
                        int ok;

                        /* P.debug, or P-VERSION-RELEASE.ARCH.debug with unique debug names. */
                        if (!S_ISREG(files[j].mode) || !string_endswith(rest, ".debug") ||
                            (rest[0] != '.' && rest[0] != '-'))
                                continue;
                        ok = q->build_id ? confirm_build_id(c, m, q, &sib[i], files[j].path) : -ENOENT;
                        if (ok < 0 && ok != -ENOENT)
                                r = ok;
                        else if (ok != 0)
                                r = hit_set(&m->debuginfo, &sib[i], files[j].path, LOOKUP_RULE_BUILD_DEBUG,
                                            ok == 1);
                }
                package_file_array_free(files, nf);
        }
        package_info_array_free(sib, n);
        if (r >= 0 && !m->debuginfo.found)
                r = tried_add(m, "no debuginfo package of the build of %s has a debug file for %s",
                              m->binary.package.name, m->binary.path);
        return r;
}

/* The dwz alt file the debug file refers to (.gnu_debugaltlink), looked up in the build first;
 * when the debug file cannot be read, the build's /usr/lib/debug/.dwz/ file. */
static int dwz_for_debuginfo(Cache *c, const char *release, ModulePackages *m)
{
        _cleanup_free_ char *alt = NULL;
        ElfFacts f = {};
        PackageInfo *sib = NULL;
        size_t n = 0;
        int r;

        r = package_elf_facts(c, &m->debuginfo.package, m->debuginfo.path, &f);
        if (r >= 0 && !f.debugaltlink) {
                elf_facts_done(&f);
                return 0; /* no dwz */
        }
        if (r >= 0) {
                alt = path_resolve_link(m->debuginfo.path, f.debugaltlink);
                elf_facts_done(&f);
                if (!alt)
                        return -ENOMEM;
        } else if (r != -ENOENT && r != -EBADMSG)
                return r;

        r = cache_index_find_build_siblings(c->index, release, &m->debuginfo.package, &sib, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        for (size_t i = 0; i < n && !m->dwz.found; i++) {
                PackageFile *files = NULL;
                size_t nf = 0;

                if (!streq(sib[i].arch, m->debuginfo.package.arch))
                        continue;
                r = cache_index_find_file_prefix(c->index, sib[i].id, alt ?: DEBUG_DIR "/.dwz/", &files,
                                                 &nf);
                for (size_t j = 0; r >= 0 && j < nf && !m->dwz.found; j++)
                        if (S_ISREG(files[j].mode) && (!alt || streq(files[j].path, alt)))
                                r = hit_set(&m->dwz, &sib[i], files[j].path,
                                            alt ? LOOKUP_RULE_ALTLINK : LOOKUP_RULE_BUILD_DWZ, false);
                package_file_array_free(files, nf);
                if (r < 0)
                        break;
        }
        package_info_array_free(sib, n);
        if (r >= 0 && !m->dwz.found && alt) {
                /* Another build's alt file (a distribution may share one across source packages). */
                PackageFileHit *hits = NULL;
                size_t nh = 0;

                r = cache_index_find_file(c->index, release, alt, &hits, &nh);
                for (size_t i = 0; r >= 0 && i < nh && !m->dwz.found; i++)
                        if (S_ISREG(hits[i].file.mode))
                                r = hit_set(&m->dwz, &hits[i].package, alt, LOOKUP_RULE_ALTLINK, false);
                package_file_hit_array_free(hits, nh);
                if (r >= 0 && !m->dwz.found)
                        r = tried_add(m, "the dwz file %s of %s is in no package of the release", alt,
                                      m->debuginfo.path);
        }
        return r < 0 ? r : 0;
}

/* Rule (1), (a) and the link targets for (2), from the index's build-id table. */
static int rules_build_id_links(Cache *c, const char *release, const ModuleQuery *q, ModulePackages *m,
                                PackageInfo *ret_link_pkg, char **ret_link_target)
{
        BuildIdHit *hits = NULL;
        size_t n = 0;
        int r;

        r = cache_index_lookup_build_id(c->index, q->build_id, release, &hits, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                BuildIdHit *h = &hits[i];
                _cleanup_free_ char *target = NULL;

                if (!lookup_arch_compatible(q->arch, h->package.arch))
                        continue;
                r = link_target(c->index, &h->package, h->path, &target);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                if (h->kind == BUILD_ID_BINARY && !is_debug_package(&h->package)) {
                        if (!m->binary.found && target)
                                r = hit_set(&m->binary, &h->package, target, LOOKUP_RULE_BINARY_LINK, false);
                } else if (h->kind == BUILD_ID_DEBUG && string_endswith(h->path, ".debug")) {
                        if (!m->debuginfo.found)
                                r = hit_set(&m->debuginfo, &h->package, target ?: h->path,
                                            LOOKUP_RULE_DEBUG_LINK, false);
                        if (r >= 0 && !*ret_link_target) {
                                /* compat and alldebug put "xx/yyyy" → the binary beside "xx/yyyy.debug"
                                 * (the index records one build-id row for the pair); else the debug
                                 * file's own name says which binary it is for. */
                                _cleanup_free_ char *bin_link = strndup(h->path, strlen(h->path) - 6);

                                if (!bin_link)
                                        r = -ENOMEM;
                                else if (link_target(c->index, &h->package, bin_link, ret_link_target) ==
                                         -ENOMEM)
                                        r = -ENOMEM;
                                /* compat's link goes through the binary package's own link
                                 * (/usr/lib/.build-id/…), which rule (1) already looked for. */
                                if (*ret_link_target &&
                                    string_startswith(*ret_link_target, "/usr/lib/.build-id/"))
                                        *ret_link_target = mfree(*ret_link_target);
                                if (r >= 0 && !*ret_link_target && target)
                                        *ret_link_target = binary_path_of_debug_file(target, &h->package);
                                if (r >= 0 && *ret_link_target &&
                                    package_info_copy(&h->package, ret_link_pkg) < 0)
                                        r = -ENOMEM;
                        }
                } else if (h->kind == BUILD_ID_DEBUG && target &&
                           !string_startswith(target, "/usr/lib/.build-id/")) {
                        /* compat/alldebug: /usr/lib/debug/.build-id/xx/yyyy → the binary itself;
                         * better than a path derived from the debug file's name. */
                        free(*ret_link_target);
                        package_info_done(ret_link_pkg);
                        *ret_link_target = TAKE_PTR(target);
                        if (package_info_copy(&h->package, ret_link_pkg) < 0)
                                r = -ENOMEM;
                }
        }
        build_id_hit_array_free(hits, n);
        return r;
}

int cache_lookup_module(Cache *c, const char *release, const ModuleQuery *q, ModulePackages *ret)
{
        _cleanup_(module_packages_done) ModulePackages m = {};
        _cleanup_free_ char *link_target_path = NULL, *path = NULL;
        PackageInfo link_pkg = {};
        int r = 0;

        if (q->build_id) {
                r = rules_build_id_links(c, release, q, &m, &link_pkg, &link_target_path);
                if (r >= 0 && !m.binary.found)
                        r = tried_add(&m, "no binary package has a build-id link for %s", q->build_id);
                if (r >= 0 && !m.debuginfo.found)
                        r = tried_add(&m, "no debuginfo package has a build-id link for %s", q->build_id);
                if (r >= 0 && !m.binary.found && link_target_path)
                        r = binary_in_build(c, release, q, &link_pkg, link_target_path, &m);
        }
        package_info_done(&link_pkg);
        if (r >= 0 && !m.binary.found && q->path && q->path[0] == '/')
                r = canonical_path(c->index, release, q->path, &path);
        if (r == -ELOOP)
                r = tried_add(&m, "too many symbolic links along %s", q->path);
        if (r >= 0 && !m.binary.found && path && q->note)
                r = rule_package_note(c, release, q, path, &m);
        if (r >= 0 && !m.binary.found && path && q->crash_packages)
                r = rule_crash_packages(c, release, q, path, &m);
        if (r >= 0 && !m.binary.found && path)
                r = rule_path(c, release, q, path, &m);
        if (r >= 0 && !m.debuginfo.found && m.binary.found)
                r = debuginfo_in_build(c, release, q, &m);
        if (r >= 0 && m.debuginfo.found)
                r = dwz_for_debuginfo(c, release, &m);
        if (r < 0)
                return r;
        *ret = m;
        m = (ModulePackages){};
        return 0;
}

int cache_lookup_crash_package(Cache *c, const char *release, const char *spec, const char *core_arch,
                               int64_t *ret_id)
{
        PackageInfo *a = NULL;
        size_t n = 0;
        int64_t best = -1;
        int r;

        r = cache_index_find_packages(c->index, release, spec, NULL, &a, &n);
        if (r < 0)
                return r;
        /* Newest first already; the core's own architecture before noarch. */
        for (size_t i = 0; i < n && best < 0; i++)
                if (core_arch && lookup_arch_compatible(core_arch, a[i].arch) && !streq(a[i].arch, "noarch"))
                        best = a[i].id;
        for (size_t i = 0; i < n && best < 0; i++)
                if (lookup_arch_compatible(core_arch, a[i].arch))
                        best = a[i].id;
        package_info_array_free(a, n);
        if (best < 0)
                return -ENOENT;
        *ret_id = best;
        return 0;
}
