/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the vmcore header parser (daemon-vmcore.c) and of crash's script, command line and
 * output parser (daemon-crash.c). */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-string.h"
#include "daemon-crash.h"
#include "daemon-vmcore.h"
#include "tests.h"

static const char info_text[] =
        "OSRELEASE=6.1.0-56-cloud-amd64\nPAGESIZE=4096\n"
        "BUILD-ID=3B43FAD5034874490492495D552C0AF6A5FAB235\nSYMBOL(init_uts_ns)=ffff\n";

TEST(vmcoreinfo_text)
{
        _cleanup_free_ char *rel = NULL, *bid = NULL;

        ASSERT_OK(vmcoreinfo_parse(info_text, strlen(info_text), &rel, &bid));
        ASSERT_STREQ(rel, "6.1.0-56-cloud-amd64");
        ASSERT_STREQ(bid, "3b43fad5034874490492495d552c0af6a5fab235");
        rel = mfree(rel);
        bid = mfree(bid);
        /* Slashes, odd-length or non-hex ids, over-long values are ignored. */
        ASSERT_OK(vmcoreinfo_parse("OSRELEASE=../../etc\nBUILD-ID=abc\n", 32, &rel, &bid));
        ASSERT_NULL(rel);
        ASSERT_NULL(bid);
        ASSERT_OK(vmcoreinfo_parse("OSRELEASE=6.1", 13, &rel, NULL)); /* no final newline */
        ASSERT_STREQ(rel, "6.1");
}

/* An ELF64 little-endian core: header, one PT_NOTE with a VMCOREINFO note. */
static size_t make_elf(uint8_t *buf, size_t size, const char *text)
{
        Elf64_Ehdr *eh = (Elf64_Ehdr *) buf;
        Elf64_Phdr *ph = (Elf64_Phdr *) (buf + sizeof(Elf64_Ehdr));
        uint8_t *note = buf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
        uint32_t namesz = 11, descsz = (uint32_t) strlen(text);

        memset(buf, 0, size);
        memcpy(eh->e_ident, ELFMAG, SELFMAG);
        eh->e_ident[EI_CLASS] = ELFCLASS64;
        eh->e_ident[EI_DATA] = ELFDATA2LSB;
        eh->e_type = ET_CORE;
        eh->e_machine = EM_X86_64;
        eh->e_phoff = sizeof(Elf64_Ehdr);
        eh->e_phentsize = sizeof(Elf64_Phdr);
        eh->e_phnum = 1;
        ph->p_type = PT_NOTE;
        ph->p_offset = (uint64_t) (note - buf);
        ph->p_filesz = 12 + 12 + ((descsz + 3) & ~3u);
        memcpy(note, &namesz, 4);
        memcpy(note + 4, &descsz, 4);
        memcpy(note + 12, "VMCOREINFO", 11);
        memcpy(note + 24, text, descsz);
        return (size_t) (note - buf) + ph->p_filesz;
}

TEST(elf)
{
        uint8_t buf[1024];
        size_t n = make_elf(buf, sizeof(buf), info_text);
        _cleanup_(vmcore_info_freep) VmcoreInfo *v = NULL;

        ASSERT_OK(vmcore_info_parse(buf, n, &v));
        ASSERT_EQ(v->format, VMCORE_FORMAT_ELF);
        ASSERT_STREQ(v->osrelease, "6.1.0-56-cloud-amd64");
        ASSERT_STREQ(v->build_id, "3b43fad5034874490492495d552c0af6a5fab235");
        ASSERT_STREQ(v->arch, "x86_64");
        /* Every truncation parses or fails cleanly; a header alone still says "ELF". */
        for (size_t k = 0; k < n; k++) {
                _cleanup_(vmcore_info_freep) VmcoreInfo *w = NULL;
                int r = vmcore_info_parse(buf, k, &w);
                ASSERT_TRUE(r == 0 || r == -EBADMSG);
                if (r == 0)
                        ASSERT_TRUE(w->build_id == NULL || streq(w->build_id, v->build_id));
        }
        buf[16] = ET_EXEC; /* not a core */
        ASSERT_ERROR(vmcore_info_parse(buf, n, &v), EBADMSG);
}

