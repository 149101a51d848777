/* Placeholder until the eval command lands; replaced by its implementation. */
#include <stdio.h>

#include "blotter/commands.h"

int bl_cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "blotter: 'eval' is not built yet\n");
    return 2;
}
