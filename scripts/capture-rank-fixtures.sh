#!/usr/bin/env bash
# Captures test/scenarios/gloo_straggler.py as a real 4-rank gloo job on the CPU (one process per
# rank, started here with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT) twice: with GPU Lens's torch
# launcher (exact lines) into test/fixtures/ranks/gloo-torch/rankN.json.gz, and with Nsight
# Systems (OS runtime + NVTX), one report per rank, exported and scrubbed into
# test/fixtures/ranks/gloo-nsys/rankN.sqlite. Needs /usr/bin/python3 with torch (python3-torch),
# nsys and libnvToolsExt.so.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
importer=/usr/lib/nsight-systems/host-linux-x64/QdstrmImporter
torch_out="$root/test/fixtures/ranks/gloo-torch"
nsys_out="$root/test/fixtures/ranks/gloo-nsys"
mkdir -p "$torch_out" "$nsys_out"
cd "$root/test/scenarios"
export WORLD_SIZE=4 MASTER_ADDR=127.0.0.1
ranks=(0 1 2 3)

# One job: every rank in the background, then wait for all (a failed rank fails the script).
run_job() {
  local pids=() r
  for r in "${ranks[@]}"; do
    RANK=$r "$@" "$r" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

torch_rank() {
  /usr/bin/python3 "$root/python/gpu_lens_torch_launcher.py" --exact-lines --workspace "$root/test/scenarios" \
    --out "$work/rank$1.json" gloo_straggler.py
}
nsys_rank() {
  nsys profile --trace=osrt,nvtx --sample=none --cpuctxsw=none --force-overwrite true \
    -o "$work/nsys-rank$1" /usr/bin/python3 gloo_straggler.py >/dev/null
}

MASTER_PORT=$((29600 + RANDOM % 300)) run_job torch_rank
for r in "${ranks[@]}"; do gzip -9 -c "$work/rank$r.json" >"$torch_out/rank$r.json.gz"; done

MASTER_PORT=$((29900 + RANDOM % 300)) run_job nsys_rank
for r in "${ranks[@]}"; do
  rep="$work/nsys-rank$r"
  # Debian's packaging does not find its importer: convert the leftover .qdstrm ourselves.
  if [ ! -f "$rep.nsys-rep" ] && [ -f "$rep.qdstrm" ]; then "$importer" -i "$rep.qdstrm" >/dev/null; fi
  nsys export --type sqlite --force-overwrite true -o "$nsys_out/rank$r.sqlite" "$rep.nsys-rep" >/dev/null 2>&1
  python3 "$root/scripts/scrub-nsys-export.py" "$nsys_out/rank$r.sqlite"
done
ls -l "$torch_out" "$nsys_out"
