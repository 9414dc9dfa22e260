/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sequence diagrams from the trace (diagram.h). The trace's lines map to arrows:
 *   "C-APDU NAME (FUNCTION): ..."  SM-SR -> ISD-R "ES5 FUNCTION" (to the ISD-P for key establishment)
 *   "SCP03t KIND TLV (N bytes)"    SM-DP -> ISD-P "ES8 SCP03t KIND (N bytes)"
 *   "SCP80 packet: ... TAR T CNTR C" SM-SR -> SMSC/modem "SMS-PP, SCP80 TAR T CNTR C", sent with the
 *                                  commands above it; the ENVELOPEs that deliver it modem -> ISD-R
 *   "ENVELOPE EVENT DOWNLOAD ..."  modem -> ISD-R: the location status the modem reports
 *   "proactive command 13 / 01"    ISD-R -> modem "SEND SHORT MESSAGE" / "REFRESH"
 *   "PoR: status SS (NAME)"        modem -> SM-SR "PoR SS NAME"
 *   "notification (MO SMS ...)"    ISD-R -> SM-SR via the modem "notification (MO SMS)"
 *   "key establishment: receipt"   a note over SM-DP and ISD-P
 * Hex dumps in the trace are never copied into a diagram. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diagram.h"
#include "host/cli.h"

enum { P_DP, P_SR, P_M, P_R, P_P, P_N };
static const char *const part_id[P_N] = { "DP", "SR", "M", "R", "P" };
static const char *const part_name[P_N] = { "SM-DP", "SM-SR", "SMSC/modem", "ISD-R", "ISD-P" };

typedef struct {
	int from, to; /* to < 0: a note over from..-to-1 */
	bool reply;
	char text[160];
	double ms; /* since the arrow before, -1: not known */
} arrow;

