/* Small helpers shared by the programs of the bench (apdu, euicc-sim, smsr). */
#ifndef APDU_CLI_H
#define APDU_CLI_H

#include <stdbool.h>

/* Removes every occurrence of `flag` after argv[0] (options like --json are accepted anywhere on the
 * command line) and returns whether there was one; argv stays NULL-terminated. */
bool cli_take_flag(int *argc, char **argv, const char *flag);
/* The process holds keys: no core dump of it, no ptrace by other processes of the user
 * (PR_SET_DUMPABLE 0). Left out in sanitizer builds, whose leak checker needs to trace the process. */
void cli_protect_keys(void);

#endif
