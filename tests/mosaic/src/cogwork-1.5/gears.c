/* libgears 1.5 (cogwork): same interface as 1.4, the meshing code was reworked (other function
 * names and lines), so a backtrace made with 1.5's debug information for a 1.4 core is visibly wrong. */
#include "gears.h"

#include <stdlib.h>

const char *gears_version(void)
{
        return "1.5";
}

static struct gear *gears_gear_new(int index, int teeth)
{
        struct gear *g = calloc(1, sizeof(*g));

        g->name = index ? "driven" : "driver";
        g->ratio = 1.0 + index;
        g->teeth_count = teeth;
        for (int k = 0; k < teeth - 1; k++) {
                g->teeth[k] = calloc(1, sizeof(struct gear_tooth));
                g->teeth[k]->depth = 2 + k;
                g->teeth[k]->pitch = 3;
        }
        return g;
}

struct gear_train *gears_train_new(const struct gear_config *config)
{
        struct gear_train *train = calloc(1, sizeof(*train));

        train->profile = config->profile;
        train->count = 2;
        for (int i = 0; i < train->count; i++)
                train->gears[i] = gears_gear_new(i, gear_config_teeth(config));
        return train;
}

__attribute__((noipa)) static int gears_engage_tooth(const struct gear_tooth *t, int turn)
{
        if (!gear_tooth_valid(t))
                return turn; /* 1.5 skips missing teeth */
        return t->depth * t->pitch; /* @line gears_engage_tooth */
}

__attribute__((noipa)) static int gears_engage(struct gear *g, int turn)
{
        return gears_engage_tooth(g->teeth[turn % g->teeth_count], turn) + (int)gear_effective_ratio(g); /* @line gears_engage */
}

int gears_spin(struct gear_train *train, int turns)
{
        int total = 0;

        for (int t = 0; t < turns; t++) {
                for (int i = 0; i < train->count; i++) {
                        train->stats.meshes++;
                        total += gears_engage(train->gears[i], t); /* @line gears_spin */
                }
                gear_train_count_turn(train);
        }
        return total;
}
