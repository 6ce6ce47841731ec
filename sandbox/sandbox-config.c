/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common-parse.h"
#include "common-path.h"
#include "common-string.h"

typedef enum RlimitUnit {
        RLIMIT_UNIT_BYTES,
        RLIMIT_UNIT_SECONDS,
        RLIMIT_UNIT_COUNT,
} RlimitUnit;

static const struct {
        const char *name;
        RlimitUnit unit;
} rlimit_table[RLIM_NLIMITS] = {
        [RLIMIT_AS] = { "as", RLIMIT_UNIT_BYTES },
        [RLIMIT_CORE] = { "core", RLIMIT_UNIT_BYTES },
        [RLIMIT_CPU] = { "cpu", RLIMIT_UNIT_SECONDS },
        [RLIMIT_DATA] = { "data", RLIMIT_UNIT_BYTES },
        [RLIMIT_FSIZE] = { "fsize", RLIMIT_UNIT_BYTES },
        [RLIMIT_LOCKS] = { "locks", RLIMIT_UNIT_COUNT },
        [RLIMIT_MEMLOCK] = { "memlock", RLIMIT_UNIT_BYTES },
        [RLIMIT_MSGQUEUE] = { "msgqueue", RLIMIT_UNIT_BYTES },
        [RLIMIT_NICE] = { "nice", RLIMIT_UNIT_COUNT },
        [RLIMIT_NOFILE] = { "nofile", RLIMIT_UNIT_COUNT },
        [RLIMIT_NPROC] = { "nproc", RLIMIT_UNIT_COUNT },
        [RLIMIT_RSS] = { "rss", RLIMIT_UNIT_BYTES },
        [RLIMIT_RTPRIO] = { "rtprio", RLIMIT_UNIT_COUNT },
        [RLIMIT_RTTIME] = { "rttime", RLIMIT_UNIT_COUNT },
        [RLIMIT_SIGPENDING] = { "sigpending", RLIMIT_UNIT_COUNT },
        [RLIMIT_STACK] = { "stack", RLIMIT_UNIT_BYTES },
};

static const char *const sandbox_mount_type_table[_SANDBOX_MOUNT_TYPE_MAX] = {
        [SANDBOX_MOUNT_RO_BIND] = "ro-bind",
        [SANDBOX_MOUNT_BIND] = "bind",
        [SANDBOX_MOUNT_TMPFS] = "tmpfs",
};

DEFINE_STRING_TABLE_TO_STRING(sandbox_mount_type, SandboxMountType, _SANDBOX_MOUNT_TYPE_MAX)

static const char *const sandbox_cgroup_mode_table[_SANDBOX_CGROUP_MODE_MAX] = {
        [SANDBOX_CGROUP_AUTO] = "auto",
        [SANDBOX_CGROUP_NO] = "no",
        [SANDBOX_CGROUP_REQUIRE] = "require",
};

DEFINE_STRING_TABLE_FROM_STRING(sandbox_cgroup_mode, SandboxCgroupMode, _SANDBOX_CGROUP_MODE_MAX,
                                _SANDBOX_CGROUP_MODE_INVALID)

DEFINE_STRING_TABLE_TO_STRING(sandbox_cgroup_mode, SandboxCgroupMode, _SANDBOX_CGROUP_MODE_MAX)

int sandbox_parse_cgroup_limit(const char *arg, bool size, uint64_t *ret)
{
        uint64_t v;
        int r;

        if (!arg)
                return -EINVAL;
        if (streq(arg, "max")) {
                *ret = SANDBOX_CGROUP_UNLIMITED;
                return 0;
        }
        r = size ? parse_size(arg, &v) : parse_uint64(arg, &v);
        if (r < 0)
                return r;
        /* A cgroup with pids.max 0 or a memory.max below a page can never start the command. */
        if (v == SANDBOX_CGROUP_UNLIMITED || v < (size ? 4096U : 1U))
                return -ERANGE;
        *ret = v;
        return 0;
}

