#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every C file of the tree is formatted as .clang-format says (clang-format --dry-run --Werror).
set -uo pipefail
ROOT=${1:?source root}
cd "$ROOT" || exit 1
command -v clang-format >/dev/null || { echo "clang-format is not installed (scripts/test installs it)" >&2; exit 1; }
mapfile -t files < <(find apdu sim host smsr tools include tests -name '*.[ch]' | sort)
[ ${#files[@]} -gt 50 ] || { echo "only ${#files[@]} C files found under $ROOT" >&2; exit 1; }
clang-format --dry-run --Werror "${files[@]}" && echo "${#files[@]} files formatted as .clang-format says"
