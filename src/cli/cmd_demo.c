/* linmass demo: the README's main job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/train_cli.h"

int cmd_demo(int argc, char **argv)
{
    train_cli_opts o;
    cli_command c;
    train_cli_init(&c, &o, "demo", "linmass demo [options]",
                   "A short tour: the MaSS paper's FCN trained on Fashion-MNIST with SGD (lr 0.1, batch\n"
                   "64), loss and accuracy per epoch, a run folder with plots and a report.");
    /* the demo's own defaults */
    for (int i = 0; i < c.nopts; i++) {
        if (!strcmp(c.opts[i].name, "epochs")) c.opts[i].def = "3";
        if (!strcmp(c.opts[i].name, "out")) c.opts[i].def = "runs/demo";
        if (!strcmp(c.opts[i].name, "lr")) c.opts[i].def = "0.1";
    }
    int rc = cli_parse(&c, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.optim_text[0]) o.optim_text[0] = "0.1";
    lm_train_config tc;
    if ((rc = train_cli_resolve(&c, &o, &tc))) return rc;
    printf("linmass demo: training the MaSS paper's FCN (784-100-100-100-10, ReLU, dropout 0.5) on %s\n"
           "with %s, lr %g, batch %d, %d epochs; writing %s\n", tc.data, o.optim, tc.optim.lr, tc.batch, tc.epochs, tc.out);
    char *cfg = cli_options_json(&c);
    rc = train_cli_run("demo", &tc, cfg, o.json);
    free(cfg);
    if (!rc && !o.json) printf("report: %s/report.md\n", tc.out);
    return rc;
}
