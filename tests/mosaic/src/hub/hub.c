/* hub: routes over libaxle (axle-libs); the route runs past the last stop. */
#include "axle.h"

#include <stdio.h>

int main(int argc, char **argv)
{
        int r;

        r = axle_route(argc > 1 ? argv[1] : "hub", 4); /* @line main */
        printf("hub: %d\n", r);
        return r == 0;
}
