/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common-macro.h"

int parse_uint64(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (isempty(s) || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_int64(const char *s, int64_t *ret)
{
        long long v;
        char *end;

        if (isempty(s) || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_uint(const char *s, unsigned *ret)
{
        uint64_t v;
        int r = parse_uint64(s, &v);

        if (r < 0)
                return r;
        if (v > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

int parse_int(const char *s, int *ret)
{
        int64_t v;
        int r = parse_int64(s, &v);

        if (r < 0)
                return r;
        if (v < INT_MIN || v > INT_MAX)
                return -ERANGE;
        *ret = (int)v;
        return 0;
}

int parse_boolean(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

struct unit {
        const char *suffix;
        uint64_t factor;
};

/* Splits s into a leading number and a suffix looked up in units (longest names first). */
static int parse_with_units(const char *s, const struct unit *units, size_t n_units, uint64_t *ret)
{
        char num[32];
        size_t l;
        uint64_t v;
        int r;

        if (isempty(s))
                return -EINVAL;
        l = strspn(s, "0123456789");
        if (l == 0 || l >= sizeof(num))
                return l == 0 ? -EINVAL : -ERANGE;
        memcpy(num, s, l);
        num[l] = '\0';
        r = parse_uint64(num, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_units; i++)
                if (strcasecmp(s + l, units[i].suffix) == 0) {
                        if (v > UINT64_MAX / units[i].factor)
                                return -ERANGE;
                        *ret = v * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
        static const struct unit units[] = {
                { "", 1 },
                { "B", 1 },
                { "K", 1ULL << 10 },
                { "KiB", 1ULL << 10 },
                { "M", 1ULL << 20 },
                { "MiB", 1ULL << 20 },
                { "G", 1ULL << 30 },
                { "GiB", 1ULL << 30 },
                { "T", 1ULL << 40 },
                { "TiB", 1ULL << 40 },
        };
        return parse_with_units(s, units, ELEMENTSOF(units), ret);
}

int parse_seconds(const char *s, uint64_t *ret)
{
        static const struct unit units[] = {
                { "", 1 },      { "s", 1 },      { "sec", 1 },     { "min", 60 },
                { "m", 60 },    { "h", 3600 },   { "hour", 3600 }, { "d", 86400 },
                { "day", 86400 }, { "days", 86400 },
        };
        return parse_with_units(s, units, ELEMENTSOF(units), ret);
}
