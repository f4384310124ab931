#!/usr/bin/env bash
# update-recovery-docs.sh [FILE]: run the disaster recovery drill and append its measured
# recovery time and data age to FILE (default: $FORGE_DATA_DIR/recovery-drills.md).
. "$(dirname "$0")/lib.sh"
file=${1:-${FORGE_DATA_DIR:-./data}/recovery-drills.md}
result=$(forge dr test --json)
{
  echo "## drill $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo '```json'
  echo "$result"
  echo '```'
} >>"$file"
echo "recorded in $file"
