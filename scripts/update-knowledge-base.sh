#!/usr/bin/env bash
# update-knowledge-base.sh: prints "Knowledge base" from docs/OPERATIONS.md (keeping the knowledge base current). This is a
# procedure people follow; the commands it names are real.
. "$(dirname "$0")/lib.sh"
show_procedure "Knowledge base"
