// ctest-labels: io
/* Checkpoints: save and load back bit-exactly (parameters, an I64 scalar buffer, optimizer
 * state, metadata), shape/dtype/missing-tensor refusals with the documented messages, F32 to
 * F64 widening, refusal of files that are no linmass checkpoint (lm_checkpoint_open_weights opens
 * a plain state_dict as weights), and an atomic overwrite that
 * fails halfway and leaves the last good checkpoint readable. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "linmass/io.h"

static char dir[64];

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int msg_is(const char *expect)
{
    int ok = strcmp(lm_error_message(), expect) == 0;
    if (!ok) fprintf(stderr, "  message: %s\n  expected: %s\n", lm_error_message(), expect);
    return ok;
}

static int msg_has(const char *needle)
{
    int ok = strstr(lm_error_message(), needle) != NULL;
    if (!ok) fprintf(stderr, "  message: %s\n  lacks: %s\n", lm_error_message(), needle);
    return ok;
}

/* A small model's state: dense 4->3 then batch norm, with SGD momentum. */
typedef struct {
    float w[12], b[3], mean[3], mom[12];
    int64_t nbt;
} state;

static void fill(state *s, float base)
{
    for (int i = 0; i < 12; i++) s->w[i] = base + 0.25f * (float)i;
    for (int i = 0; i < 3; i++) {
        s->b[i] = -base - (float)i;
        s->mean[i] = 1e-3f * (float)i;
    }
    for (int i = 0; i < 12; i++) s->mom[i] = base * 1e-7f * (float)(i + 1);
    s->nbt = 7;
}

static int tensors_of(state *s, lm_ckpt_tensor *t)
{
    t[0] = (lm_ckpt_tensor){"0.weight", LM_DT_F32, 2, {3, 4}, s->w};
    t[1] = (lm_ckpt_tensor){"0.bias", LM_DT_F32, 1, {3}, s->b};
    t[2] = (lm_ckpt_tensor){"1.running_mean", LM_DT_F32, 1, {3}, s->mean};
    t[3] = (lm_ckpt_tensor){"1.num_batches_tracked", LM_DT_I64, 0, {0}, &s->nbt};
    t[4] = (lm_ckpt_tensor){"optim.momentum_buffer.0.weight", LM_DT_F32, 2, {3, 4}, s->mom};
    return 5;
}

static const lm_kv extra[] = {{"note", "quotes \" and \\ survive"}, {"threads", "4"}};

static lm_ckpt_info info_of(uint64_t step)
{
    return (lm_ckpt_info){.step = step, .epoch = 2, .epoch_pos = 640,
                          .seed = UINT64_MAX - 1, .optimizer = "sgd",
                          .optim_json = "{\"lr\":0.1,\"momentum\":0.9,\"nesterov\":false}",
                          .model = "dense:3,bn", .extra = extra, .n_extra = 2};
}

static void test_round_trip(void)
{
    state s, r;
    fill(&s, 1.5f);
    memset(&r, 0, sizeof r);
    lm_ckpt_tensor ts[5], tr[5];
    int n = tensors_of(&s, ts);
    tensors_of(&r, tr);
    lm_ckpt_info info = info_of(1234);
    const char *p = path_in("last.safetensors");
    CHECK(lm_checkpoint_save(p, &info, ts, n) == LM_OK);

    lm_checkpoint *c;
    CHECK(lm_checkpoint_open(p, &c) == LM_OK);
    if (!c) return;
    const lm_ckpt_info *in = lm_checkpoint_info(c);
    CHECK(in->format_version == LM_CKPT_FORMAT_VERSION);
    CHECK(in->step == 1234 && in->epoch == 2 && in->epoch_pos == 640);
    CHECK(in->seed == UINT64_MAX - 1);
    CHECK(strcmp(in->optimizer, "sgd") == 0);
    CHECK(strcmp(in->optim_json, info.optim_json) == 0);
    CHECK(in->model && strcmp(in->model, "dense:3,bn") == 0);
    CHECK(in->n_extra == 2);
    for (int i = 0; i < in->n_extra && i < 2; i++) {
        CHECK(strcmp(in->extra[i].key, extra[i].key) == 0);
        CHECK(strcmp(in->extra[i].value, extra[i].value) == 0);
    }
    CHECK(lm_checkpoint_has(c, "optim.momentum_buffer.0.weight"));
    CHECK(!lm_checkpoint_has(c, "optim.exp_avg.0.weight"));
    CHECK(lm_st_count(lm_checkpoint_file(c)) == 5);
    CHECK(lm_checkpoint_read_all(c, tr, n) == LM_OK);
    CHECK(memcmp(&s, &r, sizeof s) == 0);

    /* widening for probes */
    double w64[12];
    lm_ckpt_tensor t64 = {"0.weight", LM_DT_F64, 2, {3, 4}, w64};
    CHECK(lm_checkpoint_read(c, &t64) == LM_OK);
    for (int i = 0; i < 12; i++) CHECK(w64[i] == (double)s.w[i]);
    lm_checkpoint_close(c);
}

