#ifndef LM_CLI_COMMANDS_H
#define LM_CLI_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_repro(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_constants(int argc, char **argv);
int cmd_theory(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
