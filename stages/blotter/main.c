/*
 * blotter: the front end. Dispatches to one subcommand per file
 * (cmd_<name>.c); each prints its own usage with --help.
 */
#include <stdio.h>
#include <string.h>

#include "blotter/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", bl_cmd_run, "process files and folders of scans as one batch"},
    {"up", bl_cmd_up, "start the pipeline as a service (optionally a hot folder)"},
    {"feed", bl_cmd_feed, "submit files to the running pipeline"},
    {"down", bl_cmd_down, "stop the running pipeline after its work in flight"},
    {"top", bl_cmd_top, "live per-stage throughput, latency and errors"},
    {"metrics", bl_cmd_metrics, "serve the figures for Prometheus"},
    {"model", bl_cmd_model, "list the models; swap one in a running pipeline"},
    {"query", bl_cmd_query, "list recognised fields (table, CSV, JSON)"},
    {"export", bl_cmd_export, "write a batch as CSV, JSON and ALTO XML"},
    {"review", bl_cmd_review, "the verification queue: crops out, corrections in"},
    {"samples", bl_cmd_samples, "generate synthetic scanned pages with truth"},
    {"train", bl_cmd_train, "train a stage model"},
    {"eval", bl_cmd_eval, "measure a model or the whole pipeline"},
    {"data", bl_cmd_data, "fetch and verify training data (MNIST)"},
    {"keys", bl_cmd_keys, "make CURVE key pairs for stages on several hosts"},
    {"backup", bl_cmd_backup, "copy the database safely while the pipeline writes"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: blotter COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`blotter COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "blotter: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
