/* axle: libaxle, the routing library hub uses */
#ifndef AXLE_H
#define AXLE_H

struct axle_stop {
        const char *name;
        struct axle_stop *next;
        int load;
};

int axle_route(const char *from, int hops);

#endif
