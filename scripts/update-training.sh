#!/usr/bin/env bash
# update-training.sh: prints "Training schedule" from docs/OPERATIONS.md (keeping training current). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Training schedule"
