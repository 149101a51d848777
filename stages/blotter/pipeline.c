/*
 * pipeline: starting, feeding, watching and stopping the stage processes.
 *
 * Sockets of the front end: it binds the events PULL socket (every stage
 * connects a PUSH to it) and the control PUB socket (every stage
 * subscribes), and connects its feed PUSH to every ingest instance. Stages
 * bind their own inputs, so the front end never sits on the data path.
 *
 * A child that exits while the pipeline runs is reported at once with its
 * exit status or signal: a dead stage must never leave the front end
 * waiting forever.
 */
#include "pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "log/log.h"

/* The latest figures of one stage instance, and the ones before, for
 * rates. A stage's counters start at zero in each process: when an
 * instance comes back after a restart, what its earlier lives counted is
 * kept in base_* so that the instance's totals never go backwards. */
typedef struct sample {
    int seen;
    uint64_t at_ns, prev_at_ns;
    int64_t items_in, items_out, errors, prev_items_in;
    uint64_t busy_ns, prev_busy_ns;
    double p50_ms, p95_ms;
    bl_pipeline_model model;
    int64_t base_in, base_out, base_errors;
    uint64_t base_busy_ns;
    double cpu_s, base_cpu_s; /* from /proc: this life, earlier lives */
    int64_t peak_rss_kb;      /* VmHWM, the largest over all lives */
    int proc_seen;            /* cpu_s and peak_rss_kb were read */
    uint64_t sent_ns;         /* wall clock the last report was sent */
} sample;

typedef struct child {
    pid_t pid;
    bl_stage_id stage;
    int instance;
    int ready;
    int exited;
    int status;
    int restarts;
    int remote; /* runs as its own service (another host): not our child */
} child;

struct bl_pipeline {
    bl_conf conf;
    char run_dir[BL_PATH_MAX];
    int own_run_dir;
    void *ctx;
    bl_secure *secure; /* CURVE on tcp:// ([security]) */
    void *feed;
    void *events;
    void *control;
    int sigfd;
    int stopping;
    pid_t parent;
    int running; /* all stages came up: from now on, deaths are restarted */
    char bin_dir[BL_PATH_MAX];
    char config_path[BL_PATH_MAX];
    char db_path[BL_PATH_MAX];
    int has_db_path;
    char model_override[BL_STAGE_COUNT][BL_PATH_MAX]; /* after a swap */
    child children[BL_STAGE_COUNT * BL_MAX_INSTANCES];
    int nchildren;
    bl_pipeline_stage_stats stats[BL_STAGE_COUNT];
    void *metrics;
    uint64_t next_publish_ns;
    sample samples[BL_STAGE_COUNT][BL_MAX_INSTANCES];
    bl_pipeline_progress progress;
    int64_t malformed_events; /* dropped on the events socket */
    int last_signal;
    void *reports;          /* PUSH to the writer; made on first use */
};

int bl_pipeline_last_signal(const bl_pipeline *self) { return self->last_signal; }

void bl_pipeline_set_progress(bl_pipeline *self, const bl_pipeline_progress *p)
{
    self->progress = *p;
}

/* A new life of an instance announced itself: keep what the last one
 * counted. */
static void fold_life(sample *m)
{
    m->base_in += m->items_in;
    m->base_out += m->items_out;
    m->base_errors += m->errors;
    m->base_busy_ns += m->busy_ns;
    m->base_cpu_s += m->cpu_s;
    m->items_in = m->items_out = m->errors = m->prev_items_in = 0;
    m->busy_ns = m->prev_busy_ns = 0;
    m->cpu_s = 0;
    m->seen = 0;
    m->prev_at_ns = 0;
}

/* CPU seconds and peak RSS of a local child, from /proc (0 if gone). */
static int read_proc(pid_t pid, double *cpu_s, int64_t *hwm_kb)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which is in parentheses and may
     * hold spaces: state is field 3, utime 14, stime 15. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                     &ut, &st) != 2)
        return 0;
    *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "VmHWM: %" SCNd64, hwm_kb) == 1)
            break;
    fclose(f);
    return 1;
}

