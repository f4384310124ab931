#!/usr/bin/env bash
# cert-check.sh [--url URL | --cert FILE]: expiry and validity of the gateway's certificate (forge certs check).
. "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) usage ;; esac
exec "$forge_path" certs check "$@"
