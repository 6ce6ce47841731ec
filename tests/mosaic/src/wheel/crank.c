/* crank.so (wheel-crank): the plugin wheel dlopen()s; it drives libgears. */
#include "gears.h"

__attribute__((noipa)) static int crank_apply(struct gear_train *train, int turns)
{
        int total;

        total = gears_spin(train, turns); /* @line crank_apply */
        return total + (int)train->stats.turns;
}

int crank_turn(const struct gear_config *config, int turns)
{
        struct gear_train *train = gears_train_new(config);
        int r;

        r = crank_apply(train, turns); /* @line crank_turn */
        return r + gear_tooth_valid(train->gears[0]->teeth[0]);
}
