#!/usr/bin/env bash
# cert-update.sh --cert FILE --key FILE: install a certificate and key, loaded without a restart (forge certs install).
. "$(dirname "$0")/lib.sh"
exec "$forge_path" certs install "$@"
