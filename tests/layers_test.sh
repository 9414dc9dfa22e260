#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/layers on the tree (clean), and on small trees that break each rule (each one must be found).
set -uo pipefail
LAYERS=${1:?scripts/layers}; ROOT=${2:?source root}
source "$(dirname "$0")/tap.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

expect "the tree keeps its layers" 0 "0 problem(s)" "$LAYERS" --root "$ROOT"

mk() { mkdir -p "$work/$1/$(dirname "$2")"; printf '%s\n' "$3" >"$work/$1/$2"; }
mk up apdu/a.c 'void a(void) { s(); }'
mk up sim/s.c 'void s(void) { }'
expect "a call from the wire layer into the card is found" 1 "apdu/a.c -> sim/s.c: uses a layer above it (s)" \
	"$LAYERS" --root "$work/up"
mk circle sim/x.c 'void x(void) { y(); }'
mk circle sim/y.c 'void y(void) { x(); }'
expect "two card files calling each other are a circle" 1 "circle of 2 files" "$LAYERS" --root "$work/circle"
mk side smsr/m.c 'void m(void) { t(); }'
mk side tools/t.c 'void t(void) { }'
expect "smsr/ and tools/ do not use each other" 1 "uses a layer beside it" "$LAYERS" --root "$work/side"
body=$(for i in $(seq 1 101); do echo '	n++;'; done)
mk long host/l.c "void l(void)
{
	int n = 0;
$body
}"
expect "a function over 100 lines is found" 1 "l is 105 lines" "$LAYERS" --root "$work/long"
mk inc host/h.c '#include "missing.h"'
expect "an include of a file that is not in the tree is named" 1 "includes \"missing.h\", which is not in the tree" \
	"$LAYERS" --root "$work/inc"
echo "1..$n"
exit $((failed > 0))
