/*
 * msg_frames: how the message fuzz target cuts one fuzzer input into the
 * frames of a multipart ZeroMQ message, shared by the target and the
 * program that writes its seed corpus.
 *
 *   u8 count (taken modulo BL_MSG_MAX_FRAMES + 1: 0 .. 16 frames)
 *   u32 little-endian length of each frame but the last, cut to what is left
 *   the bytes of the frames, one after another; the last frame takes the rest
 */
#ifndef BL_FUZZ_MSG_FRAMES_H
#define BL_FUZZ_MSG_FRAMES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg/msg.h"

/* Cuts data into frames that borrow from it (do not bl_frames_free). */
static inline void fuzz_msg_split(const uint8_t *data, size_t size,
                                  bl_frames *out)
{
    memset(out, 0, sizeof *out);
    if (size == 0)
        return;
    int count = data[0] % (BL_MSG_MAX_FRAMES + 1);
    size_t pos = 1, lens_end = 1 + 4 * (size_t)(count > 0 ? count - 1 : 0);
    if (lens_end > size)
        lens_end = size;
    size_t at = lens_end;
    for (int i = 0; i < count; i++) {
        size_t len = size - at;
        if (i < count - 1) {
            uint32_t n = 0;
            if (pos + 4 <= lens_end)
                n = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8 |
                    (uint32_t)data[pos + 2] << 16 | (uint32_t)data[pos + 3] << 24;
            pos += 4;
            if (n < len)
                len = n;
        }
        out->frame[i].data = (uint8_t *)(data + at);
        out->frame[i].size = len;
        at += len;
    }
    out->count = count;
}

/* The opposite: frames into one input (malloc'd, *size set). */
static inline uint8_t *fuzz_msg_join(const bl_frames *in, size_t *size)
{
    size_t n = 1 + 4 * (size_t)(in->count > 0 ? in->count - 1 : 0);
    for (int i = 0; i < in->count; i++)
        n += in->frame[i].size;
    uint8_t *buf = malloc(n), *p = buf;
    if (!buf)
        abort();
    *p++ = (uint8_t)in->count;
    for (int i = 0; i + 1 < in->count; i++) {
        uint32_t len = (uint32_t)in->frame[i].size;
        *p++ = (uint8_t)len;
        *p++ = (uint8_t)(len >> 8);
        *p++ = (uint8_t)(len >> 16);
        *p++ = (uint8_t)(len >> 24);
    }
    for (int i = 0; i < in->count; i++) {
        if (in->frame[i].size)
            memcpy(p, in->frame[i].data, in->frame[i].size);
        p += in->frame[i].size;
    }
    *size = n;
    return buf;
}

#endif
