#include "cli/train_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linmass/dist.h"
#include "linmass/run.h"
#include "linmass/runtime.h"
#include "linmass/train.h"

/* The optimizer's numbers: the options LM_OPT_LR .. LM_OPT_KAPPA_TILDE (lm_optim_option_name),
 * passed to lm_optim_config_set when given. */
enum { N_OPTIM_OPTS = 13 };
_Static_assert(LM_OPT_KAPPA_TILDE == 1u << (N_OPTIM_OPTS - 1), "the optimizer's numbers are its first options");
_Static_assert(N_OPTIM_OPTS <= sizeof ((train_cli_opts *)0)->optim_val / sizeof(double),
               "train_cli_opts.optim_val holds every optimizer option");
static const char *const optim_help[N_OPTIM_OPTS] = {
    "step size (mass: the authors' eta)", "momentum (sgd, heavyball, nesterov)", "dampening (sgd)",
    "1: Nesterov momentum (sgd)", "L2 (coupled; decoupled for adamw)", "Adam beta1", "Adam beta2", "Adam epsilon",
    "MaSS eta1 (with --eta2 --gamma)", "MaSS eta2, the compensation step", "MaSS momentum gamma",
    "MaSS alpha (with --lr --kappa-tilde)", "MaSS kappa-tilde"};

static char dashed[N_OPTIM_OPTS][32]; /* "--weight-decay" */

/* The flag of a library option name: "kappa_tilde" -> "--kappa-tilde". */
static const char *flag_of(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "--%s", name);
    for (char *p = buf; *p; p++)
        if (*p == '_') *p = '-';
    return buf;
}

/* "sgd, heavyball, ... or mass": the optimizers there are */
static const char *optim_names_text(void)
{
    static char text[256];
    if (!text[0])
        for (int k = 0; k < LM_OPTIM_COUNT; k++)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s",
                     k == 0 ? "" : k + 1 < LM_OPTIM_COUNT ? ", " : " or ", lm_optim_kind_name(k));
    return text;
}

/* @OPTIMIZERS@ of train's help, from the optimizer table: a line per optimizer, every option it
 * accepts with its default value. */
static const char *optim_defaults_help(void)
{
    static char text[2048];
    size_t k = 0;
    for (int kind = 0; kind < LM_OPTIM_COUNT && k < sizeof text; kind++) {
        lm_optim_config oc;
        lm_optim_config_init(&oc, kind);
        lm_optim_config_validate(&oc); /* fills both MaSS forms */
        k += (size_t)snprintf(text + k, sizeof text - k, "  %-10s", lm_optim_kind_name(kind));
        unsigned opts = lm_optim_kind_options(kind), n = 0;
        for (unsigned bit = 1; bit <= LM_OPT_KAPPA_TILDE && k < sizeof text; bit <<= 1) {
            char value[64], flag[32];
            if (!(opts & bit)) continue;
            lm_optim_config_format(&oc, bit, value, sizeof value);
            k += (size_t)snprintf(text + k, sizeof text - k, "%s%s %.6g", n++ ? ", " : "",
                                  flag_of(lm_optim_option_name(bit), flag, sizeof flag), strtod(value, NULL));
        }
        if (k < sizeof text) k += (size_t)snprintf(text + k, sizeof text - k, "\n");
    }
    return text;
}

/* The options of this invocation alone, never taken from the run. */
static int not_inherited(const char *name)
{
    return !strcmp(name, "out") || !strcmp(name, "resume") || !strcmp(name, "overwrite") || !strcmp(name, "json");
}

/* @RUN_DEFINING@: the options a resume may not change */
static const char *run_defining_help(void)
{
    static char text[1024];
    size_t k = (size_t)snprintf(text, sizeof text, " ");
    for (int i = 0; lm_run_defining_key(i) && k < sizeof text; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, " --%s", lm_run_defining_key(i));
    return text;
}

const char *cli_help_tables(const char *name)
{
    static char model[4096];
    if (!strcmp(name, "MODEL_SPEC")) {
        if (!model[0]) lm_model_spec_help(model, sizeof model);
        return model;
    }
    if (!strcmp(name, "DATA_SOURCES")) return lm_data_sources_help();
    if (!strcmp(name, "OPTIMIZERS")) return optim_defaults_help();
    if (!strcmp(name, "RUN_DEFINING")) return run_defining_help();
    return NULL;
}