static void test_mismatches(void)
{
    const char *p = path_in("last.safetensors"); /* from test_round_trip */
    lm_checkpoint *c;
    CHECK(lm_checkpoint_open(p, &c) == LM_OK);
    if (!c) return;
    char expect[512];
    float buf[64];
    lm_ckpt_tensor t = {"0.weight", LM_DT_F32, 2, {3, 5}, buf};
    CHECK(lm_checkpoint_read(c, &t) == LM_EINVAL);
    snprintf(expect, sizeof expect,
             "%s: tensor '0.weight' has shape [3, 4] but the model expects [3, 5]", p);
    CHECK(msg_is(expect));
    t = (lm_ckpt_tensor){"0.bias", LM_DT_F32, 2, {3, 1}, buf};
    CHECK(lm_checkpoint_read(c, &t) == LM_EINVAL && msg_has("[3] but the model expects [3, 1]"));
    t = (lm_ckpt_tensor){"1.num_batches_tracked", LM_DT_F32, 0, {0}, buf};
    CHECK(lm_checkpoint_read(c, &t) == LM_EINVAL);
    snprintf(expect, sizeof expect,
             "%s: tensor '1.num_batches_tracked' is I64 but the model expects F32", p);
    CHECK(msg_is(expect));
    t = (lm_ckpt_tensor){"2.weight", LM_DT_F32, 2, {3, 4}, buf};
    CHECK(lm_checkpoint_read(c, &t) == LM_EINVAL);
    snprintf(expect, sizeof expect, "%s: tensor '2.weight' is missing", p);
    CHECK(msg_is(expect));
    /* read_all stops at the first failure and says which */
    lm_ckpt_tensor two[2] = {{"0.bias", LM_DT_F32, 1, {3}, buf},
                             {"0.weight", LM_DT_F32, 1, {12}, buf}};
    CHECK(lm_checkpoint_read_all(c, two, 2) == LM_EINVAL && msg_has("'0.weight'"));
    lm_checkpoint_close(c);
}

/* A safetensors file with the given metadata and one tensor. */
static const char *write_st(const char *name, const char *const *kv, int n)
{
    float x = 1;
    int64_t one[] = {1};
    lm_st_writer *w;
    lm_st_writer_create(&w);
    lm_st_writer_add(w, "x", LM_DT_F32, 1, one, &x);
    for (int i = 0; i < n; i++) lm_st_writer_add_meta(w, kv[2 * i], kv[2 * i + 1]);
    const char *p = path_in(name);
    CHECK(lm_st_writer_write(w, p) == LM_OK);
    lm_st_writer_free(w);
    return p;
}

static void expect_refused(const char *p, const char *needle)
{
    lm_checkpoint *c = (lm_checkpoint *)1;
    CHECK(lm_checkpoint_open(p, &c) == LM_EINVAL && c == NULL);
    CHECK(msg_has(p) && msg_has(needle));
    lm_checkpoint_close(c);
}

static void test_not_a_checkpoint(void)
{
    const char *plain = write_st("plain.safetensors", NULL, 0);
    expect_refused(plain, "not a linmass checkpoint");
#define BASE "format", "linmass-checkpoint", "step", "1", "epoch", "0", "epoch_pos", "0", \
             "seed", "5", "optimizer", "sgd", "optimizer_hparams", "{}"
    const char *good[] = {BASE, "format_version", "1"};
    lm_checkpoint *c;
    CHECK(lm_checkpoint_open(write_st("min.safetensors", good, 8), &c) == LM_OK);
    if (c) CHECK(lm_checkpoint_info(c)->model == NULL && lm_checkpoint_info(c)->n_extra == 0);
    lm_checkpoint_close(c);
    const char *newer[] = {BASE, "format_version", "2"};
    expect_refused(write_st("v2.safetensors", newer, 8), "newer");
    const char *nover[] = {BASE};
    expect_refused(write_st("nover.safetensors", nover, 7), "'format_version' is missing");
    const char *badstep[] = {"format_version", "1", "format", "linmass-checkpoint", "step", "12a",
                             "epoch", "0", "epoch_pos", "0", "seed", "5", "optimizer", "sgd",
                             "optimizer_hparams", "{}"};
    expect_refused(write_st("badstep.safetensors", badstep, 8), "'step' is '12a'");
    const char *bighp[] = {"format_version", "1", "format", "linmass-checkpoint", "step", "1",
                           "epoch", "0", "epoch_pos", "99999999999999999999", "seed", "5",
                           "optimizer", "sgd", "optimizer_hparams", "{}"};
    expect_refused(write_st("overflow.safetensors", bighp, 8), "'epoch_pos'");
    const char *badhp[] = {"format_version", "1", "format", "linmass-checkpoint", "step", "1",
                           "epoch", "0", "epoch_pos", "0", "seed", "5", "optimizer", "sgd",
                           "optimizer_hparams", "{lr: 0.1}"};
    expect_refused(write_st("badhp.safetensors", badhp, 8), "'optimizer_hparams'");
    expect_refused(path_in("absent.safetensors"), "absent.safetensors");
}

