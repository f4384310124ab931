#!/usr/bin/env bash
# Every script in scripts/ is a thin wrapper over `forge`: it prints its usage for --help, and
# every forge command it calls exists (its --help answers). The live stack test
# (operations_test.sh) runs them against a stack.
#   scripts_test.sh FORGE
set -euo pipefail
FORGE=$1
scripts=$(cd "$(dirname "$0")/../../scripts" && pwd)
export FORGE_BIN=$FORGE
failures=0
checked=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# subcommands_of [COMMAND]: the subcommands `forge [COMMAND] --help` lists.
subcommands_of() {
  "$FORGE" "$@" --help 2>/dev/null | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}
top=$(subcommands_of)

for script in "$scripts"/*.sh; do
  name=$(basename "$script")
  [ "$name" = lib.sh ] && continue
  [ -x "$script" ] || fail "$name is not executable"
  # --help prints the header comment and exits 2 (or 0 for the ones that print a procedure).
  set +e
  usage=$("$script" --help 2>&1)
  status=$?
  set -e
  [ $status -eq 2 ] || [ $status -eq 0 ] || fail "$name --help exited $status: $usage"
  grep -q "${name%.sh}" <<<"$usage" || grep -q '^#' <<<"$usage" || fail "$name --help printed no usage: $usage"
  # The forge commands it calls: `forge WORD [WORD]` and `"$forge_path" WORD [WORD]`.
  while read -r command sub; do
    [ -n "$command" ] || continue
    if ! grep -qx "$command" <<<"$top"; then
      fail "$name calls 'forge $command', which does not exist"
      continue
    fi
    # A second word is a subcommand when the command has subcommands (else an argument, as in
    # `forge restart gateway`).
    subs=$(subcommands_of "$command")
    if [ -n "$subs" ] && [ -n "$sub" ] && ! grep -qx "$sub" <<<"$subs"; then
      fail "$name calls 'forge $command $sub', which does not exist"
    fi
    checked=$((checked + 1))
  done < <(grep -v '^ *#' "$script" | grep -oE '(^|[;&|( ]|exec )(forge|"\$forge_path") [a-z][a-z-]*( [a-z][a-z-]*)?' |
    sed -E 's/.*(forge|"\$forge_path") //')
done

# Procedures the documentation scripts print exist in docs/OPERATIONS.md.
for script in "$scripts"/*.sh; do
  heading=$(sed -nE 's/^show_procedure "(.*)"$/\1/p' "$script")
  [ -n "$heading" ] || continue
  out=$("$script" 2>&1) || true
  grep -q "^#.*$heading" <<<"$out" || fail "$(basename "$script"): no section \"$heading\" in docs/OPERATIONS.md"
done

count=$(ls "$scripts"/*.sh | grep -vc '/lib.sh$')
echo "scripts: $count, forge commands checked: $checked, failures: $failures"
[ "$failures" -eq 0 ]
