/* wheel: reads /etc/wheel/wheel.conf (wheel-data), dlopen()s the crank plugin (wheel-crank) and
 * turns the gears of libgears (cogwork's libgears) with it. A gear whose last tooth is missing
 * makes libgears dereference NULL. */
#include "gears.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#ifndef WHEEL_PLUGIN
#define WHEEL_PLUGIN "/usr/lib64/wheel/crank.so"
#endif

typedef int (*crank_fn)(const struct gear_config *, int);

static void read_config(struct gear_config *config, int *turns)
{
        char line[128];
        FILE *f = fopen("/etc/wheel/wheel.conf", "r");

        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                sscanf(line, "teeth = %d", &config->teeth);
                sscanf(line, "turns = %d", turns);
        }
        fclose(f);
}

int main(int argc, char **argv)
{
        struct gear_config config = { .profile = argc > 1 ? argv[1] : "wheel", .strict = 1, .teeth = 4 };
        int turns = 5;
        void *plugin;
        crank_fn turn;
        int r;

        read_config(&config, &turns);
        plugin = dlopen(WHEEL_PLUGIN, RTLD_NOW);
        if (!plugin) {
                fprintf(stderr, "wheel: %s\n", dlerror());
                return 2;
        }
        turn = (crank_fn)dlsym(plugin, "crank_turn");
        printf("wheel: libgears %s, %d teeth, %d turns\n", gears_version(), config.teeth, turns);
        fflush(stdout);
        r = turn(&config, turns); /* @line main */
        printf("wheel: %d\n", r);
        return r == 0;
}
