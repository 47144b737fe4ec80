"""This CPU: its model and instruction sets, its fp32 FMA ceiling, and the best matmuls beside it.

The ceiling is what the hardware does: bench/fma_ceiling.c, compiled here with the system's C compiler
(-O3 -march=native), runs independent chains of the widest vector FMA the CPU has (AVX-512 where
/proc/cpuinfo lists avx512f, else AVX2's FMA3) on each of N threads, nothing else, the best of a few
runs. The other benchmarks report their GFLOP/s as fractions of it at the same thread count; a ratio
to a library's matmul says as much about the library's code path on this CPU as about ours (MKL's
sgemm halves on an AVX-512 Xeon with its AVX-512 paths turned off, while oneDNN's convolutions do not).
The matmuls: torch's (MKL sgemm) and numpy's (its own BLAS, threads set by OPENBLAS_NUM_THREADS in a
child process), 2048x2048 fp32, the best of 10.

Run: `.venv/bin/python -m bench.cpu [--threads 1 2]`.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

KERNEL_SOURCE = Path(__file__).resolve().with_name("fma_ceiling.c")
#: The flags the benchmarks name, in the order printed: the vector widths, then the bf16 and AMX units.
INSTRUCTION_SETS = ("avx", "fma", "avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                    "amx_tile", "amx_bf16", "amx_int8")
#: The kernel's ISA names (bench/fma_ceiling.c) and what they are.
KERNEL_ISAS = {"avx512f": "AVX-512 FMA (512-bit, 16 fp32 lanes)", "avx2-fma": "AVX2 FMA3 (256-bit, 8 fp32 lanes)"}
MATMUL_SIZE = 2048


@dataclass(frozen=True)
class CpuInfo:
    """What /proc/cpuinfo says of the CPU: model name, family and model numbers, flags, logical CPUs."""

    model: str
    family: str | None
    model_number: str | None
    flags: frozenset[str]
    logical_cpus: int

    @property
    def instruction_sets(self) -> list[str]:
        """The flags of `INSTRUCTION_SETS` this CPU has, in that order."""
        return [name for name in INSTRUCTION_SETS if name in self.flags]

    @property
    def widest_fma(self) -> str | None:
        """The kernel ISA (a key of `KERNEL_ISAS`) that the flags make the widest FMA; None without FMA."""
        if "avx512f" in self.flags:
            return "avx512f"
        return "avx2-fma" if {"fma", "avx"} <= self.flags else None

    def describe(self) -> str:
        numbers = f" (family {self.family}, model {self.model_number})" if self.family else ""
        return f"{self.model}{numbers}, {self.logical_cpus} logical CPUs"


def parse_cpuinfo(text: str) -> CpuInfo:
    """A /proc/cpuinfo text -> CpuInfo (the first processor's fields; flags from "flags" or, on Arm,
    "Features"; model "unknown" when no field names it)."""
    fields: dict[str, str] = {}
    processors = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "processor":
            processors += 1
        fields.setdefault(key, value.strip())
    model = fields.get("model name") or fields.get("cpu model") or fields.get("hardware") or "unknown"
    flags = fields.get("flags") or fields.get("features") or ""
    return CpuInfo(model=model, family=fields.get("cpu family"), model_number=fields.get("model"),
                   flags=frozenset(flags.split()), logical_cpus=max(processors, 1))


def this_cpu() -> CpuInfo:
    """`parse_cpuinfo` of this machine's /proc/cpuinfo (model "unknown", no flags, where there is none)."""
    path = Path("/proc/cpuinfo")
    return parse_cpuinfo(path.read_text() if path.exists() else "")


def bf16_units(info: CpuInfo) -> str | None:
    """The bf16 hardware torch's CPU autocast can use ("AMX-BF16", "AVX512-BF16"), or None."""
    if "amx_bf16" in info.flags:
        return "AMX-BF16"
    return "AVX512-BF16" if "avx512_bf16" in info.flags else None


@dataclass(frozen=True)
class KernelRun:
    """One run of the ceiling kernel: its ISA, fp32 lanes per vector, FMA chains per thread, threads,
    iterations, seconds, GFLOP/s and the checksum of its accumulators."""

    isa: str
    lanes: int
    chains: int
    threads: int
    iterations: int
    seconds: float
    gflops: float
    checksum: float

    @property
    def flops(self) -> int:
        """2 (multiply and add) x lanes x chains x iterations x threads."""
        return 2 * self.lanes * self.chains * self.iterations * self.threads


def compiler() -> str | None:
    """The C compiler to build the kernel with: $CC, else gcc or cc on the PATH; None without one."""
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")


