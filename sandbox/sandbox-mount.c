/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-mount.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common-path.h"

/* Where the new root is assembled: a tmpfs mounted over the host's /tmp in our private mount
 * namespace. Every host path the tree needs is opened before that, so covering /tmp is harmless. */
#define BASE "/tmp"

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom" };

static int fd_path(int fd, char *buf, size_t size)
{
        int n = snprintf(buf, size, "/proc/self/fd/%d", fd);

        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* Remounts a bind mount with our flags, keeping the flags the kernel locks for mounts that came from a
 * more privileged namespace (changing those fails with EPERM). */
static int remount_bind(const char *target, bool readonly)
{
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV;
        struct statvfs sv;

        if (statvfs(target, &sv) < 0)
                return -errno;
        if (readonly || (sv.f_flag & ST_RDONLY))
                flags |= MS_RDONLY;
        if (sv.f_flag & ST_NOEXEC)
                flags |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME)
                flags |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                flags |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                flags |= MS_RELATIME;
        if (mount(NULL, target, NULL, flags, NULL) < 0)
                return -errno;
        return 0;
}

/* Binds source on target recursively, then makes the whole subtree nosuid, nodev and (when asked)
 * read-only with one mount_setattr() call (Linux 5.12). Flags the kernel locked on mounts from the
 * host are only ever added to, never cleared, so this cannot fail on them. */
static int bind_mount(const char *source, const char *target, bool readonly)
{
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0),
        };

        if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof(attr)) >= 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        /* Older kernels: only the top mount can be changed; submounts keep their flags. */
        return remount_bind(target, readonly);
}

/* Creates target (a directory or an empty file) and its missing parents. Fails with EROFS below a
 * read-only bind: the host's root directory is never modified. */
static int make_mountpoint(const char *target, bool directory)
{
        _cleanup_free_ char *parent = NULL;
        struct stat st;
        char *slash;
        int r, fd;

        if (lstat(target, &st) >= 0)
                return 0;
        if (errno != ENOENT)
                return -errno;
        parent = strdup(target);
        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = '\0';
                r = path_mkdir_p(parent, 0755);
                if (r < 0)
                        return r;
        }
        if (directory)
                return mkdir(target, 0755) < 0 && errno != EEXIST ? -errno : 0;
        fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;
        (void) close(fd);
        return 0;
}

typedef struct RootEntry {
        char *name;
        mode_t mode;
        int fd;     /* O_PATH, for directories and regular files */
        char *link; /* for symlinks */
} RootEntry;

/* Host objects the new tree is built from, opened while we still have the caller's uid: as root the
 * sandbox switches to an unprivileged uid before it builds the tree, and may then lack the right to
 * look these paths up. */
struct SandboxMountSources {
        RootEntry *entries;
        size_t n_entries;
        int *fds; /* one per c->mounts entry; -EBADF for a tmpfs */
        size_t n_fds;
};

SandboxMountSources *sandbox_mount_sources_free(SandboxMountSources *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].name);
                free(s->entries[i].link);
                (void) safe_close(s->entries[i].fd);
        }
        free(s->entries);
        for (size_t i = 0; i < s->n_fds; i++)
                (void) safe_close(s->fds[i]);
        free(s->fds);
        return mfree(s);
}

