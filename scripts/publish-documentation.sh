#!/usr/bin/env bash
# publish-documentation.sh: prints "Publishing the guide" from docs/OPERATIONS.md (publishing the guide). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Publishing the guide"
