/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-plugin.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common-parse.h"
#include "common-path.h"
#include "common-string.h"

#define NAME_CHARS        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
#define MIRROR_SEPARATORS " \t,"

static void plugin_repo_done(PluginRepo *r)
{
        free(r->name);
        strv_free(r->mirrors);
        strv_free(r->gpgkeys);
}

Plugin *plugin_free(Plugin *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_repos; i++)
                plugin_repo_done(&p->repos[i]);
        free(p->repos);
        if (p->have_regexes) {
                regfree(&p->abrt_re);
                regfree(&p->guess_re);
        }
        free(p->path);
        free(p->dir);
        free(p->distribution);
        free(p->displayrelease);
        strv_free(p->versions);
        free(p->abrtparser);
        free(p->guessparser);
        free(p->gdb_package);
        free(p->gdb_executable);
        free(p->gdb_foreign_package);
        free(p->gdb_foreign_executable);
        free(p->crash_package);
        strv_free(p->client_releases);
        strv_free(p->gpgkeys);
        return mfree(p);
}

int plugin_expand(const char *template, const char *version, const char *arch, char **ret)
{
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&out, &len);
        if (!f)
                return -ENOMEM;
        for (const char *c = template; *c;) {
                const char *value = NULL;
                size_t skip = 0;

                if (*c != '$') {
                        fputc(*c++, f);
                        continue;
                }
                if (strneq(c, "$VER", 4) || strneq(c, "${VER}", 6)) {
                        value = version;
                        skip = c[1] == '{' ? 6 : 4;
                } else if (strneq(c, "$ARCH", 5) || strneq(c, "${ARCH}", 7)) {
                        value = arch;
                        skip = c[1] == '{' ? 7 : 5;
                } else {
                        fclose(f);
                        return -EINVAL;
                }
                fputs(value, f);
                c += skip;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool mirror_is_url(const char *m)
{
        return string_startswith(m, "file://") || string_startswith(m, "http://") ||
               string_startswith(m, "https://") || string_startswith(m, "ftp://") ||
               string_startswith(m, "rsync://");
}

int plugin_mirror_resolve(const Plugin *p, const char *template, const char *version, const char *arch,
                          char **ret)
{
        _cleanup_free_ char *e = NULL;
        int r;

        r = plugin_expand(template, version, arch, &e);
        if (r < 0)
                return r;
        if (!mirror_is_url(e) && e[0] != '/') {
                char *j = path_join(p->dir, e);

                if (!j)
                        return -ENOMEM;
                free(e);
                e = j;
        }
        *ret = TAKE_PTR(e);
        return 0;
}

static int regex_first_group(const regex_t *re, const char *text, char **ret)
{
        regmatch_t m[2];
        char *s;

        if (regexec(re, text, 2, m, 0) != 0 || m[1].rm_so < 0)
                return -ENOENT;
        s = strndup(text + m[1].rm_so, m[1].rm_eo - m[1].rm_so);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int plugin_repo_gpgkeys(const PluginRepo *repo, const char *version, const char *arch, char ***ret)
{
        _cleanup_strv_free_ char **keys = NULL;
        int r;

        STRV_FOREACH (k, repo->gpgkeys) {
                _cleanup_free_ char *e = NULL;

                r = plugin_expand(*k, version, arch, &e);
                if (r < 0)
                        return r;
                r = strv_extend(&keys, e);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(keys);
        return 0;
}

int plugin_match_release(const Plugin *p, const char *text, char **ret)
{
        return regex_first_group(&p->abrt_re, text, ret);
}

int plugin_guess_release(const Plugin *p, const char *release_tag, char **ret)
{
        return regex_first_group(&p->guess_re, release_tag, ret);
}

bool plugin_has_version(const Plugin *p, const char *version)
{
        return strv_contains(p->versions, version);
}

#define CLIENT_RELEASE_CHARS NAME_CHARS " $"
#define VERSION_WORD_CHARS   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

static const char *client_variable(const char *c, const char **ret_name)
{
        static const char *const names[] = { "$VER", "$MINOR", "$ARCH" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (string_startswith(c, names[i])) {
                        *ret_name = names[i];
                        return c + strlen(names[i]);
                }
        return NULL;
}

int plugin_client_release(const char *t, const char *version, const char *arch, char **ret)
{
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return -ENOMEM;
        for (const char *c = t; *c;) {
                const char *name, *next = client_variable(c, &name);

                if (!next) {
                        fputc(*c++, f);
                        continue;
                }
                fputs(streq(name, "$VER") ? version : streq(name, "$ARCH") ? arch : "", f);
                c = next;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

/* Matches one template against id: literal characters exactly, $VER and $ARCH a word of letters,
 * digits and '_' ($VER twice must be the same word), $MINOR any number of ".N". */
static int client_release_match(const char *t, const char *id, char **ret_version, char **ret_arch)
{
        _cleanup_free_ char *version = NULL, *arch = NULL;
        const char *c = t, *s = id;

        while (*c) {
                const char *name, *next = client_variable(c, &name);
                size_t n;

                if (!next) {
                        if (*s++ != *c++)
                                return -ENOENT;
                        continue;
                }
                c = next;
                if (streq(name, "$MINOR")) {
                        while (s[0] == '.' && s[1] >= '0' && s[1] <= '9') {
                                s++;
                                s += strspn(s, "0123456789");
                        }
                        continue;
                }
                n = strspn(s, VERSION_WORD_CHARS);
                if (n == 0)
                        return -ENOENT;
                if (streq(name, "$ARCH")) {
                        if (arch && (strlen(arch) != n || strncmp(arch, s, n) != 0))
                                return -ENOENT;
                        if (!arch && !(arch = strndup(s, n)))
                                return -ENOMEM;
                } else {
                        if (version && (strlen(version) != n || strncmp(version, s, n) != 0))
                                return -ENOENT;
                        if (!version && !(version = strndup(s, n)))
                                return -ENOMEM;
                }
                s += n;
        }
        if (*s != '\0' || !version || !arch)
                return -ENOENT;
        *ret_version = TAKE_PTR(version);
        *ret_arch = TAKE_PTR(arch);
        return 0;
}

int plugin_parse_client_release(const Plugin *p, const char *id, char **ret_version, char **ret_arch)
{
        STRV_FOREACH (t, p->client_releases) {
                int r = client_release_match(*t, id, ret_version, ret_arch);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

/* ---- parsing */

typedef struct ParseContext {
        const IniFile *ini;
        const char *dir;
        char **error;
} ParseContext;

static int take_string(ParseContext *ctx, const IniEntry *e, char **field)
{
        char *s;

        if (isempty(e->value))
                return ini_error(ctx->error, ctx->ini->filename, e->line, "%s must not be empty", e->key);
        s = strdup(e->value);
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static int take_bool(ParseContext *ctx, const IniEntry *e, bool *field)
{
        if (parse_boolean(e->value, field) < 0)
                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                 "invalid value '%s' for %s: expected yes or no", e->value, e->key);
        return 0;
}

/* A whitespace-separated list of key files; "file://" is accepted and dropped. */
static int take_keys(ParseContext *ctx, const IniEntry *e, char ***field)
{
        _cleanup_strv_free_ char **words = NULL, **keys = NULL;
        int r;

        r = strv_split(e->value, MIRROR_SEPARATORS, &words);
        if (r < 0)
                return r;
        STRV_FOREACH (w, words) {
                const char *k = string_startswith(*w, "file://") ?: *w;
                _cleanup_free_ char *path = k[0] == '/' ? strdup(k) : path_join(ctx->dir, k);

                _cleanup_free_ char *probe = NULL;

                if (!path)
                        return -ENOMEM;
                if (plugin_expand(k, "0", "noarch", &probe) < 0)
                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                         "gpgkey '%s' uses a variable other than $VER and $ARCH", *w);
                if (mirror_is_url(k))
                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                         "gpgkey '%s' must be a local file, not a URL", *w);
                r = strv_extend(&keys, path);
                if (r < 0)
                        return r;
        }
        strv_free(*field);
        *field = TAKE_PTR(keys);
        return 0;
}

#define PLUGIN_REGEX_MAX 256

/* Stacked repetition operators ("a++", "(x*)*+") are undefined in POSIX EREs and make glibc's
 * regcomp() use memory exponential in their number; a release parser never needs them. */
static bool regex_has_stacked_quantifiers(const char *re)
{
        for (const char *c = re; *c; c++) {
                if (*c == '\\' && c[1]) {
                        c++;
                        continue;
                }
                if (strchr("*+?}", *c) && c[1] && strchr("*+?{", c[1]))
                        return true;
        }
        return false;
}

static int compile_regex(ParseContext *ctx, const IniEntry *e, regex_t *re)
{
        char msg[256];
        int r;

        if (strlen(e->value) > PLUGIN_REGEX_MAX)
                return ini_error(ctx->error, ctx->ini->filename, e->line, "%s is longer than %d characters",
                                 e->key, PLUGIN_REGEX_MAX);
        if (regex_has_stacked_quantifiers(e->value))
                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                 "%s stacks repetition operators (such as '++' or '*?'): write one", e->key);
        r = regcomp(re, e->value, REG_EXTENDED);
        if (r != 0) {
                (void) regerror(r, re, msg, sizeof(msg));
                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                 "%s is not a valid regular expression: %s", e->key, msg);
        }
        if (re->re_nsub < 1) {
                regfree(re);
                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                 "%s needs a group '(…)' that captures the version", e->key);
        }
        return 0;
}

static int parse_plugin_section(ParseContext *ctx, const IniSection *s, Plugin *p)
{
        const IniEntry *abrt = NULL, *guess = NULL;
        int r;

        for (size_t i = 0; i < s->n_entries; i++) {
                const IniEntry *e = &s->entries[i];

                if (streq(e->key, "distribution")) {
                        if (!string_in_charset(e->value, NAME_CHARS) || isempty(e->value) ||
                            !path_is_filename(e->value))
                                return ini_error(
                                        ctx->error, ctx->ini->filename, e->line,
                                        "distribution '%s' may only use letters, digits, '_', '.' and '-'",
                                        e->value);
                        r = take_string(ctx, e, &p->distribution);
                } else if (streq(e->key, "displayrelease"))
                        r = take_string(ctx, e, &p->displayrelease);
                else if (streq(e->key, "versionlist")) {
                        strv_free(p->versions);
                        p->versions = NULL;
                        r = strv_split(e->value, MIRROR_SEPARATORS, &p->versions);
                        if (r < 0)
                                return r;
                        STRV_FOREACH (v, p->versions)
                                if (!string_in_charset(*v, NAME_CHARS) || !path_is_filename(*v))
                                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                                         "version '%s' may only use letters, digits, '_', "
                                                         "'.' and '-'",
                                                         *v);
                } else if (streq(e->key, "abrtparser")) {
                        abrt = e;
                        r = take_string(ctx, e, &p->abrtparser);
                } else if (streq(e->key, "guessparser")) {
                        guess = e;
                        r = take_string(ctx, e, &p->guessparser);
                } else if (streq(e->key, "gdb_package"))
                        r = take_string(ctx, e, &p->gdb_package);
                else if (streq(e->key, "gdb_executable")) {
                        if (!path_is_normalized_absolute(e->value))
                                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                                 "gdb_executable must be an absolute path, not '%s'",
                                                 e->value);
                        r = take_string(ctx, e, &p->gdb_executable);
                } else if (streq(e->key, "gdb_foreign_package"))
                        r = take_string(ctx, e, &p->gdb_foreign_package);
                else if (streq(e->key, "gdb_foreign_executable")) {
                        if (!path_is_normalized_absolute(e->value))
                                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                                 "gdb_foreign_executable must be an absolute path, not '%s'",
                                                 e->value);
                        r = take_string(ctx, e, &p->gdb_foreign_executable);
                } else if (streq(e->key, "crash_package"))
                        r = take_string(ctx, e, &p->crash_package);
                else if (streq(e->key, "clientrelease")) {
                        strv_free(p->client_releases);
                        p->client_releases = NULL;
                        r = strv_split(e->value, ",", &p->client_releases);
                        if (r < 0)
                                return r;
                        STRV_FOREACH (t, p->client_releases) {
                                const char *name;
                                bool ver = false, arch = false;

                                string_strip(*t);
                                for (const char *c = *t; *c; c++)
                                        if (*c == '$' && client_variable(c, &name)) {
                                                ver = ver || streq(name, "$VER");
                                                arch = arch || streq(name, "$ARCH");
                                        } else if (*c == '$' || !strchr(CLIENT_RELEASE_CHARS, *c))
                                                return ini_error(ctx->error, ctx->ini->filename, e->line,
                                                                 "clientrelease '%s' may only use letters, "
                                                                 "digits, ' _ . -', $VER, $MINOR and $ARCH",
                                                                 *t);
                                if (!ver || !arch)
                                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                                         "clientrelease '%s' needs $VER and $ARCH", *t);
                        }
                } else if (streq(e->key, "gpgcheck"))
                        r = take_bool(ctx, e, &p->gpgcheck);
                else if (streq(e->key, "gpgkey"))
                        r = take_keys(ctx, e, &p->gpgkeys);
                else
                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                         "unknown key '%s' in [plugin]", e->key);
                if (r < 0)
                        return r;
        }

        static const char *const required[] = { "distribution",  "displayrelease", "versionlist",
                                                "abrtparser",    "guessparser",    "gdb_package",
                                                "gdb_executable" };
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!ini_section_find(s, required[i]))
                        return ini_error(ctx->error, ctx->ini->filename, s->line,
                                         "[plugin] lacks the key '%s'", required[i]);
        if (strv_length(p->versions) == 0)
                return ini_error(ctx->error, ctx->ini->filename, ini_section_find(s, "versionlist")->line,
                                 "versionlist is empty");

        if (!p->gdb_foreign_package && !(p->gdb_foreign_package = strdup(p->gdb_package)))
                return -ENOMEM;
        if (!p->gdb_foreign_executable && !(p->gdb_foreign_executable = strdup(p->gdb_executable)))
                return -ENOMEM;

        if (strv_length(p->client_releases) == 0) {
                _cleanup_free_ char *t = NULL;

                strv_free(p->client_releases);
                p->client_releases = NULL;
                if (asprintf(&t, "%s-$VER-$ARCH", p->distribution) < 0)
                        return -ENOMEM;
                r = strv_extend(&p->client_releases, t);
                if (r < 0)
                        return r;
        }

        r = compile_regex(ctx, abrt, &p->abrt_re);
        if (r < 0)
                return r;
        r = compile_regex(ctx, guess, &p->guess_re);
        if (r < 0) {
                regfree(&p->abrt_re);
                return r;
        }
        p->have_regexes = true;
        return 0;
}

