/*
 * eval_pipeline: `blotter eval pipeline`, the front-end glue around the
 * scorer (score.h). cmd_eval.c dispatches "pipeline" here.
 */
#ifndef BL_EVAL_PIPELINE_H
#define BL_EVAL_PIPELINE_H

/*   blotter eval pipeline --db F --truth F [--batch NAME] [--json]
 * argv[0] is "pipeline". Prints the figures on stdout (aligned
 * `name: value` lines, or one JSON object with --json). Returns 0, 2 for
 * bad arguments, 1 when the database or truth cannot be read. */
int bl_eval_pipeline(int argc, char **argv);

#endif
