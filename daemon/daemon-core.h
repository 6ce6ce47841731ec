/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common-elf.h"

/* A module (executable, shared library, vdso) mapped in a core, as the core itself records it. */
typedef struct CoreModule {
        char *name;         /* the path the process had it at, or a name such as "linux-vdso.so.1" */
        char *build_id;     /* lower-case hex, NULL when the core has none for it */
        char *package_note; /* the JSON of its .note.package (systemd's ELF package metadata) when the
                             * core holds it, else NULL */
        uint64_t start, end;
} CoreModule;

typedef struct CoreInfo {
        char *arch; /* from the ELF header: "x86_64", "aarch64", "i386", "ppc64le", "s390x", … */
        int signal; /* of the first thread (the one that crashed), 0 when unknown */
        CoreModule *modules;
        size_t n_modules;
} CoreInfo;

CoreInfo *core_info_free(CoreInfo *c);
static inline void core_info_freep(CoreInfo **c)
{
        core_info_free(*c);
}

/* Reads an ELF core file from fd, using nothing but the core: never looks at the host's files.
 * -EBADMSG when fd is not an ELF core. */
int core_info_read(int fd, CoreInfo **ret);
/* Whether the module is the main program with no path in the core: libdwfl names it "[exe]" (or
 * "[pie]") when the core has no file note (NT_FILE) to name it by, as in cores written by QEMU's
 * user-mode emulator, where it need not be the first module. */
static inline bool core_module_is_unnamed_program(const CoreModule *m)
{
        return m->name && (strcmp(m->name, "[exe]") == 0 || strcmp(m->name, "[pie]") == 0);
}
