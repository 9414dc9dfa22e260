# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by scripts/demo, scripts/test, scripts/fuzz: package installation and the build directories.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the bench needs (build, tests, the virtual reader, the SM-SR's store, JSON, fuzzing,
# xmllint to check the replayer's JUnit output, clang-format for the formatting check; the HTTP server
# and client of `smsr serve`, curl, jsonschema and chromium for its API and browser tests; libpcap for
# the captures and tshark to read them back).
BENCH_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config python3 libssl-dev libpcsclite-dev pcscd
	vsmartcard-vpcd pcsc-tools opensc check libreadline-dev libsqlite3-dev libjansson-dev libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev clang clang-format libxml2-utils
	curl python3-jsonschema chromium libpcap-dev tshark)

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs whatever is missing, non-interactively, as root (or through passwordless sudo).
ensure_packages() {
	local missing=() p
	for p in "${BENCH_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	# libFuzzer's runtime comes with the clang version that is installed
	if command -v clang >/dev/null 2>&1; then
		local major
		major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n1)
		if [ -n "$major" ] && ! dpkg-query -W -f='${Status}' "libclang-rt-$major-dev" 2>/dev/null | grep -q "install ok installed" &&
			apt-cache show "libclang-rt-$major-dev" >/dev/null 2>&1; then
			missing+=("libclang-rt-$major-dev")
		fi
	fi
	# Node.js and npm drive the portal's browser test; a machine may have them from elsewhere (NodeSource
	# ships npm inside nodejs, and Debian's npm would conflict with it): only when absent
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q "install ok installed" || missing+=(nodejs)
		command -v npm >/dev/null 2>&1 || missing+=(npm)
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing missing Debian packages: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			die "these packages are missing and this is not root: ${missing[*]}
run as root:  apt-get install -y ${missing[*]}"
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq || die "apt-get update failed"
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install failed for: ${missing[*]}"
	# clang may have just arrived: its fuzzer runtime too
	if [[ " ${missing[*]} " == *" clang "* ]]; then ensure_packages; fi
}

# configure_build DIR [meson options...]: sets up (or reconfigures) a build directory and builds it.
configure_build() {
	local dir=$1; shift
	if [ -f "$ROOT/$dir/build.ninja" ]; then
		meson setup --reconfigure "$ROOT/$dir" "$ROOT" "$@" >/dev/null ||
			{ rm -rf "${ROOT:?}/$dir"; meson setup "$ROOT/$dir" "$ROOT" "$@" >/dev/null; } || die "meson setup $dir failed"
	else
		meson setup "$ROOT/$dir" "$ROOT" "$@" >/dev/null || die "meson setup $dir failed"
	fi
	say "building $dir"
	ninja -C "$ROOT/$dir" >/dev/null || { ninja -C "$ROOT/$dir"; die "build of $dir failed"; }
}

clang_fuzzer_works() {
	command -v clang >/dev/null 2>&1 || return 1
	local d
	d=$(mktemp -d)
	printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){(void)d;(void)n;return 0;}\n' >"$d/f.c"
	clang -fsanitize=fuzzer,address "$d/f.c" -o "$d/f" >/dev/null 2>&1
	local rc=$?
	rm -rf "$d"
	return $rc
}
