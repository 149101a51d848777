/* Placeholder until the samples command lands; replaced by its implementation. */
#include <stdio.h>

#include "blotter/commands.h"

int bl_cmd_samples(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "blotter: 'samples' is not built yet\n");
    return 2;
}
