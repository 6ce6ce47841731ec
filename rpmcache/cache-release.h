/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A release is "<distribution>-<version>-<arch>", e.g. "fedora-40-x86_64" or
 * "centos-stream-9-x86_64" (the distribution may contain dashes; version and arch may not). */
int release_split(const char *release, char **ret_distribution, char **ret_version, char **ret_arch);
int release_join(const char *distribution, const char *version, const char *arch, char **ret);
