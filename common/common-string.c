/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-string.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"

char *string_startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);

        if (strncmp(s, prefix, l) != 0)
                return NULL;
        return (char *) s + l;
}

char *string_endswith(const char *s, const char *suffix)
{
        size_t sl = strlen(s), xl = strlen(suffix);

        if (xl > sl || memcmp(s + sl - xl, suffix, xl) != 0)
                return NULL;
        return (char *) s + sl - xl;
}

char *string_strip(char *s)
{
        char *b = s + strspn(s, WHITESPACE);
        size_t l = strlen(b);

        while (l > 0 && strchr(WHITESPACE, b[l - 1]))
                l--;
        memmove(s, b, l);
        s[l] = '\0';
        return s;
}

bool string_in_charset(const char *s, const char *charset)
{
        return s[strspn(s, charset)] == '\0';
}

int string_copy(char *dst, size_t n, const char *src)
{
        size_t l = strlen(src);

        if (n == 0)
                return -ENOBUFS;
        if (l >= n) {
                memcpy(dst, src, n - 1);
                dst[n - 1] = '\0';
                return -ENOBUFS;
        }
        memcpy(dst, src, l + 1);
        return 0;
}

char **strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s)
{
        STRV_FOREACH (i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_extend(char ***l, const char *s)
{
        size_t n = strv_length(*l);
        _cleanup_free_ char *copy = strdup(s);
        char **nl;

        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl)
                return -ENOMEM;
        nl[n] = TAKE_PTR(copy);
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend_many(char ***l, const char *const *items, size_t n)
{
        int r;

        for (size_t i = 0; i < n; i++)
                if ((r = strv_extend(l, items[i])) < 0)
                        return r;
        return 0;
}

int strv_split(const char *s, const char *separators, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (const char *p = s;;) {
                _cleanup_free_ char *w = NULL;
                size_t n;
                int r;

                p += strspn(p, separators);
                if (*p == '\0')
                        break;
                n = strcspn(p, separators);
                w = strndup(p, n);
                if (!w)
                        return -ENOMEM;
                r = strv_extend(&l, w);
                if (r < 0)
                        return r;
                p += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

char *strv_join(char *const *l, const char *separator)
{
        size_t n = 0, sl = strlen(separator);
        char *r, *p;

        STRV_FOREACH (i, l)
                n += strlen(*i) + sl;
        r = malloc(n + 1);
        if (!r)
                return NULL;
        p = r;
        STRV_FOREACH (i, l) {
                if (i != l)
                        p = stpcpy(p, separator);
                p = stpcpy(p, *i);
        }
        *p = '\0';
        return r;
}

void string_set_printf(char **s, const char *format, ...)
{
        va_list ap;
        char *n;

        if (!s)
                return;
        va_start(ap, format);
        if (vasprintf(&n, format, ap) < 0)
                n = NULL;
        va_end(ap);
        free(*s);
        *s = n;
}
