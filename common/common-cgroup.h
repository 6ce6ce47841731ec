/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* cgroup v2 delegation (see sandbox/README.md, "Limits").
 *
 * A process may only give its children cgroups with controllers when it was delegated a subtree: a
 * cgroup it owns (systemd's Delegate=, `systemd-run -p Delegate=yes`). Such a cgroup cannot hold
 * processes and children with controllers at once, so the process first moves itself into a leaf
 * named CGROUP_SUPERVISOR_LEAF and then enables the controllers for the delegated cgroup's children.
 * Sandboxes are created beside that leaf. A cgroup that was not delegated to us is never touched. */

#define CGROUP_SUPERVISOR_LEAF "retrace-supervisor"

/* Pure parsers. */
/* The cgroup v2 path in the text of /proc/self/cgroup (the "0::/path" line); -ENOENT without one. */
int cgroup_parse_self(const char *text, char **ret_path);
/* Mount point and mounted root of the first cgroup2 file system in the text of
 * /proc/self/mountinfo (octal escapes such as \040 decoded); -ENOENT without one. */
int cgroup_parse_mountinfo(const char *text, char **ret_mount_point, char **ret_root);
/* Whether a space-separated controller list (cgroup.controllers, cgroup.subtree_control) names
 * controller. */
bool cgroup_list_contains(const char *list, const char *controller);

/* Writes text to a cgroup file in one write() (cgroupfs takes each write as one request). */
int cgroup_write_at(int dir_fd, const char *name, const char *text);

/* The host path of the caller's cgroup v2 directory; -ENOENT when there is no cgroup2 mount or the
 * caller's cgroup is not below it (pure cgroup v1, or hidden). */
int cgroup_own_dir(char **ret);

/* Makes dir (the caller's own cgroup) the base of sandboxes: moves the calling process into
 * dir/CGROUP_SUPERVISOR_LEAF and enables the pids and memory controllers, where dir offers them, for
 * dir's children. Returns 0 when dir's children have at least one of them (also when that was so
 * before), else a negative errno with a reason in words in problem: -EOPNOTSUPP (no controller
 * available), -EACCES (not delegated to us), -EBUSY (other processes share the cgroup). On failure
 * the caller stays where it was. */
int cgroup_delegate_self(const char *dir, char *problem, size_t problem_size);
