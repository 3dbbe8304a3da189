#!/usr/bin/env bash
# Installs the Debian packages GPU Lens' tests need: Chromium (UI tests), libkrb5-dev (code-server's
# native build), Nsight Systems + libnvToolsExt (real nsys captures, from contrib/non-free),
# python3-torch (real torch.profiler captures) and slurm-wlm + munge (a one-node Slurm cluster for the
# multi-rank capture tests). Idempotent; needs root (CI and dev machines are root).
# `--check` only prints the missing packages' names on one line (empty when none) and installs nothing:
# scripts/ensure-system-deps.mjs runs it before `npm test` and `npm run demo`.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
command -v nsys >/dev/null || need+=(nsight-systems)
dpkg -s libnvtoolsext1 >/dev/null 2>&1 || need+=(libnvtoolsext1)
python3 -c 'import torch' 2>/dev/null || /usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
command -v slurmctld >/dev/null || need+=(slurm-wlm)
command -v munged >/dev/null || need+=(munge)
if [ "${1:-}" = --check ]; then
  echo "${need[*]}"
  exit 0
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

# nsight-systems and libnvtoolsext1 live in Debian's contrib/non-free components.
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'non-free' "$src"; then
  sed -i 's/^Components: main$/Components: main contrib non-free/' "$src"
elif [ -f /etc/apt/sources.list ] && ! grep -q 'non-free' /etc/apt/sources.list; then
  sed -i -E 's/^(deb .* main)$/\1 contrib non-free/' /etc/apt/sources.list
fi

echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system packages: installed ${need[*]}"
