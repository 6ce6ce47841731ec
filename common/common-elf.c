/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-elf.h"

#include <elf.h>
#include <stddef.h>

const char *core_arch_name(unsigned machine, unsigned elf_class, unsigned data)
{
        switch (machine) {
        case EM_X86_64:
                return "x86_64";
        case EM_386:
                return "i386";
        case EM_AARCH64:
                return "aarch64";
        case EM_ARM:
                return "armhfp";
        case EM_PPC64:
                return data == ELFDATA2LSB ? "ppc64le" : "ppc64";
        case EM_PPC:
                return "ppc";
        case EM_S390:
                return elf_class == ELFCLASS64 ? "s390x" : "s390";
        case EM_RISCV:
                return elf_class == ELFCLASS64 ? "riscv64" : "riscv32";
        default:
                return NULL;
        }
}
