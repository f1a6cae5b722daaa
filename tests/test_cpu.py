"""The CPU a sidecar records: model, architecture and the kernel-choosing features, on x86, Arm and without Linux."""

from __future__ import annotations

from pathlib import Path

import pytest

from ls_pipeline import cpu

X86 = """processor\t: 0
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse4_2 avx fma avx2 avx512f avx512bw avx512vl avx512_vnni avx_vnni sha_ni
processor\t: 1
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse4_2 avx fma avx2 avx512f avx512bw avx512vl avx512_vnni avx_vnni sha_ni
"""
ARM = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp sve i8mm bf16
CPU implementer\t: 0x41
"""


def fresh_record(monkeypatch: pytest.MonkeyPatch, cpuinfo: Path) -> dict[str, object]:
    monkeypatch.setattr(cpu, "CPUINFO", cpuinfo)
    cpu._read.cache_clear()  # read again, and again after the test
    monkeypatch.setattr(cpu, "_read", cpu._read.__wrapped__)
    return cpu.cpu_record()


def test_x86_features_in_a_fixed_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(X86)
    record = fresh_record(monkeypatch, tmp_path / "cpuinfo")
    assert record["model"] == "AMD EPYC 9R14 96-Core Processor"
    assert record["features"] == ["sse4_2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                                  "avx_vnni"]  # fmt: skip


def test_arm_features(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(ARM)
    assert fresh_record(monkeypatch, tmp_path / "cpuinfo")["features"] == ["asimd", "asimddp", "i8mm", "bf16", "sve"]


def test_without_proc_cpuinfo_numpy_says_which(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    here = cpu.cpu_record()["features"]  # from /proc/cpuinfo on Linux
    record = fresh_record(monkeypatch, tmp_path / "absent")
    assert record["model"] and record["arch"]
    assert set(record["features"]) <= set(cpu.KERNEL_FEATURES)
    # what numpy sees is what Linux says, less what numpy does not know (AMX, avx_vnni)
    assert set(record["features"]) <= set(here) and ("avx2" in here) == ("avx2" in record["features"])


def test_each_record_is_a_fresh_dict() -> None:
    first = cpu.cpu_record()
    first["features"].append("changed by a caller")
    assert "changed by a caller" not in cpu.cpu_record()["features"]
