/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* What a kernel dump says about itself, read from its first bytes only (never from the host). */
typedef enum VmcoreFormat {
        VMCORE_FORMAT_ELF,       /* /proc/vmcore, QEMU's dump-guest-memory, virsh dump */
        VMCORE_FORMAT_KDUMP,     /* makedumpfile's (and QEMU's) "KDUMP   " compressed format */
        VMCORE_FORMAT_FLATTENED, /* makedumpfile -F: must be converted with makedumpfile -R */
        _VMCORE_FORMAT_MAX,
        _VMCORE_FORMAT_INVALID = -EINVAL,
} VmcoreFormat;

const char *vmcore_format_to_string(VmcoreFormat f);

typedef struct VmcoreInfo {
        VmcoreFormat format;
        char *osrelease; /* "6.1.0-56-cloud-amd64"; NULL when the dump does not say */
        char *build_id;  /* of vmlinux, lower-case hex; NULL when the dump does not say */
        char *arch;      /* "x86_64", …; NULL when unknown */
} VmcoreInfo;

VmcoreInfo *vmcore_info_free(VmcoreInfo *v);
static inline void vmcore_info_freep(VmcoreInfo **v)
{
        vmcore_info_free(*v);
}

/* Longest value taken from a dump (OSRELEASE, BUILD-ID): longer ones are ignored. */
#define VMCORE_VALUE_MAX 128
/* How much of a dump's start vmcore_info_parse() wants to see to find its notes. */
#define VMCORE_HEAD_MAX (8u << 20)

/* Pure: OSRELEASE= and BUILD-ID= of vmcoreinfo text ("KEY=VALUE" lines). Values that are too long
 * or hold unexpected characters are ignored. Either out-parameter may be NULL; each is set (to
 * NULL when absent) on success. */
int vmcoreinfo_parse(const char *text, size_t len, char **ret_osrelease, char **ret_build_id);

/* Pure: the format, and what the vmcoreinfo note (ELF PT_NOTE "VMCOREINFO", or the kdump
 * sub-header's vmcoreinfo; the kdump header's utsname) says, from the first len bytes of a dump.
 * Fields the head does not reach stay NULL. -EBADMSG when it is no kernel dump format we know. */
int vmcore_info_parse(const uint8_t *buf, size_t len, VmcoreInfo **ret);

/* Pure: the release of the first "Linux version RELEASE (" banner in buf; -ENOENT when none. */
int vmcore_find_banner(const uint8_t *buf, size_t len, char **ret);
