/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resolver (cache-lookup.c) against an index built here: each rule of the resolution order, a
 * library in a subpackage named unlike its source, per-source debuginfo, two versions of a library
 * in one release, no build-id links at all (confirmed by the build-id read from the object), an
 * epoch, .note.package, multilib, dwz. The ELF objects are this test's own executable (whose
 * build-id is known) and /bin/true (another build-id). */
#include <fcntl.h>
#include <rpm/rpmpgp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-elf.h"
#include "cache-lookup.h"
#include "cache-objects.h"
#include "common-fd.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "tests.h"

#define REL "mosaic-1-x86_64"

TEST(version_matches)
{
        PackageInfo p = { .name = (char *) "wheel", .epoch = 2, .version = (char *) "3.0", .release = (char *) "1.mo1" };
        PackageInfo q = { .name = (char *) "gears", .epoch = 0, .version = (char *) "1.4", .release = (char *) "1" };

        ASSERT_TRUE(lookup_version_matches("2:3.0-1.mo1", &p));
        ASSERT_TRUE(lookup_version_matches("2:3.0", &p));
        ASSERT_TRUE(lookup_version_matches("3.0-1.mo1", &p)); /* no epoch given: any */
        ASSERT_FALSE(lookup_version_matches("1:3.0-1.mo1", &p));
        ASSERT_FALSE(lookup_version_matches("2:3.0-2.mo1", &p));
        ASSERT_TRUE(lookup_version_matches("1.4-1", &q));
        ASSERT_TRUE(lookup_version_matches("1.4", &q));
        ASSERT_TRUE(lookup_version_matches("0:1.4-1", &q));
        ASSERT_FALSE(lookup_version_matches("1.4.1", &q));
        ASSERT_FALSE(lookup_version_matches("x:1.4", &q));
        ASSERT_FALSE(lookup_version_matches(":1.4", &q));
}

TEST(arch_compatible)
{
        ASSERT_TRUE(lookup_arch_compatible("x86_64", "x86_64"));
        ASSERT_TRUE(lookup_arch_compatible("x86_64", "noarch"));
        ASSERT_FALSE(lookup_arch_compatible("x86_64", "i686"));
        ASSERT_TRUE(lookup_arch_compatible("i386", "i686"));
        ASSERT_TRUE(lookup_arch_compatible("i386", "i586"));
        ASSERT_FALSE(lookup_arch_compatible("i386", "x86_64"));
        ASSERT_TRUE(lookup_arch_compatible(NULL, "s390x"));
        ASSERT_TRUE(lookup_arch_compatible("aarch64", "aarch64"));
        ASSERT_FALSE(lookup_arch_compatible("aarch64", "ppc64le"));
}

TEST(package_note)
{
        static const char good[] = "{\"type\":\"rpm\",\"name\":\"wheel\",\"version\":\"2:3.0-1.mo1\","
                                   "\"architecture\":\"x86_64\",\"os\":\"mosaic\",\"osVersion\":\"1\"}";
        PackageNote n = {};

        ASSERT_OK(package_note_parse(good, sizeof(good), &n)); /* with the note's trailing NUL */
        ASSERT_STREQ(n.type, "rpm");
        ASSERT_STREQ(n.name, "wheel");
        ASSERT_STREQ(n.version, "2:3.0-1.mo1");
        ASSERT_STREQ(n.architecture, "x86_64");
        ASSERT_STREQ(n.os, "mosaic");
        ASSERT_STREQ(n.os_version, "1");
        package_note_done(&n);
        ASSERT_OK(package_note_parse("{\"name\":\"a\",\"version\":\"1\"}", 27, &n));
        ASSERT_NULL(n.architecture);
        package_note_done(&n);
        ASSERT_ERROR(package_note_parse("{\"name\":\"a\"}", 12, &n), EBADMSG);
        ASSERT_ERROR(package_note_parse("{\"name\":1,\"version\":\"1\"}", 24, &n), EBADMSG);
        ASSERT_ERROR(package_note_parse("[\"name\"]", 8, &n), EBADMSG);
        ASSERT_ERROR(package_note_parse("{\"name\":\"a\",\"name\":\"b\",\"version\":\"1\"}", 36, &n), EBADMSG);
        ASSERT_ERROR(package_note_parse("{\"name\":\"a\",\"version\":\"1\"", 26, &n), EBADMSG);
        ASSERT_ERROR(package_note_parse("", 0, &n), EBADMSG);
        ASSERT_ERROR(package_note_parse("{\"name\":\"\",\"version\":\"1\"}", 26, &n), EBADMSG);
}

