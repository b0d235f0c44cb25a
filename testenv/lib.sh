# shellcheck shell=bash disable=SC2034 # the variables are used by up and down
# Shared by testenv/up and testenv/down: paths, pinned versions, logging and
# the bookkeeping of the processes they start. Source it; do not run it.

# Where things live. Everything below testenv/ that starts with a dot is
# git-ignored local state.
TESTENV=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$TESTENV")
BIN=$TESTENV/.bin       # go-installed servers and the helper
NODE=$TESTENV/.node     # npm prefix for Azurite
STATE=$TESTENV/.state   # per-server data, logs, pid files, env
HELPER=$BIN/testenv-helper

# Pinned versions (see /work/shared/TESTENV.md for why these).
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
FAKEGCS_MODULE=github.com/fsouza/fake-gcs-server
FAKEGCS_VERSION=v1.56.1
AZURITE_VERSION=3.37.0
APT_PACKAGES=(swift swift-proxy swift-account swift-container swift-object memcached)

# azure-oauth is a second Azurite, over https with --oauth basic, for the
# azure backend's bearer-token (client_secret) requests.
ALL_BACKENDS=(s3 gcs azure azure-oauth swift)

# How long to wait for a server to answer, and for a process to exit.
START_TIMEOUT=${STOWAGE_TESTENV_START_TIMEOUT:-90}
STOP_TIMEOUT=${STOWAGE_TESTENV_STOP_TIMEOUT:-15}

# log MESSAGE: to stderr, with the seconds since the script started.
log() { printf 'testenv [%3ds]: %s\n' "$SECONDS" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# check_backend NAME: fail unless NAME is a backend this script knows.
check_backend() {
	case $1 in
	s3 | gcs | azure | azure-oauth | swift) ;;
	*) die "unknown server '$1' (want some of: ${ALL_BACKENDS[*]})" ;;
	esac
}

# take_lock: serialize concurrent up/down calls on fd 9. Every process
# started while holding it must close fd 9 (spawn does).
take_lock() {
	mkdir -p "$STATE"
	exec 9>"$STATE/lock"
	if command -v flock >/dev/null 2>&1; then
		flock -w 900 9 || die "another testenv/up or testenv/down holds $STATE/lock"
	fi
}

# proc_starttime PID: start time of PID in clock ticks since boot. A pid
# and its start time together name one process for the life of the machine.
proc_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	printf '%s\n' "${20}"
}

# proc_cmdline PID: the command line of PID with NULs as spaces.
proc_cmdline() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null
}

# is_ours PID STARTTIME: true while PID is still the process we started
# (same start time) and has not exited (a zombie counts as exited).
is_ours() {
	local want=$2 stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat # $1 is the state letter, ${20} the start time
	[[ ${20} == "$want" && $1 != Z && $1 != X ]]
}

# pid file format, one process a line, in $STATE/<backend>/pids:
#   NAME PID STARTTIME STOPSIGNAL
# and $STATE/<backend>/cmdline.NAME holds the command line once it is up.

# record_pid BACKEND NAME PID STOPSIGNAL
record_pid() {
	local start
	start=$(proc_starttime "$3") || start=0
	printf '%s %s %s %s\n' "$2" "$3" "$start" "$4" >>"$STATE/$1/pids"
}

# record_cmdlines BACKEND: save each live process's command line, used by
# down as a second identity check.
record_cmdlines() {
	local name pid start sig
	[[ -f $STATE/$1/pids ]] || return 0
	while read -r name pid start sig; do
		proc_cmdline "$pid" >"$STATE/$1/cmdline.$name" || true
	done <"$STATE/$1/pids"
}

# all_alive BACKEND: every process recorded for BACKEND is still running.
all_alive() {
	local name pid start sig n=0
	[[ -f $STATE/$1/pids ]] || return 1
	while read -r name pid start sig; do
		is_ours "$pid" "$start" || return 1
		n=$((n + 1))
	done <"$STATE/$1/pids"
	((n > 0))
}

# dead_processes BACKEND: print the names of recorded processes that exited.
dead_processes() {
	local name pid start sig
	[[ -f $STATE/$1/pids ]] || return 0
	while read -r name pid start sig; do
		is_ours "$pid" "$start" || printf '%s ' "$name"
	done <"$STATE/$1/pids"
}

# stop_backend BACKEND: stop exactly the processes recorded for BACKEND,
# each with its own stop signal, escalating to SIGKILL after STOP_TIMEOUT
# seconds, then forget them. Returns non-zero if one would not die.
stop_backend() {
	local b=$1 pidfile=$STATE/$1/pids name pid start sig saved
	local -a live=()
	[[ -f $pidfile ]] || return 0
	while read -r name pid start sig; do
		is_ours "$pid" "$start" || continue
		# Second check: the command line recorded when it came up.
		if [[ -f $STATE/$b/cmdline.$name ]]; then
			saved=$(cat "$STATE/$b/cmdline.$name")
			if [[ -n $saved && $(proc_cmdline "$pid") != "$saved" ]]; then
				log "$b: pid $pid ($name) no longer runs what we started; leaving it alone"
				continue
			fi
		fi
		log "$b: stopping $name (pid $pid, SIG$sig)"
		kill -s "$sig" "$pid" 2>/dev/null || true
		live+=("$name:$pid:$start")
	done <"$pidfile"

	local entry
	mapfile -t live < <(wait_exit "$STOP_TIMEOUT" "${live[@]+"${live[@]}"}")
	if ((${#live[@]})); then
		for entry in "${live[@]}"; do
			IFS=: read -r name pid start <<<"$entry"
			log "$b: $name (pid $pid) did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
			kill -s KILL "$pid" 2>/dev/null || true
		done
		mapfile -t live < <(wait_exit 5 "${live[@]}")
	fi
	if ((${#live[@]})); then
		log "$b: still running after SIGKILL: ${live[*]}"
		return 1
	fi
	rm -f "$pidfile" "$STATE/$b"/cmdline.* "$STATE/$b/env"
}

# wait_exit TIMEOUT NAME:PID:START...: wait up to TIMEOUT seconds for the
# processes to exit; print the entries of those still running, one a line.
wait_exit() {
	local deadline=$((SECONDS + $1)) entry name pid start
	shift
	local -a live=("$@") left
	while ((${#live[@]})); do
		left=()
		for entry in "${live[@]}"; do
			IFS=: read -r name pid start <<<"$entry"
			if is_ours "$pid" "$start"; then left+=("$entry"); fi
		done
		live=("${left[@]+"${left[@]}"}")
		if ((${#live[@]} == 0 || SECONDS >= deadline)); then break; fi
		sleep 0.2
	done
	if ((${#live[@]})); then printf '%s\n' "${live[@]}"; fi
}

# write_env: $STATE/env gets the settings of every server that is up.
write_env() {
	local b tmp=$STATE/env.tmp
	: >"$tmp"
	for b in "${ALL_BACKENDS[@]}"; do
		if [[ -f $STATE/$b/env ]] && all_alive "$b"; then
			cat "$STATE/$b/env" >>"$tmp"
		fi
	done
	mv "$tmp" "$STATE/env"
}
