/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <elf.h>
#include <fcntl.h>

#include "common-string.h"
#include "sandbox-program.h"
#include "tests.h"

/* A minimal 64-bit ELF image: header, PT_INTERP, PT_LOAD, PT_DYNAMIC with DT_STRTAB, DT_STRSZ, two
 * DT_NEEDED and a DT_RUNPATH. */
static size_t build_elf(unsigned char *b, size_t size)
{
        static const char strtab[] = "\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib\0";
        static const char interp[] = "/lib64/ld-linux-x86-64.so.2";
        Elf64_Ehdr h = {
                .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
                .e_type = ET_DYN,
                .e_machine = EM_X86_64,
                .e_phoff = sizeof(Elf64_Ehdr),
                .e_phentsize = sizeof(Elf64_Phdr),
                .e_phnum = 3,
        };
        size_t interp_off = 512, str_off = 1024, dyn_off = 2048;
        Elf64_Phdr ph[3] = {
                { .p_type = PT_INTERP, .p_offset = interp_off, .p_filesz = sizeof(interp) },
                { .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0x400000, .p_filesz = 4096 },
                { .p_type = PT_DYNAMIC, .p_offset = dyn_off, .p_filesz = 6 * sizeof(Elf64_Dyn) },
        };
        Elf64_Dyn dyn[6] = {
                { .d_tag = DT_STRTAB, .d_un.d_val = 0x400000 + str_off },
                { .d_tag = DT_STRSZ, .d_un.d_val = sizeof(strtab) },
                { .d_tag = DT_NEEDED, .d_un.d_val = 1 },
                { .d_tag = DT_NEEDED, .d_un.d_val = 13 },
                { .d_tag = DT_RUNPATH, .d_un.d_val = 23 },
                { .d_tag = DT_NULL },
        };

        ASSERT_TRUE(size >= 4096);
        memset(b, 0, 4096);
        memcpy(b, &h, sizeof(h));
        memcpy(b + sizeof(h), ph, sizeof(ph));
        memcpy(b + interp_off, interp, sizeof(interp));
        memcpy(b + str_off, strtab, sizeof(strtab));
        memcpy(b + dyn_off, dyn, sizeof(dyn));
        return 4096;
}

TEST(elf)
{
        static unsigned char b[4096];
        size_t n = build_elf(b, sizeof(b));
        SandboxElfLayout l;
        SandboxElfInfo info = {};
        uint64_t off, size;

        ASSERT_OK(sandbox_elf_parse_layout(b, n, &l));
        ASSERT_EQ(l.elf_class, ELFCLASS64);
        ASSERT_EQ(l.machine, EM_X86_64);
        ASSERT_EQ(l.interp_offset, 512);
        ASSERT_EQ(l.n_loads, 1);
        ASSERT_STREQ((const char *) b + l.interp_offset, "/lib64/ld-linux-x86-64.so.2");
        ASSERT_OK(sandbox_elf_dynamic_strtab(&l, b + l.dynamic_offset, l.dynamic_size, &off, &size));
        ASSERT_EQ(off, 1024);
        ASSERT_OK(sandbox_elf_parse_dynamic(&l, b + l.dynamic_offset, l.dynamic_size, (const char *) b + off,
                                            size, &info));
        ASSERT_EQ(strv_length(info.needed), 2);
        ASSERT_STREQ(info.needed[0], "libfoo.so.1");
        ASSERT_STREQ(info.needed[1], "libc.so.6");
        ASSERT_STREQ(info.runpath, "$ORIGIN/../lib");
        sandbox_elf_info_done(&info);

        /* A string offset past the table; headers past the buffer; no ELF. */
        ASSERT_ERROR(sandbox_elf_parse_dynamic(&l, b + l.dynamic_offset, l.dynamic_size,
                                               (const char *) b + off, 5, &info),
                     EBADMSG);
        ASSERT_ERROR(sandbox_elf_parse_layout(b, sizeof(Elf64_Ehdr) + 10, &l), EBADMSG);
        ASSERT_ERROR(sandbox_elf_parse_layout("#!/bin/sh\n", 10, &l), EBADMSG);
        b[EI_CLASS] = 7;
        ASSERT_ERROR(sandbox_elf_parse_layout(b, n, &l), EBADMSG);
}

static int collect(const char *path, void *userdata)
{
        return strv_extend((char ***) userdata, path);
}

TEST(ldcache)
{
        /* Header (48 bytes), two 24-byte entries, strings; offsets count from the header. */
        static const char strings[] = "libz.so.1\0/usr/lib64/libz.so.1\0libc.so.6\0/lib64/libc.so.6";
        unsigned char b[256] = {};
        uint32_t nlibs = 2, v;
        size_t s = 48 + 2 * 24;
        char **found = NULL;

        memcpy(b, "glibc-ld.so.cache1.1", 20);
        memcpy(b + 20, &nlibs, 4);
        memcpy(b + s, strings, sizeof(strings));
        v = (uint32_t) s, memcpy(b + 48 + 4, &v, 4);
        v = (uint32_t) (s + 10), memcpy(b + 48 + 8, &v, 4);
        v = (uint32_t) (s + 31), memcpy(b + 72 + 4, &v, 4);
        v = (uint32_t) (s + 41), memcpy(b + 72 + 8, &v, 4);

        ASSERT_OK(sandbox_ldcache_lookup(b, s + sizeof(strings), "libc.so.6", collect, &found));
        ASSERT_EQ(strv_length(found), 1);
        ASSERT_STREQ(found[0], "/lib64/libc.so.6");
        strv_free(found);
        found = NULL;
        ASSERT_OK(sandbox_ldcache_lookup(b, s + sizeof(strings), "libnone.so", collect, &found));
        ASSERT_NULL(found);
        /* Cut strings, too many entries, another format. */
        ASSERT_ERROR(sandbox_ldcache_lookup(b, s + 20, "libc.so.6", collect, &found), EBADMSG);
        nlibs = 1000, memcpy(b + 20, &nlibs, 4);
        ASSERT_ERROR(sandbox_ldcache_lookup(b, s + sizeof(strings), "libc.so.6", collect, &found), EBADMSG);
        ASSERT_ERROR(sandbox_ldcache_lookup("ld.so-1.7.0", 11, "libc.so.6", collect, &found), EBADMSG);
}

DEFINE_TEST_MAIN(TEST_ENTRY(elf), TEST_ENTRY(ldcache));