TEST(kdump)
{
        static uint8_t buf[3 * 4096];
        _cleanup_(vmcore_info_freep) VmcoreInfo *v = NULL;
        uint32_t version = 6, block = 4096;
        uint64_t off = 2 * 4096, size = strlen(info_text);

        memset(buf, 0, sizeof(buf));
        memcpy(buf, "KDUMP   ", 8);
        memcpy(buf + 8, &version, 4);
        memcpy(buf + 12 + 2 * 65, "6.1.0-utsname", 13);
        memcpy(buf + 12 + 4 * 65, "x86_64", 6);
        memcpy(buf + 428, &block, 4);
        memcpy(buf + block + 32, &off, 8);
        memcpy(buf + block + 40, &size, 8);
        memcpy(buf + off, info_text, size);
        ASSERT_OK(vmcore_info_parse(buf, sizeof(buf), &v));
        ASSERT_EQ(v->format, VMCORE_FORMAT_KDUMP);
        ASSERT_STREQ(v->osrelease, "6.1.0-56-cloud-amd64"); /* the note wins over utsname */
        ASSERT_STREQ(v->build_id, "3b43fad5034874490492495d552c0af6a5fab235");
        ASSERT_STREQ(v->arch, "x86_64");
        v = vmcore_info_free(v);
        /* The vmcoreinfo beyond what we read: utsname only. */
        ASSERT_OK(vmcore_info_parse(buf, 2 * 4096, &v));
        ASSERT_STREQ(v->osrelease, "6.1.0-utsname");
        ASSERT_NULL(v->build_id);
        v = vmcore_info_free(v);
        ASSERT_ERROR(vmcore_info_parse(buf, 100, &v), EBADMSG);
}

TEST(flattened_and_other)
{
        static const uint8_t flat[4096] = "makedumpfile";
        _cleanup_(vmcore_info_freep) VmcoreInfo *v = NULL;

        ASSERT_OK(vmcore_info_parse(flat, sizeof(flat), &v));
        ASSERT_EQ(v->format, VMCORE_FORMAT_FLATTENED);
        v = vmcore_info_free(v);
        ASSERT_ERROR(vmcore_info_parse((const uint8_t *) "hello", 5, &v), EBADMSG);
        ASSERT_ERROR(vmcore_info_parse((const uint8_t *) "", 0, &v), EBADMSG);
}

TEST(banner)
{
        static const char mem[] = "xx Linux version %s (%s)\0 junk Linux version 6.1.0-56-cloud-amd64 "
                                  "(debian-kernel@lists.debian.org) (gcc-12";
        _cleanup_free_ char *rel = NULL;

        ASSERT_OK(vmcore_find_banner((const uint8_t *) mem, sizeof(mem), &rel));
        ASSERT_STREQ(rel, "6.1.0-56-cloud-amd64");
        ASSERT_ERROR(vmcore_find_banner((const uint8_t *) mem, 30, &rel), ENOENT);
}

static const char crash_out[] = "WARNING: active task ffff8f07011ee000 on cpu 0 not found in PID hash\n\n"
                                "scroll: off (none)\n"
                                "crash: command not found: @@retrace:sys@@\n"
                                "      KERNEL: vmlinux\n"
                                "       PANIC: \"Kernel panic - not syncing: sysrq triggered crash\"\n"
                                "crash: command not found: @@retrace:bt@@\n"
                                "PID: 1        TASK: ffff8f07011ee000  CPU: 0    COMMAND: \"init\"\n"
                                " #0 [ffffd045000139e8] panic at ffffffffa1dcd0a8\n"
                                " #1 [ffffd04500013a68] sysrq_handle_crash at ffffffffa1aa8a06\n"
                                "crash: command not found: @@retrace:log@@\n"
                                "line 1\nline 2\nline 3\n"
                                "crash: command not found: @@retrace:end@@\n";