/* lm_checkpoint_open_weights: a plain state_dict (no metadata, or PyTorch's "format": "pt")
 * opens with an info of zeros; a file that says it is a linmass checkpoint is checked whole. */
static void test_open_weights(void)
{
    const char *plains[2] = {write_st("plain.safetensors", NULL, 0), NULL};
    const char *pt[] = {"format", "pt"};
    plains[1] = write_st("pt.safetensors", pt, 1);
    for (int i = 0; i < 2; i++) {
        lm_checkpoint *c = NULL;
        CHECK(lm_checkpoint_open_weights(plains[i], &c) == LM_OK && c);
        if (!c) continue;
        const lm_ckpt_info *in = lm_checkpoint_info(c);
        CHECK(in->format_version == 0 && in->step == 0 && !in->optimizer && !in->optim_json && !in->model && in->n_extra == 0);
        CHECK(lm_checkpoint_has(c, "x"));
        lm_checkpoint_close(c);
    }
    const char *nover[] = {BASE};
    lm_checkpoint *c = (lm_checkpoint *)1;
    CHECK(lm_checkpoint_open_weights(write_st("nover2.safetensors", nover, 7), &c) == LM_EINVAL && c == NULL);
    CHECK(msg_has("'format_version' is missing"));
}

static void test_save_refusals(void)
{
    state s;
    fill(&s, 0);
    lm_ckpt_tensor t[5];
    int n = tensors_of(&s, t);
    lm_ckpt_info info = info_of(1);
    info.optim_json = "lr=0.1";
    const char *p = path_in("refused.safetensors");
    CHECK(lm_checkpoint_save(p, &info, t, n) == LM_EINVAL && msg_has("not a JSON object"));
    info = info_of(1);
    lm_kv clash[] = {{"step", "9"}};
    info.extra = clash;
    info.n_extra = 1;
    CHECK(lm_checkpoint_save(p, &info, t, n) == LM_EINVAL && msg_has("'step' is reserved"));
    info = info_of(1);
    t[1].name = "0.weight"; /* a duplicate: the writer's sticky error surfaces at save */
    CHECK(lm_checkpoint_save(p, &info, t, n) == LM_EINVAL && msg_has("'0.weight' added twice"));
    CHECK(access(p, F_OK) != 0);
    CHECK(lm_checkpoint_save(path_in("no/such/dir/ck.safetensors"), &info, t, 1) == LM_EIO);
    CHECK(msg_has("no/such/dir/ck.safetensors"));
}

/* A save that dies halfway (file-size limit, as a full disk) keeps the last good checkpoint. */
static void test_failed_overwrite(void)
{
    static float big[1 << 16];
    state s;
    fill(&s, 3.0f);
    lm_ckpt_tensor t[6];
    int n = tensors_of(&s, t);
    lm_ckpt_info info = info_of(10);
    const char *p = path_in("ck.safetensors");
    CHECK(lm_checkpoint_save(p, &info, t, n) == LM_OK);

    t[n++] = (lm_ckpt_tensor){"9.weight", LM_DT_F32, 1, {1 << 16}, big};
    info.step = 20;
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = (struct rlimit){8192, old.rlim_max};
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    lm_status st = lm_checkpoint_save(p, &info, t, n);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(st == LM_EIO && msg_has(p));

    lm_checkpoint *c;
    CHECK(lm_checkpoint_open(p, &c) == LM_OK);
    if (!c) return;
    CHECK(lm_checkpoint_info(c)->step == 10);
    CHECK(!lm_checkpoint_has(c, "9.weight"));
    state r;
    memset(&r, 0, sizeof r);
    lm_ckpt_tensor tr[5];
    CHECK(lm_checkpoint_read_all(c, tr, tensors_of(&r, tr)) == LM_OK);
    CHECK(memcmp(&r, &s, sizeof r) == 0);
    lm_checkpoint_close(c);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
}

int main(void)
{
    if (!check_make_tmpdir(dir, sizeof dir, "lm_test_io_ckpt")) return check_summary();
    test_round_trip();
    test_mismatches();
    test_not_a_checkpoint();
    test_open_weights();
    test_save_refusals();
    test_failed_overwrite();
    check_remove_tmpdir(dir);
    return check_summary();
}
