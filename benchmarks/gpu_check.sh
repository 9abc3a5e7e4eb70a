#!/usr/bin/env bash
# The GPU check of issue 25, as one short script for a machine with CUDA (the device tool's
# `run`, or any GPU box): the test suite's device tests, then the scaling benchmark at 10^6
# nodes on the GPU. Writes to ${OUT:-results/gpu-check}. About 10 minutes on one H200.
#   bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-results/gpu-check}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" | tee -a "$out/gpu.txt"
python3 -m pytest -q tests/test_device.py 2>&1 | tee "$out/device-tests.txt"
status=${PIPESTATUS[0]}
timeout 420 python3 benchmarks/scaling.py --method gmim --nodes 1000000 --set device=cuda \
  --set hidden=128 --out "$out/scaling-gmim-1m.md" 2>&1 | tee "$out/scaling.txt"
exit "$status"
