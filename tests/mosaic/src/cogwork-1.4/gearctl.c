/* gearctl (cogwork-tools): prints a gear train. Shares gears.h with libgears, so dwz has common
 * DWARF to move into the .dwz file. */
#include "gears.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
        struct gear_config config = { .profile = argc > 1 ? argv[1] : "default", .strict = 0, .teeth = 4 };
        struct gear_train *train = gears_train_new(&config);

        config.train = train;
        printf("libgears %s, profile %s\n", gears_version(), train->profile);
        for (int i = 0; i < train->count; i++) {
                struct gear *g = train->gears[i];
                int valid = 0;

                for (int k = 0; k < g->teeth_count; k++)
                        valid += gear_tooth_valid(g->teeth[k]);
                printf("%s: %d teeth (%d valid), ratio %.2f\n", g->name, g->teeth_count, valid,
                       gear_effective_ratio(g));
        }
        gear_train_count_turn(train);
        return strcmp(train->profile, "fail") == 0;
}