/* --resume: the run's options where the command line gives none (lm_run_resume_options); a
 * run-defining option given with another value is refused. */
static int inherit(cli_command *c, train_cli_opts *o, const char *dir)
{
    static const lm_run_opt_type types[] = {[OPT_FLAG] = LM_RUN_OPT_FLAG, [OPT_INT] = LM_RUN_OPT_INT,
                                            [OPT_U64] = LM_RUN_OPT_U64, [OPT_DOUBLE] = LM_RUN_OPT_DOUBLE,
                                            [OPT_STRING] = LM_RUN_OPT_STRING};
    lm_run_option ro[sizeof o->opts / sizeof *o->opts];
    cli_opt *of[sizeof o->opts / sizeof *o->opts];
    int n = 0, conflict;
    for (int i = 0; i < c->nopts; i++)
        if (!not_inherited(c->opts[i].name))
            of[n] = &c->opts[i], ro[n++] = (lm_run_option){c->opts[i].name, types[c->opts[i].type], c->opts[i].dest, c->opts[i].seen};
    lm_status st = lm_run_resume_options(dir, ro, n, &conflict, &o->inherited);
    for (int k = 0; k < n; k++) of[k]->seen = ro[k].given;
    return st ? cli_usage_error(c, conflict >= 0 ? "--%s" : "%s", lm_error_message()) : 0;
}

void train_cli_free(train_cli_opts *o)
{
    lm_run_recorded_free(o->inherited);
    o->inherited = NULL;
}

static void log_to_stderr(const char *line)
{
    if (lm_dist_rank() == 0) fprintf(stderr, "%s\n", line);
}

void train_cli_init(cli_command *c, train_cli_opts *o, lm_train_config *tc, const char *command)
{
    memset(o, 0, sizeof *o);
    lm_train_config_init(tc);
    cli_opt base[] = {
        {"data", OPT_STRING, &tc->data, "fashion-mnist", "data source (see below)", 0},
        {"model", OPT_STRING, &tc->model, "fcn", "model spec or preset (see below)", 0},
        {"param", OPT_STRING, &o->param, "standard", "parameterization: standard or ntk", 0},
        {"optim", OPT_STRING, &o->optim, "sgd", optim_names_text(), 0},
        {"schedule", OPT_STRING, &o->schedule, "constant", "constant, multistep:60,120, cosine, warmup:N, warmup:N+cosine", 0},
        {"restart", OPT_FLAG, &o->restart, NULL, "restart the optimizer state at each learning-rate drop (as the MaSS authors)", 0},
        {"auto", OPT_FLAG, &o->auto_hp, NULL, "sgd, mass: hyper-parameters from the data's constants for --batch (linear, kernel models)", 0},
        {"auto-samples", OPT_INT, &tc->auto_samples, "2000", "--auto computes its constants on at most this many samples (and kernel centres)", 0},
        {"batch", OPT_INT, &tc->batch, "64", "mini-batch size", 0},
        {"epochs", OPT_INT, &tc->epochs, "5", "epochs (ignored with --steps)", 0},
        {"steps", OPT_INT, &o->steps, "0", "stop after this many steps instead (0: whole epochs)", 0},
        {"seed", OPT_U64, &tc->seed, "0", "seed of every random draw", 0},
        {"threads", OPT_INT, &o->threads, "0", "threads of the matrix products (0: all cores; 1 per rank under MPI); results are bit-identical per thread count", 0},
        {"out", OPT_STRING, &tc->out, "runs/train", "run folder (an existing run is refused unless --resume or --overwrite)", 0},
        {"resume", OPT_FLAG, &tc->resume, NULL, "continue the run in OUT from its checkpoint (none yet: from the beginning); options not given come from OUT/config.json", 0},
        {"overwrite", OPT_FLAG, &o->overwrite, NULL, "start a new run in OUT, replacing the run there", 0},
        {"init-from", OPT_STRING, &tc->init_from, NULL, "initial weights from a checkpoint or a plain state_dict (safetensors) of --model", 0},
        {"val-fraction", OPT_DOUBLE, &tc->val_fraction, "0", "fraction of the training split held out for validation", 0},
        {"no-normalize", OPT_FLAG, &o->no_normalize, NULL, "keep raw inputs (default: per-channel standardisation)", 0},
        {"augment", OPT_FLAG, &tc->augment, NULL, "random 10% shifts and horizontal flips (images)", 0},
        {"log-every", OPT_INT, &tc->log_every, "100", "a metrics.jsonl line every this many steps, its train loss the mean over them", 0},
        {"eval-every", OPT_INT, &tc->eval_every, "0", "also evaluate (test, validation) every this many steps (0: at each epoch end only)", 0},
        {"ckpt-every", OPT_INT, &o->ckpt_every, "0", "also checkpoint every this many steps (0: at each epoch end only)", 0},
        {"ckpt-minutes", OPT_DOUBLE, &tc->ckpt_minutes, "0", "also checkpoint every this many minutes of wall time (0: off)", 0},
        {"max-train", OPT_INT, &o->max_train, "0", "use only the first N training samples (0: all)", 0},
        {"json", OPT_FLAG, &o->json, NULL, "print one JSON summary object last on stdout", 0},
        {"reduce", OPT_STRING, &o->reduce, "ordered", "mpirun: gradient sum ordered (rank order, bit-reproducible) or mpi (MPI_Allreduce)", 0},
        {"overlap", OPT_STRING, &o->overlap, "on", "mpirun: sum the gradients in buckets during the backward pass (on) or after it (off); same bits", 0},
        {"sync-bn", OPT_FLAG, &tc->sync_bn, NULL, "mpirun: batch norm over the global batch (torch SyncBatchNorm), not each rank's share (DDP); no effect with 1 rank", 0},
    };
    int n = sizeof base / sizeof *base;
    memcpy(o->opts, base, sizeof base);
    for (int i = 0; i < N_OPTIM_OPTS; i++) {
        flag_of(lm_optim_option_name(1u << i), dashed[i], sizeof dashed[i]);
        o->opts[n++] = (cli_opt){dashed[i] + 2, OPT_DOUBLE, &o->optim_val[i], NULL, optim_help[i], 0};
    }
    *c = (cli_command){command, o->opts, n, cli_help_tables, NULL, 0, 0};
}

