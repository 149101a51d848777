/* Placeholder until the data command lands; replaced by its implementation. */
#include <stdio.h>

#include "blotter/commands.h"

int bl_cmd_data(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "blotter: 'data' is not built yet\n");
    return 2;
}