/* Reads every live child's CPU time and peak memory. */
static void sample_procs(bl_pipeline *self)
{
    for (int i = 0; i < self->nchildren; i++) {
        const child *c = &self->children[i];
        if (c->exited || c->instance >= BL_MAX_INSTANCES)
            continue;
        sample *m = &self->samples[c->stage][c->instance];
        double cpu = 0;
        int64_t hwm = 0;
        if (read_proc(c->pid, &cpu, &hwm)) {
            m->cpu_s = cpu;
            if (hwm > m->peak_rss_kb)
                m->peak_rss_kb = hwm;
            m->proc_seen = 1;
        }
    }
}

static void take_sample(bl_pipeline *self, const bl_msg_header *hdr,
                        const bl_note *note)
{
    if (hdr->stage >= BL_STAGE_COUNT || hdr->flags >= BL_MAX_INSTANCES)
        return;
    sample *m = &self->samples[hdr->stage][hdr->flags];
    if (m->seen) {
        m->prev_at_ns = m->at_ns;
        m->prev_items_in = m->items_in;
        m->prev_busy_ns = m->busy_ns;
    }
    m->seen = 1;
    m->at_ns = bl_time_mono_ns();
    m->sent_ns = hdr->t_sent_ns;
    m->items_in = note->num[0];
    m->items_out = note->num[1];
    m->errors = note->num[2];
    m->busy_ns = (uint64_t)note->num[3];
    char model[BL_MODEL_ID_MAX] = "";
    if (sscanf(note->text, "p50_ms=%lf p95_ms=%lf model=%63s", &m->p50_ms,
               &m->p95_ms, model) == 3)
        bl_strlcpy(m->model.model, model, sizeof m->model.model);
}

/* Records the outcome of a model swap in one instance. */
static void take_swap(bl_pipeline *self, const bl_msg_header *hdr,
                      const bl_note *note)
{
    if (hdr->stage >= BL_STAGE_COUNT || hdr->flags >= BL_MAX_INSTANCES)
        return;
    bl_pipeline_model *m = &self->samples[hdr->stage][hdr->flags].model;
    bl_strlcpy(m->swap_path, note->path, sizeof m->swap_path);
    if (strcmp(note->kind, "swapped") == 0) {
        m->swap = BL_SWAP_OK;
        bl_strlcpy(m->model, note->text, sizeof m->model);
        m->swap_reason[0] = '\0';
    } else {
        m->swap = BL_SWAP_FAILED;
        bl_strlcpy(m->swap_reason, note->text, sizeof m->swap_reason);
    }
}

const bl_pipeline_model *bl_pipeline_model_of(const bl_pipeline *self,
                                              bl_stage_id stage, int instance)
{
    if (stage >= BL_STAGE_COUNT || instance < 0 ||
        instance >= self->conf.instances[stage])
        return NULL;
    return &self->samples[stage][instance].model;
}

void bl_pipeline_swap_begin(bl_pipeline *self, bl_stage_id stage,
                            const char *path)
{
    bl_strlcpy(self->model_override[stage], path, sizeof self->model_override[stage]);
    for (int i = 0; i < BL_MAX_INSTANCES; i++) {
        bl_pipeline_model *m = &self->samples[stage][i].model;
        m->swap = BL_SWAP_NONE;
        m->swap_path[0] = m->swap_reason[0] = '\0';
    }
}

const bl_conf *bl_pipeline_conf(const bl_pipeline *self) { return &self->conf; }

int bl_pipeline_control(bl_pipeline *self, const bl_note *note, bl_err *err)
{
    bl_msg_header hdr = {0};
    hdr.type = BL_MSG_CONTROL;
    hdr.t_sent_ns = bl_time_wall_ns();
    bl_frames frames = {0};
    int rc = bl_msg_encode_note(&hdr, note, &frames);
    if (rc == BL_OK)
        rc = bl_msg_send(self->control, &frames, 0, err);
    else
        bl_err_set(err, rc, "cannot encode control note");
    bl_frames_free(&frames);
    return rc;
}

