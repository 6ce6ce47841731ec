/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* The architecture name for an ELF machine, class and byte order ("x86_64", "ppc64le", "s390x", …);
 * NULL when unknown. */
const char *core_arch_name(unsigned machine, unsigned elf_class, unsigned data);

/* The architecture this program was built for, in core_arch_name()'s names ("x86_64", …). */
const char *host_arch_name(void);

/* Whether the host's own debugger cannot read a core of arch: another machine than the host's and
 * not the host's 32-bit multilib companion (i386 on x86_64, ppc on ppc64, s390 on s390x). Pure. */
bool arch_is_foreign(const char *host, const char *arch);
