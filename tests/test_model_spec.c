/* Model specs and presets: parameter counts, state_dict names, shapes, order and flat-buffer
 * offsets against numbers computed here independently (and, for resnet20/32, torch's counts
 * printed by tools/gen_golden.py); output shapes; bad specs, each of which must give
 * LM_EINVAL, no model, and one message that names the layer and the problem; and the layer
 * table: every definition has an example row below, a line in lm_model_spec_help, and its
 * syntax in the command reference (README.md or docs/commands.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linmass/model.h"
#include "nn/layer.h"

typedef struct {
    char name[64];
    int trainable, ndim;
    int64_t dims[4];
} expect;

typedef struct {
    expect e[256];
    int n;
} expect_list;

static void add(expect_list *l, int trainable, const char *name, int ndim, ...)
{
    expect *x = &l->e[l->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->trainable = trainable;
    x->ndim = ndim;
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) x->dims[i] = va_arg(ap, int);
    va_end(ap);
}

static size_t numel(const expect *x)
{
    size_t n = 1;
    for (int i = 0; i < x->ndim; i++) n *= (size_t)x->dims[i];
    return n;
}

/* The model's tensors must be exactly l, in order (torch's state_dict order), with trainable
 * tensors packed one after another in the parameter buffer and the others in the buffer array. */
static void check_tensors(const char *what, lm_model *m, const expect_list *l)
{
    CHECK_MSG(lm_model_num_tensors(m) == l->n, "%s: %d tensors, expected %d", what, lm_model_num_tensors(m), l->n);
    size_t poff = 0, boff = 0;
    for (int i = 0; i < l->n && i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *t = lm_model_tensor(m, i);
        const expect *x = &l->e[i];
        CHECK_MSG(!strcmp(t->name, x->name), "%s: tensor %d is '%s', expected '%s'", what, i, t->name, x->name);
        CHECK_MSG(t->trainable == x->trainable, "%s: '%s' trainable %d", what, t->name, t->trainable);
        int same = t->ndim == x->ndim;
        for (int d = 0; same && d < x->ndim; d++) same = t->dims[d] == x->dims[d];
        CHECK_MSG(same, "%s: '%s' has ndim %d dims [%lld %lld %lld %lld], expected ndim %d [%lld %lld %lld %lld]",
                  what, t->name, t->ndim, (long long)t->dims[0], (long long)t->dims[1], (long long)t->dims[2],
                  (long long)t->dims[3], x->ndim, (long long)x->dims[0], (long long)x->dims[1],
                  (long long)x->dims[2], (long long)x->dims[3]);
        CHECK_MSG(t->numel == numel(x), "%s: '%s' numel %zu, expected %zu", what, t->name, t->numel, numel(x));
        size_t *off = x->trainable ? &poff : &boff;
        CHECK_MSG(t->offset == *off, "%s: '%s' at offset %zu, expected %zu", what, t->name, t->offset, *off);
        *off += numel(x);
        CHECK(t->integer == (strstr(x->name, "num_batches_tracked") != NULL));
        CHECK(lm_model_find_tensor(m, x->name) == t);
    }
    CHECK_MSG(lm_model_num_params(m) == poff, "%s: %zu params, the tensors hold %zu", what, lm_model_num_params(m), poff);
    CHECK_MSG(lm_model_num_buffers(m) == boff, "%s: %zu buffers, the tensors hold %zu", what,
              lm_model_num_buffers(m), boff);
    CHECK(lm_model_find_tensor(m, "no.such.tensor") == NULL);
}

static lm_model *make(const char *spec, lm_shape in)
{
    lm_model *m = NULL;
    lm_status st = lm_model_create(spec, in, LM_PARAM_STANDARD, 1, &m);
    CHECK_MSG(st == LM_OK && m, "lm_model_create('%s', %dx%dx%d): %s", spec, in.c, in.h, in.w, lm_error_message());
    return m;
}

static void check_shape(const char *what, lm_shape got, int c, int h, int w)
{
    CHECK_MSG(got.c == c && got.h == h && got.w == w, "%s: shape %dx%dx%d, expected %dx%dx%d", what, got.c, got.h,
              got.w, c, h, w);
}

