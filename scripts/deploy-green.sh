#!/usr/bin/env bash
# deploy-green.sh [--binary PATH]: start the idle colour with the new release (forge bluegreen deploy).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" bluegreen deploy "$@"
