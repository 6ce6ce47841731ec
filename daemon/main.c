/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common-log.h"
#include "common-macro.h"
#include "common-parse.h"
#include "common-path.h"
#include "daemon-config.h"
#include "daemon-http.h"
#include "daemon-store.h"

static int parse_listen(const char *s, DaemonConfig *cfg)
{
        const char *colon = strrchr(s, ':');
        _cleanup_free_ char *addr = NULL;
        unsigned port;

        if (!colon || parse_uint(colon + 1, &port) < 0 || port == 0 || port > 65535)
                return -EINVAL;
        addr = strndup(s, (size_t) (colon - s));
        if (!addr)
                return -ENOMEM;
        free(cfg->listen_address);
        cfg->listen_address = TAKE_PTR(addr);
        cfg->port = (uint16_t) port;
        return 0;
}

static void help(void)
{
        printf("retrace-server [--listen ADDR:PORT]\n\n"
               "Serves the Retrace Server HTTP API (see README.md).\n"
               "  --listen ADDR:PORT   address to listen on (default 127.0.0.1:8080)\n");
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "listen", required_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(task_store_freep) TaskStore *store = NULL;
        _cleanup_free_ char *db = NULL;
        DaemonConfig cfg;
        HttpServer http = { .save_dirfd = -EBADF };
        sigset_t mask;
        int r, c, sig;

        log_set_program("retrace-server");
        r = daemon_config_init(&cfg, "data/tasks");
        if (r < 0)
                return log_oom(), EXIT_FAILURE;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'l':
                        if (parse_listen(optarg, &cfg) < 0) {
                                log_error("Invalid --listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:8080",
                                          optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }

        r = path_mkdir_p(cfg.save_dir, 0750);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", cfg.save_dir), EXIT_FAILURE;
        db = path_join(cfg.save_dir, "tasks.db");
        if (!db)
                return log_oom(), EXIT_FAILURE;
        r = task_store_open(db, &store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the task database %s: %m", db), EXIT_FAILURE;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);

        http.config = &cfg;
        http.store = store;
        r = http_server_start(&http);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s:%u: %m", cfg.listen_address, cfg.port),
                       EXIT_FAILURE;
        log_info("Listening on http://%s:%u/, tasks in %s", cfg.listen_address, cfg.port, cfg.save_dir);

        (void) sigwait(&mask, &sig);
        log_info("Received %s, stopping", strsignal(sig));
        http_server_stop(&http);
        daemon_config_done(&cfg);
        return EXIT_SUCCESS;
}
