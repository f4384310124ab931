#!/usr/bin/env bash
# cert-renew.sh: a new certificate, installed and loaded without a restart (forge certs renew).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" certs renew "$@"
