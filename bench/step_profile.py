"""Where a CPU training step of the default configuration spends its time, against this CPU's FMA ceiling.

Two views of the step of configs/default_model_cpu.yaml (batch 8, its crop; forward, `TrainingLoss`,
backward, as CPU training runs it: `cpu_training_convolutions`), on N threads (default 1):
- torch.profiler's per-op table over a few steps: self CPU time per op, its share of the step, calls;
- each convolution of the network on its own, at the shapes the step gives it: the forward, the input
  gradient (as training computes it: a forward convolution for the long kernels, oneDNN's backward for
  the others) and the weight gradient (oneDNN's), each timed alone (the best of a few runs) with its FLOPs
  (2 x multiply-adds), as GFLOP/s and as a fraction of the ceiling; then the step's time split into
  the convolutions (their sum) and the rest (activations, crops, concatenations, upsampling, loss).

Run: `.venv/bin/python -m bench.step_profile [--threads 1] [--repeats 5]`.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.cpu import fma_ceiling, share
from bench.training import gradient_model, network_flops, random_batch, timed_step, training_config
from mixwave_hf.training import TrainingLoss
from mixwave_hf.training.convolutions import LongKernelConv1d, cpu_training_convolutions


@dataclass(frozen=True)
class ConvolutionTiming:
    """One convolution layer at the step's shapes: its name, [batch, in, n] input, kernel taps, output
    channels, FLOPs of one pass (each pass has the same count) and the best seconds of each pass; the input
    gradient None where training computes none (the first layer's input is the tracks)."""

    name: str
    input_shape: tuple[int, int, int]
    taps: int
    out_channels: int
    flops: int
    forward: float
    input_gradient: float | None
    weight_gradient: float

    @property
    def passes(self) -> int:
        return 2 if self.input_gradient is None else 3

    @property
    def seconds(self) -> float:
        return self.forward + (self.input_gradient or 0.0) + self.weight_gradient


def step_seconds(model, loss_function, tracks, target, repeats: int) -> float:
    """The best seconds of `repeats` steps (forward, loss, backward), after a warm one."""
    timed_step(model, loss_function, tracks, target)
    return min(timed_step(model, loss_function, tracks, target) for _ in range(repeats))


def op_table(model, loss_function, tracks, target, steps: int = 3, rows: int = 14) -> str:
    """torch.profiler's table of the ops' self CPU time over `steps` steps (after a warm one), `rows` rows."""
    from torch.profiler import ProfilerActivity, profile

    timed_step(model, loss_function, tracks, target)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            timed_step(model, loss_function, tracks, target)
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=40)


def convolution_inputs(model, tracks: torch.Tensor) -> dict[str, tuple[nn.Conv1d, torch.Tensor]]:
    """{layer name: (the conv, its input in a forward of `tracks`)}."""
    inputs: dict[str, tuple[nn.Conv1d, torch.Tensor]] = {}

    def keep(name: str):
        def hook(module: nn.Conv1d, args: tuple) -> None:  # a pre-hook returning something replaces the input
            inputs[name] = (module, args[0])
        return hook

    hooks = [module.register_forward_pre_hook(keep(name)) for name, module in model.named_modules()
             if isinstance(module, nn.Conv1d)]
    try:
        with torch.no_grad():
            model(tracks)
    finally:
        for hook in hooks:
            hook.remove()
    return inputs


def best_seconds(function, repeats: int) -> float:
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def time_convolution(name: str, conv: nn.Conv1d, inputs: torch.Tensor, repeats: int,
                     input_gradient: bool = True) -> ConvolutionTiming:
    """The forward, input gradient (if `input_gradient`) and weight gradient of `conv` on `inputs`, each timed
    alone, as training runs them (`LongKernelConv1d`'s input gradient for the long kernels)."""
    weight, bias = conv.weight.detach(), conv.bias.detach() if conv.bias is not None else None
    output = F.conv1d(inputs, weight, bias)
    grad = torch.randn_like(output)
    taps = weight.shape[-1]
    if isinstance(conv, LongKernelConv1d):
        def backward_data():
            return F.conv1d(F.pad(grad, (taps - 1, taps - 1)), weight.flip(-1).transpose(0, 1))
    else:
        def backward_data():
            return torch.ops.aten.convolution_backward(grad, inputs, weight, None, [1], [0], [1], False, [0], 1,
                                                       [True, False, False])
    def weight_gradient():
        return torch.ops.aten.convolution_backward(grad, inputs, weight, [weight.shape[0]], [1], [0], [1], False,
                                                   [0], 1, [False, True, True])
    flops = 2 * output.numel() * weight.shape[1] * taps
    return ConvolutionTiming(name, tuple(inputs.shape), taps, weight.shape[0], flops,
                             best_seconds(lambda: F.conv1d(inputs, weight, bias), repeats),
                             best_seconds(backward_data, repeats) if input_gradient else None,
                             best_seconds(weight_gradient, repeats))


