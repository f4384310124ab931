#!/usr/bin/env bash
# service-diagnostics.sh: services and replicas, then the gateway's figures (forge ps, forge stats).
. "$(dirname "$0")/lib.sh"
forge ps
exec "$forge_path" stats "$@"
