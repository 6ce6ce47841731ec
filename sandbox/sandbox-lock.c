/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common-macro.h"

#define LOCK_POLL_USEC 50000ULL

static uint64_t monotonic_usec(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int sandbox_die_with_parent(pid_t expected_parent)
{
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return -errno;
        /* Armed only from now on: a parent that is already gone left us to a reaper. */
        if (expected_parent > 0 && getppid() != expected_parent)
                return -ESRCH;
        return 0;
}

int sandbox_lock_fd(int fd, uint64_t deadline, uint64_t *ret_waited_usec)
{
        uint64_t start = monotonic_usec();

        /* Polled rather than blocking, so that the deadline holds without signals. */
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                uint64_t now;

                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return -errno;
                now = monotonic_usec();
                if (deadline > 0 && now >= deadline)
                        return -ETIMEDOUT;
                (void) usleep(
                        (useconds_t) (deadline > 0 ? MIN(LOCK_POLL_USEC, deadline - now) : LOCK_POLL_USEC));
        }
        *ret_waited_usec = monotonic_usec() - start;
        return 0;
}

int sandbox_lock_take(const char *path, uint64_t deadline, int *ret_fd, uint64_t *ret_waited_usec)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = sandbox_lock_fd(fd, deadline, ret_waited_usec);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
