/*
 * blotter keys: makes the CURVE key pairs of a tcp:// pipeline
 * ([security] in pipeline.conf, docs/DEPLOY.md).
 *
 *   blotter keys [--out DIR] NAME
 *
 * writes DIR/NAME.key (public, mode 0644) and DIR/NAME.key_secret (secret,
 * mode 0600) from zmq_curve_keypair, creating DIR (mode 0700) if needed.
 * Existing files are never replaced: a key that is in use must be retired
 * on purpose, not by a typo.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blotter/commands.h"
#include "secure/secure.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: blotter keys [--out DIR] NAME\n"
            "  Makes a CURVE key pair for a pipeline over tcp:// ([security] in\n"
            "  pipeline.conf): DIR/NAME.key (public) and DIR/NAME.key_secret\n"
            "  (secret, mode 0600). DIR defaults to the current directory and\n"
            "  is created if missing. Existing keys are never overwritten.\n"
            "  Make one pair named e.g. `server` for the pipeline's binding\n"
            "  sockets and one per host for its connecting sockets; copy each\n"
            "  host's NAME.key into the authorised-keys directory.\n");
}

int bl_cmd_keys(int argc, char **argv)
{
    const char *dir = ".", *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "blotter keys: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "blotter keys: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char pub[BL_SECURE_KEY_TEXT];
    bl_err err = {0};
    if (bl_secure_keys_make(dir, name, pub, &err)) {
        fprintf(stderr, "blotter keys: %s\n", err.msg);
        return err.code == BL_EINVAL ? 2 : 1;
    }
    printf("public key: %s/%s.key\nsecret key: %s/%s.key_secret (mode 0600)\n"
           "%s\n", dir, name, dir, name, pub);
    return 0;
}
