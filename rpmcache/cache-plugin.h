/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "common-ini.h"
#include "common-macro.h"

/* A distribution plugin (plugins/README.md describes the format). */
typedef struct PluginRepo {
        char *name;
        char **mirrors; /* templates, tried in order; $VER and $ARCH not yet expanded */
        bool gpgcheck;
        char **gpgkeys; /* absolute paths (relative ones resolved against the plugin's directory) */
        bool enabled;
        unsigned line;
} PluginRepo;

typedef struct Plugin {
        char *path; /* file name used in messages */
        char *dir;  /* directory relative mirror paths and key paths are resolved against */
        char *distribution;
        char *displayrelease;
        char **versions;
        char *abrtparser;
        char *guessparser;
        regex_t abrt_re, guess_re;
        bool have_regexes;
        char *gdb_package;
        char *gdb_executable;
        char *gdb_foreign_package;    /* gdb_foreign_package, else gdb_package: in the host architecture's
                                         release, reads other architectures' cores */
        char *gdb_foreign_executable; /* gdb_foreign_executable, else gdb_executable */
        char *crash_package;
        char **client_releases; /* clientrelease: release ids as ABRT's client spells them ($VER, $MINOR,
                                   $ARCH) */
        bool gpgcheck;
        char **gpgkeys;
        PluginRepo *repos;
        size_t n_repos;
} Plugin;

Plugin *plugin_free(Plugin *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plugin *, plugin_free);

/* Builds a plugin from a parsed file (pure). dir is the directory of the file. Errors say
 * "FILE:LINE: …" in *ret_error and return -EINVAL. */
int plugin_parse(const IniFile *ini, const char *dir, Plugin **ret, char **ret_error);
/* Reads and parses one plugin file. */
int plugin_load(const char *path, Plugin **ret, char **ret_error);
/* Finds the plugin whose distribution is name in plugin_dir: "<name>.conf" first, then every
 * "*.conf". -ENOENT when no plugin has that distribution. */
int plugin_find(const char *plugin_dir, const char *name, Plugin **ret, char **ret_error);

/* Replaces $VER and $ARCH (also ${VER}, ${ARCH}); any other '$' is -EINVAL. Pure. */
int plugin_expand(const char *template, const char *version, const char *arch, char **ret);
/* Expands a mirror and makes it usable: URLs stay, relative local paths are joined to the
 * plugin's directory. */
int plugin_mirror_resolve(const Plugin *p, const char *template, const char *version, const char *arch,
                          char **ret);
/* The repository's GPG key files with $VER and $ARCH expanded. */
int plugin_repo_gpgkeys(const PluginRepo *repo, const char *version, const char *arch, char ***ret);
/* Applies abrtparser to the crash's os-release text; *ret is the version (first group). -ENOENT
 * when the text does not match. */
int plugin_match_release(const Plugin *p, const char *text, char **ret);
/* Applies guessparser to a package release tag ("1.fc38" → "38"); -ENOENT when no match. */
int plugin_guess_release(const Plugin *p, const char *release_tag, char **ret);
bool plugin_has_version(const Plugin *p, const char *version);

/* The release id that the template t (one of p->client_releases) gives for version and arch; $MINOR
 * expands to nothing. Pure. */
int plugin_client_release(const char *t, const char *version, const char *arch, char **ret);
/* Reads a release id spelled as ABRT's client does ("fedora-40-x86_64", "Red Hat Enterprise Linux
 * 9-9.4-x86_64") with the plugin's clientrelease templates: *ret_version and *ret_arch of the release
 * (the version need not be in versionlist). -ENOENT when no template matches. Pure. */
int plugin_parse_client_release(const Plugin *p, const char *id, char **ret_version, char **ret_arch);