static void test_fcn(void)
{
    lm_model *m = make("fcn", (lm_shape){1, 28, 28});
    if (!m) return;
    size_t expected = 784 * 100 + 100 + 2 * (100 * 100 + 100) + 100 * 10 + 10;
    CHECK(expected == 99710);
    CHECK_MSG(lm_model_num_params(m) == expected, "fcn: %zu params", lm_model_num_params(m));
    CHECK(lm_model_num_buffers(m) == 0);
    check_shape("fcn output", lm_model_output_shape(m), 10, 1, 1);
    check_shape("fcn input", lm_model_input_shape(m), 1, 28, 28);
    /* 0 is the implied Flatten, then Linear, ReLU, Dropout three times, then the last Linear */
    expect_list l = {.n = 0};
    add(&l, 1, "1.weight", 2, 100, 784);
    add(&l, 1, "1.bias", 1, 100);
    add(&l, 1, "4.weight", 2, 100, 100);
    add(&l, 1, "4.bias", 1, 100);
    add(&l, 1, "7.weight", 2, 100, 100);
    add(&l, 1, "7.bias", 1, 100);
    add(&l, 1, "10.weight", 2, 10, 100);
    add(&l, 1, "10.bias", 1, 10);
    check_tensors("fcn", m, &l);
    char buf[512];
    const char *spec = lm_preset_spec("fcn", 10, buf, sizeof buf);
    CHECK(spec && !strcmp(lm_model_spec(m), spec));
    CHECK(spec && !strcmp(spec, "dense:100,relu,dropout:0.5,dense:100,relu,dropout:0.5,dense:100,relu,dropout:0.5,"
                                "dense:10"));
    lm_model_free(m);

    /* a flat input needs no flatten: the dense is layer 0 */
    m = make("dense:7,relu,dense:3", (lm_shape){5, 1, 1});
    if (!m) return;
    CHECK(lm_model_num_params(m) == 5 * 7 + 7 + 7 * 3 + 3);
    l.n = 0;
    add(&l, 1, "0.weight", 2, 7, 5);
    add(&l, 1, "0.bias", 1, 7);
    add(&l, 1, "2.weight", 2, 3, 7);
    add(&l, 1, "2.bias", 1, 3);
    check_tensors("flat mlp", m, &l);
    lm_model_free(m);
}

static void test_cnn(int c, int hw)
{
    lm_model *m = make("cnn", (lm_shape){c, hw, hw});
    if (!m) return;
    int s = hw / 2 / 2 / 2; /* three 2x2 max-poolings, floor mode: 28 -> 3, 32 -> 4 */
    size_t flat = (size_t)128 * s * s;
    size_t expected = (size_t)64 * c * 25 + 64 + 64 * 64 * 25 + 64 + 128 * 64 * 25 + 128 + flat * 128 + 128 + 128 * 10 + 10;
    char what[64];
    snprintf(what, sizeof what, "cnn %dx%dx%d", c, hw, hw);
    CHECK_MSG(lm_model_num_params(m) == expected, "%s: %zu params, expected %zu", what, lm_model_num_params(m), expected);
    if (c == 1 && hw == 28) CHECK(expected == 457930); /* torch's count (tools/gen_golden.py) */
    if (c == 3 && hw == 32) CHECK(expected == 575818 && flat == 128 * 4 * 4); /* torch's count */
    check_shape(what, lm_model_output_shape(m), 10, 1, 1);
    /* conv relu pool x3 = 0..8, 9 the implied Flatten, 10 Linear, 11 ReLU, 12 Dropout, 13 Linear */
    expect_list l = {.n = 0};
    add(&l, 1, "0.weight", 4, 64, c, 5, 5);
    add(&l, 1, "0.bias", 1, 64);
    add(&l, 1, "3.weight", 4, 64, 64, 5, 5);
    add(&l, 1, "3.bias", 1, 64);
    add(&l, 1, "6.weight", 4, 128, 64, 5, 5);
    add(&l, 1, "6.bias", 1, 128);
    add(&l, 1, "10.weight", 2, 128, (int)flat);
    add(&l, 1, "10.bias", 1, 128);
    add(&l, 1, "13.weight", 2, 10, 128);
    add(&l, 1, "13.bias", 1, 10);
    check_tensors(what, m, &l);
    lm_model_free(m);

    /* the convolutional trunk alone ends in 128 x s x s ('same' padding keeps the size) */
    m = make("conv:64x5,relu,maxpool:2,conv:64x5,relu,maxpool:2,conv:128x5,relu,maxpool:2", (lm_shape){c, hw, hw});
    if (m) check_shape("cnn trunk", lm_model_output_shape(m), 128, s, s);
    lm_model_free(m);
}

