#!/usr/bin/env bash
# assess-training.sh: prints "Assessing training" from docs/OPERATIONS.md (how training is assessed: drills run on a scratch stack). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Assessing training"
