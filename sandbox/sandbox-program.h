/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sandbox-config.h"
#include "sandbox-error.h"

/* What the dynamic linker needs of an ELF file: its class and machine, its interpreter (PT_INTERP)
 * and, from its dynamic section, the libraries it needs (DT_NEEDED) and where to look first
 * (DT_RUNPATH, else DT_RPATH; ':'-separated, $ORIGIN unexpanded). */
typedef struct SandboxElfInfo {
        unsigned char elf_class; /* ELFCLASS32, ELFCLASS64 */
        uint16_t machine;
        char *interp;  /* NULL: none (static, or a library) */
        char **needed; /* strv */
        char *runpath; /* NULL: none */
} SandboxElfInfo;

void sandbox_elf_info_done(SandboxElfInfo *info);

/* Where the parts live, from the first bytes of a file (the ELF and program headers): the offset and
 * size of PT_INTERP and PT_DYNAMIC (0 when absent). -EBADMSG when it is no ELF file of the host's
 * byte order or its headers do not fit in buf. */
typedef struct SandboxElfLayout {
        unsigned char elf_class;
        uint16_t machine;
        uint64_t interp_offset, interp_size;
        uint64_t dynamic_offset, dynamic_size;
        /* PT_LOAD segments, to find the string table (an address) in the file */
        size_t n_loads;
        struct {
                uint64_t vaddr, offset, filesz;
        } loads[16];
} SandboxElfLayout;

int sandbox_elf_parse_layout(const void *buf, size_t len, SandboxElfLayout *ret);
/* The string table's file offset and size from the dynamic section (DT_STRTAB, DT_STRSZ). */
int sandbox_elf_dynamic_strtab(const SandboxElfLayout *l, const void *dyn, size_t dyn_len,
                               uint64_t *ret_offset, uint64_t *ret_size);
/* DT_NEEDED and DT_RUNPATH/DT_RPATH from the dynamic section and its string table. */
int sandbox_elf_parse_dynamic(const SandboxElfLayout *l, const void *dyn, size_t dyn_len, const char *strtab,
                              size_t strtab_len, SandboxElfInfo *ret);

/* Calls found(path, userdata) for every entry of an /etc/ld.so.cache text (glibc's format "1.1",
 * alone or after the old "ld.so-1.7.0" table) whose name is soname. -EBADMSG for another format. */
int sandbox_ldcache_lookup(const void *buf, size_t len, const char *soname,
                           int (*found)(const char *path, void *userdata), void *userdata);

/* --ro-bind-program PATH: adds read-only binds of the program PATH, its interpreter and every shared
 * library it needs (recursively), each at the path the dynamic linker will open inside: searched as
 * ld.so does (DT_RUNPATH/DT_RPATH with $ORIGIN, /etc/ld.so.cache, the default directories), and
 * /etc/ld.so.cache itself when it named one. Reads the host's files as the caller. */
int sandbox_config_add_program(SandboxConfig *c, const char *path, SandboxError *e);