/* lm_train_config_validate's message, "max_train -1 must ...", with the field as its flag. */
static int config_error(const cli_command *c)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "%s", lm_error_message());
    size_t k = strcspn(msg, " ");
    int field = msg[k] == ' ' && strchr("-0123456789", msg[k + 1]);
    for (size_t i = 0; field && i < k; i++)
        if (msg[i] == '_') msg[i] = '-';
    return cli_usage_error(c, field ? "--%s" : "%s", msg);
}

int train_cli_resolve(cli_command *c, train_cli_opts *o, lm_train_config *tc)
{
    if (tc->resume && o->overwrite) return cli_usage_error(c, "--resume continues the run in --out, --overwrite replaces it: give one");
    if (!tc->resume && !o->overwrite && lm_run_exists(tc->out))
        return cli_usage_error(c, "%s already holds a run: --resume continues it, --overwrite replaces it", tc->out);
    int rc = tc->resume ? inherit(c, o, tc->out) : 0;
    if (rc) return rc;
    if (!strcmp(o->param, "ntk")) tc->param = LM_PARAM_NTK;
    else if (strcmp(o->param, "standard")) return cli_usage_error(c, "--param: '%s' is not standard or ntk", o->param);
    lm_optim_kind kind;
    if (lm_optim_kind_parse(o->optim, &kind)) return cli_usage_error(c, "--optim: '%s' is not %s", o->optim, optim_names_text());
    lm_optim_config_init(&tc->optim, kind);
    for (int i = 0; i < N_OPTIM_OPTS; i++) {
        char text[32];
        snprintf(text, sizeof text, "%.17g", o->optim_val[i]);
        if (cli_given(c, dashed[i] + 2) && lm_optim_config_set(&tc->optim, lm_optim_option_name(1u << i), text))
            return cli_usage_error(c, "%s", lm_error_message());
    }
    if (cli_given(c, "schedule") && lm_optim_config_set(&tc->optim, "schedule", o->schedule))
        return cli_usage_error(c, "%s", lm_error_message());
    if (o->restart) lm_optim_config_set(&tc->optim, "restart", "1");
    if (o->auto_hp) lm_optim_config_set(&tc->optim, "auto", "1");
    tc->optim.schedule.total_epochs = tc->epochs; /* the trainer sets the exact length */
    if (lm_optim_config_validate(&tc->optim)) return cli_usage_error(c, "%s", lm_error_message());
    if (tc->epochs < 1) return cli_usage_error(c, "--epochs %d must be at least 1", tc->epochs); /* also with --steps */
    if (tc->log_every < 1) return cli_usage_error(c, "--log-every %d must be at least 1", tc->log_every);
    if ((rc = cli_dist_options(c, o->reduce, o->overlap, &tc->overlap))) return rc;
    if (o->auto_hp) { /* the theory of docs/theory.md §2.2: linear models on the square loss, its own step sizes */
        char alias[256];
        const unsigned own = LM_OPT_LR | LM_OPT_MOMENTUM | LM_OPT_NESTEROV | LM_OPT_ETA1 | LM_OPT_ETA2 |
                             LM_OPT_GAMMA | LM_OPT_ALPHA | LM_OPT_KAPPA_TILDE;
        if (!lm_model_alias_spec(tc->model, 1, 1, alias, sizeof alias))
            return cli_usage_error(c, "--auto needs --model linear, kernel:gaussian:BW or kernel:laplacian:BW, not '%s'", tc->model);
        char flag[32];
        for (unsigned bit = 1; bit <= LM_OPT_KAPPA_TILDE; bit <<= 1)
            if (tc->optim.given & own & bit)
                return cli_usage_error(c, "--auto sets the hyper-parameters itself: drop %s",
                                       flag_of(lm_optim_option_name(bit), flag, sizeof flag));
        if (tc->auto_samples < 1) return cli_usage_error(c, "--auto-samples %d must be at least 1", tc->auto_samples);
    }
    tc->steps = o->steps;
    tc->normalize = !o->no_normalize;
    tc->ckpt_every = o->ckpt_every;
    tc->max_train = o->max_train;
    tc->log = log_to_stderr;
    if (lm_train_config_validate(tc)) return config_error(c);
    cli_set_threads(o->threads);
    return 0;
}

