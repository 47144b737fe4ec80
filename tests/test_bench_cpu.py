"""bench/cpu.py: the CPU description read from /proc/cpuinfo text, and the FMA ceiling kernel's arithmetic.

bench/ is no package of the wheel: the module is loaded from its file (it imports only the standard
library at module level).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_CPU = Path(__file__).resolve().parents[1] / "bench" / "cpu.py"
_spec = importlib.util.spec_from_file_location("bench_cpu", BENCH_CPU)
cpu = sys.modules.setdefault("bench_cpu", importlib.util.module_from_spec(_spec))  # dataclasses look it up
_spec.loader.exec_module(cpu)

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2 vaes vpclmulqdq

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2 vaes vpclmulqdq
"""

SAPPHIRE_RAPIDS = """processor\t: 0
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512dq avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
"""

COOPER_LAKE_LIKE = """processor\t: 0
model name\t: Intel(R) Xeon(R) CPU
flags\t\t: avx fma avx2 avx512f avx512_bf16
"""

GRAVITON = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer\t: 0x41

processor\t: 1
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
"""


def test_cpuinfo_of_an_avx2_machine():
    info = cpu.parse_cpuinfo(ZEN3)
    assert (info.model, info.family, info.model_number, info.logical_cpus) == ("AMD EPYC", "25", "1", 2)
    assert info.instruction_sets == ["avx", "fma", "avx2"]
    assert info.widest_fma == "avx2-fma"
    assert cpu.bf16_units(info) is None
    assert info.describe() == "AMD EPYC (family 25, model 1), 2 logical CPUs"


def test_cpuinfo_of_avx512_machines_names_their_bf16_units():
    amx = cpu.parse_cpuinfo(SAPPHIRE_RAPIDS)
    assert amx.widest_fma == "avx512f"
    assert amx.instruction_sets == ["avx", "fma", "avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                                    "amx_tile", "amx_bf16", "amx_int8"]
    assert cpu.bf16_units(amx) == "AMX-BF16"
    assert cpu.bf16_units(cpu.parse_cpuinfo(COOPER_LAKE_LIKE)) == "AVX512-BF16"


def test_cpuinfo_without_model_name_or_x86_flags():
    info = cpu.parse_cpuinfo(GRAVITON)
    assert (info.model, info.family, info.logical_cpus) == ("unknown", None, 2)
    assert "asimd" in info.flags and info.widest_fma is None and info.instruction_sets == []
    assert cpu.parse_cpuinfo("").logical_cpus == 1


def test_fma_kernel_does_the_flops_it_counts(tmp_path):
    """A tiny run of the compiled kernel: the checksum of its accumulators is what `iterations` rounds of
    `chains` FMA chains per thread give in exact arithmetic, and its GFLOP/s is its FLOPs over its time."""
    if cpu.compiler() is None:
        pytest.skip("no C compiler (gcc) to build bench/fma_ceiling.c")
    this = cpu.this_cpu()
    if this.widest_fma is None:
        pytest.skip(f"no x86 FMA on this CPU ({this.model}): the kernel is x86-only")
    executable = cpu.build_kernel(tmp_path)
    run = cpu.run_kernel(executable, threads=2, iterations=1_000)  # 0.999**1000: the checksum tells counts apart
    assert run.isa == this.widest_fma  # the widest FMA that /proc/cpuinfo lists, as compiled for this CPU
    assert (run.lanes, run.threads) == ({"avx512f": 16, "avx2-fma": 8}[run.isa], 2)
    assert run.checksum == pytest.approx(cpu.expected_checksum(run), rel=1e-4)
    assert run.gflops == pytest.approx(run.flops / run.seconds / 1e9, rel=1e-3)
