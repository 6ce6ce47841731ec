/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>

#include "cache-plugin.h"
#include "common-macro.h"
#include "common-string.h"
#include "tests.h"

static const char fedora[] =
        "[plugin]\n"
        "distribution = fedora\n"
        "displayrelease = Fedora\n"
        "versionlist = 39 40 rawhide\n"
        "abrtparser = ^Fedora release ([0-9]+|Rawhide)\n"
        "guessparser = \\.fc([0-9]+)\n"
        "gdb_package = gdb\n"
        "gdb_executable = /usr/bin/gdb\n"
        "crash_package = crash\n"
        "gpgcheck = yes\n"
        "gpgkey = keys/RPM-GPG-KEY-fedora-$VER\n"
        "\n"
        "[repo fedora]\n"
        "mirrors = https://dl.example.org/$VER/$ARCH/os mirror/$VER, rsync://r.example.org/f/$VER\n"
        "\n"
        "[repo local]\n"
        "mirrors = /srv/local/$ARCH\n"
        "gpgcheck = no\n"
        "enabled = no\n";

static Plugin *parse(const char *text, char **error)
{
        _cleanup_(ini_file_freep) IniFile *ini = NULL;
        Plugin *p = NULL;

        ASSERT_OK(ini_parse("p.conf", text, strlen(text), &ini, NULL));
        if (plugin_parse(ini, "/usr/share/plugins", &p, error) < 0)
                return NULL;
        return p;
}

TEST(parse_fedora)
{
        _cleanup_(plugin_freep) Plugin *p = parse(fedora, NULL);
        _cleanup_free_ char *m0 = NULL, *m1 = NULL, *m2 = NULL, *v = NULL, *g = NULL;

        ASSERT_NOT_NULL(p);
        ASSERT_STREQ(p->distribution, "fedora");
        ASSERT_TRUE(plugin_has_version(p, "rawhide"));
        ASSERT_FALSE(plugin_has_version(p, "38"));
        ASSERT_EQ(p->n_repos, 2);
        ASSERT_TRUE(p->repos[0].gpgcheck); /* inherited from [plugin] */
        ASSERT_STREQ(p->repos[0].gpgkeys[0], "/usr/share/plugins/keys/RPM-GPG-KEY-fedora-$VER");
        ASSERT_FALSE(p->repos[1].gpgcheck);
        ASSERT_FALSE(p->repos[1].enabled);
        ASSERT_OK(plugin_mirror_resolve(p, p->repos[0].mirrors[0], "40", "x86_64", &m0));
        ASSERT_STREQ(m0, "https://dl.example.org/40/x86_64/os");
        ASSERT_OK(plugin_mirror_resolve(p, p->repos[0].mirrors[1], "40", "x86_64", &m1));
        ASSERT_STREQ(m1, "/usr/share/plugins/mirror/40");
        ASSERT_OK(plugin_mirror_resolve(p, p->repos[0].mirrors[2], "40", "x86_64", &m2));
        ASSERT_STREQ(m2, "rsync://r.example.org/f/40");
        ASSERT_OK(plugin_match_release(p, "Fedora release 40 (Forty)", &v));
        ASSERT_STREQ(v, "40");
        ASSERT_ERROR(plugin_match_release(p, "CentOS Stream release 9", &v), ENOENT);
        ASSERT_OK(plugin_guess_release(p, "1.fc39", &g));
        ASSERT_STREQ(g, "39");
}

TEST(expand)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        ASSERT_OK(plugin_expand("x/$VER/${ARCH}/$ARCH", "9", "aarch64", &a));
        ASSERT_STREQ(a, "x/9/aarch64/aarch64");
        ASSERT_OK(plugin_expand("plain", "9", "x", &b));
        ASSERT_STREQ(b, "plain");
        ASSERT_ERROR(plugin_expand("x/$BASEARCH", "9", "x", &c), EINVAL);
}

static void expect_error(const char *text, const char *message)
{
        _cleanup_free_ char *error = NULL;
        _cleanup_(plugin_freep) Plugin *p = parse(text, &error);

        ASSERT_NULL(p);
        if (!error || !strstr(error, message)) {
                fprintf(stderr, "error '%s' lacks '%s'\n", strna(error), message);
                exit(EXIT_FAILURE);
        }
}

#define HEAD                                                                                          \
        "[plugin]\ndistribution = d\ndisplayrelease = D\nversionlist = 1\nabrtparser = ^D ([0-9]+)\n" \
        "guessparser = \\.d([0-9]+)\ngdb_package = gdb\ngdb_executable = /usr/bin/gdb\n"

