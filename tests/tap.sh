# SPDX-License-Identifier: GPL-2.0-or-later
# TAP helpers for the shell tests (sourced): ok NAME, not_ok NAME [DETAIL...], expect NAME CODE SUBSTRING CMD...
# (the command's exit status must be CODE and its output, stdout and stderr, contain SUBSTRING).
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect() {
	local name=$1 code=$2 want=$3; shift 3
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ $rc -eq "$code" ] && [[ "$out" == *"$want"* ]]; then ok "$name"; else not_ok "$name" "exit $rc (want $code)" "want: $want" "got: ${out:0:600}"; fi
}
