/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The duplicate hash of a crash. The rules (which frames are skipped or renamed, the text hashed) are
 * those ABRT's analyzer applies through satyr, written from their description in daemon/README.md. */
#include "daemon-duphash.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-string.h"

/* A function name and the substrings of which one must occur in the frame's source (file or
 * library), separated by '|'; "" matches any frame that has a source. */
typedef struct FrameRule {
        const char *function;
        const char *sources;
} FrameRule;

/* Frames that end the program (abort, raise, exit, fortify and stack protector failures): the
 * deepest of them and every frame above it are not the crash's cause. */
static const FrameRule exit_frames[] = {
        { "__run_exit_handlers", "exit.c" },
        { "raise", "pt-raise.c|libc.so|libc-|libpthread.so|raise.c" },
        { "__GI_raise", "raise.c" },
        { "exit", "exit.c" },
        { "abort", "abort.c|libc.so|libc-" },
        { "__GI_abort", "abort.c" },
        { "__chk_fail", "chk_fail.c|libc.so" },
        { "__stack_chk_fail", "stack_chk_fail.c|libc.so" },
        { "do_exit", "exit.c" },
        { "kill", "syscall-template.S" },
};

/* glibc's assertion, fortify and allocator failure paths: removed with every frame above them. */
static const FrameRule glibc_with_above[] = {
        { "__assert_fail", "" },
        { "__assert_fail_base", "" },
        { "__chk_fail", "" },
        { "__longjmp_chk", "" },
        { "__malloc_assert", "" },
        { "__strcat_chk", "" },
        { "__strcpy_chk", "" },
        { "__strncpy_chk", "" },
        { "__vsnprintf_chk", "" },
        { "___vsnprintf_chk", "" },
        { "__snprintf_chk", "" },
        { "___snprintf_chk", "" },
        { "__vasprintf_chk", "" },
        { "__vsprintf_chk", "" },
        { "___sprintf_chk", "" },
        { "__fwprintf_chk", "" },
        { "__asprintf_chk", "" },
        { "___printf_chk", "" },
        { "___fprintf_chk", "" },
        { "__vswprintf_chk", "" },
        { "malloc_consolidate", "malloc.c|libc" },
        { "malloc_printerr", "malloc.c|libc" },
        { "_int_malloc", "malloc.c|libc" },
        { "_int_free", "malloc.c|libc" },
        { "_int_realloc", "malloc.c|libc" },
        { "_int_memalign", "malloc.c" },
        { "__libc_free", "malloc.c" },
        { "__libc_malloc", "malloc.c" },
        { "__libc_memalign", "malloc.c" },
        { "__libc_realloc", "malloc.c" },
        { "__posix_memalign", "malloc.c" },
        { "__libc_calloc", "malloc.c" },
        { "__libc_fatal", "libc" },
};

/* Frames that are never the cause: main loops, dispatchers, log and error reporters, thread and
 * process start, C++ terminate handlers, X error handlers. Removed alone. */
