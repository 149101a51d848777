/*
 * scan.c: opening scan files. Sniffs the format from the magic bytes (never
 * the file name: archives are full of .tif files that are JPEGs), applies
 * the file-size limit, and hands the file to the TIFF or PNG reader.
 *
 * Refusals say what the file looks like, so an operator facing a folder of
 * failures can tell a mislabelled JPEG from a damaged TIFF at a glance.
 * Recognised but refused: JPEG, JPEG 2000, PDF, GIF, BMP, WebP, ZIP, gzip.
 * Limits: page numbers in messages are the 0-based page index, the same
 * number the database stores as page_index.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image_internal.h"

static const uint8_t PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* What a non-scan file looks like, for the refusal message. */
static const char *sniff_other(const uint8_t *b, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
    } kinds[] = {
        {"\xff\xd8\xff", 3, "JPEG"},
        {"\x00\x00\x00\x0cjP  ", 8, "JPEG 2000"},
        {"\xff\x4f\xff\x51", 4, "JPEG 2000"},
        {"%PDF", 4, "PDF"},
        {"GIF87a", 6, "GIF"},
        {"GIF89a", 6, "GIF"},
        {"BM", 2, "BMP"},
        {"PK\x03\x04", 4, "ZIP"},
        {"\x1f\x8b", 2, "gzip"},
    };
    if (n == 0)
        return "empty file";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "WebP";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (n >= kinds[i].len && memcmp(b, kinds[i].magic, kinds[i].len) == 0)
            return kinds[i].name;
    return "unknown format";
}

static bl_file_kind sniff(const uint8_t *b, size_t n)
{
    /* Classic TIFF and BigTIFF, both byte orders: libtiff reads all four. */
    if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0 ||
                   memcmp(b, "II+\0", 4) == 0 || memcmp(b, "MM\0+", 4) == 0))
        return BL_FILE_TIFF;
    if (n >= 8 && memcmp(b, PNG_MAGIC, 8) == 0)
        return BL_FILE_PNG;
    return BL_FILE_UNKNOWN;
}

bl_scan *bl_scan_open(const char *path, const bl_image_limits *limits,
                      bl_err *err)
{
    assert(path);
    bl_scan *self = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        bl_err_set(err, errno == ENOENT ? BL_ENOENT : BL_EIO, "%s: %s", path,
                   strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        bl_err_set(err, BL_EIO, "%s: not a regular file", path);
        goto done;
    }
    bl_image_limits def;
    if (!limits) {
        bl_image_limits_default(&def);
        limits = &def;
    }
    if ((uint64_t)st.st_size > limits->max_file_bytes) {
        bl_err_set(err, BL_ELIMIT, "%s: %lld bytes exceeds the limit of %llu",
                   path, (long long)st.st_size,
                   (unsigned long long)limits->max_file_bytes);
        goto done;
    }
    uint8_t head[16];
    size_t n = fread(head, 1, sizeof head, f);
    if (ferror(f)) {
        bl_err_set(err, BL_EIO, "%s: read failed", path);
        goto done;
    }
    bl_file_kind kind = sniff(head, n);
    if (kind == BL_FILE_UNKNOWN) {
        /* A file we can name is well formed, just not ours (unsupported);
         * an empty or unrecognisable one is damage (format). */
        const char *looks = sniff_other(head, n);
        int known = n > 0 && strcmp(looks, "unknown format") != 0;
        bl_err_set(err, known ? BL_EUNSUP : BL_EFORMAT,
                   "%s: not a TIFF or PNG file (%s%s)", path,
                   known ? "looks like " : "", looks);
        goto done;
    }

    self = bl_xcalloc(1, sizeof *self);
    self->path = bl_xstrdup(path);
    self->kind = kind;
    self->limits = *limits;
    bl_err local = {0};
    int rc = kind == BL_FILE_TIFF ? bl_scan_tiff_open(self, &local)
                                  : bl_scan_png_open(self, &local);
    if (rc < 0) {
        bl_err_prefix(&local, "%s", path);
        if (err)
            *err = local;
        bl_scan_close(&self);
        goto done;
    }
    if (self->npages < 1 || (uint32_t)self->npages > limits->max_pages) {
        if (self->npages < 1)
            bl_err_set(err, BL_EFORMAT, "%s: no pages", path);
        else
            bl_err_set(err, BL_ELIMIT, "%s: %d pages exceeds the limit of %u",
                       path, self->npages, (unsigned)limits->max_pages);
        bl_scan_close(&self);
    }
done:
    if (f)
        fclose(f);
    return self;
}

void bl_scan_close(bl_scan **self)
{
    if (!self || !*self)
        return;
    bl_scan_tiff_close(*self);
    free((*self)->bytes);
    free((*self)->path);
    free(*self);
    *self = NULL;
}

int bl_scan_page_count(const bl_scan *self)
{
    assert(self);
    return self->npages;
}

bl_file_kind bl_scan_kind(const bl_scan *self)
{
    assert(self);
    return self->kind;
}

bl_image *bl_scan_read_page(bl_scan *self, int index, bl_page_info *info,
                            bl_err *err)
{
    assert(self);
    bl_page_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (index < 0 || index >= self->npages) {
        bl_err_set(err, BL_EINVAL, "%s: page %d: no such page (the file has %d)",
                   self->path, index, self->npages);
        return NULL;
    }
    bl_err local = {0};
    bl_image *img = self->kind == BL_FILE_TIFF
                        ? bl_scan_tiff_read(self, index, info, &local)
                        : bl_scan_png_read(self, info, &local);
    if (!img) {
        if (local.code == BL_OK)
            bl_err_set(&local, BL_EINTERNAL, "decoder failed without a reason");
        bl_err_prefix(&local, "%s: page %d", self->path, index);
        if (err)
            *err = local;
    }
    return img;
}
