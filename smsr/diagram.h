/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sequence diagrams of what smsr did (docs/capture.md): the decoded trace of an operation turned into
 * arrows between SM-DP, SM-SR, SMSC/modem, ISD-R and ISD-P -- ES5/ES8 commands by name, the SMS-PP
 * carrying them, ENVELOPEs, the PoR, REFRESH, notifications and their confirmation -- each with the
 * time since the one before. Written as Mermaid (renders on GitHub) or as a self-contained SVG. */
#ifndef SMSR_DIAGRAM_H
#define SMSR_DIAGRAM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct diagram diagram;

diagram *diagram_new(void);
void diagram_free(diagram *d);
/* one line of the trace, as the core printed it (timed now) */
void diagram_trace(diagram *d, const char *line);
/* the arrows of a Mermaid text this module wrote (smsr diagram joins files): -1 when it is not one */
int diagram_read_mermaid(diagram *d, const char *text);
/* FILE.mmd: Mermaid; FILE.svg: SVG; -1 with why */
int diagram_write(diagram *d, const char *path, char *why, size_t why_len);
size_t diagram_arrows(const diagram *d);

#endif
