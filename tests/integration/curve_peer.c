/*
 * curve_peer: a client of a tcp:// pipeline for the network-namespace test
 * (netns_curve.sh). It connects a PUSH socket to ENDPOINT exactly as a
 * stage would, through bl_secure_connect with the [security] keys of
 * CONFIG, sends one FEED note asking for PATH to be stored in BATCH, and
 * lingers a few seconds so that an admitted connection delivers it. With
 * an unauthorised client key the server refuses the handshake and nothing
 * gets through, which the test then checks in the database and the log.
 *
 *   curve_peer CONFIG ENDPOINT PATH BATCH
 *
 * Exit status 0 when the note was handed to ZeroMQ, 2 on bad arguments or
 * configuration.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "conf/conf.h"
#include "msg/msg.h"
#include "secure/secure.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: curve_peer CONFIG ENDPOINT PATH BATCH\n");
        return 2;
    }
    bl_conf conf;
    bl_err err = {0};
    bl_conf_defaults(&conf);
    if (bl_conf_load(&conf, argv[1], &err)) {
        fprintf(stderr, "curve_peer: %s\n", err.msg);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    bl_secure *secure = bl_secure_new(ctx, &conf, &err);
    void *push = secure ? zmq_socket(ctx, ZMQ_PUSH) : NULL;
    int linger = 3000, status = 2;
    if (push) {
        zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
        if (bl_secure_connect(secure, push, argv[2], &err) == BL_OK)
            status = 0;
    }
    if (status == 0) {
        bl_msg_header hdr = {.type = BL_MSG_FEED, .doc_id = 990001};
        static bl_note note;
        bl_strlcpy(note.kind, "file", sizeof note.kind);
        bl_strlcpy(note.path, argv[3], sizeof note.path);
        bl_strlcpy(note.batch, argv[4], sizeof note.batch);
        bl_frames frames = {0};
        if (bl_msg_encode_note(&hdr, &note, &frames) ||
            bl_msg_send(push, &frames, ZMQ_DONTWAIT, &err))
            fprintf(stderr, "curve_peer: not queued: %s\n", err.msg);
        bl_frames_free(&frames);
        sleep(2); /* time for the handshake, and for a refusal */
    } else {
        fprintf(stderr, "curve_peer: %s\n", err.msg);
    }
    if (push)
        zmq_close(push);
    bl_secure_destroy(&secure);
    zmq_ctx_term(ctx);
    return status;
}