static const FrameRule removable_frames[] = {
        { "may_core_dump", "os_unix.c" },
        { "mch_exit", "os_unix.c" },
        { "os::abort", "os_linux.cpp" },
        { "VMError::report_and_die", "vmError.cpp" },
        { "JVM_handle_linux_signal", "os_linux_x86.cpp" },
        { "gerror_to_dbus_error_message", "dbus-gobject.c" },
        { "dbus_g_method_return_error", "dbus-gobject.c" },
        { "message_queue_dispatch", "dbus-gmain.c" },
        { "_dbus_abort", "dbus-sysdeps.c|libdbus" },
        { "dbus_connection_dispatch", "dbus-connection.c|libdbus" },
        { "gdk_x_error", "gdkmain-x11.c" },
        { "gdk_threads_dispatch", "gdk.c" },
        { "gdk_event_dispatch", "gdkevents-x11.c|gdkevents.c" },
        { "gdk_event_source_dispatch", "gdkeventsource.c" },
        { "_gdk_x11_display_error_event", "gdkdisplay-x11.c|libgdk" },
        { "g_log", "gmessages.c|libglib" },
        { "g_logv", "gmessages.c|libglib" },
        { "g_assertion_message", "gtestutils.c|libglib" },
        { "g_assertion_message_expr", "gtestutils.c|libglib" },
        { "g_closure_invoke", "gclosure.c|libgobject" },
        { "g_free", "gmem.c|libglib" },
        { "g_type_class_meta_marshal", "gclosure.c|libglib" },
        { "g_signal_emit_valist", "gsignal.c|libgobject" },
        { "signal_emit_unlocked_R", "gsignal.c|libgobject" },
        { "g_signal_emit", "gsignal.c|libgobject" },
        { "g_idle_dispatch", "gmain.c|gutf8.c" },
        { "g_object_dispatch_properties_changed", "gobject.c|libgobject" },
        { "g_object_notify_dispatcher", "gobject.c|libgobject" },
        { "g_object_unref", "gobject.c|libgobject" },
        { "g_object_run_dispose", "gobject.c|libgobject" },
        { "g_object_new", "gobject.c|libgobject" },
        { "g_object_newv", "gobject.c|libgobject" },
        { "g_main_context_dispatch", "gmain.c|libglib" },
        { "g_main_context_iterate", "gmain.c|libglib" },
        { "g_main_dispatch", "gmain.c|libglib" },
        { "g_main_loop_run", "gmain.c|libglib" },
        { "g_timeout_dispatch", "gmain.c|libglib" },
        { "g_thread_pool_thread_proxy", "gthreadpool.c|libglib" },
        { "g_thread_create_proxy", "gthread.c|libglib" },
        { "g_cclosure_marshal_VOID__BOXED", "gmarshal.c|libgobject" },
        { "g_cclosure_marshal_VOID__VOID", "gclosure.c|gmarshal.c|libgobject" },
        { "g_object_notify", "gobject.c|libgobject" },
        { "Glib::exception_handlers_invoke()", "libglibmm" },
        { "g_signal_handlers_destroy", "gsignal.c|libgobject" },
        { "g_vasprintf", "gprintf.c|libglib" },
        { "g_strdup_vprintf", "libglib" },
        { "g_strdup_printf", "libglib" },
        { "g_print", "libglib" },
        { "invalid_closure_notify", "gsignal.c|libgobject" },
        { "smc_tree_abort", "gslice.c|libglib" },
        { "g_thread_abort", "libglib" },
        { "_g_log_abort", "gmessages.c|libglib" },
        { "g_log_default_handler", "gmessages.c|libglib" },
        { "g_log_writer_default", "gmessages.c|libglib" },
        { "g_log_structured_array", "gmessages.c|libglib" },
        { "g_log_structured", "gmessages.c|libglib" },
        { "default_log_handler", "main.c" },
        { "g_signal_emit_by_name", "gsignal.c|libgobject" },
        { "__gnu_cxx::__verbose_terminate_handler", "vterminate.cc" },
        { "__cxxabiv1::__terminate", "eh_terminate.cc" },
        { "std::terminate", "eh_terminate.cc" },
        { "__cxxabiv1::__cxa_throw", "eh_throw.cc" },
        { "__cxxabiv1::__cxa_rethrow", "eh_throw.cc" },
        { "__verbose_terminate_handler", "vterminate.cc" },
        { "__cxxabiv1::__cxa_pure_virtual", "pure.cc" },
        { "__kernel_vsyscall", "" },
        { "_XReply", "xcb_io.c" },
        { "_XError", "XlibInt.c" },
        { "XSync", "Sync.c" },
        { "process_responses", "xcb_io.c" },
        { "OsSigHandler", "osinit.c" },
        { "FatalError", "log.c" },
        { "AbortServer", "log.c" },
        { "AbortDDX", "xf86Init.c" },
        { "ddxGiveUp", "xf86Init.c" },
        { "OsAbort", "utils.c" },
        { "handle_error", "xcb_io.c|libX11" },
        { "_XIOError", "XlibInt.c|libX11" },
        { "_XEventsQueued", "xcb_io.c|libX11" },
        { "handle_response", "xcb_io.c|libX11" },
        { "_start", "" },
        { "__libc_start_main", "libc" },
        { "clone", "clone.S|libc" },
        { "poll", "libc" },
        { "_IO_new_fclose", "iofclose.c|libc" },
        { "_IO_vfprintf_internal", "vfprintf.c|libc" },
        { "_IO_default_xsputn", "genops.c|libc" },
        { "_IO_wdefault_xsputn", "wgenops.c|libc" },
        { "__libc_message", "libc_fatal.c|libc" },
        { "start_thread", "pthread_create.c|libpthread" },
        { "_cogl_set_error", "cogl-error.c|libcogl" },
        { "defaultCrashHandler", "kcrash.cpp|libKF5Crash" },
        { "_dl_signal_error", "dl-error.c|ld-linux" },
        { "error_dialog_response_cb", "" },
};