static int parse_repo_section(ParseContext *ctx, const IniSection *s, const Plugin *p, PluginRepo *repo)
{
        bool gpgcheck_set = false;
        int r;

        if (!s->argument || !string_in_charset(s->argument, NAME_CHARS) || !path_is_filename(s->argument))
                return ini_error(ctx->error, ctx->ini->filename, s->line,
                                 "a repository section is [repo NAME] with NAME made of letters, digits, "
                                 "'_', '.', '-'");
        repo->name = strdup(s->argument);
        if (!repo->name)
                return -ENOMEM;
        repo->line = s->line;
        repo->enabled = true;

        for (size_t i = 0; i < s->n_entries; i++) {
                const IniEntry *e = &s->entries[i];

                if (streq(e->key, "mirrors")) {
                        strv_free(repo->mirrors);
                        repo->mirrors = NULL;
                        r = strv_split(e->value, MIRROR_SEPARATORS, &repo->mirrors);
                        if (r < 0)
                                return r;
                        STRV_FOREACH (m, repo->mirrors) {
                                _cleanup_free_ char *x = NULL;

                                r = plugin_expand(*m, "0", "noarch", &x);
                                if (r == -EINVAL)
                                        return ini_error(
                                                ctx->error, ctx->ini->filename, e->line,
                                                "mirror '%s' uses a variable other than $VER and $ARCH", *m);
                                if (r < 0)
                                        return r;
                                if (strstr(*m, "://") && !mirror_is_url(*m))
                                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                                         "mirror '%s' has an unsupported scheme (file, "
                                                         "http, https, ftp, rsync)",
                                                         *m);
                        }
                } else if (streq(e->key, "gpgcheck")) {
                        r = take_bool(ctx, e, &repo->gpgcheck);
                        gpgcheck_set = true;
                } else if (streq(e->key, "gpgkey"))
                        r = take_keys(ctx, e, &repo->gpgkeys);
                else if (streq(e->key, "enabled"))
                        r = take_bool(ctx, e, &repo->enabled);
                else
                        return ini_error(ctx->error, ctx->ini->filename, e->line,
                                         "unknown key '%s' in [repo %s]", e->key, s->argument);
                if (r < 0)
                        return r;
        }
        if (strv_length(repo->mirrors) == 0)
                return ini_error(ctx->error, ctx->ini->filename, s->line, "[repo %s] has no mirrors",
                                 repo->name);
        if (!gpgcheck_set)
                repo->gpgcheck = p->gpgcheck;
        if (!repo->gpgkeys && p->gpgkeys) {
                STRV_FOREACH (k, p->gpgkeys) {
                        r = strv_extend(&repo->gpgkeys, *k);
                        if (r < 0)
                                return r;
                }
        }
        if (repo->gpgcheck && !repo->gpgkeys)
                return ini_error(ctx->error, ctx->ini->filename, s->line,
                                 "[repo %s] checks signatures (gpgcheck) but names no gpgkey", repo->name);
        return 0;
}

