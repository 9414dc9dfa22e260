/* SPDX-License-Identifier: GPL-2.0-or-later */
/* euicc-sim's command groups beside its main file. */
#ifndef TOOLS_EUICC_SIM_H
#define TOOLS_EUICC_SIM_H

#include <stdbool.h>

/* farm_cmd.c: euicc-sim farm new|show */
int sim_cmd_farm(bool json, int argc, char **argv);

#endif