/* glibc's string functions have per-CPU variants ("__strlen_sse2"): they count as the function. */
static const char *const string_functions[] = {
        "memchr",  "memcmp",  "memcpy",    "memmove", "memset", "rawmemchr", "strcasecmp", "strcasecmp_l",
        "strcat",  "strchr",  "strchrnul", "strcmp",  "strcpy", "strcspn",   "strlen",     "strncmp",
        "strncpy", "strpbrk", "strrchr",   "strspn",  "strstr", "strtok",
};
static const char *const string_variants[] = { "_sse2",       "_sse2_bsf", "_ssse3", "_ssse3_rep",
                                               "_ssse3_back", "_sse42",    "_ia32" };

typedef struct WorkFrame {
        char *function;
        const char *source;
        bool have_address;
        uint64_t address;
        bool signal_handler;
} WorkFrame;

/* Does one of the '|'-separated substrings of sources occur in source? */
static bool source_matches(const char *source, const char *sources)
{
        if (!source)
                return false;
        for (const char *p = sources;;) {
                size_t n = strcspn(p, "|");
                char buf[64];

                if (n < sizeof(buf)) {
                        memcpy(buf, p, n);
                        buf[n] = 0;
                        if (strstr(source, buf))
                                return true;
                }
                if (p[n] == 0)
                        return false;
                p += n + 1;
        }
}

static bool rule_matches(const FrameRule *rules, size_t n, const WorkFrame *f)
{
        if (!f->function)
                return false;
        for (size_t i = 0; i < n; i++)
                if (streq(rules[i].function, f->function) && source_matches(f->source, rules[i].sources))
                        return true;
        return false;
}

static bool is_exit_frame(const WorkFrame *f)
{
        return rule_matches(exit_frames, ELEMENTSOF(exit_frames), f);
}

/* "IA__" of GLib, GTK and GDK and glibc's internal "__GI_", only on frames that have a source. */
static void strip_prefixes(WorkFrame *f)
{
        char *s = f->function;

        if (!s || !f->source)
                return;
        if (string_startswith(s, "IA__gdk") || string_startswith(s, "IA__g_") ||
            string_startswith(s, "IA__gtk"))
                memmove(s, s + 4, strlen(s + 4) + 1);
        if (string_startswith(s, "__GI_"))
                memmove(s, s + 5, strlen(s + 5) + 1);
}

/* "__strlen_sse2" in glibc's sources or libc.so is "strlen". */
static void rename_string_variant(WorkFrame *f)
{
        const char *s = f->function;

        if (!s || !f->source || !string_startswith(s, "__"))
                return;
        for (size_t i = 0; i < ELEMENTSOF(string_functions); i++) {
                const char *name = string_functions[i];
                size_t n = strlen(name);

                if (strncmp(s + 2, name, n) != 0)
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(string_variants); k++) {
                        const char *v = string_variants[k];

                        if (!streq(s + 2 + n, v))
                                continue;
                        if (strstr(f->source, name) || strstr(f->source, "libc.so") ||
                            strstr(f->source, streq(v, "_ia32") ? "/sysdeps" : "/sysdeps/")) {
                                memmove(f->function, name, n + 1);
                                return;
                        }
                }
        }
}

static void drop_range(WorkFrame *v, size_t *n, size_t from, size_t count)
{
        for (size_t i = from; i < from + count; i++)
                free(v[i].function);
        memmove(v + from, v + from + count, (*n - from - count) * sizeof(WorkFrame));
        *n -= count;
}

static bool is_null_unknown(const WorkFrame *f)
{
        return !f->function && !f->signal_handler && f->have_address && f->address == 0;
}

