/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sqlite3.h>

#include "common-macro.h"

/* An sqlite result code (primary or extended) as a negative errno; 0 for SQLITE_OK, _ROW and _DONE.
 * Busy and locked → -EBUSY, full → -ENOSPC, read-only, permission or cannot-open → -EACCES, corrupt or
 * not a database → -EBADMSG, constraint → -EEXIST, no memory → -ENOMEM, anything else → -EIO. */
int sqlite_errno(int rc);

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
