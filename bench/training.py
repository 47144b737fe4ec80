"""Training throughput: steps and crops per second of a MixWaveUNet, forward + L1 + backward + Adam.

Run: `.venv/bin/python -m bench.training [--batch-size 4] [--steps 3]` (CPU, and CUDA fp32/bf16 when
available). `bench/run.py` puts these figures in the one table of `make bench`.
"""

from __future__ import annotations

import argparse
import time

import torch

from mixwave_hf.model import MixWaveUNet

#: A smaller configuration of the same architecture, for CPU training (1.5 M parameters).
SMALL_CONFIG = {"levels": 8, "base_channels": 16}


def measure_training(model: MixWaveUNet, batch_size: int = 4, steps: int = 3, device: str = "cpu",
                     bf16: bool = False, output_samples: int = 88_200) -> dict[str, float]:
    """Seconds per training step on random crops of the model's valid size for `output_samples`;
    returns step_seconds, crops_per_second and, on CUDA, peak_memory_gb."""
    torch.manual_seed(0)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    lengths = model.valid_lengths(output_samples)
    tracks = torch.randn(batch_size, len(model.slot_names), lengths.input, device=device) * 0.1
    target = torch.randn(batch_size, model.outputs, lengths.output, device=device) * 0.1

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.l1_loss(model(tracks).float(), target)
        loss.backward()
        optimizer.step()

    def synchronise() -> None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    step()  # warm
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    synchronise()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronise()
    seconds = (time.perf_counter() - start) / steps
    figures = {"step_seconds": seconds, "crops_per_second": batch_size / seconds}
    if torch.device(device).type == "cuda":
        figures["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    for name, options in (("paper", {}), ("small", SMALL_CONFIG)):
        figures = measure_training(MixWaveUNet(**options), args.batch_size, args.steps)
        print(f"CPU {name}: {figures['step_seconds']:.2f} s/step, {figures['crops_per_second']:.2f} crops/s")
    if torch.cuda.is_available():
        for bf16 in (False, True):
            figures = measure_training(MixWaveUNet(), 16, 20, "cuda", bf16)
            print(f"CUDA paper {'bf16' if bf16 else 'fp32'} batch 16: {figures['step_seconds'] * 1e3:.0f} ms/step, "
                  f"{figures['crops_per_second']:.0f} crops/s, peak {figures['peak_memory_gb']:.1f} GB")
    else:
        print("CUDA: skipped (no GPU on this machine)")


if __name__ == "__main__":
    main()