static void normalize(WorkFrame *v, size_t *n)
{
        size_t exit_at = SIZE_MAX;

        /* The deepest exit frame goes, with everything above it. */
        for (size_t i = 0; i < *n; i++)
                if (is_exit_frame(&v[i]))
                        exit_at = i;
        if (exit_at != SIZE_MAX)
                drop_range(v, n, 0, exit_at + 1);

        for (size_t i = 0; i < *n; i++) {
                strip_prefixes(&v[i]);
                rename_string_variant(&v[i]);
        }

        for (size_t i = 0; i < *n;) {
                if (rule_matches(glibc_with_above, ELEMENTSOF(glibc_with_above), &v[i]) ||
                    is_exit_frame(&v[i])) {
                        drop_range(v, n, 0, i + 1);
                        i = 0;
                } else if (rule_matches(removable_frames, ELEMENTSOF(removable_frames), &v[i]))
                        drop_range(v, n, i, 1);
                else
                        i++;
        }

        /* A jump to NULL ("#0 0x0000000000000000 in ?? ()") and the end of a thread's stack. */
        if (*n > 0 && is_null_unknown(&v[0]))
                drop_range(v, n, 0, 1);
        if (*n > 0 && is_null_unknown(&v[*n - 1]))
                drop_range(v, n, *n - 1, 1);

        /* Recursion: consecutive frames of one function are one. */
        for (size_t i = 1; i < *n;) {
                const WorkFrame *a = &v[i - 1], *b = &v[i];
                bool same = a->signal_handler == b->signal_handler &&
                            (a->signal_handler ||
                             (a->function && b->function && streq(a->function, b->function)));

                if (same)
                        drop_range(v, n, i, 1);
                else
                        i++;
        }
}

