/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Sends a state line ("READY=1", "STOPPING=1", "STATUS=…") to the service manager when
 * $NOTIFY_SOCKET names one (systemd's sd_notify protocol); 0 when there is none. */
int notify_send(const char *state);
