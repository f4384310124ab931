#!/usr/bin/env bash
# collect-diagnostics.sh [-o FILE]: configuration (redacted), logs, metrics and versions in one archive (forge debug bundle).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" debug bundle "$@"
