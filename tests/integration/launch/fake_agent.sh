#!/bin/sh
# A stand-in for ssh as hilorun's launch agent: invoked as `fake_agent.sh HOST COMMAND...`, it
# appends "HOST COMMAND..." to $FAKE_AGENT_LOG, then runs the command on this machine through a
# shell, as ssh would on HOST, and like ssh with a fresh environment (only PATH and HOME): what
# the rank gets beyond that must have come through hilorun's launch block on stdin.
host=$1
shift
printf '%s %s\n' "$host" "$*" >>"${FAKE_AGENT_LOG:-/dev/null}"
exec env -i PATH="$PATH" HOME="$HOME" sh -c "$*"