def build_kernel(directory: Path) -> Path:
    """Compile bench/fma_ceiling.c into `directory` for this CPU; returns the executable.
    RuntimeError with the compiler's message when there is no compiler or it fails."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler (gcc, cc or $CC) to build the FMA kernel")
    executable = Path(directory) / "fma_ceiling"
    result = subprocess.run([cc, "-O3", "-march=native", "-pthread", str(KERNEL_SOURCE), "-o", str(executable)],
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{cc} could not build {KERNEL_SOURCE.name}: {result.stderr.strip()[-400:]}")
    return executable


def run_kernel(executable: Path, threads: int, iterations: int) -> KernelRun:
    """One run of the built kernel on `threads` threads of `iterations` rounds of FMAs each."""
    output = subprocess.run([str(executable), str(threads), str(iterations)], capture_output=True, text=True,
                            check=True).stdout.split()
    isa, lanes, chains, ran_threads, seconds, gflops, checksum = output
    return KernelRun(isa, int(lanes), int(chains), int(ran_threads), iterations, float(seconds), float(gflops),
                     float(checksum))


def expected_checksum(run: KernelRun) -> float:
    """The kernel's checksum in exact arithmetic: chain k of thread t starts at 1 + t + k in every lane
    and runs a <- 0.999 a + 0.001 (fixed point 1) `iterations` times."""
    decay = 0.999**run.iterations
    return run.lanes * sum(1 + (thread + chain) * decay
                           for thread in range(run.threads) for chain in range(run.chains))


@functools.cache
def fma_ceiling(threads: int, seconds: float = 0.25, repeats: int = 5) -> KernelRun | None:
    """The best of `repeats` kernel runs of about `seconds` each on `threads` threads (one per process:
    later calls return the first measurement); None where the kernel cannot be built here."""
    with tempfile.TemporaryDirectory(prefix="mixwave-bench-fma-") as directory:
        try:
            executable = build_kernel(Path(directory))
        except RuntimeError as error:
            print(f"FMA ceiling: skipped ({error})", file=sys.stderr)
            return None
        trial = run_kernel(executable, threads, 1_000_000)
        # At most 1000x the trial: a trial timed absurdly short must not make a run of hours.
        scaled = int(trial.iterations * seconds / max(trial.seconds, 1e-9))
        iterations = max(1_000_000, min(1000 * trial.iterations, scaled))
        return max((run_kernel(executable, threads, iterations) for _ in range(repeats)),
                   key=lambda run: run.gflops)


def torch_matmul_gflops(threads: int | None = None, size: int = MATMUL_SIZE, repeats: int = 10) -> float:
    """A size x size fp32 torch matmul's GFLOP/s (MKL sgemm on x86), the best of `repeats`, on `threads`
    torch threads (None: as set)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeats))
    finally:
        torch.set_num_threads(previous)
    return 2 * size**3 / best / 1e9


_NUMPY_MATMUL = """
import time, numpy as np
rng = np.random.default_rng(0)
a, b = (rng.standard_normal(({size}, {size}), dtype=np.float32) for _ in range(2))
a @ b
best = min(-time.perf_counter() + (a @ b, time.perf_counter())[1] for _ in range({repeats}))
print(2 * {size} ** 3 / best / 1e9)
"""


def numpy_matmul_gflops(threads: int, size: int = MATMUL_SIZE, repeats: int = 10) -> float:
    """A size x size fp32 numpy matmul's GFLOP/s (numpy's BLAS), the best of `repeats`, in a child process
    whose BLAS is limited to `threads` threads (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS)."""
    limits = {name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", _NUMPY_MATMUL.format(size=size, repeats=repeats)],
                            capture_output=True, text=True, check=True, env={**os.environ, **limits})
    return float(result.stdout.split()[-1])


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(threads: tuple[int, ...] = (1, 2)) -> dict:
    """The CPU's description, and per thread count its FMA ceiling and the torch and numpy matmuls'
    GFLOP/s ("best_matmul": the faster); thread counts above the logical CPUs are left out."""
    info = this_cpu()
    counts = sorted({count for count in threads if count <= info.logical_cpus} or {1})
    per_threads = {}
    for count in counts:
        ceiling = fma_ceiling(count)
        matmuls = {"torch": torch_matmul_gflops(count), "numpy": numpy_matmul_gflops(count)}
        per_threads[count] = {"ceiling": ceiling, "ceiling_gflops": ceiling.gflops if ceiling else None,
                              "matmul_gflops": matmuls, "best_matmul": max(matmuls.values())}
    return {"info": info, "threads": per_threads}


def share(gflops: float, ceiling: float | None) -> str:
    """`gflops` as a fraction of `ceiling`, "n/a" without one."""
    return "n/a" if not ceiling else f"{gflops / ceiling:.2f}"


def report(figures: dict) -> None:
    """Print the CPU, its ceiling per thread count, and the matmuls against it."""
    info = figures["info"]
    print(f"CPU: {info.describe()}")
    print(f"instruction sets: {', '.join(info.instruction_sets) or 'none of ' + ', '.join(INSTRUCTION_SETS)}")
    widest = info.widest_fma
    print(f"widest FMA by /proc/cpuinfo: {KERNEL_ISAS.get(widest, 'none')}")
    print(f"{'threads':>7} {'FMA ceiling':>12} {'torch matmul':>13} {'of ceiling':>10} {'numpy matmul':>13} "
          f"{'of ceiling':>10}   (GFLOP/s, fp32, {MATMUL_SIZE}^2 matmuls)")
    for count, row in figures["threads"].items():
        matmuls, ceiling = row["matmul_gflops"], row["ceiling_gflops"]
        ceiling_text = "skipped" if ceiling is None else f"{ceiling:.1f}"
        print(f"{count:>7} {ceiling_text:>12} {matmuls['torch']:13.1f} {share(matmuls['torch'], ceiling):>10} "
              f"{matmuls['numpy']:13.1f} {share(matmuls['numpy'], ceiling):>10}")
    kernel = next((row["ceiling"] for row in figures["threads"].values() if row["ceiling"]), None)
    if kernel is not None:
        print(f"ceiling kernel: {KERNEL_ISAS[kernel.isa]}, {kernel.chains} independent FMA chains per thread, "
              f"the best of 5 runs of ~0.25 s" + ("" if kernel.isa == widest else
                                                  f" (NOT the widest FMA /proc/cpuinfo lists: {widest})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to measure")
    args = parser.parse_args()
    report(measure(tuple(args.threads)))


if __name__ == "__main__":
    main()
