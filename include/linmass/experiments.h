/* Experiments (liblinmass_experiments, a library of its own on top of liblinmass): the claims
 * of the two papers that `linmass repro` reproduces, and the sections of `linmass demo`, each
 * computing through the library and writing what it finds into a report (linmass/report.h).
 *
 * A claim is data (its name, the claim in one sentence, what the paper reports or the theory
 * predicts, the running time and seeds of each setting, the run folders it writes) and a
 * function that measures, puts the numbers next to the prediction and gives a verdict. The
 * settings are levels of effort: each claim keeps, per level, a row of its own parameters
 * (Monte-Carlo runs, widths, epochs, seeds). Claims that train write their run folders (run.h)
 * and data subsets under the folder they are given; the others write nothing. */
#ifndef LINMASS_EXPERIMENTS_H
#define LINMASS_EXPERIMENTS_H

#include "linmass/api.h"

#include <stdint.h>
#include <stdio.h>

#include "linmass/error.h"
#include "linmass/report.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LM_SETTING_QUICK = 0, /* seconds to a minute per claim on 2 cores, as the tests run them */
    LM_SETTING_FULL = 1,  /* the paper's or the theory's scale: minutes to weeks */
    LM_SETTING_MEDIUM = 2, /* long enough to decide, over seeds, in at most 15 minutes on 2 cores;
                              only the claims whose time for it is set (the others: NULL) */
    LM_SETTINGS = 3       /* the number of settings */
} lm_setting;

/* "quick", "full", "medium". */
LM_API const char *lm_setting_name(lm_setting s);

typedef struct {
    lm_setting setting;
    uint64_t seed; /* every random draw; claims with several seeds use seed, seed + 1, ... */
    const char *dir; /* the claim's folder: training runs go to DIR/runs/..., data subsets to
                        DIR/data (created as needed; other claims write nothing) */
} lm_claim_opts;

typedef struct {
    const char *name;     /* "nesterov-diverges" */
    const char *sentence; /* the claim in one sentence */
    const char *source;   /* what the paper reports or the theory predicts (markdown) */
    const char *time[LM_SETTINGS]; /* running time of each setting on 2 cores (NULL: the claim
                                      has no such setting, the medium one only) */
    int seeds[LM_SETTINGS];        /* seeds (training runs per optimizer, or initialisations per
                                      width) of each setting; 0 where nothing but Monte-Carlo
                                      draws or exact computations are involved */
    const char *runs;     /* the run folders its training writes under DIR, or NULL */
    lm_status (*run)(const lm_claim_opts *o, lm_report *r);
} lm_claim;

/* The claims, in the order of docs/theory.md. */
LM_API int lm_claim_count(void);
LM_API const lm_claim *lm_claim_at(int i);  /* NULL outside 0..count-1 */
LM_API const lm_claim *lm_claim_find(const char *name); /* NULL for an unknown name */

/* Run claim c into report r. LM_EINVAL for options out of range (no folder, an unknown
 * setting or one the claim has not) or a claim that gave no verdict; else the claim's status
 * (its computations' failures, or the report's). */
LM_API lm_status lm_claim_run(const lm_claim *c, const lm_claim_opts *o, lm_report *r);

/* report.md of claim c run into r with options o, as markdown in *md (malloc'ed): the claim, what
 * the paper reports or the theory predicts (c->source), `body` (r's body as the caller rendered
 * it, its figures drawn), the verdict with its reason, the setting, `seconds` and threads, the
 * command that reruns it (the caller's text, shown as code) and the full setting's time. */
LM_API lm_status lm_claim_markdown(const lm_claim *c, const lm_report *r, const lm_claim_opts *o, const char *body,
                                   double seconds, const char *command, char **md);

/* result.json of claim c run into r at setting s, as JSON text in *json (malloc'ed): "claim",
 * "holds", "verdict" (lm_verdict_name), "reason", "quick", "setting", r's "measured" and
 * "predicted" numbers (lm_report_numbers_json), "seconds" and "report" (the report's path). */
LM_API lm_status lm_claim_result_json(const lm_claim *c, const lm_report *r, lm_setting s, double seconds,
                                      const char *report, char **json);

/* What an index lists of a claim run. */
typedef struct {
    const char *name;
    lm_verdict verdict;
    double seconds;
} lm_claim_outcome;

/* The index of n claims run as markdown in *md (malloc'ed): the heading `title` (NULL:
 * "Claims") over a table of claim, verdict, seconds and a link to NAME/report.md. */
LM_API lm_status lm_claim_index_markdown(const lm_claim_outcome *outs, int n, const char *title, char **md);

/* The folder o->dir of claim c run into r: DIR and DIR/plots created as needed, DIR/report.md
 * (lm_claim_markdown around r's body as lm_report_markdown gives it, each figure drawn by
 * draw(ctx, f, DIR/plots/FILE); command is the caller's text that reruns it) and
 * DIR/result.json (lm_claim_result_json with report DIR/report.md), that JSON text also in
 * *json (malloc'ed; NULL on failure). LM_EINVAL for no o->dir or one over 1000 characters;
 * LM_EIO when a folder or a file cannot be written. */