/* resnet with `blocks` blocks per stage on 3x32x32, counted and named here. */
static void test_resnet(int blocks, size_t torch_params, size_t torch_buffers)
{
    char name[32];
    snprintf(name, sizeof name, "resnet%d", 6 * blocks + 2);
    lm_model *m = make(name, (lm_shape){3, 32, 32});
    if (!m) return;
    expect_list l = {.n = 0};
    size_t params = 0, buffers = 0;
    char t[64];
#define BN(prefix, ch)                                                  \
    do {                                                                \
        snprintf(t, sizeof t, "%s.weight", prefix), add(&l, 1, t, 1, ch); \
        snprintf(t, sizeof t, "%s.bias", prefix), add(&l, 1, t, 1, ch);   \
        snprintf(t, sizeof t, "%s.running_mean", prefix), add(&l, 0, t, 1, ch); \
        snprintf(t, sizeof t, "%s.running_var", prefix), add(&l, 0, t, 1, ch);  \
        snprintf(t, sizeof t, "%s.num_batches_tracked", prefix), add(&l, 0, t, 0); \
        params += 2 * (ch), buffers += 2 * (ch) + 1;                    \
    } while (0)
#define CONV(prefix, o, i, k)                                       \
    do {                                                            \
        snprintf(t, sizeof t, "%s.weight", prefix), add(&l, 1, t, 4, o, i, k, k); \
        params += (size_t)(o) * (i) * (k) * (k);                    \
    } while (0)
    CONV("0", 16, 3, 3);
    BN("1", 16);
    int idx = 3, cin = 16; /* 2 is the relu */
    char p[32];
    for (int stage = 0; stage < 3; stage++)
        for (int b = 0; b < blocks; b++, idx++) {
            int cout = 16 << stage;
            snprintf(p, sizeof p, "%d.a.0", idx);
            CONV(p, cout, cin, 3);
            snprintf(p, sizeof p, "%d.a.1", idx);
            BN(p, cout);
            snprintf(p, sizeof p, "%d.a.3", idx);
            CONV(p, cout, cout, 3);
            snprintf(p, sizeof p, "%d.a.4", idx);
            BN(p, cout);
            if (cin != cout) { /* projection shortcut where the shape changes */
                snprintf(p, sizeof p, "%d.s.0", idx);
            CONV(p, cout, cin, 1);
                snprintf(p, sizeof p, "%d.s.1", idx);
            BN(p, cout);
            }
            cin = cout;
        }
    /* idx: AdaptiveAvgPool2d, then the implied Flatten, then Linear */
    snprintf(t, sizeof t, "%d.weight", idx + 2), add(&l, 1, t, 2, 10, 64);
    snprintf(t, sizeof t, "%d.bias", idx + 2), add(&l, 1, t, 1, 10);
    params += 650;
#undef BN
#undef CONV
    CHECK_MSG(params == torch_params, "%s: counted %zu params here, torch counts %zu", name, params, torch_params);
    CHECK_MSG(buffers == torch_buffers, "%s: counted %zu buffers here, torch %zu", name, buffers, torch_buffers);
    CHECK_MSG(lm_model_num_params(m) == torch_params, "%s: %zu params, torch has %zu", name, lm_model_num_params(m),
              torch_params);
    check_shape(name, lm_model_output_shape(m), 10, 1, 1);
    check_tensors(name, m, &l);
    lm_model_free(m);

    /* stage shapes: 32x32 -> 16x16 -> 8x8 */
    m = make("conv:16x3:nobias,bn,relu,res:16,res:32/2,res:64/2", (lm_shape){3, 32, 32});
    if (m) check_shape("resnet stages", lm_model_output_shape(m), 64, 8, 8);
    lm_model_free(m);
}

