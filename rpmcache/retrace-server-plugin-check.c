/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-server-plugin-check [FILE…]: validates distribution plugins; without arguments every
 * *.conf in the configured plugin directory. Errors name file:line; exit status 1 when any fails. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cache-plugin.h"
#include "common-config.h"
#include "common-log.h"
#include "common-path.h"
#include "common-string.h"

static int check_one(const char *path)
{
        _cleanup_(plugin_freep) Plugin *p = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = plugin_load(path, &p, &error);
        if (r < 0) {
                log_error("%s", error ? error : path);
                return r;
        }
        printf("%s: ok (%s, %zu repositories, versions:", path, p->distribution, p->n_repos);
        STRV_FOREACH (v, p->versions)
                printf(" %s", *v);
        printf(")\n");
        /* Which debugger reads which cores: the same one unless the plugin names a multiarch one. */
        printf("%s: debugger %s (%s); foreign-architecture cores: %s (%s)\n", path, p->gdb_package,
               p->gdb_executable, p->gdb_foreign_package, p->gdb_foreign_executable);
        return 0;
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config_path = NULL;
        int c, failed = 0;

        log_set_program("retrace-server-plugin-check");
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'h':
                        printf("Usage: %s [--config FILE] [PLUGIN-FILE…]\n"
                               "Validates distribution plugins (all *.conf in PluginDir without "
                               "arguments).\n",
                               argv[0]);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }

        if (optind < argc) {
                for (int i = optind; i < argc; i++)
                        if (check_one(argv[i]) < 0)
                                failed++;
        } else {
                _cleanup_(config_freep) RetraceConfig *cfg = NULL;
                _cleanup_free_ char *error = NULL;
                _cleanup_closedir_ DIR *d = NULL;
                int r;

                r = config_load(config_path, &cfg, &error);
                if (r < 0) {
                        log_error("%s", error ? error : "cannot load the configuration");
                        return EXIT_FAILURE;
                }
                d = opendir(cfg->plugin_dir);
                if (!d) {
                        log_error_errno(errno, "Cannot open plugin directory %s: %m (set PluginDir or %s)",
                                        cfg->plugin_dir, RETRACE_PLUGIN_DIR_ENV);
                        return EXIT_FAILURE;
                }
                for (struct dirent *de; (de = readdir(d));) {
                        _cleanup_free_ char *path = NULL;

                        if (de->d_name[0] == '.' || !string_endswith(de->d_name, ".conf"))
                                continue;
                        path = path_join(cfg->plugin_dir, de->d_name);
                        if (!path)
                                return log_oom(), EXIT_FAILURE;
                        if (check_one(path) < 0)
                                failed++;
                }
        }
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
