/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-core.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"

CoreInfo *core_info_free(CoreInfo *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_modules; i++) {
                free(c->modules[i].name);
                free(c->modules[i].build_id);
        }
        free(c->modules);
        free(c->arch);
        return mfree(c);
}

/* Modules are reported from the core alone: no ELF file is ever looked up on the host. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       char **file_name, Elf **elfp)
{
        return -1;
}

static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                             const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                             char **debuginfo_file_name)
{
        return -1;
}

static const Dwfl_Callbacks core_callbacks = {
        .find_elf = find_no_elf,
        .find_debuginfo = find_no_debuginfo,
};

static int add_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
        CoreInfo *c = arg;
        const unsigned char *bits;
        GElf_Addr vaddr;
        Dwarf_Addr low, high;
        CoreModule *m, *nm;
        int len;

        nm = realloc(c->modules, (c->n_modules + 1) * sizeof(CoreModule));
        if (!nm)
                return DWARF_CB_ABORT;
        c->modules = nm;
        m = &c->modules[c->n_modules];
        *m = (CoreModule){};
        (void) dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
        m->start = low;
        m->end = high;
        m->name = strdup(name ?: "");
        if (!m->name)
                return DWARF_CB_ABORT;
        c->n_modules++;
        len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len > 0) {
                m->build_id = malloc((size_t) len * 2 + 1);
                if (!m->build_id)
                        return DWARF_CB_ABORT;
                for (int i = 0; i < len; i++)
                        (void) snprintf(m->build_id + 2 * i, 3, "%02x", bits[i]);
        }
        return DWARF_CB_OK;
}

/* The signal of the first NT_PRSTATUS note: the thread the kernel (or gcore) recorded first. */
static int core_first_signal(Elf *elf)
{
        size_t nphdr;

        if (elf_getphdrnum(elf, &nphdr) != 0)
                return 0;
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr phdr;
                Elf_Data *data;
                GElf_Nhdr nhdr;
                size_t offset = 0, name_off, desc_off;

                if (!gelf_getphdr(elf, (int) i, &phdr) || phdr.p_type != PT_NOTE)
                        continue;
                data = elf_getdata_rawchunk(elf, (int64_t) phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
                if (!data)
                        continue;
                while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0) {
                        const char *desc = (const char *) data->d_buf + desc_off;
                        int16_t cursig;
                        int32_t signo;

                        /* NT_SIGINFO holds a siginfo_t (si_signo first); the first NT_PRSTATUS has
                         * pr_cursig after struct elf_siginfo (12 bytes). Cores made by gcore may
                         * leave one of them zero. */
                        if (nhdr.n_type == NT_SIGINFO && nhdr.n_descsz >= 4) {
                                memcpy(&signo, desc, sizeof(signo));
                                if (signo > 0)
                                        return signo;
                        }
                        if (nhdr.n_type == NT_PRSTATUS && nhdr.n_descsz >= 14) {
                                memcpy(&cursig, desc + 12, sizeof(cursig));
                                if (cursig > 0)
                                        return cursig;
                        }
                }
        }
        return 0;
}

int core_info_read(int fd, CoreInfo **ret)
{
        _cleanup_(core_info_freep) CoreInfo *c = NULL;
        Dwfl *dwfl = NULL;
        Elf *elf = NULL;
        GElf_Ehdr ehdr;
        const char *arch;
        int r;

        (void) elf_version(EV_CURRENT);
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return -EBADMSG;
        if (!gelf_getehdr(elf, &ehdr) || ehdr.e_type != ET_CORE) {
                r = -EBADMSG;
                goto finish;
        }
        c = calloc(1, sizeof(CoreInfo));
        if (!c) {
                r = -ENOMEM;
                goto finish;
        }
        arch = core_arch_name(ehdr.e_machine, ehdr.e_ident[EI_CLASS], ehdr.e_ident[EI_DATA]);
        c->arch = strdup(arch ?: "unknown");
        if (!c->arch) {
                r = -ENOMEM;
                goto finish;
        }
        c->signal = core_first_signal(elf);

        dwfl = dwfl_begin(&core_callbacks);
        if (!dwfl) {
                r = -ENOMEM;
                goto finish;
        }
        if (dwfl_core_file_report(dwfl, elf, NULL) < 0 || dwfl_report_end(dwfl, NULL, NULL) != 0) {
                r = -EBADMSG;
                goto finish;
        }
        if (dwfl_getmodules(dwfl, add_module, c, 0) != 0) {
                r = -ENOMEM;
                goto finish;
        }
        *ret = TAKE_PTR(c);
        r = 0;
finish:
        dwfl_end(dwfl);
        elf_end(elf);
        return r;
}
