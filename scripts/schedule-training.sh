#!/usr/bin/env bash
# schedule-training.sh: prints "Training schedule" from docs/OPERATIONS.md (the training schedule). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Training schedule"