TEST(errors)
{
        expect_error(HEAD "[repo r]\nmirrors = x\nfoo = 1\n", "p.conf:11: unknown key 'foo' in [repo r]");
        expect_error(HEAD "[repo r]\n", "p.conf:9: [repo r] has no mirrors");
        expect_error(HEAD "clientrelease = Foo-$VER\n[repo r]\nmirrors = x\n",
                     "p.conf:9: clientrelease 'Foo-$VER' needs $VER and $ARCH");
        expect_error(HEAD "[repo r]\nmirrors = gopher://x\n",
                     "p.conf:10: mirror 'gopher://x' has an unsupported scheme");
        expect_error(HEAD "[repo r]\nmirrors = x/$RELEASEVER\n",
                     "p.conf:10: mirror 'x/$RELEASEVER' uses a variable");
        expect_error(HEAD "[repo r]\nmirrors = x\ngpgcheck = maybe\n",
                     "p.conf:11: invalid value 'maybe' for gpgcheck");
        expect_error(HEAD "[repo r]\nmirrors = x\ngpgcheck = yes\n", "p.conf:9: [repo r] checks signatures");
        expect_error(HEAD, "p.conf: no [repo NAME] section");
        expect_error(HEAD "[repo]\nmirrors = x\n", "p.conf:9: a repository section is [repo NAME]");
        expect_error(HEAD "[other]\n", "p.conf:9: unknown section [other]");
        expect_error("[plugin]\ndistribution = d\n[repo r]\nmirrors = x\n",
                     "p.conf:1: [plugin] lacks the key 'displayrelease'");
        expect_error("[plugin]\ndistribution = ../d\n", "p.conf:2: distribution '../d'");
        expect_error(
                "[plugin]\ndistribution = d\ndisplayrelease = D\nversionlist = 1\nabrtparser = ^D [0-9]+\n"
                "guessparser = x(\ngdb_package = gdb\ngdb_executable = /usr/bin/gdb\n[repo r]\nmirrors = "
                "x\n",
                "p.conf:5: abrtparser needs a group");
        expect_error(
                "[plugin]\ndistribution = d\ndisplayrelease = D\nversionlist = 1\nabrtparser = ^D ([0-9]+)\n"
                "guessparser = x(\ngdb_package = gdb\ngdb_executable = /usr/bin/gdb\n[repo r]\nmirrors = "
                "x\n",
                "p.conf:6: guessparser is not a valid regular expression");
        expect_error(
                "[plugin]\ndistribution = d\ndisplayrelease = D\nversionlist = 1\nabrtparser = ^D ([0-9]+)\n"
                "guessparser = x([0-9])\ngdb_package = gdb\ngdb_executable = gdb\n[repo r]\nmirrors = x\n",
                "p.conf:8: gdb_executable must be an absolute path");
}

/* The debugger of foreign cores: gdb_package/gdb_executable unless the plugin names another. */
TEST(foreign_debugger)
{
        static const char head[] =
                "[plugin]\ndistribution = d\ndisplayrelease = D\nversionlist = 1\nabrtparser = ^D ([0-9]+)\n"
                "guessparser = x([0-9])\ngdb_package = gdb\ngdb_executable = /usr/bin/gdb\n";
        _cleanup_free_ char *multi = NULL, *error = NULL;
        _cleanup_(plugin_freep) Plugin *a = NULL, *b = NULL;

        a = parse(fedora, NULL);
        ASSERT_NOT_NULL(a);
        ASSERT_STREQ(a->gdb_foreign_package, "gdb");
        ASSERT_STREQ(a->gdb_foreign_executable, "/usr/bin/gdb");
        ASSERT_TRUE(asprintf(&multi,
                             "%sgdb_foreign_package = gdb-multiarch\n"
                             "gdb_foreign_executable = /usr/bin/gdb-multiarch\n[repo r]\nmirrors = x\n",
                             head) > 0);
        b = parse(multi, NULL);
        ASSERT_NOT_NULL(b);
        ASSERT_STREQ(b->gdb_package, "gdb");
        ASSERT_STREQ(b->gdb_foreign_package, "gdb-multiarch");
        ASSERT_STREQ(b->gdb_foreign_executable, "/usr/bin/gdb-multiarch");
        free(multi);
        ASSERT_TRUE(asprintf(&multi, "%sgdb_foreign_executable = gdb-multiarch\n[repo r]\nmirrors = x\n",
                             head) > 0);
        ASSERT_NULL(parse(multi, &error));
        ASSERT_NOT_NULL(strstr(error, "p.conf:9: gdb_foreign_executable must be an absolute path"));
        free(multi);
        free(error);
        error = NULL;
        ASSERT_TRUE(asprintf(&multi, "%sgdb_foreign_package =\n[repo r]\nmirrors = x\n", head) > 0);
        ASSERT_NULL(parse(multi, &error));
        ASSERT_NOT_NULL(strstr(error, "gdb_foreign_package must not be empty"));
}