static int root_entry_open(int root_fd, const char *root, const char *name, RootEntry *ret, SandboxError *e)
{
        char link[PATH_MAX];
        struct stat st;
        ssize_t n;

        *ret = (RootEntry){ .fd = -EBADF };
        if (fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return sandbox_error_set(e, errno, "cannot stat %s/%s", root, name);
        if (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return 0; /* sockets, fifos, devices: not part of a root file system we build */
        ret->mode = st.st_mode;
        ret->name = strdup(name);
        if (!ret->name)
                return sandbox_error_set(e, ENOMEM, "out of memory");
        if (S_ISLNK(st.st_mode)) {
                n = readlinkat(root_fd, name, link, sizeof(link) - 1);
                if (n < 0)
                        return sandbox_error_set(e, errno, "cannot read link %s/%s", root, name);
                link[n] = '\0';
                ret->link = strdup(link);
                if (!ret->link)
                        return sandbox_error_set(e, ENOMEM, "out of memory");
                return 0;
        }
        ret->fd = openat(root_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (ret->fd < 0)
                return sandbox_error_set(e, errno, "cannot open %s/%s", root, name);
        return 0;
}

static int root_entries_open(const char *root, SandboxMountSources *s, SandboxError *e)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(root);
        if (!d)
                return sandbox_error_set(e, errno, "cannot read the root directory %s", root);
        while ((errno = 0, de = readdir(d))) {
                RootEntry *entries;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") || streq(de->d_name, "proc") ||
                    streq(de->d_name, "dev"))
                        continue;
                entries = reallocarray(s->entries, s->n_entries + 1, sizeof(RootEntry));
                if (!entries)
                        return sandbox_error_set(e, ENOMEM, "out of memory");
                s->entries = entries;
                r = root_entry_open(dirfd(d), root, de->d_name, &s->entries[s->n_entries], e);
                s->n_entries++; /* counted even when half-filled, so that it is freed */
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return sandbox_error_set(e, errno, "cannot read the root directory %s", root);
        return 0;
}

int sandbox_mount_sources_open(const SandboxConfig *c, SandboxMountSources **ret, SandboxError *e)
{
        _cleanup_(sandbox_mount_sources_freep) SandboxMountSources *s = NULL;
        int r;

        s = calloc(1, sizeof(SandboxMountSources));
        if (!s)
                return sandbox_error_set(e, ENOMEM, "out of memory");
        if (!c->empty_root) {
                r = root_entries_open(c->root, s, e);
                if (r < 0)
                        return r;
        }
        s->fds = calloc(c->n_mounts + 1, sizeof(int));
        if (!s->fds)
                return sandbox_error_set(e, ENOMEM, "out of memory");
        s->n_fds = c->n_mounts;
        for (size_t i = 0; i < c->n_mounts; i++)
                s->fds[i] = -EBADF;
        for (size_t i = 0; i < c->n_mounts; i++) {
                if (!c->mounts[i].source)
                        continue;
                s->fds[i] = open(c->mounts[i].source, O_PATH | O_CLOEXEC);
                if (s->fds[i] < 0)
                        return sandbox_error_set(e, errno, "cannot open --%s source %s",
                                                 sandbox_mount_type_to_string(c->mounts[i].type),
                                                 c->mounts[i].source);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* Makes every top-level entry of the root directory appear, read-only, in the tmpfs root. Binding
 * entries rather than the directory itself keeps the top level on our tmpfs, so mount points such
 * as /coredump can be created there without touching the host's directory. */
static int root_entries_bind(const char *root, const SandboxMountSources *s, SandboxError *e)
{
        for (size_t i = 0; i < s->n_entries; i++) {
                const RootEntry *en = &s->entries[i];
                char source[64], target[PATH_MAX];
                int r;

                if (!en->name)
                        continue;
                (void) snprintf(target, sizeof(target), BASE "/%s", en->name);
                if (en->link) {
                        if (symlink(en->link, target) < 0)
                                return sandbox_error_set(e, errno, "cannot create /%s", en->name);
                        continue;
                }
                r = make_mountpoint(target, S_ISDIR(en->mode));
                if (r < 0)
                        return sandbox_error_set(e, r, "cannot create the mount point /%s", en->name);
                (void) fd_path(en->fd, source, sizeof(source));
                r = bind_mount(source, target, true);
                if (r < 0)
                        return sandbox_error_set(e, r, "cannot bind %s/%s read-only", root, en->name);
        }
        return 0;
}

static int mount_proc(SandboxError *e)
{
        if (mkdir(BASE "/proc", 0555) < 0)
                return sandbox_error_set(e, errno, "cannot create /proc");
        if (mount("proc", BASE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                if (errno == EPERM)
                        return sandbox_error_set(
                                e, errno,
                                "cannot mount a fresh /proc: the kernel refuses when parts "
                                "of the host's /proc are hidden by other mounts (as in many "
                                "containers); run where /proc is fully visible");
                return sandbox_error_set(e, errno, "cannot mount a fresh /proc");
        }
        return 0;
}

static int mount_dev(bool with_tty, SandboxError *e)
{
        static const char *const links[][2] = {
                { "fd", "/proc/self/fd" },
                { "stdin", "/proc/self/fd/0" },
                { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };
        int r;

        if (mkdir(BASE "/dev", 0755) < 0)
                return sandbox_error_set(e, errno, "cannot create /dev");
        if (mount("tmpfs", BASE "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0)
                return sandbox_error_set(e, errno, "cannot mount a tmpfs on /dev");
        /* Device nodes cannot be created in a user namespace; bind the host's harmless ones. */
        for (size_t i = 0; i < ELEMENTSOF(dev_nodes) + with_tty; i++) {
                const char *name = i < ELEMENTSOF(dev_nodes) ? dev_nodes[i] : "tty";
                char source[64], target[64];

                (void) snprintf(source, sizeof(source), "/dev/%s", name);
                (void) snprintf(target, sizeof(target), BASE "/dev/%s", name);
                r = make_mountpoint(target, false);
                if (r < 0)
                        return sandbox_error_set(e, r, "cannot create %s", source);
                if (mount(source, target, NULL, MS_BIND, NULL) < 0)
                        return sandbox_error_set(e, errno, "cannot bind the host's %s", source);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                char target[64];

                (void) snprintf(target, sizeof(target), BASE "/dev/%s", links[i][0]);
                if (symlink(links[i][1], target) < 0)
                        return sandbox_error_set(e, errno, "cannot create /dev/%s", links[i][0]);
        }
        if (mount(NULL, BASE "/dev", NULL,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return sandbox_error_set(e, errno, "cannot make /dev read-only");
        return 0;
}

static int mount_requested(const SandboxMount *m, int source_fd, const SandboxIds *ids, SandboxError *e)
{
        _cleanup_free_ char *target = path_join(BASE, m->dest);
        const char *what = sandbox_mount_type_to_string(m->type);
        char source[64], options[128];
        struct stat st;
        int r;

        if (!target)
                return sandbox_error_set(e, ENOMEM, "out of memory");
        if (m->type == SANDBOX_MOUNT_TMPFS) {
                r = make_mountpoint(target, true);
                if (r < 0)
                        goto mountpoint_failed;
                (void) snprintf(options, sizeof(options), "mode=1777,size=%llu,uid=%u,gid=%u",
                                (unsigned long long) m->size, (unsigned) ids->inside_uid,
                                (unsigned) ids->inside_gid);
                if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0)
                        return sandbox_error_set(e, errno, "cannot mount a tmpfs on %s", m->dest);
                return 0;
        }

        if (fstat(source_fd, &st) < 0)
                return sandbox_error_set(e, errno, "cannot stat --%s source %s", what, m->source);
        r = make_mountpoint(target, S_ISDIR(st.st_mode));
        if (r < 0)
                goto mountpoint_failed;
        (void) fd_path(source_fd, source, sizeof(source));
        r = bind_mount(source, target, m->type == SANDBOX_MOUNT_RO_BIND);
        if (r < 0)
                return sandbox_error_set(e, r, "cannot bind %s on %s", m->source, m->dest);
        return 0;

mountpoint_failed:
        if (r == -EROFS)
                return sandbox_error_set(e, r,
                                         "mount point %s does not exist in the root and cannot be created "
                                         "there (the root is read-only): create it in the root directory or "
                                         "mount at a new top-level path",
                                         m->dest);
        return sandbox_error_set(e, r, "cannot create the mount point %s", m->dest);
}

int sandbox_mount_build(const SandboxConfig *c, const SandboxMountSources *s, const SandboxIds *ids,
                        bool with_tty, SandboxError *e)
{
        int r;

        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return sandbox_error_set(e, errno, "cannot make the mount tree private");
        if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
                return sandbox_error_set(e, errno, "cannot mount the tmpfs for the new root on " BASE);
        r = root_entries_bind(c->root, s, e);
        if (r < 0)
                return r;
        r = mount_proc(e);
        if (r < 0)
                return r;
        r = mount_dev(with_tty, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_mounts; i++) {
                r = mount_requested(&c->mounts[i], s->fds[i], ids, e);
                if (r < 0)
                        return r;
        }
        if (mount(NULL, BASE, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                return sandbox_error_set(e, errno, "cannot make the new root read-only");

        /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves nothing
         * of the host reachable. */
        if (chdir(BASE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
            chdir("/") < 0)
                return sandbox_error_set(e, errno, "cannot switch to the new root (pivot_root)");
        if (c->chdir && chdir(c->chdir) < 0)
                return sandbox_error_set(e, errno, "cannot change to --chdir %s inside the sandbox",
                                         c->chdir);
        return 0;
}