struct diagram {
	arrow *v;
	size_t n, cap;
	double last;
	/* an SMS-PP being built: its commands are drawn before it, its ENVELOPEs after */
	int envelopes;
	char sms[96];
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

diagram *diagram_new(void)
{
	diagram *d = calloc(1, sizeof(*d));
	if (d)
		d->last = now_ms();
	return d;
}

void diagram_free(diagram *d)
{
	if (!d)
		return;
	free(d->v);
	free(d);
}

size_t diagram_arrows(const diagram *d)
{
	return d ? d->n : 0;
}

static void add(diagram *d, int from, int to, bool reply, double ms, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void add(diagram *d, int from, int to, bool reply, double ms, const char *fmt, ...)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		arrow *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	arrow *a = &d->v[d->n];
	a->from = from;
	a->to = to;
	a->reply = reply;
	a->ms = ms;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
	/* Mermaid's own separators stay out of the text, and a step has one */
	for (char *p = a->text; *p; p++)
		if (*p == ';' || *p == '#' || *p == '\r' || *p == '\n')
			*p = ',';
	if (a->text[strspn(a->text, " ")])
		d->n++;
}

static double tick(diagram *d)
{
	double t = now_ms(), ms = t - d->last;
	d->last = t;
	return ms;
}

/* the ENVELOPEs that delivered the SMS-PP under way */
static void flush_envelopes(diagram *d)
{
	if (d->envelopes)
		add(d, P_M, P_R, false, tick(d), "ENVELOPE SMS-PP download%s", d->envelopes > 1 ? "s" : "");
	if (d->envelopes > 1)
		snprintf(d->v[d->n - 1].text + strlen(d->v[d->n - 1].text),
			 sizeof(d->v[0].text) - strlen(d->v[d->n - 1].text), " x%d", d->envelopes);
	d->envelopes = 0;
}

/* a command inside the SMS-PP just drawn goes before it: first what is sent, then how */
static void command(diagram *d, const arrow *cmd)
{
	bool sms_last = d->n && d->v[d->n - 1].from == P_SR && d->v[d->n - 1].to == P_M && !d->envelopes;
	add(d, cmd->from, cmd->to, false, -1, "%s", cmd->text);
	if (sms_last && d->n >= 2) {
		arrow sms = d->v[d->n - 2];
		d->v[d->n - 2] = d->v[d->n - 1];
		d->v[d->n - 1] = sms;
	}
}

void diagram_trace(diagram *d, const char *line)
{
	if (!d)
		return;
	const char *l = line + strspn(line, " ");
	char a[96] = "", kind[40] = "", size[40] = "";
	unsigned st;
	if (!strncmp(l, "SCP80 packet:", 13)) {
		flush_envelopes(d);
		const char *tar = strstr(l, "TAR "), *cntr = strstr(l, "CNTR ");
		snprintf(d->sms, sizeof(d->sms), "SMS-PP, SCP80 TAR %.6s CNTR %.10s", tar ? tar + 4 : "?",
			 cntr ? cntr + 5 : "?");
		add(d, P_SR, P_M, false, tick(d), "%s", d->sms);
	} else if (!strncmp(l, "C-APDU ", 7)) {
		/* "C-APDU STORE DATA 3A03 (EnableProfile): 80e2..." -> the name in brackets, else the command */
		const char *o = strchr(l, '('), *c = o ? strchr(o, ')') : NULL, *colon = strchr(l, ':');
		if (o && c && (!colon || o < colon))
			snprintf(a, sizeof(a), "%.*s", (int)(c - o - 1), o + 1);
		else
			snprintf(a, sizeof(a), "%.*s", (int)((colon ? colon : l + strlen(l)) - l - 7), l + 7);
		bool ke = strstr(a, "key establishment") != NULL || strstr(l, "personalization");
		arrow cmd = { ke ? P_DP : P_SR, ke ? P_P : P_R, false, "", -1 };
		snprintf(cmd.text, sizeof(cmd.text), "%s %s", ke ? "ES8" : "ES5", a);
		command(d, &cmd);
	} else if (!strncmp(l, "SCP03t ", 7) && sscanf(l, "SCP03t %39s TLV (%39[^)])", kind, size) == 2) {
		arrow cmd = { P_DP, P_P, false, "", -1 };
		snprintf(cmd.text, sizeof(cmd.text), "ES8 SCP03t %s (%s)", kind, size);
		command(d, &cmd);
	} else if (!strncmp(l, "ENVELOPE EVENT DOWNLOAD location status: ", 41)) {
		flush_envelopes(d);
		add(d, P_M, P_R, false, tick(d), "ENVELOPE EVENT DOWNLOAD (%.40s)", l + 41);
	} else if (!strncmp(l, "ENVELOPE SMS-PP", 15)) {
		d->envelopes++;
	} else if (!strncmp(l, "proactive command", 17)) {
		flush_envelopes(d);
		add(d, P_R, P_M, true, tick(d), "%s", strstr(l, "REFRESH") ? "REFRESH" : "SEND SHORT MESSAGE");
		if (strstr(l, "REFRESH"))
			add(d, P_M, P_R, false, -1, "reset, TERMINAL PROFILE");
	} else if (sscanf(l, "PoR: status %x (%95[^)])", &st, a) == 2) {
		add(d, P_M, P_SR, true, tick(d), "PoR %02X %s", st, a);
	} else if (!strncmp(l, "notification (", 14)) {
		add(d, P_M, P_SR, true, tick(d), "notification (MO SMS)");
	} else if (!strncmp(l, "key establishment:", 18)) {
		add(d, P_DP, -P_P - 1, false, tick(d), "key establishment: receipt verified, SCP03 keys agreed");
	}
}

/* ---------------- Mermaid ---------------- */

static int part_of(const char *id)
{
	for (int i = 0; i < P_N; i++)
		if (!strcmp(id, part_id[i]))
			return i;
	return -1;
}

int diagram_read_mermaid(diagram *d, const char *text)
{
	if (strncmp(text, "sequenceDiagram", 15))
		return -1;
	const char *p = text;
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		char from[8], to[8], msg[200];
		double ms = -1;
		const char *eol = strchr(p, '\n');
		char line[300];
		snprintf(line, sizeof(line), "%.*s", (int)(eol ? eol - p : (long)strlen(p)), p);
		char *t = line + strspn(line, " ");
		/* the timing is the last " (+N ms)" of the line, when a message stays before it */
		char *times = NULL;
		for (char *q = strstr(t, " (+"); q; q = strstr(q + 1, " (+"))
			times = q;
		char *colon = strstr(t, ": ");
		size_t tl = times ? strlen(times) : 0;
		if (times && colon && times > colon + 2 && tl > 4 && !strcmp(times + tl - 4, " ms)") &&
		    sscanf(times, " (+%lf ms)", &ms) == 1)
			*times = '\0';
		else
			ms = -1;
		if (sscanf(t, "Note over %7[^,],%7[^:]: %199[^\n]", from, to, msg) == 3 && part_of(from) >= 0 &&
		    part_of(to) >= 0) {
			add(d, part_of(from), -part_of(to) - 1, false, ms, "%s", msg);
		} else if (sscanf(t, "%7[A-Z]-->>%7[A-Z]: %199[^\n]", from, to, msg) == 3 && part_of(from) >= 0 &&
			   part_of(to) >= 0) {
			add(d, part_of(from), part_of(to), true, ms, "%s", msg);
		} else if (sscanf(t, "%7[A-Z]->>%7[A-Z]: %199[^\n]", from, to, msg) == 3 && part_of(from) >= 0 &&
			   part_of(to) >= 0) {
			add(d, part_of(from), part_of(to), false, ms, "%s", msg);
		}
	}
	return 0;
}

