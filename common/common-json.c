/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 when there is none. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
        size_t len;
        unsigned cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and code points beyond U+10FFFF are not valid. */
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return len;
}

json_t *json_string_safe(const char *s)
{
        const unsigned char *p = (const unsigned char *) s;
        size_t n, out = 0;
        char *buf;
        json_t *v;

        if (!s)
                return json_null();
        n = strlen(s);
        buf = malloc(n * 3 + 1); /* each invalid byte becomes three (U+FFFD) */
        if (!buf)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t len = utf8_sequence(p + i, n - i);

                if (len == 0) {
                        memcpy(buf + out, "\xef\xbf\xbd", 3);
                        out += 3;
                        i++;
                        continue;
                }
                memcpy(buf + out, p + i, len);
                out += len;
                i += len;
        }
        v = json_stringn_nocheck(buf, out);
        free(buf);
        return v;
}

int json_dump_take(json_t *v, int pretty, char **ret)
{
        char *text, *withnl;
        size_t len;

        if (!v)
                return -ENOMEM;
        text = json_dumps(v, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
        json_decref(v);
        if (!text)
                return -ENOMEM;
        len = strlen(text);
        withnl = realloc(text, len + 2);
        if (!withnl) {
                free(text);
                return -ENOMEM;
        }
        withnl[len] = '\n';
        withnl[len + 1] = '\0';
        *ret = withnl;
        return 0;
}
