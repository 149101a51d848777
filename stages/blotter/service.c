/*
 * service: the meeting place of `blotter up` and its clients (service.h).
 */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int bl_service_conf(const char *config, bl_conf *conf, char *config_path,
                    size_t path_size, bl_err *err)
{
    bl_conf_defaults(conf);
    bl_conf_locate(config, config_path, path_size);
    if (config_path[0] && bl_conf_load(conf, config_path, err))
        return err->code;
    if (!conf->runtime_dir[0]) {
        const char *base = getenv("XDG_RUNTIME_DIR");
        if (!base || !base[0] || access(base, W_OK) != 0)
            base = "/tmp";
        snprintf(conf->runtime_dir, sizeof conf->runtime_dir, "%s/blotter-up-%u",
                 base, (unsigned)getuid());
    }
    return BL_OK;
}