void sandbox_config_init(SandboxConfig *c)
{
        *c = (SandboxConfig){
                .output_limit = SANDBOX_OUTPUT_LIMIT_DEFAULT,
                .cgroup_mode = SANDBOX_CGROUP_AUTO,
                .pids_max = SANDBOX_PIDS_MAX_DEFAULT,
                .memory_max = SANDBOX_MEMORY_MAX_DEFAULT,
                .status_fd = -EBADF,
        };
}

void sandbox_config_done(SandboxConfig *c)
{
        free(c->root);
        for (size_t i = 0; i < c->n_mounts; i++) {
                free(c->mounts[i].source);
                free(c->mounts[i].dest);
        }
        free(c->mounts);
        free(c->chdir);
        strv_free(c->env);
        strv_free(c->argv);
        sandbox_config_init(c);
}

int sandbox_rlimit_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        for (int i = 0; i < RLIM_NLIMITS; i++)
                if (rlimit_table[i].name && streq(rlimit_table[i].name, s))
                        return i;
        return -EINVAL;
}

const char *sandbox_rlimit_to_string(int resource)
{
        if (resource < 0 || resource >= RLIM_NLIMITS)
                return NULL;
        return rlimit_table[resource].name;
}

int sandbox_parse_tmpfs(const char *arg, char **ret_dest, uint64_t *ret_size)
{
        _cleanup_free_ char *dest = NULL;
        uint64_t size = SANDBOX_TMPFS_SIZE_DEFAULT;
        const char *colon;
        int r;

        if (isempty(arg))
                return -EINVAL;
        colon = strchr(arg, ':');
        dest = colon ? strndup(arg, (size_t) (colon - arg)) : strdup(arg);
        if (!dest)
                return -ENOMEM;
        if (!path_is_normalized_absolute(dest) || streq(dest, "/"))
                return -EINVAL;
        if (colon) {
                r = parse_size(colon + 1, &size);
                if (r < 0)
                        return r;
                if (size < 4096)
                        return -ERANGE;
        }
        *ret_dest = TAKE_PTR(dest);
        *ret_size = size;
        return 0;
}

int sandbox_parse_rlimit(const char *arg, int *ret_resource, uint64_t *ret_value)
{
        _cleanup_free_ char *name = NULL;
        const char *eq, *value;
        uint64_t v;
        int resource, r;

        if (!arg)
                return -EINVAL;
        eq = strchr(arg, '=');
        if (!eq)
                return -EINVAL;
        name = strndup(arg, (size_t) (eq - arg));
        if (!name)
                return -ENOMEM;
        resource = sandbox_rlimit_from_string(name);
        if (resource < 0)
                return resource;
        value = eq + 1;

        if (streq(value, "infinity") || streq(value, "unlimited"))
                v = SANDBOX_RLIMIT_INFINITY;
        else {
                switch (rlimit_table[resource].unit) {
                case RLIMIT_UNIT_BYTES:
                        r = parse_size(value, &v);
                        break;
                case RLIMIT_UNIT_SECONDS:
                        r = parse_seconds(value, &v);
                        break;
                default:
                        r = parse_uint64(value, &v);
                }
                if (r < 0)
                        return r;
                /* RLIM_INFINITY is all ones: a number that large means "infinity" only when spelled so. */
                if (v == SANDBOX_RLIMIT_INFINITY)
                        return -ERANGE;
        }
        *ret_resource = resource;
        *ret_value = v;
        return 0;
}

