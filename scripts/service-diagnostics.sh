#!/usr/bin/env bash
# service-diagnostics.sh: services and replicas, then the gateway's figures (forge ps, forge stats).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
forge ps
exec "$forge_path" stats "$@"
