#!/usr/bin/env bash
# security-forensics.sh [--user EMAIL | --remote ADDR] [--since 24h] [-o FILE]: a timeline of what an actor did (forge security forensics).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" security forensics "$@"
