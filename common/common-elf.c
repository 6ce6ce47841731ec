/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-elf.h"

#include <elf.h>
#include <stddef.h>
#include <string.h>

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

const char *host_arch_name(void)
{
#if defined(__x86_64__)
        return "x86_64";
#elif defined(__aarch64__)
        return "aarch64";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64le";
#elif defined(__powerpc64__)
        return "ppc64";
#elif defined(__i386__)
        return "i386";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#elif defined(__arm__)
        return "armhfp";
#else
        return "unknown";
#endif
}

bool arch_is_foreign(const char *host, const char *arch)
{
        static const struct {
                const char *host, *arch;
        } multilib[] = { { "x86_64", "i386" }, { "ppc64", "ppc" }, { "s390x", "s390" } };

        if (!host || !arch || strcmp(host, arch) == 0)
                return false;
        for (size_t i = 0; i < sizeof(multilib) / sizeof(multilib[0]); i++)
                if (strcmp(host, multilib[i].host) == 0 && strcmp(arch, multilib[i].arch) == 0)
                        return false;
        return true;
}
