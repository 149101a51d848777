/*
 * run_cmd: runs a program with a deadline for integration tests, with its
 * stdout and stderr captured into files.
 */
#ifndef BL_TEST_RUN_CMD_H
#define BL_TEST_RUN_CMD_H

#include <sys/types.h>

/* Runs argv (NULL-terminated) with stdout/stderr redirected to the given
 * files (NULL: inherited). Kills it after timeout_s. Returns the exit
 * status, 128+signal if it was killed, or -1 if it could not start. */
int run_cmd(char *const argv[], const char *out_path, const char *err_path,
            int timeout_s);

/* Reads a whole text file into a new string ("" if missing). */
char *slurp(const char *path);

/* The pid of a running process whose command line holds both words, or 0. */
pid_t find_process(const char *word1, const char *word2);

#endif