int plugin_parse(const IniFile *ini, const char *dir, Plugin **ret, char **ret_error)
{
        _cleanup_(plugin_freep) Plugin *p = NULL;
        ParseContext ctx = { .ini = ini, .dir = dir, .error = ret_error };
        const IniSection *ps;
        int r;

        p = calloc(1, sizeof(Plugin));
        if (!p)
                return -ENOMEM;
        p->path = strdup(ini->filename);
        p->dir = strdup(dir);
        if (!p->path || !p->dir)
                return -ENOMEM;

        ps = ini_file_find_section(ini, "plugin", NULL);
        if (!ps)
                return ini_error(ret_error, ini->filename, 0, "no [plugin] section");
        r = parse_plugin_section(&ctx, ps, p);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ini->n_sections; i++) {
                const IniSection *s = &ini->sections[i];
                PluginRepo *n;

                if (s == ps)
                        continue;
                if (!streq(s->name, "repo"))
                        return ini_error(ret_error, ini->filename, s->line,
                                         "unknown section [%s]: expected [plugin] or [repo NAME]", s->name);
                n = reallocarray(p->repos, p->n_repos + 1, sizeof(PluginRepo));
                if (!n)
                        return -ENOMEM;
                p->repos = n;
                p->repos[p->n_repos] = (PluginRepo){};
                r = parse_repo_section(&ctx, s, p, &p->repos[p->n_repos]);
                p->n_repos++;
                if (r < 0)
                        return r;
        }
        if (p->n_repos == 0)
                return ini_error(ret_error, ini->filename, 0, "no [repo NAME] section");

        *ret = TAKE_PTR(p);
        return 0;
}

