/* libgears 1.4 (cogwork) */
#include "gears.h"

#include <stdlib.h>

const char *gears_version(void)
{
        return "1.4";
}

struct gear_train *gears_train_new(const struct gear_config *config)
{
        struct gear_train *train = calloc(1, sizeof(*train));
        int teeth = gear_config_teeth(config);

        train->profile = config->profile;
        train->count = 2;
        for (int i = 0; i < train->count; i++) {
                struct gear *g = calloc(1, sizeof(*g));
                g->name = i ? "driven" : "driver";
                g->ratio = 1.0 + i;
                /* the last tooth slot stays empty: a gear has teeth_count - 1 teeth */
                g->teeth_count = teeth;
                for (int k = 0; k < teeth - 1; k++) {
                        g->teeth[k] = calloc(1, sizeof(struct gear_tooth));
                        g->teeth[k]->depth = 2 + k;
                        g->teeth[k]->pitch = 3;
                }
                train->gears[i] = g;
        }
        return train;
}

__attribute__((noipa)) static int gears_tooth_load(const struct gear_tooth *t)
{
        return t->depth * t->pitch; /* @line gears_tooth_load */
}

__attribute__((noipa)) static int gears_mesh(struct gear *g, int turn)
{
        int load;

        load = gears_tooth_load(g->teeth[turn % g->teeth_count]); /* @line gears_mesh */
        return load + (int)gear_effective_ratio(g);
}

int gears_spin(struct gear_train *train, int turns)
{
        int total = 0;

        for (int t = 0; t < turns; t++) {
                for (int i = 0; i < train->count; i++) {
                        total += gears_mesh(train->gears[i], t); /* @line gears_spin */
                        train->stats.meshes++;
                }
                gear_train_count_turn(train);
        }
        return total;
}