static void test_misc_shapes(void)
{
    struct {
        const char *spec;
        lm_shape in;
        int c, h, w;
        size_t params;
    } cases[] = {
        {"conv:4x3", {2, 7, 7}, 4, 7, 7, 4 * 2 * 9 + 4},
        {"conv:4x3:valid", {2, 7, 7}, 4, 5, 5, 4 * 2 * 9 + 4},
        {"conv:4x3/2", {2, 7, 7}, 4, 4, 4, 4 * 2 * 9 + 4},
        {"conv:4x3/2:valid", {2, 7, 7}, 4, 3, 3, 4 * 2 * 9 + 4},
        {"conv:4x3:nobias", {2, 7, 7}, 4, 7, 7, 4 * 2 * 9},
        {"conv:4x5:nobias:valid", {2, 7, 7}, 4, 3, 3, 4 * 2 * 25},
        {"maxpool:2", {3, 7, 7}, 3, 3, 3, 0},
        {"avgpool:3", {3, 7, 8}, 3, 2, 2, 0},
        {"gap", {3, 7, 5}, 3, 1, 1, 0},
        {"flatten", {3, 2, 5}, 30, 1, 1, 0},
        {"bn", {3, 2, 5}, 3, 2, 5, 6},
        {"dense:4,bn,dropout:0,tanh", {3, 2, 5}, 4, 1, 1, 30 * 4 + 4 + 8},
        {"res:6/2:pad", {4, 5, 5}, 6, 3, 3, 6 * 4 * 9 + 12 + 6 * 6 * 9 + 12},
        {"res:4", {4, 5, 5}, 4, 5, 5, 2 * (4 * 4 * 9 + 8)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lm_model *m = make(cases[i].spec, cases[i].in);
        if (!m) continue;
        check_shape(cases[i].spec, lm_model_output_shape(m), cases[i].c, cases[i].h, cases[i].w);
        CHECK_MSG(lm_model_num_params(m) == cases[i].params, "%s: %zu params, expected %zu", cases[i].spec,
                  lm_model_num_params(m), cases[i].params);
        lm_model_free(m);
    }
    char buf[64];
    CHECK(lm_preset_spec("vgg", 10, buf, sizeof buf) == NULL);
}

/* A bad spec gives LM_EINVAL, no model, and a message containing each of the words. */
static void bad(const char *spec, lm_shape in, const char *word1, const char *word2)
{
    lm_model *m = (lm_model *)&m; /* must be reset to NULL */
    lm_error_clear();
    lm_status st = lm_model_create(spec, in, LM_PARAM_STANDARD, 1, &m);
    const char *msg = lm_error_message();
    printf("%-28s -> %s\n", spec, msg);
    CHECK_MSG(st == LM_EINVAL, "'%s': status %d, expected LM_EINVAL", spec, (int)st);
    CHECK_MSG(m == NULL, "'%s': a model came back", spec);
    CHECK_MSG(strchr(msg, '\n') == NULL && *msg, "'%s': the message is not one line: '%s'", spec, msg);
    CHECK_MSG(!word1 || strstr(msg, word1), "'%s': message '%s' does not say '%s'", spec, msg, word1);
    CHECK_MSG(!word2 || strstr(msg, word2), "'%s': message '%s' does not say '%s'", spec, msg, word2);
    if (st == LM_OK) lm_model_free(m);
}

static void test_bad_specs(void)
{
    lm_shape img = {1, 4, 4}, flat = {5, 1, 1};
    bad("foo:3", img, "'foo:3'", "unknown layer");
    bad("dense:10,foo", img, "layer 2 'foo'", "unknown layer");
    bad("dense:0", img, "'dense:0'", "width");
    bad("dense:-3", img, "'dense:-3'", "width");
    bad("dense", img, "'dense'", "dense:N");
    bad("conv:4x3", flat, "'conv:4x3'", "image input");
    bad("dense:8,conv:4x3", img, "layer 2 'conv:4x3'", "image input");
    bad("dense:8,maxpool:2", img, "'maxpool:2'", "image input");
    bad("maxpool:5", img, "'maxpool:5'", "larger than the 4x4 input");
    bad("conv:4x3,maxpool:2,maxpool:4", img, "layer 3 'maxpool:4'", "larger");
    bad("maxpool:0", img, "'maxpool:0'", "at least 1");
    bad("conv:4x7:valid", img, "'conv:4x7:valid'", "does not fit");
    bad("dropout:1.5", img, "'dropout:1.5'", "[0, 1)");
    bad("dropout:1", img, "'dropout:1'", "[0, 1)");
    bad("dropout:-0.1", img, "'dropout:-0.1'", "[0, 1)");
    bad("dropout:x", img, "'dropout:x'", "dropout:P");
    bad("conv:64", img, "'conv:64'", "conv:CxK");
    bad("conv:0x3", img, "'conv:0x3'", "channels");
    bad("conv:4x3/0", img, "'conv:4x3/0'", "stride");
    bad("conv:4x3:same", img, "'conv:4x3:same'", "flag");
    bad("dense:10,,relu", img, "layer 2", "empty layer");
    bad("dense:10,", img, "layer 2", "empty layer");
    bad(",dense:10", img, "layer 1", "empty layer");
    bad("dense:10x", img, "'dense:10x'", "dense:N");
    bad("conv:4x3x", img, "'conv:4x3x'", "unexpected text");
    bad("relu:2", img, "'relu:2'", "no argument");
    bad("bn:4", img, "'bn:4'", "no argument");
    bad("conv:4x3,res:2:pad", img, "'res:2:pad'", "shrink");
    bad("", img, "empty", NULL);
    bad("dense:3", (lm_shape){0, 4, 4}, "empty", NULL);
}

/* One accepted example per layer definition: adding a layer adds its row. */
static const struct {
    const char *token;
    const lm_layer_def *kind;
} examples[] = {
    {"dense:3", &lm_dense_def},        {"dense:3:nobias", &lm_dense_def},
    {"conv:4x3/2:valid:nobias", &lm_conv_def},
    {"maxpool:2", &lm_maxpool_def},    {"avgpool", &lm_avgpool_def},
    {"gap", &lm_gap_def},              {"flatten", &lm_flatten_def},
    {"relu", &lm_act_def},             {"tanh", &lm_act_def},
    {"sigmoid", &lm_act_def},          {"softplus", &lm_act_def},
    {"gelu", &lm_act_def},             {"identity", &lm_act_def},
    {"dropout:0.25", &lm_dropout_def}, {"bn", &lm_bn_def},
    {"res:8/2:pad", &lm_res_def},      {"kernelfeat:gaussian:2:5", &lm_kernelfeat_def},
    {"kernelfeat:laplacian:0.5:3:rkhs", &lm_kernelfeat_def},
};

static void test_layer_table(void)
{
    char help[8192], why[512];
    size_t len = lm_model_spec_help(help, sizeof help);
    CHECK(len > 0 && len < sizeof help && strlen(help) == len);
    CHECK(lm_model_spec_help(NULL, 0) == len);
    char *readme = check_slurp(NULL, "README.md"), *commands = check_slurp(NULL, "docs/commands.md");
    CHECK_MSG(readme || commands, "no README.md or docs/commands.md in the working directory");
    for (int i = 0; lm_layer_defs[i]; i++) {
        const lm_layer_def *d = lm_layer_defs[i];
        CHECK_MSG(d->name && d->syntax && d->help && d->infer && d->ops_f32 && d->ops_f64,
                  "definition %d ('%s') is incomplete", i, d->name ? d->name : "?");
        char line[256];
        snprintf(line, sizeof line, "  %s", d->syntax);
        CHECK_MSG(strstr(help, line) && strstr(help, d->help), "the help lacks '%s'", d->syntax);
        char code[256]; /* the syntax as a code span */
        snprintf(code, sizeof code, "`%s`", d->syntax);
        CHECK_MSG((readme && strstr(readme, code)) || (commands && strstr(commands, code)),
                  "neither README.md nor docs/commands.md lists %s", code);
        int covered = 0;
        for (size_t e = 0; e < sizeof examples / sizeof *examples; e++) covered |= examples[e].kind == d;
        CHECK_MSG(covered, "layer '%s' has no example row in test_model_spec.c", d->name);
        lm_layer L;
        if (d->parse) { /* text that follows no syntax: refused, named by the entry or itself */
            CHECK_MSG(!lm_layer_parse(d->syntax, &L, why, sizeof why), "'%s' parses its syntax", d->name);
        } else {
            snprintf(line, sizeof line, "%s:1", d->syntax);
            CHECK_MSG(!lm_layer_parse(line, &L, why, sizeof why) && strstr(why, "no argument"),
                      "'%s' takes an argument", line);
        }
        snprintf(line, sizeof line, " %s", d->words ? d->words : d->name);
        CHECK_MSG(!lm_layer_parse("nosuchlayer", &L, why, sizeof why) && strstr(why, line),
                  "'unknown layer' does not list '%s': %s", line + 1, why);
    }
    for (size_t e = 0; e < sizeof examples / sizeof *examples; e++) {
        lm_layer L;
        int ok = lm_layer_parse(examples[e].token, &L, why, sizeof why);
        CHECK_MSG(ok && L.kind == examples[e].kind, "'%s': %s", examples[e].token, ok ? "another kind" : why);
    }
    lm_layer L; /* a syntax error names the entry's syntax */
    CHECK(!lm_layer_parse("dense:x", &L, why, sizeof why) && !strcmp(why, "expected dense:N[:nobias]"));
    CHECK(!lm_layer_parse("avgpool:x", &L, why, sizeof why) && !strcmp(why, "expected avgpool:K"));
    free(readme);
    free(commands);
}

int main(void)
{
    test_fcn();
    test_cnn(1, 28);
    test_cnn(3, 32);
    /* torch's counts, printed by tools/gen_golden.py: resnet20 272474 parameters and 1589
     * buffer values (19 batch norms), resnet32 466906 and 2497 */
    test_resnet(3, 272474, 1589);
    test_resnet(5, 466906, 2497);
    test_misc_shapes();
    test_bad_specs();
    test_layer_table();
    return check_summary();
}