/* ---------------------------------------------------------------- an index to resolve in */

typedef struct Fixture {
        char dir[64];
        Cache *cache;
        char self_id[129], true_id[129];
        char *self_digest, *true_digest;
        uint64_t self_size, true_size;
} Fixture;

/* Puts the file at path into the object store; returns its sha256 and build-id. */
static void store_object(Fixture *f, const char *path, char **ret_digest, uint64_t *ret_size, char build_id[static 129])
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *name = NULL, *full = NULL, *dir = NULL, *cmd = NULL;
        ElfFacts facts = {};

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(elf_facts_read(fd, 0, &facts));
        ASSERT_TRUE(strlen(facts.build_id) >= 16);
        memcpy(build_id, facts.build_id, 129);
        elf_facts_done(&facts);
        ASSERT_OK(digest_fd(fd, PGPHASHALGO_SHA256, ret_digest, ret_size));
        ASSERT_OK(cache_object_name(PGPHASHALGO_SHA256, *ret_digest, 0755, &name));
        ASSERT_TRUE(asprintf(&full, "%s/objects/%s", f->dir, name) > 0);
        dir = strndup(full, strrchr(full, '/') - full);
        ASSERT_OK(path_mkdir_p(dir, 0755));
        ASSERT_TRUE(asprintf(&cmd, "cp '%s' '%s'", path, full) > 0);
        ASSERT_EQ(system(cmd), 0);
}

typedef struct FileSpec {
        const char *path;
        char kind;          /* 'f' regular, 'l' symlink, 'd' directory */
        const char *target; /* symlink target, or "self"/"true"/"other" for a regular file's content */
} FileSpec;

static int64_t add_pkg(Fixture *f, const char *name, uint32_t epoch, const char *version, const char *release,
                       const char *arch, const char *srpm, const FileSpec *files)
{
        PackageFile pf[16] = {};
        size_t n = 0;
        char sha[65];
        static unsigned serial;
        PackageRecord rec = {};
        int64_t id;

        for (; files && files[n].path; n++) {
                pf[n].path = (char *) files[n].path;
                if (files[n].kind == 'l') {
                        pf[n].mode = S_IFLNK | 0777;
                        pf[n].link = (char *) files[n].target;
                } else if (files[n].kind == 'd')
                        pf[n].mode = S_IFDIR | 0755;
                else {
                        pf[n].mode = S_IFREG | 0755;
                        pf[n].digest = streq(files[n].target, "self") ? f->self_digest :
                                       streq(files[n].target, "true") ? f->true_digest :
                                                                        (char *) "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
                }
        }
        (void) snprintf(sha, sizeof(sha), "%064u", ++serial);
        rec.info = (PackageInfo){ .sha256 = sha, .name = (char *) name, .epoch = epoch,
                                  .version = (char *) version, .release = (char *) release,
                                  .arch = (char *) arch, .sourcerpm = (char *) srpm,
                                  .digest_algo = PGPHASHALGO_SHA256 };
        rec.files = pf;
        rec.n_files = n;
        ASSERT_OK(cache_index_add_package(f->cache->index, &rec, &id));
        ASSERT_OK(cache_index_add_release(f->cache->index, id, REL, "base"));
        return id;
}