int cli_dist_options(const cli_command *c, const char *reduce, const char *overlap, int *overlap_on)
{
    if (strcmp(reduce, "ordered") && strcmp(reduce, "mpi"))
        return cli_usage_error(c, "--reduce: '%s' is not ordered or mpi", reduce);
    if (strcmp(overlap, "on") && strcmp(overlap, "off"))
        return cli_usage_error(c, "--overlap: '%s' is not on or off", overlap);
    lm_dist_set_reduce(strcmp(reduce, "mpi") ? LM_REDUCE_ORDERED : LM_REDUCE_MPI);
    *overlap_on = !strcmp(overlap, "on");
    return 0;
}

/* ---- weights files (eval, probes) ---- */

/* The parameterisation of a weights file: --param, else the one the file records, else standard
 * (PyTorch's layers), said in a note. 0 or the exit code. */
int cli_weights_param(const cli_command *c, const char *file, const char *given, lm_param_kind *param)
{
    lm_weights_info info;
    if (given && strcmp(given, "standard") && strcmp(given, "ntk"))
        return cli_usage_error(c, "--param: '%s' is not standard or ntk", given);
    if (given) {
        *param = strcmp(given, "ntk") ? LM_PARAM_STANDARD : LM_PARAM_NTK;
        return 0;
    }
    lm_status st = lm_weights_info_read(file, &info);
    if (st) return cli_fail(c->command, st);
    *param = info.has_param ? info.param : LM_PARAM_STANDARD;
    if (!info.has_param && lm_dist_rank() == 0)
        fprintf(stderr, "note: %s records no parameterization (%s): --param standard assumed, as PyTorch's layers compute; "
                "give --param to choose\n", file, info.plain ? "a plain state_dict" : "an older checkpoint");
    return 0;
}

/* A note when the file's layers were numbered lower than the model's (lm_weights_load). */
void cli_note_index_shift(const char *file, const char *model, int shift)
{
    if (shift && lm_dist_rank() == 0)
        fprintf(stderr, "note: %s numbers its layers %d lower than --model %s (it flattens in forward(), not in a layer): "
                "tensor k.* loaded as (k+%d).*\n", file, shift, model, shift);
}
