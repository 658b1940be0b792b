/* linmass repro: one function per claim of science.md. Each claim measures, compares with what
 * the paper reports or the theory predicts, and decides whether the claim holds. The framework
 * writes the run folder (report.md, plots/, result.json) and the --json object. */
#ifndef LM_CLI_REPRO_H
#define LM_CLI_REPRO_H

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct {
    const char *out;   /* the claim's folder */
    int quick;
    uint64_t seed;
    int holds;         /* the verdict, set by the claim */
    cJSON *measured, *predicted;
    char *body;        /* markdown written by the claim (what was measured, tables, figures) */
    size_t len, cap;
    char plots[1024];  /* OUT/plots */
} repro_ctx;

typedef struct {
    const char *name;
    const char *sentence;  /* the claim in one sentence */
    const char *source;    /* what the paper reports or the theory predicts */
    const char *full_time; /* running time of the full setting on 2 cores */
    int (*run)(repro_ctx *c); /* 0 on success (verdict in c->holds), else an exit code */
} repro_claim;

/* Append markdown to the report body. */
void repro_printf(repro_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a measured / predicted number (also printed in the JSON object). */
void repro_measured(repro_ctx *c, const char *key, double v);
void repro_predicted(repro_ctx *c, const char *key, double v);
/* The path of a plot in the claim's plots/ folder, and a figure line in the report. */
const char *repro_plot_path(repro_ctx *c, const char *file, char *buf, size_t len);
void repro_figure(repro_ctx *c, const char *file, const char *caption, int written);
/* Progress on stderr (a line every few seconds at most, unless forced). */
void repro_progress(const char *claim, int force, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

extern const repro_claim repro_theory_claims[];
extern const int repro_theory_claims_count;

#endif
