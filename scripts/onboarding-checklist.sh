#!/usr/bin/env bash
# onboarding-checklist.sh: prints "Onboarding checklist" from docs/OPERATIONS.md (the onboarding checklist of a new on-call engineer). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Onboarding checklist"
