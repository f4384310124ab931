#!/usr/bin/env bash
# update-procedures.sh: prints "After an incident" from docs/OPERATIONS.md (after an incident: what to update in the procedures). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "After an incident"
