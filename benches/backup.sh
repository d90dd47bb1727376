#!/usr/bin/env bash
# The backup benchmark: warroom's backup and restore against, in the same run, the stock
# pipeline doing the same work (tar | zstd -1 -T0 | age | sha256sum) and restic.
#
#   benches/backup.sh [SIZE_MIB] [RUNS] [only-warroom]   # defaults: 1024 MiB, 3 runs (medians)
#   BASELINE_BIN=/path/to/an/older/warroom benches/backup.sh ...
#                                  # also that build's backup, in the same runs: "within 5%" checks
#
# Needs: python3, age, zstd, restic, GNU time (apt install age zstd restic time).
# Data: benches/gen_backup_data.py, fixed seed: ~40% logs in small files, 30% JSON/CSV,
# 30% incompressible binaries. Everything runs from the page cache (the data is read once
# before the first run), so the figures compare CPU and pipeline design, not the disk.
set -euo pipefail
SIZE=${1:-1024}
RUNS=${2:-3}
ONLY=${3:-}
cd "$(dirname "$0")/.."
for tool in age zstd restic python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
cargo build --release --quiet
BIN=$PWD/target/release/warroom
W=$(mktemp -d "${TMPDIR:-/tmp}/warroom-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
# BENCH_DATA=DIR reuses a data set made before (by gen_backup_data.py with this size).
if [ -n "${BENCH_DATA:-}" ]; then
  [ -d "$BENCH_DATA" ] || python3 benches/gen_backup_data.py "$BENCH_DATA" "$SIZE" 42 >&2
  ln -s "$BENCH_DATA" "$W/data"
else
  python3 benches/gen_backup_data.py "$W/data" "$SIZE" 42 >&2
fi
cat "$W"/data/*/* "$W"/data/*/*/* >/dev/null 2>&1 || true
"$BIN" keygen --out "$W/key.txt" >"$W/pub.txt" 2>/dev/null
PUB=$(sed -n 's/^recipients = \["\(.*\)"\]$/\1/p' "$W/pub.txt")
SIGNER=$(sed -n 's/^signers = \["\(.*\)"\]$/\1/p' "$W/pub.txt")
export RESTIC_PASSWORD=bench

config() { # $1: kind, $2: the file (default warroom.toml), $3: "unsigned" for a baseline from before signing
  local file=${2:-warroom.toml}
  local signing="signers = [\"$SIGNER\"]
signing_key_file = \"$W/key.txt.signing\""
  [ "${3:-}" = unsigned ] && signing=""
  cat >"$W/$file" <<TOML
[console]
operator = "bench"
state_dir = "$W/state"
[encryption]
recipients = ["$PUB"]
identity_file = "$W/key.txt"
$signing
[[locations]]
name = "disk"
kind = "fs"
path = "$W/repo"
media = "disk"
[[systems]]
name = "bench"
tier = 4
[systems.backup]
source = { path = "$(readlink -f "$W/data")" }
kind = "$1"
every = "24h"
locations = ["disk"]
TOML
}

# measure NAME CMD...: appends "name wall cpu rss_kib" to results.
measure() {
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
  read -r wall user sys rss <"$W/time"
  echo "$name $wall $user $sys $rss" >>"$W/results"
}

fresh() { rm -rf "$W/repo" "$W/state" "$W/restic" "$W/stock.age" "$W/out"; mkdir -p "$W/repo"; }

# ext4 will not reuse an inode freed in the last 60 s (longer while its table block is dirty):
# creating 13,000 files right after deleting as many scans past every one of them, and whichever
# restore runs soonest after a delete pays for it. Before each restore: write back, wait it out.
# RESTORE_SETTLE=0 skips the wait.
settle() { sync; sleep "${RESTORE_SETTLE:-61}"; }

for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS" >&2
  # warroom: a full backup (tar, zstd, age, SHA-256, written, then read back and verified).
  fresh; config incremental
  measure warroom-backup "$BIN" -c "$W/warroom.toml" backup run bench
  STORED_W=$(du -sb "$W/repo" | cut -f1)
  # ... an incremental over the unchanged tree (metadata only).
  measure warroom-nochange "$BIN" -c "$W/warroom.toml" backup run bench
  ID=$("$BIN" -c "$W/warroom.toml" backup list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backups"][0]["id"])')
  settle
  measure warroom-restore "$BIN" -c "$W/warroom.toml" backup restore "$ID" --to "$W/out" --yes
  rm -rf "$W/out"
  if [ -n "${BASELINE_BIN:-}" ]; then
    # The older build, same data, same work, right after.
    fresh; config incremental baseline.toml unsigned
    measure baseline-backup "$BASELINE_BIN" -c "$W/baseline.toml" backup run bench
    measure baseline-nochange "$BASELINE_BIN" -c "$W/baseline.toml" backup run bench
  fi

  [ "$ONLY" = "only-warroom" ] && continue
  # The stock pipeline doing the same work (no verification read-back).
  measure stock-backup bash -c "tar c -C '$W/data/' . | zstd -1 -T0 -q | age -r '$PUB' | tee >(sha256sum >'$W/stock.sum') >'$W/stock.age'"
  STORED_S=$(stat -c %s "$W/stock.age")
  mkdir -p "$W/out"
  settle
  measure stock-restore bash -c "age -d -i '$W/key.txt' '$W/stock.age' | zstd -d -q | tar x -C '$W/out'"
  rm -rf "$W/out"

  # restic: a first backup into a fresh repository, a no-change second run, a restore.
  restic -r "$W/restic" init --quiet >/dev/null
  measure restic-backup restic -r "$W/restic" backup "$(readlink -f "$W/data")" --quiet
  STORED_R=$(du -sb "$W/restic" | cut -f1)
  measure restic-nochange restic -r "$W/restic" backup "$(readlink -f "$W/data")" --quiet
  settle
  measure restic-restore restic -r "$W/restic" restore latest --target "$W/out" --quiet
  rm -rf "$W/out"
done

python3 - "$W/results" "$SIZE" "$STORED_W" "${STORED_S:-0}" "${STORED_R:-0}" <<'PY'
import statistics, sys
path, size = sys.argv[1], int(sys.argv[2])
stored = {"warroom-backup": int(sys.argv[3]), "stock-backup": int(sys.argv[4]), "restic-backup": int(sys.argv[5])}
rows = {}
for line in open(path):
    name, wall, user, system, rss = line.split()
    rows.setdefault(name, []).append((float(wall), float(user) + float(system), int(rss)))
med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in rows.items()}
print(f"{size} MiB, medians of {len(next(iter(rows.values())))} runs\n")
print(f"{'run':<18} {'wall s':>8} {'MB/s':>8} {'CPU s':>7} {'CPU-s/GiB':>10} {'cores busy':>11} {'peak RSS':>10} {'stored':>10}")
for name in ["warroom-backup", "baseline-backup", "stock-backup", "restic-backup", "warroom-nochange",
             "baseline-nochange", "restic-nochange",
             "warroom-restore", "stock-restore", "restic-restore"]:
    if name not in med:
        continue
    wall, cpu, rss = med[name]
    rate = size * 1.048576 / wall if "nochange" not in name else float("nan")
    st = f"{stored[name] / 1048576:.0f} MiB" if name in stored else ""
    per_gib = cpu / (size / 1024) if "nochange" not in name else float("nan")
    print(f"{name:<18} {wall:>8.2f} {rate:>8.0f} {cpu:>7.2f} {per_gib:>10.2f} {cpu / wall:>11.2f} {rss / 1024:>7.0f} MiB {st:>10}")
if "baseline-backup" in med:
    (bw, bc, br), (ww, wc, wr) = med["baseline-backup"], med["warroom-backup"]
    print(f"\nagainst the baseline build: backup {bw / ww:.3f}x its speed ({ww:.2f} s against {bw:.2f} s), "
          f"CPU {wc / bc:.3f}x, peak RSS {wr / br:.3f}x ({wr / 1024:.0f} MiB against {br / 1024:.0f} MiB)")
if "stock-backup" not in med:
    sys.exit(0)
w, s, r = med["warroom-backup"][0], med["stock-backup"][0], med["restic-backup"][0]
print(f"\nbackup: {s / w:.2f}x the stock pipeline, {r / w:.2f}x restic's first backup")
print(f"no-change incremental: {med['restic-nochange'][0] / med['warroom-nochange'][0]:.2f}x faster than restic's")
print(f"restore: {med['restic-restore'][0] / med['warroom-restore'][0]:.2f}x restic's speed, "
      f"{med['stock-restore'][0] / med['warroom-restore'][0]:.2f}x the stock pipeline's")
PY
