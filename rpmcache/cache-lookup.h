/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "cache-elf.h"
#include "cache-index.h"
#include "cache-store.h"

/* Resolution: which binary package shipped a module of a core (the executable, a shared object,
 * a dlopen()ed one) and which debuginfo package holds its debug file (plus the dwz alt file that
 * debug file refers to), whatever the distribution's rpm settings (_build_id_links compat,
 * separate, alldebug or none; debuginfo per subpackage or per source package; dwz; subpackages
 * named unlike their source). The one resolver: the daemon and retrace-server-cache call it.
 *
 * Rules, in this order of trust (the first that answers wins, each answer is recorded):
 *   binary package: (1) a binary package's build-id link (/usr/lib/.build-id/xx/yyyy);
 *     (2) the target of a debuginfo package's build-id link (the compat link to the binary, or the
 *     debug file's path less /usr/lib/debug and .debug), in a package of the same source RPM and
 *     epoch-version-release; (3) the module's .note.package (name, version, architecture); (4) the
 *     packages the crash's problem directory names; (5) every package of the release that holds
 *     the module's path. (2) trusts the build's own links; (3)-(5) are confirmed by the build-id
 *     read from the packaged file itself.
 *   debuginfo package: (a) a debug build-id link (/usr/lib/debug/.build-id/xx/yyyy.debug); (b) a
 *     debug file for the binary's path in a debuginfo package of the same build, confirmed by its
 *     build-id.
 * Never a guess by package name alone; a candidate whose file has another build-id than the
 * module is rejected and the rejection recorded. */

typedef enum LookupRule {
        LOOKUP_RULE_BINARY_LINK,    /* "binary build-id link" */
        LOOKUP_RULE_DEBUG_LINK,     /* "debug build-id link" */
        LOOKUP_RULE_LINK_TARGET,    /* "debug build-id link target in the same build" */
        LOOKUP_RULE_PACKAGE_NOTE,   /* ".note.package" */
        LOOKUP_RULE_CRASH_PACKAGES, /* "package named by the crash" */
        LOOKUP_RULE_PATH,           /* "path in the release" */
        LOOKUP_RULE_BUILD_DEBUG,    /* "debug file of the same build" */
        LOOKUP_RULE_ALTLINK,        /* ".gnu_debugaltlink of the debug file" */
        LOOKUP_RULE_BUILD_DWZ,      /* "dwz directory of the same build" */
        _LOOKUP_RULE_MAX,
        _LOOKUP_RULE_INVALID = -EINVAL,
} LookupRule;

const char *lookup_rule_to_string(LookupRule r);

typedef struct ModuleQuery {
        const char *path;            /* as the process had it (link map), NULL when unknown */
        const char *build_id;        /* lower-case hex, NULL when the core has none */
        const char *arch;            /* of the core ("x86_64", "i386", …); NULL: any */
        const PackageNote *note;     /* the module's .note.package, NULL when none */
        char *const *crash_packages; /* packages the problem directory names (N-[E:]V-R[.A]) */
} ModuleQuery;

typedef struct LookupHit {
        bool found;
        PackageInfo package;
        char *path; /* the file in that package */
        LookupRule rule;
        bool confirmed; /* its build-id was read from the file and matches */
} LookupHit;

typedef struct ModulePackages {
        LookupHit binary;
        LookupHit debuginfo;
        LookupHit dwz; /* the package holding the debug file's dwz alt file */
        char **tried;  /* what was tried without an answer, and rejected candidates */
} ModulePackages;

void module_packages_done(ModulePackages *m);

/* Maps one module in release (any release when NULL). Missing answers are not errors: the hit
 * stays !found and tried says why. Errors are those of the index or of memory. */
int cache_lookup_module(Cache *c, const char *release, const ModuleQuery *q, ModulePackages *ret);

/* Pure: can a process of core arch (NULL: any) load a package of pkg_arch? noarch always; the
 * i386 family for i386 cores. */
bool lookup_arch_compatible(const char *core_arch, const char *pkg_arch);
/* Pure: does version ("[E:]V[-R]", as a .note.package or an ABRT package file gives it) name p? An
 * epoch or release left out matches any. */
bool lookup_version_matches(const char *version, const PackageInfo *p);
/* Opens the object of a regular file of package p (read-only). A package not extracted yet is
 * extracted first (cache-extract.h); -ENOENT when the object is not in the store and there is no
 * RepoDir to extract it from, the extraction's error when that fails. */
int cache_package_file_open(Cache *c, const PackageInfo *p, const PackageFile *f, int *ret_fd);

/* What the lookups of the calling thread extracted (cache_package_file_open()) since the last call;
 * per thread, so that each of the daemon's workers knows its own task's. */
typedef struct LookupExtracted {
        uint64_t packages;
        uint64_t bytes;
        uint64_t usec;
        char **partial; /* big debuginfo packages extracted partially: "N files of NEVRA (X MB): PATH…" */
} LookupExtracted;
/* Moves the calling thread's record into *ret (the caller frees ret->partial) and starts a new one. */
void cache_lookup_take_extracted(LookupExtracted *ret);
/* The newest package of release matching spec (N, N-[E:]V-R, N-V-R.A) that a process of core_arch
 * can have loaded (its own architecture before noarch): for the packages a crash names, which in a
 * multilib release exist for two architectures. -ENOENT when none. */
int cache_lookup_crash_package(Cache *c, const char *release, const char *spec, const char *core_arch,
                               int64_t *ret_id);