/* Publishes the snapshot described in pipeline.h. PUB never blocks: with
 * nobody listening the message is simply dropped. */
static void publish_metrics(bl_pipeline *self)
{
    uint64_t now = bl_time_mono_ns();
    const bl_pipeline_progress *p = &self->progress;
    json_t *root = json_pack(
        "{s:I, s:{s:I, s:I, s:I, s:I, s:I, s:f}}", "time",
        (json_int_t)(bl_time_wall_ns() / 1000000000ull), "batch", "files",
        (json_int_t)p->files, "files_done", (json_int_t)p->files_done,
        "pages_stored", (json_int_t)p->pages_stored, "pages_failed",
        (json_int_t)p->pages_failed, "pages_duplicate",
        (json_int_t)p->pages_duplicate, "eta_s", p->eta_s);
    json_t *stages = json_array();
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++)
        for (int i = 0; i < self->conf.instances[s]; i++) {
            const sample *m = &self->samples[s][i];
            double dt = m->prev_at_ns ? (m->at_ns - m->prev_at_ns) / 1e9 : 0;
            double rate = dt > 0 ? (m->items_in - m->prev_items_in) / dt : 0;
            double busy = dt > 0 ? (m->busy_ns - m->prev_busy_ns) / 1e9 / dt : 0;
            json_array_append_new(
                stages,
                json_pack("{s:s, s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, "
                          "s:s, s:f}",
                          "stage", bl_stage_name((bl_stage_id)s), "instance", i,
                          "items_in", (json_int_t)m->items_in, "items_out",
                          (json_int_t)m->items_out, "errors",
                          (json_int_t)m->errors, "busy_s", m->busy_ns / 1e9,
                          "rate", rate, "busy_share", busy, "p50_ms", m->p50_ms,
                          "p95_ms", m->p95_ms, "model",
                          m->model.model[0] ? m->model.model : "-", "age_s",
                          m->seen ? (now - m->at_ns) / 1e9 : -1.0));
        }
    json_object_set_new(root, "stages", stages);
    json_object_set_new(root, "malformed_events",
                        json_integer((json_int_t)self->malformed_events));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (text)
        zmq_send(self->metrics, text, strlen(text), ZMQ_DONTWAIT);
    free(text);
}

int bl_pipeline_bin_dir(char *out, size_t out_size, bl_err *err)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return bl_err_set(err, BL_EINTERNAL, "cannot find this program: %s",
                          strerror(errno));
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    if (!bl_strlcpy(out, exe, out_size))
        return bl_err_set(err, BL_ELIMIT, "program path too long");
    return BL_OK;
}

static void describe_status(int status, char *out, size_t size)
{
    if (WIFEXITED(status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "stopped (status 0x%x)", status);
}

/* Reaps children that have exited. Returns the first one that died
 * unexpectedly (not during stop), or NULL. */
static child *reap(bl_pipeline *self)
{
    child *dead = NULL;
    for (int i = 0; i < self->nchildren; i++) {
        child *c = &self->children[i];
        if (c->exited || c->remote)
            continue;
        int status;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid) {
            c->exited = 1;
            c->status = status;
            if (!self->stopping && !dead)
                dead = c;
        }
    }
    return dead;
}

