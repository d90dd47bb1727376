#!/usr/bin/env bash
# The console's idle cost and start-up time, measured on the release binary in tmux.
#
#   benches/console.sh            # idle CPU over 60 s with 50 systems; first frame with 1,000
#   IDLE_SECONDS=10 benches/console.sh
#
# Idle CPU is read from /proc/PID/stat (utime + stime) while nobody touches the console; the
# time to first frame is what the console logs ("first frame drawn", measured from the start
# of main), as the median of 5 starts on an existing state directory.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/warroom
work=$(mktemp -d)
sock=warroom-bench-$$
trap 'tmux -L $sock kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 benches/gen_estate.py 50 > "$work/estate-50.toml"
python3 benches/gen_estate.py 1000 > "$work/estate-1000.toml"
hz=$(getconf CLK_TCK)
idle=${IDLE_SECONDS:-60}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# --- idle CPU, 50 systems ---
tmux -L "$sock" new-session -d -s idle -x 200 -y 60 \
    "XDG_STATE_HOME=$work/state $bin --config $work/estate-50.toml"
pid=""
for _ in $(seq 100); do
    # The console itself (its process name), not tmux or the shell whose command lines
    # also mention the file.
    pid=$(for p in $(pgrep -x warroom); do grep -qa estate-50.toml /proc/$p/cmdline && echo $p; done | head -1)
    [ -n "$pid" ] && break
    sleep 0.05
done
[ -n "$pid" ] || { echo "the console did not start"; exit 1; }
sleep 5
before=$(cpu_ticks "$pid")
sleep "$idle"
after=$(cpu_ticks "$pid")
tmux -L "$sock" kill-session -t idle
awk -v t=$((after - before)) -v hz="$hz" -v s="$idle" \
    'BEGIN { printf "idle CPU, 50 systems, %ds: %.3f%% of one core (%d ticks of 1/%d s)\n", s, 100 * t / hz / s, t, hz }'

# --- time to first frame, 1,000 systems ---
state="$work/state-1000"
times=()
for run in 0 1 2 3 4 5; do
    log_dir="$state/warroom/logs"
    rm -f "$log_dir"/warroom.log.* 2>/dev/null || true
    tmux -L "$sock" new-session -d -s "start$run" -x 200 -y 60 \
        "XDG_STATE_HOME=$state $bin --config $work/estate-1000.toml"
    ms=""
    for _ in $(seq 200); do
        ms=$(grep -ho 'first frame drawn ms=[0-9]*' "$log_dir"/warroom.log.* 2>/dev/null | head -1 | sed 's/.*ms=//' || true)
        [ -n "$ms" ] && break
        sleep 0.05
    done
    tmux -L "$sock" kill-session -t "start$run"
    [ -n "$ms" ] || { echo "no first frame logged"; exit 1; }
    # Run 0 creates the state database; the others start as a console normally does.
    [ "$run" -gt 0 ] && times+=("$ms")
    sleep 0.2
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "time to first frame, 1,000 systems: median ${median} ms (runs: ${sorted})"