TEST(crash_output)
{
        _cleanup_(crash_result_freep) CrashResult *r = NULL;
        _cleanup_free_ char *bt = NULL, *script = NULL;
        _cleanup_strv_free_ char **argv = NULL;

        ASSERT_OK(crash_result_parse(crash_out, strlen(crash_out), 2, &r));
        ASSERT_TRUE(r->pid_hash_warning);
        ASSERT_STREQ(r->panic, "Kernel panic - not syncing: sysrq triggered crash");
        ASSERT_TRUE(strstr(r->panic_task, "sysrq_handle_crash") != NULL);
        ASSERT_STREQ(r->log, "line 2\nline 3\n");
        ASSERT_EQ(r->log_lines_dropped, 1u);
        ASSERT_TRUE(crash_result_usable(r, CRASH_MODE_FULL));
        ASSERT_OK(crash_result_format(r, CRASH_MODE_FULL, &bt));
        ASSERT_TRUE(string_startswith(bt, "Panic: Kernel panic - not syncing: sysrq triggered crash\n"));
        ASSERT_TRUE(strstr(bt, "PID hash") < strstr(bt, "Panicking task:"));
        ASSERT_TRUE(strstr(bt, "Panicking task:") < strstr(bt, "Kernel log"));

        ASSERT_OK(crash_build_script(CRASH_MODE_MINIMAL, NULL, &script));
        ASSERT_TRUE(strstr(script, "\nlog\n") && !strstr(script, "\nsys\n") &&
                    string_endswith(script, "exit\n"));
        script = mfree(script);
        ASSERT_OK(crash_build_script(CRASH_MODE_FULL, NULL, &script));
        ASSERT_TRUE(strstr(script, "\nbt -a\n") && strstr(script, "\nkmem -i\n") &&
                    strstr(script, "\nmod\n"));
        script = mfree(script);
        {
                char *loads[] = {
                        (char *) "pvpanic_pci /usr/lib/debug/lib/modules/6.1/kernel/pvpanic-pci.ko", NULL
                };
                char *bad_path[] = { (char *) "pvpanic /x\n!sh", NULL };
                char *bad_name[] = { (char *) "pv;panic /x.ko", NULL };
                char *files[] = { (char *) "/usr/lib/debug/lib/modules/6.1/kernel/pvpanic.ko",
                                  (char *) "/usr/lib/debug/lib/modules/6.1/kernel/pvpanic-pci.ko.debug",
                                  (char *) "/usr/lib/debug/lib/modules/6.1/kernel/fw cfg.ko",
                                  (char *) "/usr/lib/debug/lib/modules/6.1/kernel/unused.ko", NULL };
                const char *mod = "     MODULE       NAME                BASE         SIZE  OBJECT FILE\n"
                                  "ffffffffc04df0c0  pvpanic       ffffffffc04dd000  16384  (not loaded)  "
                                  "[CONFIG_KALLSYMS]\n"
                                  "ffffffffc04eb140  pvpanic_pci   ffffffffc04e9000  16384  (not loaded)\n"
                                  "ffffffffc04eb140  fw_cfg   ffffffffc04e9000  16384  (not loaded)\n"
                                  "garbage line\n";
                char **got = NULL;

                ASSERT_OK(crash_build_script(CRASH_MODE_FULL, loads, &script));
                ASSERT_TRUE(strstr(script,
                                   "set scroll off\n@@retrace:modload@@\nmod -s pvpanic_pci "
                                   "/usr/lib/debug/lib/modules/6.1/kernel/pvpanic-pci.ko\n@@retrace:sys@@"));
                script = mfree(script);
                ASSERT_OK(crash_build_script(CRASH_MODE_MINIMAL, loads, &script));
                ASSERT_TRUE(!strstr(script, "mod -s"));
                script = mfree(script);
                ASSERT_ERROR(crash_build_script(CRASH_MODE_FULL, bad_path, &script), EINVAL);
                ASSERT_ERROR(crash_build_script(CRASH_MODE_FULL, bad_name, &script), EINVAL);

                ASSERT_OK(crash_module_loads(mod, files, &got));
                ASSERT_EQ(strv_length(got), 2u);
                ASSERT_STREQ(got[0], "pvpanic /usr/lib/debug/lib/modules/6.1/kernel/pvpanic.ko");
                ASSERT_STREQ(got[1],
                             "pvpanic_pci /usr/lib/debug/lib/modules/6.1/kernel/pvpanic-pci.ko.debug");
                got = strv_free(got);
                ASSERT_OK(crash_module_loads("nothing here\n", files, &got));
                ASSERT_TRUE(got == NULL);
                ASSERT_TRUE(!crash_is_module_file("/x/a.ko.xz") && crash_is_module_file("/x/a.ko"));
        }
        ASSERT_OK(crash_build_argv("/usr/bin/crash", "/vmlinux", "/crash/vmcore", CRASH_MODE_ZERO_EXCLUDED,
                                   &argv));
        ASSERT_TRUE(strv_contains(argv, "--zero_excluded") && strv_contains(argv, "-s"));
        ASSERT_STREQ(argv[strv_length(argv) - 1], "/crash/vmcore");

        r = crash_result_free(r);
        ASSERT_OK(crash_result_parse("crash: cannot read vmcore\n", 26, 10, &r));
        ASSERT_FALSE(crash_result_usable(r, CRASH_MODE_FULL));
        ASSERT_FALSE(crash_result_usable(r, CRASH_MODE_MINIMAL));
}

DEFINE_TEST_MAIN(TEST_ENTRY(vmcoreinfo_text), TEST_ENTRY(elf), TEST_ENTRY(kdump),
                 TEST_ENTRY(flattened_and_other), TEST_ENTRY(banner), TEST_ENTRY(crash_output))
