/* SPDX-License-Identifier: GPL-2.0-or-later */
/* euicc-sim's command groups beside its main file. */
#ifndef TOOLS_EUICC_SIM_H
#define TOOLS_EUICC_SIM_H

#include <stdbool.h>

/* farm_cmd.c: euicc-sim farm new|show, and for farm run the argv of the `run` that serves the cards
 * (0, or the exit status of a refusal) */
int sim_farm_run_args(bool json, int argc, char **argv, int *ac, char ***av);
int sim_cmd_farm(bool json, int argc, char **argv);
/* farm_events.c: euicc-sim farm events DIR SCENARIO (the farm plays its devices) */
int sim_farm_events(bool json, int argc, char **argv);

#endif
