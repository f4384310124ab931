#!/usr/bin/env bash
# deploy-production.sh [-c] [-v] [-p] [-b] [-d SERVICES] [--verify] [--rollback] [-- ARGS]
#   -c          pre-deployment checks of the running stack (forge deploy check)
#   -v          validate the new release: binary and configuration (forge deploy validate)
#   -p          pre-deployment backup (forge deploy backup)
#   -b          back up the current deployment (forge deploy backup)
#   -d SERVICES deploy only these services (comma separated) (forge deploy apply --services)
#   --verify    verify the deployment (forge deploy verify)
#   --rollback  return to the previous release (forge deploy rollback)
# Without a flag: the whole deployment: check, validate, backup, apply (rolling), verify.
# The release is described by FORGE_DEPLOY_ARGS (e.g. "--binary /opt/forge-1.2/forge") or by
# the arguments after `--`.
. "$(dirname "$0")/lib.sh"
steps=()
services=""
while [ $# -gt 0 ]; do
  case "$1" in
  -c) steps+=(check) ;;
  -v) steps+=(validate) ;;
  -p | -b) steps+=(backup) ;;
  -d)
    [ $# -ge 2 ] || usage
    services=$2
    steps+=(apply)
    shift
    ;;
  --verify) steps+=(verify) ;;
  --rollback) steps+=(rollback) ;;
  --) shift; break ;;
  *) usage ;;
  esac
  shift
done
[ ${#steps[@]} -gt 0 ] || steps=(check validate backup apply verify)
read -r -a release <<<"${FORGE_DEPLOY_ARGS:-}"
for step in "${steps[@]}"; do
  echo "== deploy $step" >&2
  args=()
  case "$step" in
  validate | apply) args=("${release[@]}" "$@") ;;
  esac
  [ "$step" = apply ] && [ -n "$services" ] && args+=(--services "$services")
  forge deploy "$step" "${args[@]}"
done
