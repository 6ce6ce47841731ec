/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client-release.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-string.h"

/* The unquoted value of KEY in os-release text, or NULL. */
static char *os_release_value(const char *text, const char *key)
{
        size_t kl = strlen(key);

        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);

                if (n > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
                        const char *v = line + kl + 1;
                        size_t vl = n - kl - 1;

                        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
                                v++;
                                vl -= 2;
                        }
                        return strndup(v, vl);
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

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
        for (char *c = s; c && *c; c++)
                *c = *c == ' ' ? '-' : (char) tolower((unsigned char) *c);
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