/* The plugins shipped in plugins/ all parse. */
TEST(shipped_plugins)
{
        const char *src = getenv("RETRACE_SOURCE_DIR");
        static const char *const names[] = { "testos", "fedora", "centos-stream", "rhel" };

        if (!src)
                test_skip("RETRACE_SOURCE_DIR is not set (run through meson test)");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(plugin_freep) Plugin *p = NULL;
                _cleanup_free_ char *path = NULL, *error = NULL;

                ASSERT_TRUE(asprintf(&path, "%s/plugins/%s.conf", src, names[i]) > 0);
                if (plugin_load(path, &p, &error) < 0) {
                        fprintf(stderr, "%s\n", strna(error));
                        exit(EXIT_FAILURE);
                }
                ASSERT_STREQ(p->distribution, names[i]);
        }
}

/* The release ids ABRT 2.15's client derives from each distribution's os-release as shipped. */
TEST(client_release)
{
        const char *src = getenv("RETRACE_SOURCE_DIR");
        static const struct {
                const char *plugin, *id, *version, *arch;
        } cases[] = {
                { "testos", "TestOS-1-x86_64", "1", "x86_64" },
                { "testos", "testos-2-x86_64", "2", "x86_64" },
                { "fedora", "fedora-40-x86_64", "40", "x86_64" },
                { "fedora", "fedora-41-i386", "41", "i386" },
                { "centos-stream", "CentOS Stream-9-x86_64", "9", "x86_64" },
                { "centos-stream", "centos-stream-10-aarch64", "10", "aarch64" },
                { "rhel", "Red Hat Enterprise Linux 9-9.4-x86_64", "9", "x86_64" },
                { "rhel", "Red Hat Enterprise Linux 10-10.1-x86_64", "10", "x86_64" },
                { "rhel", "rhel-8.10-x86_64", "8", "x86_64" },
                { "rhel", "rhel-9-x86_64", "9", "x86_64" },
        };
        static const struct {
                const char *plugin, *id;
        } refused[] = {
                { "testos", "TESTOS-1-x86_64" },  { "testos", "TestOS-1-" },
                { "fedora", "Fedora-40-x86_64" }, { "rhel", "Red Hat Enterprise Linux 9-8.4-x86_64" },
                { "rhel", "rhel-9.x-x86_64" },    { "centos-stream", "CentOS Stream-9-x86_64 " },
        };

        if (!src)
                test_skip("RETRACE_SOURCE_DIR is not set (run through meson test)");
        for (size_t i = 0; i < ELEMENTSOF(cases) + ELEMENTSOF(refused); i++) {
                bool ok = i < ELEMENTSOF(cases);
                const char *name = ok ? cases[i].plugin : refused[i - ELEMENTSOF(cases)].plugin;
                const char *id = ok ? cases[i].id : refused[i - ELEMENTSOF(cases)].id;
                _cleanup_(plugin_freep) Plugin *p = NULL;
                _cleanup_free_ char *path = NULL, *version = NULL, *arch = NULL;

                ASSERT_TRUE(asprintf(&path, "%s/plugins/%s.conf", src, name) > 0);
                ASSERT_OK(plugin_load(path, &p, NULL));
                if (!ok) {
                        ASSERT_EQ(plugin_parse_client_release(p, id, &version, &arch), -ENOENT);
                        continue;
                }
                ASSERT_OK(plugin_parse_client_release(p, id, &version, &arch));
                ASSERT_STREQ(version, cases[i].version);
                ASSERT_STREQ(arch, cases[i].arch);
        }
}

TEST(client_release_template)
{
        _cleanup_free_ char *id = NULL, *error = NULL;
        _cleanup_(plugin_freep) Plugin *p = NULL;

        ASSERT_OK(
                plugin_client_release("Red Hat Enterprise Linux $VER-$VER$MINOR-$ARCH", "9", "x86_64", &id));
        ASSERT_STREQ(id, "Red Hat Enterprise Linux 9-9-x86_64");
        p = parse(fedora, &error);
        ASSERT_TRUE(p);
        ASSERT_TRUE(strv_length(p->client_releases) == 1);
        ASSERT_STREQ(p->client_releases[0], "fedora-$VER-$ARCH");
}

DEFINE_TEST_MAIN(TEST_ENTRY(parse_fedora), TEST_ENTRY(expand), TEST_ENTRY(errors),
                 TEST_ENTRY(shipped_plugins), TEST_ENTRY(client_release),
                 TEST_ENTRY(client_release_template), TEST_ENTRY(foreign_debugger))