bool sandbox_env_name_is_valid(const char *name)
{
        if (isempty(name))
                return false;
        if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
                return false;
        return string_in_charset(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
}

static int config_add_mount(SandboxConfig *c, SandboxMountType type, const char *source, const char *dest,
                            uint64_t size)
{
        _cleanup_free_ char *s = NULL, *d = NULL;
        SandboxMount *m;

        if (!path_is_normalized_absolute(dest) || streq(dest, "/"))
                return -EINVAL;
        if (source) {
                s = strdup(source);
                if (!s)
                        return -ENOMEM;
        }
        d = strdup(dest);
        if (!d)
                return -ENOMEM;
        m = reallocarray(c->mounts, c->n_mounts + 1, sizeof(SandboxMount));
        if (!m)
                return -ENOMEM;
        c->mounts = m;
        c->mounts[c->n_mounts++] = (SandboxMount){
                .type = type,
                .source = TAKE_PTR(s),
                .dest = TAKE_PTR(d),
                .size = size,
        };
        return 0;
}

int sandbox_config_add_bind(SandboxConfig *c, SandboxMountType type, const char *source, const char *dest)
{
        if (!(type == SANDBOX_MOUNT_RO_BIND || type == SANDBOX_MOUNT_BIND) || isempty(source))
                return -EINVAL;
        return config_add_mount(c, type, source, dest, 0);
}

int sandbox_config_add_tmpfs(SandboxConfig *c, const char *arg)
{
        _cleanup_free_ char *dest = NULL;
        uint64_t size;
        int r;

        r = sandbox_parse_tmpfs(arg, &dest, &size);
        if (r < 0)
                return r;
        return config_add_mount(c, SANDBOX_MOUNT_TMPFS, NULL, dest, size);
}

int sandbox_config_set_rlimit(SandboxConfig *c, const char *arg)
{
        uint64_t value;
        int resource, r;

        r = sandbox_parse_rlimit(arg, &resource, &value);
        if (r < 0)
                return r;
        c->rlimit_set[resource] = true;
        c->rlimit[resource] = value;
        return 0;
}

int sandbox_config_set_env(SandboxConfig *c, const char *name, const char *value)
{
        _cleanup_free_ char *entry = NULL;
        size_t n;

        if (!sandbox_env_name_is_valid(name) || !value)
                return -EINVAL;
        if (asprintf(&entry, "%s=%s", name, value) < 0)
                return -ENOMEM;
        n = strlen(name);
        /* A later --setenv of the same name replaces the earlier one. */
        for (char **e = c->env; e && *e; e++)
                if (strneq(*e, name, n) && (*e)[n] == '=') {
                        free(*e);
                        *e = TAKE_PTR(entry);
                        return 0;
                }
        return strv_extend(&c->env, entry);
}

int sandbox_config_validate(const SandboxConfig *c, SandboxError *e)
{
        if (isempty(c->root))
                return sandbox_error_set(e, EINVAL, "no root directory given: use --root DIR");
        if (strv_length(c->argv) == 0 || isempty(c->argv[0]))
                return sandbox_error_set(e, EINVAL, "no command given: add -- COMMAND [ARG…]");
        if (c->chdir && !path_is_normalized_absolute(c->chdir))
                return sandbox_error_set(e, EINVAL, "--chdir %s is not a normalized absolute path",
                                         c->chdir);
        for (size_t i = 0; i < c->n_mounts; i++)
                if (c->mounts[i].dest[1] == '\0' || streq(c->mounts[i].dest, "/proc") ||
                    string_startswith(c->mounts[i].dest, "/proc/") || streq(c->mounts[i].dest, "/dev") ||
                    string_startswith(c->mounts[i].dest, "/dev/"))
                        return sandbox_error_set(e, EINVAL,
                                                 "--%s destination %s is reserved: the sandbox mounts its "
                                                 "own /proc and /dev; choose another path",
                                                 sandbox_mount_type_to_string(c->mounts[i].type),
                                                 c->mounts[i].dest);
        if (c->status_fd >= 0 && c->status_fd <= 2)
                return sandbox_error_set(e, EINVAL,
                                         "--status-fd %d would mix the status with the output; "
                                         "use a descriptor above 2",
                                         c->status_fd);
        return 0;
}
