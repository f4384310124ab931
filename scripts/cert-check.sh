#!/usr/bin/env bash
# cert-check.sh [--url URL | --cert FILE]: expiry and validity of the gateway's certificate (forge certs check).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" certs check "$@"
