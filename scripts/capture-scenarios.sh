#!/usr/bin/env bash
# Captures the CPU-only scenario scripts in test/scenarios with Nsight Systems (OS runtime + NVTX,
# no GPU needed) and exports each to test/fixtures/scenarios/<name>.sqlite. Usage:
# capture-scenarios.sh [script-name…]
# Needs nsys (Debian nsight-systems 2022.4 works), libnvToolsExt.so.1 and python3.
# cudaMalloc churn, kernels and copies cannot be captured on a machine without a GPU.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/test/fixtures/scenarios"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
importer=/usr/lib/nsight-systems/host-linux-x64/QdstrmImporter
mkdir -p "$out"
cd "$root/test/scenarios"
# Names on the command line capture only those scripts (default: all of them).
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(sync_tool_call socket_wait cpu_preprocess agent_tools_inline
  agent_tools_pooled dataloader_inline dataloader_workers)
for script in "${scripts[@]}"; do
  rep="$work/$script"
  nsys profile --trace=osrt,nvtx --sample=none --cpuctxsw=none --force-overwrite true \
    -o "$rep" /usr/bin/python3 "$script.py"
  # Debian's packaging does not find its importer: convert the leftover .qdstrm ourselves.
  if [ ! -f "$rep.nsys-rep" ] && [ -f "$rep.qdstrm" ]; then "$importer" -i "$rep.qdstrm"; fi
  nsys export --type sqlite --force-overwrite true -o "$out/$script.sqlite" "$rep.nsys-rep" >/dev/null
  # The environment and stdout tables can hold personal data: drop them from the committed file.
  python3 "$root/scripts/scrub-nsys-export.py" "$out/$script.sqlite"
  ls -l "$out/$script.sqlite"
done
