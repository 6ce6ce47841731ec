/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "common-macro.h"

/* A parsed INI file: "[name]" or "[name argument]" sections holding "key = value" lines.
 * Lines starting with '#' or ';' are comments; an indented line without '=' continues the value
 * of the line above it (joined with one space), for long lists. Every section and entry remembers its line
 * so that the code validating values can name file:line in its error. */
typedef struct IniEntry {
        char *key;
        char *value;
        unsigned line;
        unsigned line_last; /* last line of a value continued on indented lines */
} IniEntry;

typedef struct IniSection {
        char *name;
        char *argument; /* NULL for "[name]" */
        unsigned line;
        IniEntry *entries;
        size_t n_entries;
} IniSection;

typedef struct IniFile {
        char *filename; /* as given, used in error messages */
        IniSection *sections;
        size_t n_sections;
} IniFile;

/* Longest line accepted, and the size limit for ini_load(). */
#define INI_LINE_MAX (16U * 1024U)
#define INI_FILE_MAX (1024U * 1024U)

/* Pure parser: buf (len bytes, need not be NUL-terminated) in, IniFile out. On a syntax error
 * returns -EINVAL and, when ret_error is not NULL, "FILE:LINE: what is wrong". */
int ini_parse(const char *filename, const char *buf, size_t len, IniFile **ret, char **ret_error);
/* Reads path (following symlinks, at most INI_FILE_MAX bytes) and parses it. Errors other than
 * syntax errors (-ENOENT, -EFBIG, …) leave *ret_error unset. */
int ini_load(const char *path, IniFile **ret, char **ret_error);
IniFile *ini_file_free(IniFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(IniFile *, ini_file_free);

const IniSection *ini_file_find_section(const IniFile *f, const char *name, const char *argument);
const IniEntry *ini_section_find(const IniSection *s, const char *key);

/* Formats "FILE:LINE: message" into *ret_error (when not NULL) and returns -EINVAL, for the
 * validators built on top of the parser. */
int ini_error(char **ret_error, const char *filename, unsigned line, const char *format, ...) _printf_(4, 5);
