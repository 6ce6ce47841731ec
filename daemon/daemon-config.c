/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int daemon_config_init(DaemonConfig *c, const char *save_dir)
{
        *c = (DaemonConfig){
                .port = 8080,
                .max_parallel_tasks = 2,
                .max_queued_tasks = 100,
                .max_packed_size = 50ULL << 20,
                .max_unpacked_size = 1ULL << 30,
                .min_storage_left = 1ULL << 30,
                .max_archive_members = 32,
                .allow_metrics = true,
        };
        c->listen_address = strdup("127.0.0.1");
        c->save_dir = strdup(save_dir);
        if (!c->listen_address || !c->save_dir) {
                daemon_config_done(c);
                return -ENOMEM;
        }
        return 0;
}

void daemon_config_done(DaemonConfig *c)
{
        free(c->listen_address);
        free(c->save_dir);
        *c = (DaemonConfig){};
}