def measure(threads: int = 1, repeats: int = 5) -> dict:
    """The step's per-op table, its convolutions' timings and the step's best seconds and FLOPs on `threads`."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        config = training_config()
        model = cpu_training_convolutions(gradient_model(config))
        tracks, target = random_batch(model, config)
        loss_function = TrainingLoss(config.loss.l1, config.loss.stft)
        seconds = step_seconds(model, loss_function, tracks, target, repeats)
        table = op_table(model, loss_function, tracks, target)
        layers = [time_convolution(name, conv, inputs, repeats, input_gradient=inputs is not tracks)
                  for name, (conv, inputs) in convolution_inputs(model, tracks).items()]
        flops = network_flops(model, config.training.batch_size, tracks.shape[-1])
    finally:
        torch.set_num_threads(previous)
    convolutions = sum(layer.seconds for layer in layers)
    return {"threads": threads, "step_seconds": seconds, "network_flops": flops, "table": table, "layers": layers,
            "convolution_seconds": convolutions,
            "convolution_gflops": sum(layer.passes * layer.flops for layer in layers) / convolutions / 1e9}


def report(figures: dict) -> None:
    """Print the per-op table, the per-convolution rows and the step's split."""
    threads, layers, step = figures["threads"], figures["layers"], figures["step_seconds"]
    ceiling = fma_ceiling(threads)
    ceiling_gflops = ceiling.gflops if ceiling else None
    gflops = figures["network_flops"] / step / 1e9
    print(f"default configuration's step (forward, loss, backward; batch 8) on {threads} thread(s): "
          f"{1e3 * step:.0f} ms, network {figures['network_flops'] / 1e9:.1f} GFLOP: {gflops:.0f} GFLOP/s = "
          f"{share(gflops, ceiling_gflops)} of the FMA ceiling")
    print("torch.profiler, self CPU time per op over 3 steps:")
    print(figures["table"])
    print(f"{'layer':<12} {'input':>16} {'taps':>4} {'out':>4} {'GFLOP':>6}  {'forward':>15} {'input grad':>15} "
          f"{'weight grad':>15}   (ms, fraction of the ceiling)")
    for layer in layers:
        cells = []
        for seconds in (layer.forward, layer.input_gradient, layer.weight_gradient):
            cells.append("(none)" if seconds is None else
                         f"{1e3 * seconds:6.1f} {share(layer.flops / seconds / 1e9, ceiling_gflops):>8}")
        print(f"{layer.name:<12} {str(list(layer.input_shape)):>16} {layer.taps:4d} {layer.out_channels:4d} "
              f"{layer.flops / 1e9:6.2f}  " + " ".join(f"{cell:>15}" for cell in cells))
    convolutions = figures["convolution_seconds"]
    flops = figures["convolution_gflops"] * convolutions * 1e9
    passes = {name: sum(getattr(layer, name) or 0.0 for layer in layers) for name in ("forward", "input_gradient",
                                                                                      "weight_gradient")}
    print(f"convolutions alone: {1e3 * convolutions:.0f} ms ({flops / 1e9:.1f} GFLOP, "
          f"{share(figures['convolution_gflops'], ceiling_gflops)} of the ceiling; forward "
          f"{1e3 * passes['forward']:.0f}, input gradients {1e3 * passes['input_gradient']:.0f}, weight gradients "
          f"{1e3 * passes['weight_gradient']:.0f} ms); the rest of the step {1e3 * (step - convolutions):.0f} ms "
          f"({(step - convolutions) / step:.0%}): activations, crops, concatenations, upsampling, the loss")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each piece (the best is kept)")
    args = parser.parse_args()
    report(measure(args.threads, args.repeats))


if __name__ == "__main__":
    main()
