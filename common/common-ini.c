/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-fd.h"
#include "common-string.h"

#define KEY_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

int ini_error(char **ret_error, const char *filename, unsigned line, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = NULL;
        if (line > 0)
                r = asprintf(ret_error, "%s:%u: %s", filename, line, msg);
        else
                r = asprintf(ret_error, "%s: %s", filename, msg);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static void ini_section_done(IniSection *s)
{
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].key);
                free(s->entries[i].value);
        }
        free(s->entries);
        free(s->name);
        free(s->argument);
}

IniFile *ini_file_free(IniFile *f)
{
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_sections; i++)
                ini_section_done(&f->sections[i]);
        free(f->sections);
        free(f->filename);
        return mfree(f);
}

const IniSection *ini_file_find_section(const IniFile *f, const char *name, const char *argument)
{
        for (size_t i = 0; i < f->n_sections; i++) {
                const IniSection *s = &f->sections[i];

                if (!streq(s->name, name))
                        continue;
                if (!argument == !s->argument && (!argument || streq(argument, s->argument)))
                        return s;
        }
        return NULL;
}

const IniEntry *ini_section_find(const IniSection *s, const char *key)
{
        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i].key, key))
                        return &s->entries[i];
        return NULL;
}

/* "[name]" or "[name argument]"; line is stripped and starts with '['. */
static int parse_section_header(IniFile *f, char *line, unsigned lineno, char **ret_error)
{
        _cleanup_free_ char *name = NULL, *argument = NULL;
        IniSection *n;
        size_t len = strlen(line);
        char *inner, *sp;

        if (line[len - 1] != ']')
                return ini_error(ret_error, f->filename, lineno, "section header lacks a closing ']'");
        line[len - 1] = '\0';
        inner = string_strip(line + 1);
        sp = inner + strcspn(inner, WHITESPACE);
        if (*sp) {
                *sp = '\0';
                argument = strdup(string_strip(sp + 1));
                if (!argument)
                        return -ENOMEM;
                if (isempty(argument) || strpbrk(argument, "[]"))
                        return ini_error(ret_error, f->filename, lineno, "invalid section argument");
        }
        if (isempty(inner) || !string_in_charset(inner, KEY_CHARS))
                return ini_error(ret_error, f->filename, lineno, "invalid section name '%s'", inner);
        if (ini_file_find_section(f, inner, argument))
                return ini_error(ret_error, f->filename, lineno, "section [%s%s%s] appears twice", inner,
                                 argument ? " " : "", strempty(argument));
        name = strdup(inner);
        if (!name)
                return -ENOMEM;
        n = reallocarray(f->sections, f->n_sections + 1, sizeof(IniSection));
        if (!n)
                return -ENOMEM;
        f->sections = n;
        f->sections[f->n_sections++] = (IniSection){
                .name = TAKE_PTR(name),
                .argument = TAKE_PTR(argument),
                .line = lineno,
        };
        return 0;
}

static int parse_assignment(IniFile *f, char *line, unsigned lineno, char **ret_error)
{
        _cleanup_free_ char *key = NULL, *value = NULL;
        IniSection *s;
        IniEntry *n;
        char *eq = strchr(line, '=');

        if (!eq)
                return ini_error(ret_error, f->filename, lineno, "expected 'key = value' or '[section]'");
        if (f->n_sections == 0)
                return ini_error(ret_error, f->filename, lineno, "assignment outside of any section");
        *eq = '\0';
        key = strdup(string_strip(line));
        value = strdup(string_strip(eq + 1));
        if (!key || !value)
                return -ENOMEM;
        if (isempty(key) || !string_in_charset(key, KEY_CHARS))
                return ini_error(ret_error, f->filename, lineno, "invalid key '%s'", key);
        s = &f->sections[f->n_sections - 1];
        if (ini_section_find(s, key))
                return ini_error(ret_error, f->filename, lineno, "key '%s' is set twice in [%s]", key,
                                 s->name);
        n = reallocarray(s->entries, s->n_entries + 1, sizeof(IniEntry));
        if (!n)
                return -ENOMEM;
        s->entries = n;
        s->entries[s->n_entries++] = (IniEntry){
                .key = TAKE_PTR(key),
                .value = TAKE_PTR(value),
                .line = lineno,
                .line_last = lineno,
        };
        return 0;
}

static int append_continuation(IniFile *f, const char *line, unsigned lineno, char **ret_error)
{
        IniSection *s = f->n_sections > 0 ? &f->sections[f->n_sections - 1] : NULL;
        IniEntry *e;
        char *v;

        if (!s || s->n_entries == 0 || s->entries[s->n_entries - 1].line_last + 1 != lineno)
                return ini_error(ret_error, f->filename, lineno,
                                 "indented line does not continue a 'key = value' line right above it");
        e = &s->entries[s->n_entries - 1];
        if (asprintf(&v, "%s%s%s", e->value, isempty(e->value) ? "" : " ", line) < 0)
                return -ENOMEM;
        free(e->value);
        e->value = v;
        e->line_last = lineno;
        return 0;
}

int ini_parse(const char *filename, const char *buf, size_t len, IniFile **ret, char **ret_error)
{
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        unsigned lineno = 0;
        size_t pos = 0;
        int r;

        f = calloc(1, sizeof(IniFile));
        if (!f)
                return -ENOMEM;
        f->filename = strdup(filename);
        if (!f->filename)
                return -ENOMEM;

        while (pos < len) {
                _cleanup_free_ char *copy = NULL;
                const char *nl = memchr(buf + pos, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - (buf + pos)) : len - pos;
                char *line;

                lineno++;
                if (n > INI_LINE_MAX)
                        return ini_error(ret_error, filename, lineno, "line longer than %u bytes",
                                         INI_LINE_MAX);
                if (memchr(buf + pos, '\0', n))
                        return ini_error(ret_error, filename, lineno, "NUL byte in line");
                copy = strndup(buf + pos, n);
                if (!copy)
                        return -ENOMEM;
                pos += n + 1;

                line = string_strip(copy);
                if (isempty(line) || line[0] == '#' || line[0] == ';')
                        continue;
                if ((buf[pos - n - 1] == ' ' || buf[pos - n - 1] == '\t') && line[0] != '[' &&
                    !strchr(line, '=')) {
                        /* An indented line without '=' continues the value above it (lists of mirrors). */
                        r = append_continuation(f, line, lineno, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (line[0] == '[')
                        r = parse_section_header(f, line, lineno, ret_error);
                else
                        r = parse_assignment(f, line, lineno, ret_error);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(f);
        return 0;
}

int ini_load(const char *path, IniFile **ret, char **ret_error)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = fd_read_full(fd, INI_FILE_MAX, &buf, &len);
        if (r < 0)
                return r;
        return ini_parse(path, buf, len, ret, ret_error);
}
