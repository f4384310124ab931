#!/usr/bin/env bash
# training-materials.sh: prints "Training materials" from docs/OPERATIONS.md (what a new on-call engineer reads and runs). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Training materials"