static void write_mermaid(const diagram *d, FILE *f)
{
	fprintf(f, "sequenceDiagram\n");
	for (int i = 0; i < P_N; i++)
		fprintf(f, "    participant %s as %s\n", part_id[i], part_name[i]);
	for (size_t i = 0; i < d->n; i++) {
		const arrow *a = &d->v[i];
		char t[32] = "";
		if (a->ms >= 0)
			snprintf(t, sizeof(t), " (+%.1f ms)", a->ms);
		if (a->to < 0)
			fprintf(f, "    Note over %s,%s: %s%s\n", part_id[a->from], part_id[-a->to - 1], a->text, t);
		else
			fprintf(f, "    %s%s%s: %s%s\n", part_id[a->from], a->reply ? "-->>" : "->>", part_id[a->to],
				a->text, t);
	}
}

/* ---------------- SVG ---------------- */

static void write_svg(const diagram *d, FILE *f)
{
	const int colw = 190, left = 90, top = 60, row = 30;
	int width = left * 2 + colw * (P_N - 1), height = top + row * (int)(d->n + 1) + 40;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"
		"<title>euicc-bench: SGP.02 sequence</title>\n"
		"<defs><marker id=\"a\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\">"
		"<path d=\"M0,0 L10,4 L0,8 z\" fill=\"#333\"/></marker></defs>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
		width, height, width, height);
	for (int i = 0; i < P_N; i++) {
		int x = left + colw * i;
		fprintf(f,
			"<rect x=\"%d\" y=\"10\" width=\"120\" height=\"30\" rx=\"4\" fill=\"#e8eef7\" "
			"stroke=\"#14324f\"/>"
			"<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n"
			"<line x1=\"%d\" y1=\"40\" x2=\"%d\" y2=\"%d\" stroke=\"#9aa5b1\" stroke-dasharray=\"4 3\"/>\n",
			x - 60, x, part_name[i], x, x, height - 10);
	}
	for (size_t i = 0; i < d->n; i++) {
		const arrow *a = &d->v[i];
		int y = top + row * (int)(i + 1);
		char t[32] = "";
		if (a->ms >= 0)
			snprintf(t, sizeof(t), "  +%.1f ms", a->ms);
		if (a->to < 0) {
			int x1 = left + colw * a->from, x2 = left + colw * (-a->to - 1);
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"22\" fill=\"#fff8d6\" "
				"stroke=\"#c9b458\"/>",
				x1 - 50, y - 16, x2 - x1 + 100);
			fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (x1 + x2) / 2, y);
		} else {
			int x1 = left + colw * a->from, x2 = left + colw * a->to;
			fprintf(f,
				"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"%s "
				"marker-end=\"url(#a)\"/>",
				x1, y, x2 + (x2 > x1 ? -2 : 2), y, a->reply ? " stroke-dasharray=\"5 3\"" : "");
			fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (x1 + x2) / 2, y - 5);
		}
		cli_xml_text(f, a->text);
		if (t[0])
			fprintf(f, "<tspan fill=\"#5b6673\">%s</tspan>", t);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
}

int diagram_write(diagram *d, const char *path, char *why, size_t why_len)
{
	flush_envelopes(d);
	const char *dot = strrchr(path, '.');
	bool svg = dot && !strcmp(dot, ".svg");
	if (!dot || (!svg && strcmp(dot, ".mmd"))) {
		snprintf(why, why_len, "--diagram %s: the name ends in .mmd (Mermaid) or .svg", path);
		return -1;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(why, why_len, "--diagram %s: cannot write it", path);
		return -1;
	}
	if (svg)
		write_svg(d, f);
	else
		write_mermaid(d, f);
	if (fclose(f)) {
		snprintf(why, why_len, "--diagram %s: cannot write it", path);
		return -1;
	}
	return 0;
}