int duphash_text(const char *component, const DuphashFrame *frames, size_t n, char **ret)
{
        _cleanup_free_ WorkFrame *v = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, m = n;
        FILE *f;
        int r = 0;

        v = calloc(MAX(n, 1u), sizeof(WorkFrame));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                v[i] = (WorkFrame){ .source = frames[i].source,
                                    .have_address = frames[i].have_address,
                                    .address = frames[i].address,
                                    .signal_handler = frames[i].signal_handler };
                if (frames[i].function && !frames[i].signal_handler &&
                    !(v[i].function = strdup(frames[i].function))) {
                        drop_range(v, &m, 0, i);
                        return -ENOMEM;
                }
        }
        normalize(v, &m);

        f = open_memstream(&buf, &size);
        if (!f)
                r = -ENOMEM;
        else {
                fputs(strempty(component), f);
                fputs("Thread\n", f);
                for (size_t i = 0; i < m && i < DUPHASH_FRAMES; i++)
                        fprintf(f, "  %s\n", v[i].signal_handler ? "<signal handler called>"
                                                                  : v[i].function ?: "??");
                if (fclose(f) != 0)
                        r = -ENOMEM;
        }
        drop_range(v, &m, 0, m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

int duphash_sha1(const char *text, char ret[41])
{
        static const char digits[] = "0123456789abcdef";
        uint8_t d[20];

        if (gnutls_hash_fast(GNUTLS_DIG_SHA1, text, strlen(text), d) < 0)
                return -EIO;
        for (size_t i = 0; i < sizeof(d); i++) {
                ret[2 * i] = digits[d[i] >> 4];
                ret[2 * i + 1] = digits[d[i] & 15];
        }
        ret[40] = 0;
        return 0;
}

int duphash_gdb_thread(const char *component, const GdbThread *thread, char **ret_text, char ret_hash[41])
{
        _cleanup_free_ DuphashFrame *frames = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        frames = calloc(MAX(thread->n_frames, 1u), sizeof(DuphashFrame));
        if (!frames)
                return -ENOMEM;
        for (size_t i = 0; i < thread->n_frames; i++) {
                const GdbFrame *g = &thread->frames[i];
                bool handler = g->function && streq(g->function, "<signal handler called>");

                frames[i] = (DuphashFrame){ .function = handler ? NULL : g->function,
                                            .source = g->file ?: g->library,
                                            .have_address = g->have_address,
                                            .address = g->address,
                                            .signal_handler = handler };
        }
        r = duphash_text(component, frames, thread->n_frames, &text);
        if (r < 0)
                return r;
        r = duphash_sha1(text, ret_hash);
        if (r < 0)
                return r;
        if (ret_text)
                *ret_text = TAKE_PTR(text);
        return 0;
}

/* The kernel's own path from a fault or a panic to the dump: never the cause. */
static const char *const kernel_dump_frames[] = {
        "machine_kexec",
        "__crash_kexec",
        "crash_kexec",
        "panic",
        "vpanic",
        "oops_end",
        "die",
        "__die",
        "die_addr",
        "do_trap",
        "do_error_trap",
        "handle_invalid_op",
        "exc_invalid_op",
        "asm_exc_invalid_op",
        "handle_bug",
        "page_fault_oops",
        "no_context",
        "__bad_area_nosemaphore",
        "bad_area_nosemaphore",
        "kernelmode_fixup_or_oops",
        "do_user_addr_fault",
        "exc_page_fault",
        "asm_exc_page_fault",
        "do_page_fault",
        "page_fault",
        "crash_setup_regs",
        "nmi_panic",
        "watchdog_timer_fn",
        "__warn",
        "report_bug",
};

/* The function of one line of crash's `bt`: " #3 [ffffb…] sysrq_handle_crash at ffffffff…";
 * its length in *ret_len, NULL when the line is no frame. */
static const char *kernel_frame_function(const char *line, size_t len, size_t *ret_len)
{
        const char *p = line, *end = line + len, *name;

        while (p < end && *p == ' ')
                p++;
        if (p >= end || *p != '#')
                return NULL;
        p = memchr(p, ']', (size_t) (end - p));
        if (!p || end - p < 2 || p[1] != ' ')
                return NULL;
        name = p + 2;
        p = name;
        while (p < end && *p != ' ' && *p != '.')
                p++; /* ".isra.0", ".cold": the compiler's clones are the function */
        if (p == name)
                return NULL;
        *ret_len = (size_t) (p - name);
        return name;
}

int duphash_vmcore_text(const char *panic, const char *panic_task, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        unsigned frames = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "Kernel panic\n%s\n", strempty(panic));
        for (const char *l = panic_task; l && *l && frames < DUPHASH_FRAMES;) {
                size_t n = strcspn(l, "\n"), fn_len = 0;
                const char *fn = kernel_frame_function(l, n, &fn_len);
                bool skip = !fn;

                for (size_t i = 0; fn && i < ELEMENTSOF(kernel_dump_frames); i++)
                        if (strlen(kernel_dump_frames[i]) == fn_len &&
                            memcmp(kernel_dump_frames[i], fn, fn_len) == 0)
                                skip = true;
                if (!skip) {
                        fprintf(f, "  %.*s\n", (int) fn_len, fn);
                        frames++;
                }
                l += n;
                if (*l == '\n')
                        l++;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (isempty(panic) && frames == 0)
                return -ENODATA;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* "name-version-release": the name, the part before the second '-' from the end. */
static int nvr_name(const char *s, size_t len, char **ret)
{
        const char *end = s + len;

        for (int dashes = 0; dashes < 2; dashes++) {
                const char *d = NULL;

                for (const char *p = s; p < end; p++)
                        if (*p == '-')
                                d = p;
                if (!d || d == s)
                        return -EINVAL;
                end = d;
        }
        *ret = strndup(s, (size_t) (end - s));
        return *ret ? 0 : -ENOMEM;
}

int duphash_component(const char *sourcerpm, const char *package, char **ret)
{
        if (!isempty(sourcerpm)) {
                size_t n = strlen(sourcerpm);

                if (string_endswith(sourcerpm, ".src.rpm"))
                        n -= STRLEN(".src.rpm");
                else if (string_endswith(sourcerpm, ".nosrc.rpm"))
                        n -= STRLEN(".nosrc.rpm");
                if (nvr_name(sourcerpm, n, ret) >= 0)
                        return 0;
        }
        /* "name-E:V-R.A": the epoch and the architecture sit in the last two parts */
        if (!isempty(package))
                return nvr_name(package, strlen(package), ret);
        return -ENOENT;
}
