#!/usr/bin/env bash
# Launch across namespace hosts through a real OpenSSH server, with the launchers' DEFAULT
# agent (plain `ssh`, found on PATH; no --launch-agent, no plm_rsh_agent).
#
#   run-over-ssh.sh [--timeout S] EXPECT_REGEX LAUNCHER [ARGS...]
#
# Brings up three namespace hosts. hilo-h2 and hilo-h3 each run their own sshd (Debian's
# openssh-server), listening only on that host's address, port 22, with a host key, config and
# authorized key made here in a temporary folder. LAUNCHER runs inside hilo-h1 with the
# hostfile of those two hosts in place of every argument that is {hostfile}. Passes only if
#   - the launcher exits 0 within S seconds (default 120),
#   - a line of its output matches the extended regex EXPECT_REGEX,
#   - the output names both hilo-h2 and hilo-h3 (host=NAME or hosts=NAME,NAME), and
#   - each sshd logged an accepted public-key login from hilo-h1's address: the ranks really
#     came in through ssh, not some other way.
# ssh reads its configuration from the home folder of the passwd entry (not $HOME), so the
# launcher's private mount namespace (scripts/netns-hosts exec makes one) gets the test's home
# folder bind-mounted over the user's: ~/.ssh/config, the key and known_hosts are the test's,
# and the real ~/.ssh is neither read nor touched. Everything started is stopped and the hosts
# are deleted on every exit path. Exit 77 (SKIPPED) where this cannot run, unless CI is set.
set -euo pipefail
prog=run-over-ssh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

timeout_seconds=120
if [ "${1:-}" = --timeout ]; then
  timeout_seconds=$2
  shift 2
fi
if [ $# -lt 2 ]; then
  sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
expect=$1
shift

sshd=/usr/sbin/sshd
cluster_require_root "making network namespaces"
cluster_require_commands ip ss nsenter ssh ssh-keygen "$sshd"

state=${HILO_NETNS_DIR:-/tmp/hilo-netns}
ssh_hosts=(hilo-h2 hilo-h3)
work=""

stop_everything() {
  local host
  if [ -n "$work" ]; then
    for host in "${ssh_hosts[@]}"; do
      stop_recorded_pid sshd "$work/$host/sshd.pid"
    done
  fi
  # Also stops whatever a failed launch left inside the hosts (an orted, a rank).
  "$scripts/netns-hosts" down || true
  if [ -n "$work" ]; then rm -rf "$work"; fi
}

take_cluster_lock
trap stop_everything EXIT
"$scripts/netns-hosts" up 3

# Everything of this test in one folder: 0700, so keys and configs are ours alone.
work=$(mktemp -d /tmp/hilo-ssh-test.XXXXXX)
home=$work/home
mkdir -m 700 "$home" "$home/.ssh"
ssh-keygen -q -t ed25519 -N '' -C hilo-ssh-test -f "$home/.ssh/id_ed25519"
cp "$home/.ssh/id_ed25519.pub" "$work/authorized_keys"
: >"$home/.ssh/known_hosts"

# sshd refuses to start without its privilege separation folder, which Debian's service unit
# would create at boot; nothing else is put outside $work.
mkdir -p /run/sshd

address_of() { awk -v host="$1" '$1 == host { print $2 }' "$state/hosts"; }

for host in "${ssh_hosts[@]}"; do
  address=$(address_of "$host")
  mkdir -m 700 "$work/$host"
  ssh-keygen -q -t ed25519 -N '' -C "$host" -f "$work/$host/host_key"
  # StrictModes would reject $work for lying under the world-writable /tmp; the folder is 0700
  # and made by this script, which is what StrictModes checks for.
  cat >"$work/$host/sshd_config" <<EOF
ListenAddress $address:22
AddressFamily inet
HostKey $work/$host/host_key
PidFile $work/$host/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
LogLevel VERBOSE
EOF
  echo "$host,$address $(cut -d' ' -f1,2 "$work/$host/host_key.pub")" >>"$home/.ssh/known_hosts"
  # Through 'exec': the host's network, its hostname and its /etc/hosts, which every session
  # (and so every rank) started by this sshd inherits. -D: stays in the foreground as this
  # PID's process; -e: its log goes to the file read below.
  "$scripts/netns-hosts" exec "$host" "$sshd" -D -e -f "$work/$host/sshd_config" \
    >"$work/$host/sshd.log" 2>&1 </dev/null &
  # sshd writes its pid file once it listens.
  if ! wait_until 10 test -s "$work/$host/sshd.pid"; then
    cat "$work/$host/sshd.log" >&2
    echo "$prog: FAILED: sshd on $host ($address) did not start listening within 10 s" >&2
    exit 1
  fi
  # Nothing else runs in the host yet: its only listening socket must be sshd's, on its address.
  listening=$(nsenter --net="/run/netns/$host" ss -Hltn | awk '{ print $4 }' | tr '\n' ' ')
  if [ "$listening" != "$address:22 " ]; then
    echo "$prog: FAILED: $host listens on [ $listening], expected only $address:22" >&2
    exit 1
  fi
  echo "$prog: sshd on $host listens on $address:22 only (pid $(cat "$work/$host/sshd.pid"))"
done

cat >"$home/.ssh/config" <<EOF
Host *
  User $(id -un)
  Port 22
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile ~/.ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
EOF

printf '%s slots=2\n' "${ssh_hosts[@]}" >"$work/hostfile"
launcher=()
for argument in "$@"; do
  if [ "$argument" = "{hostfile}" ]; then argument=$work/hostfile; fi
  launcher+=("$argument")
done

user_home=$(getent passwd "$(id -u)" | cut -d: -f6)
output=$work/launcher.out
echo "$prog: on hilo-h1, with $home over $user_home: ${launcher[*]}"
launcher_status=0
# shellcheck disable=SC2016  # $0, $1, $@ are the inner shell's: home, user_home, the launcher
timeout --kill-after=10 "$timeout_seconds" "$scripts/netns-hosts" exec hilo-h1 \
  sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' "$home" "$user_home" "${launcher[@]}" \
  >"$output" 2>&1 </dev/null || launcher_status=$?
cat "$output"

failed=0
check_output "$output" "$expect" 1 "$launcher_status" "$timeout_seconds" || failed=1
if [ $failed -eq 0 ]; then
  check_distinct_hosts "$output" 2 <(printf '%s x\n' "${ssh_hosts[@]}") || failed=1
fi
h1_address=$(address_of hilo-h1)
for host in "${ssh_hosts[@]}"; do
  if grep -q "Accepted publickey for $(id -un) from $h1_address " "$work/$host/sshd.log"; then
    echo "$prog: sshd on $host accepted the key from $h1_address"
  else
    echo "$prog: FAILED: sshd on $host logged no accepted login from $h1_address:" >&2
    cat "$work/$host/sshd.log" >&2
    failed=1
  fi
done
[ $failed -eq 0 ] || exit 1
echo "$prog: PASSED"