int plugin_load(const char *path, Plugin **ret, char **ret_error)
{
        _cleanup_(ini_file_freep) IniFile *ini = NULL;
        _cleanup_free_ char *dir = NULL, *abs = NULL;
        const char *slash;
        int r;

        r = ini_load(path, &ini, ret_error);
        if (r < 0) {
                if (r != -EINVAL || !ret_error || !*ret_error)
                        (void) ini_error(ret_error, path, 0, "cannot read plugin: %s", strerror(-r));
                return r;
        }
        abs = realpath(path, NULL);
        if (!abs)
                return -errno;
        slash = strrchr(abs, '/');
        dir = strndup(abs, slash == abs ? 1 : (size_t) (slash - abs));
        if (!dir)
                return -ENOMEM;
        return plugin_parse(ini, dir, ret, ret_error);
}

int plugin_find(const char *plugin_dir, const char *name, Plugin **ret, char **ret_error)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *first = NULL;
        _cleanup_(plugin_freep) Plugin *p = NULL;
        int r;

        if (!path_is_filename(name))
                return -EINVAL;
        if (asprintf(&first, "%s/%s.conf", plugin_dir, name) < 0)
                return -ENOMEM;
        r = plugin_load(first, &p, ret_error);
        if (r >= 0 && streq(p->distribution, name)) {
                *ret = TAKE_PTR(p);
                return 0;
        }
        if (r < 0 && r != -ENOENT)
                return r;
        p = plugin_free(p);

        d = opendir(plugin_dir);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;

                if (de->d_name[0] == '.' || !string_endswith(de->d_name, ".conf"))
                        continue;
                path = path_join(plugin_dir, de->d_name);
                if (!path)
                        return -ENOMEM;
                if (plugin_load(path, &p, NULL) < 0)
                        continue; /* broken plugins are reported by plugin-check, not here */
                if (streq(p->distribution, name)) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                p = plugin_free(p);
        }
        return -ENOENT;
}
