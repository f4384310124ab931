# Shared by the operations scripts (sourced): every script is a thin wrapper over one `forge`
# command, keeping the operations guide's script names and flags. See docs/OPERATIONS.md.
#
# Which forge runs: $FORGE_BIN, else `forge` on PATH, else the build in this source tree.
# Connection settings reach forge through its environment: FORGE_GATEWAY_URL, FORGE_MANAGER_URL,
# FORGE_TOKEN, DATABASE_URL; the data directory through FORGE_DATA_DIR (default ./data).
set -euo pipefail

scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

forge_bin() {
  if [ -n "${FORGE_BIN:-}" ]; then
    echo "$FORGE_BIN"
  elif command -v forge >/dev/null 2>&1; then
    command -v forge
  elif [ -x "$scripts_dir/../build/exe/forge" ]; then
    echo "$scripts_dir/../build/exe/forge"
  else
    echo "$(basename "$0"): forge not found: install it, build it (./run.sh), or set FORGE_BIN" >&2
    exit 1
  fi
}

# forge ARGS...: runs forge.
forge() { "$forge_path" "$@"; }

# usage: prints the script's header comment (lines 2.. up to the first non-comment) and exits 2.
usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
  exit 2
}

# show_procedure HEADING: prints that section of docs/OPERATIONS.md (a procedure people follow,
# not one a program can do for them).
show_procedure() {
  local doc="$scripts_dir/../docs/OPERATIONS.md"
  [ -f "$doc" ] || { echo "$(basename "$0"): $doc not found" >&2; exit 1; }
  awk -v h="$1" '
    /^#+ / {
      match($0, /^#+/)
      if (on && RLENGTH <= depth) exit
      if (!on && index($0, h)) { on = 1; depth = RLENGTH }
    }
    on { print }' "$doc"
}

case "${1:-}" in -h | --help) usage ;; esac
forge_path=$(forge_bin)
