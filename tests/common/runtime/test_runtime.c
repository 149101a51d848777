#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"

Test(runtime, parses_stage_arguments)
{
    char *argv[] = {"blotter-write", "--config", "a.conf", "--instance", "3",
                    "--run-dir", "/tmp/r", "--db", "x.db", NULL};
    bl_stage_args args;
    bl_err err = {0};
    cr_assert_eq(bl_runtime_parse_args(9, argv, "write", &args, &err), BL_OK, "%s",
                 err.msg);
    cr_assert_str_eq(args.config_path, "a.conf");
    cr_assert_eq(args.instance, 3);
    cr_assert_str_eq(args.run_dir, "/tmp/r");
    cr_assert_str_eq(args.db_path, "x.db");
}

Test(runtime, rejects_bad_instance_and_unknown_options)
{
    bl_stage_args args;
    bl_err err = {0};
    char *bad_instance[] = {"blotter-detect", "--instance", "-1", NULL};
    cr_assert_eq(bl_runtime_parse_args(3, bad_instance, "detect", &args, &err),
                 BL_EINVAL);
    cr_assert(strstr(err.msg, "--instance") != NULL, "%s", err.msg);
    char *db_on_detect[] = {"blotter-detect", "--db", "x.db", NULL};
    cr_assert_eq(bl_runtime_parse_args(3, db_on_detect, "detect", &args, &err),
                 BL_EINVAL, "only the writer takes --db");
    char *dangling[] = {"blotter-detect", "--config", NULL};
    cr_assert_eq(bl_runtime_parse_args(2, dangling, "detect", &args, &err),
                 BL_EINVAL);
}

Test(runtime, a_signal_wakes_the_self_pipe)
{
    bl_err err = {0};
    int fd = bl_runtime_signals_install(&err);
    cr_assert_geq(fd, 0, "%s", err.msg);
    cr_assert_eq(bl_runtime_signal_take(fd), 0, "nothing pending yet");
    raise(SIGTERM);
    cr_assert_eq(bl_runtime_signal_take(fd), SIGTERM);
}
