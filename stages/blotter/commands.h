/*
 * The front end's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status.
 */
#ifndef BL_COMMANDS_H
#define BL_COMMANDS_H

int bl_cmd_run(int argc, char **argv);      /* cmd_run.c */
int bl_cmd_up(int argc, char **argv);       /* cmd_up.c */
int bl_cmd_feed(int argc, char **argv);     /* cmd_up.c */
int bl_cmd_down(int argc, char **argv);     /* cmd_up.c */
int bl_cmd_top(int argc, char **argv);      /* cmd_top.c */
int bl_cmd_metrics(int argc, char **argv);  /* cmd_top.c */
int bl_cmd_model(int argc, char **argv);    /* cmd_model.c */
int bl_cmd_query(int argc, char **argv);    /* cmd_query.c */
int bl_cmd_export(int argc, char **argv);   /* cmd_export.c */
int bl_cmd_review(int argc, char **argv);   /* cmd_review.c */
int bl_cmd_samples(int argc, char **argv);  /* cmd_samples.c */
int bl_cmd_data(int argc, char **argv);     /* cmd_data.c */
int bl_cmd_data_page_digits(int argc, char **argv); /* cmd_data_digits.c */
int bl_cmd_train(int argc, char **argv);    /* cmd_train.c */
int bl_cmd_train_write(int argc, char **argv); /* cmd_train_write.c */
int bl_cmd_train_finetune(int argc, char **argv); /* cmd_train_finetune.c */
int bl_cmd_eval(int argc, char **argv);     /* cmd_eval.c */
int bl_cmd_keys(int argc, char **argv);     /* cmd_keys.c */
int bl_cmd_backup(int argc, char **argv);   /* cmd_backup.c */

#endif
