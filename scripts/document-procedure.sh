#!/usr/bin/env bash
# document-procedure.sh: prints "Writing down a new procedure" from docs/OPERATIONS.md (writing down a new procedure). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Writing down a new procedure"
