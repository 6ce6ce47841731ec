/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "common-macro.h"

/* Programs log; libraries return errors. Levels are syslog's (LOG_ERR … LOG_DEBUG). */
void log_set_max_level(int level);
/* Prefix every line with "program: " (argv[0]'s basename by default). */
void log_set_program(const char *name);
/* Parses "err", "warning", "info", "debug" (or 0–7). */
int log_level_from_string(const char *s);

/* Logs a line to stderr. When error is non-zero, "%m" in format shows strerror(|error|).
 * Returns -|error| (or -EIO when error is 0), so `return log_error_errno(r, …);` works. */
int log_internal(int level, int error, const char *file, int line, const char *format, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)                    log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)                     log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)                   log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)                  log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)                    log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(error, ...)       log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_warning_errno(error, ...)     log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)       log_full_errno(LOG_ERR, (error), __VA_ARGS__)

/* The same, with the error known to be an out-of-memory condition. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
