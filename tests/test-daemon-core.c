/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core_info_read() on every TestOS core: the same modules and build-ids as eu-unstrip -n --core, the
 * architecture, and the crashing thread's signal. */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <unistd.h>

#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-core.h"
#include "tests.h"

static void check_core(const char *dir)
{
        _cleanup_free_ char *core = path_join(dir, "coredump"), *reason = NULL, *cmd = NULL;
        _cleanup_(core_info_freep) CoreInfo *info = NULL;
        _cleanup_close_ int fd = open(core, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *executable = NULL;
        bool found_executable = false;
        char line[4096];
        size_t n_expected = 0;
        FILE *p;

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(core_info_read(fd, &info));
        ASSERT_STREQ(info->arch, "x86_64");
        ASSERT_OK(file_read_line_at(dfd, "reason", 4096, &reason));
        ASSERT_EQ(info->signal, strstr(reason, "SIGSEGV") ? SIGSEGV : SIGABRT);

        ASSERT_TRUE(asprintf(&cmd, "eu-unstrip -n --core '%s'", core) > 0);
        p = popen(cmd, "re");
        ASSERT_NOT_NULL(p);
        while (fgets(line, sizeof(line), p)) {
                char range[64], id[256], file[1024], debug[1024], name[1024];
                char *at;
                bool found = false;

                if (sscanf(line, "%63s %255s %1023s %1023s %1023s", range, id, file, debug, name) != 5)
                        continue;
                at = strchr(id, '@');
                if (!at)
                        continue;
                *at = '\0';
                n_expected++;
                for (size_t i = 0; i < info->n_modules; i++)
                        if (info->modules[i].build_id && streq(info->modules[i].build_id, id))
                                found = true;
                if (!found)
                        fprintf(stderr, "%s: build-id %s (%s) not found\n", core, id, name);
                ASSERT_TRUE(found);
        }
        ASSERT_EQ(pclose(p), 0);
        ASSERT_TRUE(n_expected >= 4);
        ASSERT_EQ(info->n_modules, n_expected);
        /* The crashed executable is reported under the path it ran from. */
        ASSERT_OK(file_read_line_at(dfd, "executable", 4096, &executable));
        for (size_t i = 0; i < info->n_modules; i++)
                if (streq(info->modules[i].name, executable))
                        found_executable = true;
        ASSERT_TRUE(found_executable);
        printf("   %s: %zu modules\n", dir, info->n_modules);
}

TEST(testos_cores)
{
        const char *tos = getenv("RETRACE_TESTOS_DIR");
        _cleanup_free_ char *crashes = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        unsigned n = 0;

        ASSERT_NOT_NULL(tos);
        crashes = path_join(tos, "crashes");
        d = opendir(crashes);
        ASSERT_NOT_NULL(d);
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *dir = NULL;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                dir = path_join(crashes, de->d_name);
                check_core(dir);
                n++;
        }
        ASSERT_TRUE(n >= 8);
}

/* The foreign cores of TestOS (qemu-user's, tests/testos/crossarch.py): the architecture from the ELF
 * header and the signal from notes of the core's own byte order (s390x is big-endian). */
TEST(foreign_cores)
{
        const char *tos = getenv("RETRACE_TESTOS_DIR");
        static const char *const arches[] = { "aarch64", "s390x" };

        ASSERT_NOT_NULL(tos);
        for (size_t i = 0; i < ELEMENTSOF(arches); i++) {
                _cleanup_(core_info_freep) CoreInfo *info = NULL;
                _cleanup_free_ char *core = NULL;
                _cleanup_close_ int fd = -EBADF;
                bool found_libc = false, found_libparse = false;

                ASSERT_TRUE(asprintf(&core, "%s/crashes-foreign/%s-r1-null/coredump", tos, arches[i]) > 0);
                fd = open(core, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        test_skip("the test distribution has no foreign cores (tests/testos/crossarch.py)");
                ASSERT_OK(core_info_read(fd, &info));
                ASSERT_STREQ(info->arch, arches[i]);
                ASSERT_EQ(info->signal, SIGSEGV);
                ASSERT_TRUE(info->n_modules >= 5);
                /* crashy, libparse, libtoken by build-id (-z separate-code), their paths and glibc's from
                 * the link map (no file note, no ELF headers of glibc in qemu-user's cores) */
                for (size_t k = 0; k < info->n_modules; k++) {
                        const CoreModule *m = &info->modules[k];

                        printf("   %s %s\n", m->name, strna(m->build_id));
                        if (string_endswith(m->name, "/libc.so.6"))
                                found_libc = true;
                        if (string_endswith(m->name, "/libparse.so.1") && m->name[0] == '/' && m->build_id)
                                found_libparse = true;
                }
                ASSERT_TRUE(found_libc && found_libparse);
                printf("   %s: %s, %zu modules\n", core, info->arch, info->n_modules);
        }
}

TEST(not_a_core)
{
        _cleanup_(core_info_freep) CoreInfo *info = NULL;
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        int text = memfd_create("text", MFD_CLOEXEC);

        ASSERT_ERROR(core_info_read(fd, &info), EBADMSG); /* an ELF, but an executable */
        ASSERT_EQ(write(text, "hello", 5), 5);
        ASSERT_ERROR(core_info_read(text, &info), EBADMSG);
        close(text);
        ASSERT_STREQ(core_arch_name(EM_PPC64, ELFCLASS64, ELFDATA2LSB), "ppc64le");
        ASSERT_NULL(core_arch_name(0xffff, ELFCLASS64, ELFDATA2LSB));
        ASSERT_STREQ(core_arch_name(EM_386, ELFCLASS32, ELFDATA2LSB), "i386");
}

TEST(unnamed_program)
{
        /* libdwfl's names for the main program when the core has no file note (QEMU's cores) */
        ASSERT_TRUE(core_module_is_unnamed_program(&(CoreModule){ .name = (char *) "[exe]" }));
        ASSERT_TRUE(core_module_is_unnamed_program(&(CoreModule){ .name = (char *) "[pie]" }));
        ASSERT_FALSE(core_module_is_unnamed_program(&(CoreModule){ .name = (char *) "crank.so" }));
        ASSERT_FALSE(core_module_is_unnamed_program(&(CoreModule){ .name = (char *) "/usr/bin/wheel" }));
        ASSERT_FALSE(core_module_is_unnamed_program(&(CoreModule){}));
}

DEFINE_TEST_MAIN(TEST_ENTRY(testos_cores), TEST_ENTRY(foreign_cores), TEST_ENTRY(not_a_core),
                 TEST_ENTRY(unnamed_program))
