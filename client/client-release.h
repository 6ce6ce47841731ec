/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The release id ("fedora-40-x86_64") an ABRT client derives from a crash, as PROTOCOL.md says:
 * from os-release text (REDHAT_BUGZILLA_PRODUCT/_VERSION, else NAME/VERSION_ID), else from a
 * "NAME release VERSION (…)" line; the name lower-cased ("Fedora" → "fedora", "Red Hat Enterprise
 * Linux" → "rhel", "Rawhide" → "rawhide", spaces → "-"); i586/i686 → i386. Pure. */
int client_release_id(const char *os_info, const char *os_release_line, const char *arch, char **ret);
