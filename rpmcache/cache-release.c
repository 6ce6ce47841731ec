/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-release.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-path.h"

int release_split(const char *release, char **ret_distribution, char **ret_version, char **ret_arch)
{
        _cleanup_free_ char *d = NULL, *v = NULL, *a = NULL;
        const char *dash2 = strrchr(release, '-'), *dash1;

        if (!path_is_filename(release) || !dash2 || dash2 == release || isempty(dash2 + 1))
                return -EINVAL;
        for (dash1 = dash2 - 1; dash1 > release && *dash1 != '-'; dash1--)
                ;
        if (dash1 == release || dash1 + 1 == dash2)
                return -EINVAL;
        d = strndup(release, dash1 - release);
        v = strndup(dash1 + 1, dash2 - dash1 - 1);
        a = strdup(dash2 + 1);
        if (!d || !v || !a)
                return -ENOMEM;
        *ret_distribution = TAKE_PTR(d);
        *ret_version = TAKE_PTR(v);
        *ret_arch = TAKE_PTR(a);
        return 0;
}

int release_join(const char *distribution, const char *version, const char *arch, char **ret)
{
        if (isempty(distribution) || isempty(version) || isempty(arch) || strchr(version, '-') ||
            strchr(arch, '-'))
                return -EINVAL;
        if (asprintf(ret, "%s-%s-%s", distribution, version, arch) < 0)
                return -ENOMEM;
        return path_is_filename(*ret) ? 0 : -EINVAL;
}
