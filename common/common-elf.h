/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The architecture name for an ELF machine, class and byte order ("x86_64", "ppc64le", "s390x", …);
 * NULL when unknown. */
const char *core_arch_name(unsigned machine, unsigned elf_class, unsigned data);
