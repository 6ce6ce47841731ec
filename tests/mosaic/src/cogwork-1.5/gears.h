/* cogwork 1.5: the interface of libgears, shared by libgears, gearctl and wheel's crank plugin.
 * The structs and inline helpers appear in the DWARF of every module built with it, so dwz moves
 * them into the source package's common .dwz file. */
#ifndef GEARS_H
#define GEARS_H

#include <stddef.h>

#define GEARS_MAX_TEETH 8

struct gear_tooth {
        int depth;
        int pitch;
        const char *label;
};

struct gear {
        const char *name;
        int teeth_count;
        double ratio;
        struct gear_tooth *teeth[GEARS_MAX_TEETH];
};

struct gear_train_stats {
        long turns;
        long meshes;
        long slips;
};

struct gear_train {
        const char *profile;
        int count;
        struct gear *gears[4];
        struct gear_train_stats stats;
};

struct gear_config {
        const char *profile;
        int strict;
        int teeth;
        struct gear_train *train;
};

static inline int gear_tooth_valid(const struct gear_tooth *t)
{
        return t != NULL && t->depth > 0;
}

static inline double gear_effective_ratio(const struct gear *g)
{
        return g->teeth_count ? g->ratio / g->teeth_count : 0.0;
}

static inline void gear_train_count_turn(struct gear_train *t)
{
        t->stats.turns++;
}

static inline int gear_config_teeth(const struct gear_config *c)
{
        return c->teeth > 0 && c->teeth <= GEARS_MAX_TEETH ? c->teeth : GEARS_MAX_TEETH;
}

struct gear_train *gears_train_new(const struct gear_config *config);
int gears_spin(struct gear_train *train, int turns);
const char *gears_version(void);

#endif
