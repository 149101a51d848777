/* Placeholder until the train command lands; replaced by its implementation. */
#include <stdio.h>

#include "blotter/commands.h"

int bl_cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "blotter: 'train' is not built yet\n");
    return 2;
}
