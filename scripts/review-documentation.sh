#!/usr/bin/env bash
# review-documentation.sh: prints "Reviewing this guide" from docs/OPERATIONS.md (reviewing this guide against the running stack). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Reviewing this guide"
