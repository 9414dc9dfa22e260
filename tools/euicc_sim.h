/* SPDX-License-Identifier: GPL-2.0-or-later */
/* euicc-sim's command groups beside its main file. */
#ifndef TOOLS_EUICC_SIM_H
#define TOOLS_EUICC_SIM_H

#include <stdbool.h>

#include <jansson.h>

/* farm_cmd.c: euicc-sim farm new|show, and for farm run the argv of the `run` that serves the cards
 * (0, or the exit status of a refusal) */
int sim_farm_run_args(bool json, int argc, char **argv, int *ac, char ***av);
int sim_cmd_farm(bool json, int argc, char **argv);
/* farm_events.c: euicc-sim farm events DIR SCENARIO (the farm plays its devices) */
int sim_farm_events(bool json, int argc, char **argv);
/* a scenario checked for a farm of count cards (every step, the field at fault named); *start its
 * start. 0, or -1 with why */
int sim_scenario_check(json_t *doc, unsigned count, long long *start, char *why, size_t why_len);

#endif
