/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Empties the bounding set, so nothing executed later can regain a capability. Needs CAP_SETPCAP
 * (held in a fresh user namespace), so it runs before the uid change. */
int sandbox_caps_drop_bounding(void);

/* Clears the ambient, inheritable, permitted and effective sets and sets no_new_privs. */
int sandbox_caps_drop_all(void);
