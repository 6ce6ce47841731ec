/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client-release.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-osrelease.h"
#include "common-string.h"

static char *distribution_slug(const char *name)
{
        static const struct {
                const char *name, *slug;
        } known[] = {
                { "Fedora", "fedora" },
                { "Red Hat Enterprise Linux", "rhel" },
                { "Rawhide", "rawhide" },
        };
        char *s;

        /* Prefixes: RHEL's REDHAT_BUGZILLA_PRODUCT is "Red Hat Enterprise Linux 9". */
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (string_startswith(name, known[i].name))
                        return strdup(known[i].slug);
        s = strdup(name);
        os_release_slugify(s);
        return s;
}

int client_release_id(const char *os_info, const char *os_release_line, const char *arch, char **ret)
{
        _cleanup_free_ char *name = NULL, *version = NULL, *slug = NULL;
        const char *a = arch;

        if (os_info) {
                name = os_release_value(os_info, "REDHAT_BUGZILLA_PRODUCT");
                version = os_release_value(os_info, "REDHAT_BUGZILLA_PRODUCT_VERSION");
                if (!name || !version) {
                        name = mfree(name);
                        version = mfree(version);
                        name = os_release_value(os_info, "NAME");
                        version = os_release_value(os_info, "VERSION_ID");
                }
        }
        if ((!name || !version) && os_release_line) {
                const char *r = strstr(os_release_line, " release ");

                if (r) {
                        free(name);
                        free(version);
                        name = strndup(os_release_line, (size_t) (r - os_release_line));
                        r += STRLEN(" release ");
                        version = strndup(r, strcspn(r, " \n("));
                }
        }
        if (isempty(name) || isempty(version) || isempty(arch))
                return -ENODATA;
        if (IN_SET(0, strcmp(arch, "i586"), strcmp(arch, "i686")))
                a = "i386";
        slug = distribution_slug(name);
        if (!slug)
                return -ENOMEM;
        if (asprintf(ret, "%s-%s-%s", slug, version, a) < 0)
                return -ENOMEM;
        return 0;
}