static void fixture_setup(Fixture *f)
{
        strcpy(f->dir, "/tmp/test-cache-lookup.XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(f->dir));
        ASSERT_OK(cache_open(f->dir, &(CacheLimits){ .keep_roots = 4 }, &f->cache));
        char self[4096] = {};

        ASSERT_TRUE(readlink("/proc/self/exe", self, sizeof(self) - 1) > 0); /* cp would copy itself */
        store_object(f, self, &f->self_digest, &f->self_size, f->self_id);
        store_object(f, "/bin/true", &f->true_digest, &f->true_size, f->true_id);
        ASSERT_TRUE(!streq(f->self_id, f->true_id));
}

static void fixture_done(Fixture *f)
{
        f->cache = cache_close(f->cache);
        (void) path_rm_rf(f->dir);
        free(f->self_digest);
        free(f->true_digest);
}

static void lookup(Fixture *f, const ModuleQuery *q, ModulePackages *ret)
{
        *ret = (ModulePackages){};
        ASSERT_OK(cache_lookup_module(f->cache, REL, q, ret));
        if (getenv("TEST_VERBOSE"))
                STRV_FOREACH (t, ret->tried)
                        fprintf(stderr, "   tried: %s\n", *t);
}

static void assert_hit(const LookupHit *h, const char *nevra, const char *path, LookupRule rule)
{
        _cleanup_free_ char *got = NULL;

        ASSERT_TRUE(h->found);
        got = package_info_nevra(&h->package);
        ASSERT_STREQ(got, nevra);
        if (path)
                ASSERT_STREQ(h->path, path);
        ASSERT_STREQ(lookup_rule_to_string(h->rule), lookup_rule_to_string(rule));
}

static bool tried_contains(const ModulePackages *m, const char *needle)
{
        STRV_FOREACH (t, m->tried)
                if (strstr(*t, needle))
                        return true;
        return false;
}

TEST(resolution_rules)
{
        Fixture f = {};
        ModulePackages m;
        char link[256], dbg[256], bin[256];
        const char *srpm14 = "cogwork-1.4-1.src.rpm", *srpm15 = "cogwork-1.5-1.src.rpm";

        fixture_setup(&f);
        add_pkg(&f, "filesystem", 0, "1", "1", "x86_64", "filesystem-1-1.src.rpm",
                (FileSpec[]){ { "/lib64", 'l', "usr/lib64" }, { "/usr/lib64", 'd' }, {} });

        /* _build_id_links none, per-subpackage debuginfo, two versions in the release: the library
         * ships in "libgears" (source "cogwork"); only the build-id inside the files tells 1.4 (this
         * test's executable) from 1.5 (/bin/true). */
        add_pkg(&f, "libgears", 0, "1.4", "1", "x86_64", srpm14,
                (FileSpec[]){ { "/usr/lib64/libgears.so.1", 'l', "libgears.so.1.0" },
                              { "/usr/lib64/libgears.so.1.0", 'f', "self" }, {} });
        add_pkg(&f, "libgears", 0, "1.5", "1", "x86_64", srpm15,
                (FileSpec[]){ { "/usr/lib64/libgears.so.1", 'l', "libgears.so.1.0" },
                              { "/usr/lib64/libgears.so.1.0", 'f', "true" }, {} });
        add_pkg(&f, "libgears-debuginfo", 0, "1.4", "1", "x86_64", srpm14,
                (FileSpec[]){ { "/usr/lib/debug/usr/lib64/libgears.so.1.0-1.4-1.x86_64.debug", 'f', "self" }, {} });
        add_pkg(&f, "libgears-debuginfo", 0, "1.5", "1", "x86_64", srpm15,
                (FileSpec[]){ { "/usr/lib/debug/usr/lib64/libgears.so.1.0-1.5-1.x86_64.debug", 'f', "true" }, {} });
        /* An i686 build of the same library (multilib), same content as 1.4's x86_64 one. */
        add_pkg(&f, "libgears", 0, "1.4", "1", "i686", srpm14,
                (FileSpec[]){ { "/usr/lib/libgears.so.1.0", 'f', "self" }, {} });

        lookup(&f, &(ModuleQuery){ .path = "/lib64/libgears.so.1", .build_id = f.self_id, .arch = "x86_64" }, &m);
        assert_hit(&m.binary, "libgears-1.4-1.x86_64", "/usr/lib64/libgears.so.1.0", LOOKUP_RULE_PATH);
        ASSERT_TRUE(m.binary.confirmed);
        assert_hit(&m.debuginfo, "libgears-debuginfo-1.4-1.x86_64",
                   "/usr/lib/debug/usr/lib64/libgears.so.1.0-1.4-1.x86_64.debug", LOOKUP_RULE_BUILD_DEBUG);
        ASSERT_TRUE(m.debuginfo.confirmed);
        ASSERT_TRUE(tried_contains(&m, "libgears-1.5-1.x86_64 has build-id")); /* 1.5 was read and refused */
        ASSERT_FALSE(m.dwz.found);
        module_packages_done(&m);

        /* The newer build: the other file. */
        lookup(&f, &(ModuleQuery){ .path = "/usr/lib64/libgears.so.1", .build_id = f.true_id, .arch = "x86_64" }, &m);
        assert_hit(&m.binary, "libgears-1.5-1.x86_64", NULL, LOOKUP_RULE_PATH);
        assert_hit(&m.debuginfo, "libgears-debuginfo-1.5-1.x86_64", NULL, LOOKUP_RULE_BUILD_DEBUG);
        module_packages_done(&m);

        /* An i386 core resolves the i686 package only. */
        lookup(&f, &(ModuleQuery){ .path = "/usr/lib/libgears.so.1.0", .build_id = f.self_id, .arch = "i386" }, &m);
        assert_hit(&m.binary, "libgears-1.4-1.i686", NULL, LOOKUP_RULE_PATH);
        ASSERT_FALSE(m.debuginfo.found); /* the x86_64 debuginfo is not the i686 one */
        module_packages_done(&m);
        lookup(&f, &(ModuleQuery){ .path = "/usr/lib/libgears.so.1.0", .build_id = f.self_id, .arch = "x86_64" }, &m);
        ASSERT_FALSE(m.binary.found);
        module_packages_done(&m);

        /* A build-id that no file has: nothing is guessed, what was tried is said. */
        lookup(&f, &(ModuleQuery){ .path = "/lib64/libgears.so.1", .build_id = "abcdef0123", .arch = "x86_64" }, &m);
        ASSERT_FALSE(m.binary.found);
        ASSERT_FALSE(m.debuginfo.found);
        ASSERT_TRUE(tried_contains(&m, "no package of the release ships /usr/lib64/libgears.so.1.0 with that build-id"));
        module_packages_done(&m);

        /* One debuginfo per source package (RHEL 7 style) with compat links and dwz, the library in
         * "libgears" 2.0: the debug link's neighbour points at the binary; no binary link anywhere. */
        (void) snprintf(link, sizeof(link), "/usr/lib/debug/.build-id/%.2s/%s", "cc", "cc00112233445566");
        add_pkg(&f, "libgears", 0, "2.0", "1", "x86_64", "cogwork-2.0-1.src.rpm",
                (FileSpec[]){ { "/usr/lib64/libgears.so.2.0", 'f', "other" }, {} });
        add_pkg(&f, "cogwork-tools", 0, "2.0", "1", "x86_64", "cogwork-2.0-1.src.rpm",
                (FileSpec[]){ { "/usr/bin/gearctl", 'f', "other" }, {} });
        add_pkg(&f, "cogwork-debuginfo", 0, "2.0", "1", "x86_64", "cogwork-2.0-1.src.rpm",
                (FileSpec[]){ { "/usr/lib/debug/.build-id/cc/00112233445566", 'l', "../../../../../usr/lib64/libgears.so.2.0" },
                              { "/usr/lib/debug/.build-id/cc/00112233445566.debug", 'l', "../../usr/lib64/libgears.so.2.0-2.0-1.x86_64.debug" },
                              { "/usr/lib/debug/.dwz/cogwork-2.0-1.x86_64", 'f', "other" },
                              { "/usr/lib/debug/usr/lib64/libgears.so.2.0-2.0-1.x86_64.debug", 'f', "other" }, {} });
        lookup(&f, &(ModuleQuery){ .path = "/usr/lib64/libgears.so.2", .build_id = "cc00112233445566", .arch = "x86_64" }, &m);
        assert_hit(&m.binary, "libgears-2.0-1.x86_64", "/usr/lib64/libgears.so.2.0", LOOKUP_RULE_LINK_TARGET);
        assert_hit(&m.debuginfo, "cogwork-debuginfo-2.0-1.x86_64",
                   "/usr/lib/debug/usr/lib64/libgears.so.2.0-2.0-1.x86_64.debug", LOOKUP_RULE_DEBUG_LINK);
        /* The debug file's object is not there to read its .gnu_debugaltlink: the build's dwz file. */
        assert_hit(&m.dwz, "cogwork-debuginfo-2.0-1.x86_64", "/usr/lib/debug/.dwz/cogwork-2.0-1.x86_64",
                   LOOKUP_RULE_BUILD_DWZ);
        module_packages_done(&m);

        /* _build_id_links compat as Debian's rpm builds it (brp-elfperms drops the execute bit of
         * shared libraries, so the binary package has no link): the debuginfo's compat link points at
         * the missing /usr/lib/.build-id link; the debug file's unique name names the binary. */
        add_pkg(&f, "libgears", 0, "3.0", "1", "x86_64", "cogwork-3.0-1.src.rpm",
                (FileSpec[]){ { "/usr/lib64/libgears.so.3.0", 'f', "other" }, {} });
        add_pkg(&f, "libgears-debuginfo", 0, "3.0", "1", "x86_64", "cogwork-3.0-1.src.rpm",
                (FileSpec[]){ { "/usr/lib/debug/.build-id/dd/00112233445566", 'l', "../../../.build-id/dd/00112233445566" },
                              { "/usr/lib/debug/.build-id/dd/00112233445566.debug", 'l', "../../usr/lib64/libgears.so.3.0-3.0-1.x86_64.debug" },
                              { "/usr/lib/debug/usr/lib64/libgears.so.3.0-3.0-1.x86_64.debug", 'f', "other" }, {} });
        lookup(&f, &(ModuleQuery){ .build_id = "dd00112233445566", .arch = "x86_64" }, &m);
        assert_hit(&m.binary, "libgears-3.0-1.x86_64", "/usr/lib64/libgears.so.3.0", LOOKUP_RULE_LINK_TARGET);
        assert_hit(&m.debuginfo, "libgears-debuginfo-3.0-1.x86_64", NULL, LOOKUP_RULE_DEBUG_LINK);
        module_packages_done(&m);

        /* A binary build-id link (Fedora's main packages). */
        (void) snprintf(bin, sizeof(bin), "/usr/lib/.build-id/%.2s/%s", f.true_id, f.true_id + 2);
        (void) snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", f.true_id, f.true_id + 2);
        add_pkg(&f, "coreutils-single", 0, "9.1", "3", "x86_64", "coreutils-9.1-3.src.rpm",
                (FileSpec[]){ { "/usr/bin/true", 'f', "true" }, { bin, 'l', "../../../../usr/bin/true" }, {} });
        lookup(&f, &(ModuleQuery){ .path = "/usr/bin/true", .build_id = f.true_id, .arch = "x86_64" }, &m);
        assert_hit(&m.binary, "coreutils-single-9.1-3.x86_64", "/usr/bin/true", LOOKUP_RULE_BINARY_LINK);
        ASSERT_FALSE(m.debuginfo.found);
        ASSERT_TRUE(tried_contains(&m, "no debuginfo package has a build-id link"));
        module_packages_done(&m);

        /* .note.package and the crash's package list, with an epoch; confirmed by the build-id. */
        add_pkg(&f, "wheel", 2, "3.0", "1.mo1", "x86_64", "wheel-3.0-1.mo1.src.rpm",
                (FileSpec[]){ { "/usr/bin/wheel", 'f', "self" }, {} });
        add_pkg(&f, "wheel", 2, "3.1", "1.mo1", "x86_64", "wheel-3.1-1.mo1.src.rpm",
                (FileSpec[]){ { "/usr/bin/wheel", 'f', "true" }, {} });
        PackageNote note = { .name = (char *) "wheel", .version = (char *) "2:3.0-1.mo1", .architecture = (char *) "x86_64" };
        lookup(&f, &(ModuleQuery){ .path = "/usr/bin/wheel", .build_id = f.self_id, .arch = "x86_64", .note = &note }, &m);
        assert_hit(&m.binary, "wheel-3.0-1.mo1.x86_64", "/usr/bin/wheel", LOOKUP_RULE_PACKAGE_NOTE);
        ASSERT_TRUE(m.binary.confirmed);
        module_packages_done(&m);
        /* A note naming the wrong version: refused, the path rule still finds the right one. */
        note.version = (char *) "2:3.1-1.mo1";
        lookup(&f, &(ModuleQuery){ .path = "/usr/bin/wheel", .build_id = f.self_id, .arch = "x86_64", .note = &note }, &m);
        assert_hit(&m.binary, "wheel-3.0-1.mo1.x86_64", NULL, LOOKUP_RULE_PATH);
        ASSERT_TRUE(tried_contains(&m, ".note.package names wheel 2:3.1-1.mo1"));
        module_packages_done(&m);
        /* A note naming a package that does not ship the path (a static library's note copied into
         * a program, say): refused without error. */
        note = (PackageNote){ .name = (char *) "libgears", .version = (char *) "1.4-1" };
        lookup(&f, &(ModuleQuery){ .path = "/usr/bin/wheel", .build_id = f.self_id, .arch = "x86_64", .note = &note }, &m);
        assert_hit(&m.binary, "wheel-3.0-1.mo1.x86_64", NULL, LOOKUP_RULE_PATH);
        module_packages_done(&m);
        char *pkgs[] = { (char *) "wheel-2:3.0-1.mo1", NULL };
        lookup(&f, &(ModuleQuery){ .path = "/usr/bin/wheel", .build_id = f.self_id, .arch = "x86_64", .crash_packages = pkgs }, &m);
        assert_hit(&m.binary, "wheel-3.0-1.mo1.x86_64", NULL, LOOKUP_RULE_CRASH_PACKAGES);
        module_packages_done(&m);

        fixture_done(&f);
}

DEFINE_TEST_MAIN(TEST_ENTRY(version_matches), TEST_ENTRY(arch_compatible), TEST_ENTRY(package_note),
                 TEST_ENTRY(resolution_rules))
