#!/bin/sh
# A stand-in for ssh as hilorun's launch agent: invoked as `fake_agent.sh HOST COMMAND...`, it
# appends "HOST COMMAND..." to $FAKE_AGENT_LOG, then runs the command on this machine through a
# shell, as ssh would on HOST, and like ssh with a fresh environment (only PATH and HOME): what
# the rank gets beyond that must have come through hilorun's launch block on stdin.
#
# With FAKE_AGENT_DETACH=1 the command runs in its own session as a child, like a remote command
# under sshd: it does not die with the agent or hilorun, and only EOF on its stdin tells it that
# hilorun is gone.
host=$1
shift
printf '%s %s\n' "$host" "$*" >>"${FAKE_AGENT_LOG:-/dev/null}"
if [ -n "$FAKE_AGENT_DETACH" ]; then
  # A background command's stdin would be /dev/null: hand it the agent's stdin through fd 3.
  exec 3<&0
  setsid env -i PATH="$PATH" HOME="$HOME" sh -c "$*" <&3 3<&- &
  wait $!
  exit $?
fi
exec env -i PATH="$PATH" HOME="$HOME" sh -c "$*"
