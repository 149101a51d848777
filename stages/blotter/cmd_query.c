/* Placeholder until the query command lands; replaced by its implementation. */
#include <stdio.h>

#include "blotter/commands.h"

int bl_cmd_query(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "blotter: 'query' is not built yet\n");
    return 2;
}