LM_API lm_status lm_claim_write(const lm_claim *c, const lm_report *r, const lm_claim_opts *o, double seconds,
                                const char *command, lm_report_draw_fn draw, void *ctx, char **json);

/* How many of the n outcomes hold (verdict LM_VERDICT_HOLDS). */
LM_API int lm_claim_holding(const lm_claim_outcome *outs, int n);

/* DIR/index.md: lm_claim_index_markdown of the n outcomes with heading title, atomically. */
LM_API lm_status lm_claim_write_index(const char *dir, const lm_claim_outcome *outs, int n, const char *title);

/* ---- the demo: a tour of both papers in sections ---- */

typedef struct {
    lm_setting setting;
    uint64_t seed;
    const char *dir;  /* the FCN runs go to DIR/fcn/OPTIMIZER */
    int epochs;       /* FCN: epochs per optimizer (>= 1) */
    long max_train;   /* FCN: only the first max_train training samples (0: all) */
    double lr;        /* FCN: the step of SGD, Nesterov and MaSS (Adam keeps 0.001) */
    const char *data; /* FCN: the data source */
} lm_demo_opts;

/* The setting's defaults: quick 2 epochs over 5000 samples, full 5 epochs over all; lr 0.01,
 * fashion-mnist, seed 0, folder runs/demo. */
LM_API void lm_demo_opts_init(lm_demo_opts *o, lm_setting setting);

typedef struct {
    const char *key;     /* "hessian", "linear_regression", "fcn" */
    const char *heading; /* the section's heading in one line */
    const char *claim;   /* the claim whose measurement and verdict it runs, or NULL */
    lm_status (*run)(const lm_demo_opts *o, lm_report *r);
    const char *timing;  /* its row in the report's timing table */
    void (*announce)(FILE *m, const lm_demo_opts *o); /* what it runs, one line (lm_demo_section_announce) */
    void (*summarize)(FILE *m, const lm_report *r);   /* its results, one line, or NULL (lm_demo_section_summary) */
} lm_demo_section;

#define LM_DEMO_MAX_SECTIONS 8 /* lm_demo_section_count() is at most this */

LM_API int lm_demo_section_count(void);
LM_API const lm_demo_section *lm_demo_section_at(int i); /* NULL outside 0..count-1 */

/* Run one section into r; LM_EINVAL for options out of range. */
LM_API lm_status lm_demo_run(const lm_demo_section *s, const lm_demo_opts *o, lm_report *r);

/* What section s runs with options o, in one line (no newline) in *line (malloc'ed), e.g.
 * "momentum on Gaussian linear regression: SGD, Nesterov (gamma 0.9) and MaSS at SGD's optimal
 * step"; the FCN's names o's data, epochs and training samples. */
LM_API lm_status lm_demo_section_announce(const lm_demo_section *s, const lm_demo_opts *o, char **line);

/* Section s's results in r against their theory values, in one line (no newline) in *line
 * (malloc'ed): the Hessian's "slope of log ||H_f|| against log width: linear output %.3f (theory
 * -0.5), tanh output %.3f (theory 0)" from measured linear_slope and tanh_slope; linear
 * regression's "exact per-step factor of E|w - w*|^2 (simulated mean at the end): SGD %.4f
 * (%.3g), Nesterov ..., MaSS ..." from predicted OPT_rho and measured OPT_final_mean_sq_error
 * (a number r lacks: nan). *line NULL for a section without one (the FCN's results are reported
 * as it runs). */
LM_API lm_status lm_demo_section_summary(const lm_demo_section *s, const lm_report *r, char **line);

/* The demo's report.md in *md (malloc'ed): what the tour is, with o's setting, seed, the
 * threads and `total` seconds; each section's heading and body (bodies[i]: the caller's
 * markdown of section i's report, its figures drawn; NULL: empty); the timing table of
 * seconds[i] per section and the total; the command that reruns it (the caller's text). */
LM_API lm_status lm_demo_markdown(const lm_demo_opts *o, char *const *bodies, const double *seconds, double total,
                                  const char *command, char **md);

/* lm_demo_markdown written to o->dir/report.md (atomically: a reader sees the old file or the
 * whole new one). */
LM_API lm_status lm_demo_write_report(const lm_demo_opts *o, char *const *bodies, const double *seconds, double total,
                                      const char *command);

/* Section s's numbers as a JSON object in *json (malloc'ed): r's "measured" and "predicted",
 * "seconds", and for a section that runs a claim "CLAIM_holds" (the claim's name with '_' for
 * '-'): whether its verdict is holds. */
LM_API lm_status lm_demo_section_json(const lm_demo_section *s, const lm_report *r, double seconds, char **json);

/* The demo's numbers as one line of JSON in *json (malloc'ed): {"KEY": sections[i], ...,
 * "seconds": total, "report": report} with each section's key and its lm_demo_section_json
 * text (NULL: null). */
LM_API lm_status lm_demo_result_json(char *const *sections, double total, const char *report, char **json);

#ifdef __cplusplus
}
#endif
#endif
