#!/usr/bin/env bash
# automated-recovery.sh ID: restart what is down, wait for health, record each step (forge incident recover).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" incident recover "$@"