/* Starts stage instance `instance` into slot c (a new or a dead child). */
static int spawn(bl_pipeline *self, child *c, bl_stage_id stage, int instance,
                 bl_err *err)
{
    const char *bin_dir = self->bin_dir;
    const char *config_path = self->config_path;
    const char *db_path = self->has_db_path ? self->db_path : NULL;
    char exe[BL_PATH_MAX], inst[16];
    snprintf(exe, sizeof exe, "%s/blotter-%s", bin_dir, bl_stage_name(stage));
    snprintf(inst, sizeof inst, "%d", instance);
    if (access(exe, X_OK) != 0)
        return bl_err_set(err, BL_ENOENT, "stage %s: cannot run %s: %s",
                          bl_stage_name(stage), exe, strerror(errno));
    const char *argv[16];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "--instance";
    argv[n++] = inst;
    argv[n++] = "--run-dir";
    argv[n++] = self->run_dir;
    if (config_path && config_path[0]) {
        argv[n++] = "--config";
        argv[n++] = config_path;
    }
    if (stage == BL_STAGE_WRITE && db_path) {
        argv[n++] = "--db";
        argv[n++] = db_path;
    }
    if (self->model_override[stage][0]) {
        argv[n++] = "--model";
        argv[n++] = self->model_override[stage];
    }
    argv[n] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return bl_err_set(err, BL_EINTERNAL, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* A terminal's Ctrl-C goes to the front end alone, which then stops
         * the stages in order; and stages never outlive a front end that
         * was killed outright. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != self->parent)
            _exit(127); /* the parent died before prctl took effect */
        execv(exe, (char *const *)argv);
        fprintf(stderr, "blotter: exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    int restarts = c->pid ? c->restarts + 1 : 0;
    *c = (child){.pid = pid, .stage = stage, .instance = instance,
                 .restarts = restarts};
    return BL_OK;
}

static int make_run_dir(bl_pipeline *self, bl_err *err)
{
    if (self->conf.runtime_dir[0]) {
        if (mkdir(self->conf.runtime_dir, 0700) != 0 && errno != EEXIST)
            return bl_err_set(err, BL_EIO, "runtime_dir %s: %s",
                              self->conf.runtime_dir, strerror(errno));
        chmod(self->conf.runtime_dir, 0700);
        bl_strlcpy(self->run_dir, self->conf.runtime_dir, sizeof self->run_dir);
        return BL_OK;
    }
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (!base || !base[0] || access(base, W_OK) != 0)
        base = "/tmp";
    snprintf(self->run_dir, sizeof self->run_dir, "%s/blotter-XXXXXX", base);
    if (!mkdtemp(self->run_dir)) /* mkdtemp makes it mode 0700 */
        return bl_err_set(err, BL_EIO, "cannot create a runtime directory in "
                          "%s: %s", base, strerror(errno));
    self->own_run_dir = 1;
    return BL_OK;
}

static void remove_run_dir(bl_pipeline *self)
{
    if (!self->own_run_dir)
        return;
    DIR *d = opendir(self->run_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[BL_PATH_MAX + 256];
            snprintf(p, sizeof p, "%s/%s", self->run_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(self->run_dir);
}

/* Receives one event if there is one. Returns 1, 0 (none) or an error. */
static int recv_event(bl_pipeline *self, bl_msg_header *hdr, bl_note *note,
                      bl_err *err)
{
    bl_frames frames = {0};
    int rc = bl_msg_recv(self->events, &frames, 1 << 20, ZMQ_DONTWAIT, err);
    if (rc == BL_EAGAIN)
        return 0;
    if (rc == BL_OK)
        rc = bl_msg_decode_note(&frames, hdr, note, err);
    bl_frames_free(&frames);
    if (rc == BL_EFORMAT || rc == BL_ELIMIT) {
        self->malformed_events++;
        bl_log(BL_LOG_WARN, "malformed event dropped: %s", err ? err->msg : "");
    }
    if (rc)
        return rc;
    if (strcmp(note->kind, "stats") == 0 && hdr->stage < BL_STAGE_COUNT) {
        bl_stage_stats *s = &self->stats[hdr->stage].sum;
        s->items_in += note->num[0];
        s->items_out += note->num[1];
        s->errors += note->num[2];
        s->busy_ns += (uint64_t)note->num[3];
        const char *cpu = strstr(note->text, "cpu_ns=");
        if (cpu)
            s->cpu_ns += strtoull(cpu + 7, NULL, 10);
        self->stats[hdr->stage].instances++;
    }
    if (strcmp(note->kind, "metrics") == 0)
        take_sample(self, hdr, note);
    if (strcmp(note->kind, "swapped") == 0 || strcmp(note->kind, "swap-failed") == 0)
        take_swap(self, hdr, note);
    if (strcmp(note->kind, "ready") == 0 && hdr->stage < BL_STAGE_COUNT &&
        hdr->flags < BL_MAX_INSTANCES) {
        sample *m = &self->samples[hdr->stage][hdr->flags];
        bl_strlcpy(m->model.model, note->text, sizeof m->model.model);
        fold_life(m);
    }

    /* A stage on another host may have announced itself before we
     * listened; its once-a-second figures say it is there just as well. */
    if (strcmp(note->kind, "ready") == 0 || strcmp(note->kind, "metrics") == 0) {
        for (int i = 0; i < self->nchildren; i++)
            if (self->children[i].stage == (bl_stage_id)hdr->stage &&
                self->children[i].instance == (int)hdr->flags)
                self->children[i].ready = 1;
    }
    return 1;
}

static int wait_ready(bl_pipeline *self, bl_err *err)
{
    uint64_t deadline = bl_time_mono_ns() +
                        (uint64_t)self->conf.start_timeout_s * 1000000000ull;
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    int rc = BL_OK;
    for (;;) {
        int ready = 0;
        for (int i = 0; i < self->nchildren; i++)
            ready += self->children[i].ready;
        if (ready == self->nchildren)
            break;
        rc = bl_pipeline_next_event(self, 100, &hdr, note, err);
        if (rc < 0)
            break;
        rc = BL_OK;
        if (bl_time_mono_ns() > deadline) {
            for (int i = 0; i < self->nchildren; i++)
                if (!self->children[i].ready) {
                    rc = bl_err_set(err, BL_EAGAIN, "stage %s (instance %d) did "
                                    "not start within %d s%s",
                                    bl_stage_name(self->children[i].stage),
                                    self->children[i].instance,
                                    self->conf.start_timeout_s,
                                    self->children[i].remote
                                        ? " (it runs as a service of its "
                                          "own, on its host: is it running, "
                                          "with a key this pipeline admits?)"
                                        : "");
                    break;
                }
            break;
        }
    }
    free(note);
    return rc;
}

bl_pipeline *bl_pipeline_start(const bl_conf *conf, const char *config_path,
                               const char *db_path, bl_err *err)
{
    bl_pipeline *self = bl_xcalloc(1, sizeof *self);
    self->conf = *conf;
    self->sigfd = -1;
    self->parent = getpid();
    char ep[BL_ENDPOINT_MAX];
    bl_strlcpy(self->config_path, config_path ? config_path : "",
               sizeof self->config_path);
    if (db_path) {
        bl_strlcpy(self->db_path, db_path, sizeof self->db_path);
        self->has_db_path = 1;
    }
    int rc = bl_pipeline_bin_dir(self->bin_dir, sizeof self->bin_dir, err);
    if (rc || (rc = make_run_dir(self, err)))
        goto fail;
    self->sigfd = bl_runtime_signals_install(err);
    if (self->sigfd < 0)
        goto fail;

    self->ctx = zmq_ctx_new();
    if (!(self->secure = bl_secure_new(self->ctx, conf, err)))
        goto fail;
    self->events = bl_runtime_socket(self->ctx, ZMQ_PULL, conf, err);
    self->control = bl_runtime_socket(self->ctx, ZMQ_PUB, conf, err);
    self->feed = bl_runtime_socket(self->ctx, ZMQ_PUSH, conf, err);
    self->metrics = bl_runtime_socket(self->ctx, ZMQ_PUB, conf, err);
    if (!self->events || !self->control || !self->feed || !self->metrics)
        goto fail;
    /* Events are small and must never block a stage: a deep queue. */
    int deep = 100000;
    zmq_setsockopt(self->events, ZMQ_RCVHWM, &deep, sizeof deep);
    if ((rc = bl_conf_endpoint(conf, BL_STAGE_FRONT, 0, self->run_dir, ep,
                               sizeof ep, err)) ||
        (rc = bl_secure_bind(self->secure, self->events, ep, err)) ||
        (rc = bl_conf_control_endpoint(conf, self->run_dir, ep, sizeof ep, err)) ||
        (rc = bl_secure_bind(self->secure, self->control, ep, err)) ||
        (rc = bl_conf_metrics_endpoint(conf, self->run_dir, ep, sizeof ep, err)) ||
        (rc = bl_secure_bind(self->secure, self->metrics, ep, err)))
        goto fail;

    /* Downstream first, so each stage's peers are listening when it starts.
     * Instances bound on another host, or all with start_local_stages =
     * off, are started as services of their own; we wait for them. */
    for (int s = BL_STAGE_WRITE; s >= BL_STAGE_INGEST; s--)
        for (int i = 0; i < conf->instances[s]; i++) {
            child *c = &self->children[self->nchildren++];
            if ((rc = bl_conf_endpoint(conf, (bl_stage_id)s, i, self->run_dir,
                                       ep, sizeof ep, err)))
                goto fail;
            if (!conf->start_local_stages || !bl_runtime_endpoint_is_local(ep))
                *c = (child){.stage = (bl_stage_id)s, .instance = i, .remote = 1};
            else if ((rc = spawn(self, c, (bl_stage_id)s, i, err)))
                goto fail;
        }
    if ((rc = wait_ready(self, err)))
        goto fail;
    /* A stage that fails to start would fail again: restarts are for
     * stages that die at work. */
    self->running = 1;
    if ((rc = bl_runtime_connect_stage(self->feed, self->secure, conf,
                                       BL_STAGE_INGEST, self->run_dir, err)))
        goto fail;
    return self;

fail:
    if (err && !err->code)
        bl_err_set(err, BL_EINTERNAL, "pipeline start failed");
    bl_pipeline_stop(&self, NULL, NULL);
    return NULL;
}

int bl_pipeline_feed(bl_pipeline *self, uint64_t doc_id, const char *batch,
                     const char *path, bl_err *err)
{
    bl_msg_header hdr = {0};
    hdr.type = BL_MSG_FEED;
    hdr.doc_id = doc_id;
    hdr.stage = BL_STAGE_FRONT;
    hdr.t_origin_ns = hdr.t_sent_ns = bl_time_wall_ns();
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_strlcpy(note->kind, "file", sizeof note->kind);
    int rc = BL_OK;
    if (!bl_strlcpy(note->path, path, sizeof note->path) ||
        !bl_strlcpy(note->batch, batch, sizeof note->batch)) {
        rc = bl_err_set(err, BL_ELIMIT, "%s: path or batch name too long", path);
        goto done;
    }
    bl_frames frames = {0};
    rc = bl_msg_encode_note(&hdr, note, &frames);
    if (rc == BL_OK)
        rc = bl_msg_send(self->feed, &frames, ZMQ_DONTWAIT, err);
    bl_frames_free(&frames);
done:
    free(note);
    return rc;
}

int bl_pipeline_next_event(bl_pipeline *self, int timeout_ms,
                           bl_msg_header *hdr, bl_note *note, bl_err *err)
{
    self->last_signal = 0;
    uint64_t deadline = bl_time_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        int rc = recv_event(self, hdr, note, err);
        if (rc == BL_EFORMAT || rc == BL_ELIMIT)
            continue; /* a malformed event is dropped, not fatal */
        if (rc != 0)
            return rc;
        child *dead = reap(self);
        if (dead) {
            char how[128];
            describe_status(dead->status, how, sizeof how);
            /* The supervisor's policy: restart a dead instance while it has
             * restarts left; the caller feeds its lost work again. */
            if (self->running && dead->restarts < self->conf.max_restarts) {
                int restarts = dead->restarts;
                bl_err serr = {0};
                if (spawn(self, dead, dead->stage, dead->instance, &serr) == BL_OK) {
                    memset(note, 0, sizeof *note);
                    memset(hdr, 0, sizeof *hdr);
                    bl_strlcpy(note->kind, "restarted", sizeof note->kind);
                    snprintf(note->text, sizeof note->text, "stage %s (instance "
                             "%d) %s; restarted (%d of %d)",
                             bl_stage_name(dead->stage), dead->instance, how,
                             restarts + 1, self->conf.max_restarts);
                    return 1;
                }
                return bl_err_set(err, BL_EINTERNAL, "stage %s (instance %d) %s "
                                  "and could not be restarted: %s",
                                  bl_stage_name(dead->stage), dead->instance,
                                  how, serr.msg);
            }
            return bl_err_set(err, BL_EINTERNAL, "stage %s (instance %d, pid "
                              "%d) %s%s", bl_stage_name(dead->stage),
                              dead->instance, (int)dead->pid, how,
                              self->conf.max_restarts ? " too often" : "");
        }
        uint64_t now = bl_time_mono_ns();
        if (self->metrics && now >= self->next_publish_ns) {
            sample_procs(self);
            publish_metrics(self);
            self->next_publish_ns = now + 1000000000ull;
        }
        if (now >= deadline)
            return 0;
        zmq_pollitem_t items[] = {
            {NULL, self->sigfd, ZMQ_POLLIN, 0},
            {self->events, 0, ZMQ_POLLIN, 0},
        };
        /* Wake at least every 100 ms to notice dead children. */
        long wait_ms = (long)((deadline - now) / 1000000ull);
        if (wait_ms > 100)
            wait_ms = 100;
        if (zmq_poll(items, 2, wait_ms) < 0 && errno != EINTR)
            return bl_err_set(err, BL_EINTERNAL, "zmq_poll: %s",
                              zmq_strerror(errno));
        if (items[0].revents & ZMQ_POLLIN) {
            int sig = bl_runtime_signal_take(self->sigfd);
            self->last_signal = sig;
            return bl_err_set(err, BL_EINTERNAL, "interrupted by signal %d", sig);
        }
    }
}

int bl_pipeline_stop(bl_pipeline **pself,
                     bl_pipeline_stage_stats stats[BL_STAGE_COUNT], bl_err *err)
{
    bl_pipeline *self = *pself;
    if (!self)
        return 0;
    self->stopping = 1;
    if (self->control) {
        bl_msg_header hdr = {0};
        hdr.type = BL_MSG_CONTROL;
        hdr.t_sent_ns = bl_time_wall_ns();
        bl_note *note = bl_xcalloc(1, sizeof *note);
        bl_strlcpy(note->kind, "stop", sizeof note->kind);
        bl_frames frames = {0};
        if (bl_msg_encode_note(&hdr, note, &frames) == BL_OK)
            bl_msg_send(self->control, &frames, ZMQ_DONTWAIT, NULL);
        bl_frames_free(&frames);
        free(note);
    }
    /* Drain: collect the stages' final statistics while they exit. */
    uint64_t deadline = bl_time_mono_ns() +
                        (uint64_t)self->conf.drain_timeout_s * 1000000000ull;
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    for (;;) {
        reap(self);
        int alive = 0;
        for (int i = 0; i < self->nchildren; i++)
            alive += !self->children[i].exited && !self->children[i].remote;
        if (!alive || bl_time_mono_ns() > deadline)
            break;
        if (self->events) {
            zmq_pollitem_t item = {self->events, 0, ZMQ_POLLIN, 0};
            zmq_poll(&item, 1, 50);
            while (recv_event(self, &hdr, note, NULL) == 1)
                ;
        } else {
            usleep(50000);
        }
    }
    if (self->events)
        while (recv_event(self, &hdr, note, NULL) == 1)
            ;
    free(note);
    /* Whatever did not stop in time is terminated, then killed. */
    for (int sig = SIGTERM, round = 0; round < 2; round++, sig = SIGKILL) {
        int alive = 0;
        for (int i = 0; i < self->nchildren; i++)
            if (!self->children[i].exited && !self->children[i].remote) {
                kill(self->children[i].pid, sig);
                alive++;
            }
        if (!alive)
            break;
        for (int t = 0; t < 40 && alive; t++) {
            usleep(50000);
            reap(self);
            alive = 0;
            for (int i = 0; i < self->nchildren; i++)
                alive += !self->children[i].exited && !self->children[i].remote;
        }
    }
    /* A stage that fails on its way out (a crash in clean-up, a sanitizer
     * report, a refusal to stop) is a defect worth an error, not a shrug. */
    int unclean = 0;
    for (int i = 0; i < self->nchildren; i++) {
        const child *c = &self->children[i];
        if (c->remote ||
            (c->exited && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0))
            continue;
        char how[128];
        if (c->exited)
            describe_status(c->status, how, sizeof how);
        else
            snprintf(how, sizeof how, "could not be stopped");
        if (unclean++ == 0)
            bl_err_set(err, BL_EINTERNAL, "stage %s (instance %d) %s",
                       bl_stage_name(c->stage), c->instance, how);
    }
    if (stats)
        memcpy(stats, self->stats, sizeof self->stats);
    if (self->feed)
        zmq_close(self->feed);
    if (self->reports)
        zmq_close(self->reports);
    if (self->events)
        zmq_close(self->events);
    if (self->control)
        zmq_close(self->control);
    if (self->metrics)
        zmq_close(self->metrics);
    bl_secure_destroy(&self->secure);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    remove_run_dir(self);
    free(self);
    *pself = NULL;
    return unclean;
}

int bl_pipeline_report(bl_pipeline *self, uint64_t doc_id, const bl_note *note,
                       bl_err *err)
{
    if (!self->reports) {
        self->reports = bl_runtime_socket(self->ctx, ZMQ_PUSH, &self->conf, err);
        if (!self->reports)
            return err->code;
        int rc = bl_runtime_connect_stage(self->reports, self->secure, &self->conf,
                                          BL_STAGE_WRITE, self->run_dir, err);
        if (rc)
            return rc;
    }
    bl_msg_header hdr = {0};
    hdr.type = BL_MSG_EVENT;
    hdr.stage = BL_STAGE_FRONT;
    hdr.doc_id = doc_id;
    hdr.t_origin_ns = hdr.t_sent_ns = bl_time_wall_ns();
    bl_frames frames = {0};
    int rc = bl_msg_encode_note(&hdr, note, &frames);
    if (rc)
        bl_err_set(err, rc, "cannot encode a %s report", note->kind);
    else
        rc = bl_msg_send(self->reports, &frames, ZMQ_DONTWAIT, err);
    bl_frames_free(&frames);
    return rc;
}

void bl_pipeline_sync_figures(bl_pipeline *self, int timeout_ms)
{
    /* By the sender's clock: a report sent before this call may still
     * be on its way. */
    uint64_t since = bl_time_wall_ns();
    uint64_t deadline = bl_time_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    for (;;) {
        int fresh = 1;
        for (int i = 0; i < self->nchildren && fresh; i++) {
            const child *c = &self->children[i];
            if (!c->exited && c->instance < BL_MAX_INSTANCES &&
                self->samples[c->stage][c->instance].sent_ns <= since)
                fresh = 0;
        }
        if (fresh || bl_time_mono_ns() > deadline)
            break;
        zmq_pollitem_t item = {self->events, 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, 50);
        while (recv_event(self, &hdr, note, NULL) == 1)
            ;
    }
    free(note);
    sample_procs(self);
}

int bl_pipeline_figures_of(const bl_pipeline *self, bl_stage_id stage,
                           int instance, bl_pipeline_figures *out)
{
    memset(out, 0, sizeof *out);
    if (stage <= BL_STAGE_FRONT || stage >= BL_STAGE_COUNT || instance < 0 ||
        instance >= self->conf.instances[stage] || instance >= BL_MAX_INSTANCES)
        return BL_ENOENT;
    const sample *m = &self->samples[stage][instance];
    out->items_in = m->base_in + m->items_in;
    out->items_out = m->base_out + m->items_out;
    out->errors = m->base_errors + m->errors;
    out->busy_s = (double)(m->base_busy_ns + m->busy_ns) / 1e9;
    out->cpu_s = m->proc_seen ? m->base_cpu_s + m->cpu_s : -1;
    out->peak_rss_kb = m->proc_seen ? m->peak_rss_kb : -1;
    out->p50_ms = m->p50_ms;
    out->p95_ms = m->p95_ms;
    for (int i = 0; i < self->nchildren; i++)
        if (self->children[i].stage == stage && self->children[i].instance == instance)
            out->restarts = self->children[i].restarts;
    return BL_OK;
}
