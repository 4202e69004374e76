#!/usr/bin/env python3
"""make bench: hv's exit-path costs in host instructions.

The bench guest times each operation with RDTSC on emulators whose TSC counts instructions
(Bochs: always; QEMU: -icount shift=0,sleep=off), so a delta is the number of instructions the
whole round trip took, guest and hypervisor. Each configuration runs twice: the figures must match.
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import runner  # noqa: E402

ROWS = [("cpuid", "CPUID exit (leaf 0)"), ("out", "port write to a device (COM1 scratch)"),
        ("in", "port read from a device (COM1 scratch)"), ("loop", "exit-free loop, 1000 iterations"),
        ("rdtsc", "back-to-back RDTSC (baseline)"),
        ("eoi-mmio", "LAPIC EOI through the MMIO page"), ("tpr-read-mmio", "LAPIC TPR read (MMIO)"),
        ("ioapic-read", "IOAPIC register read (MMIO)"), ("hpet-read", "HPET counter read (MMIO)"),
        ("pmtimer-read", "PM timer read (port)"), ("rtc-read", "RTC register read (ports)"),
        ("self-ipi", "self-IPI: ICR write to handler entry"), ("timer-irq", "LAPIC timer interrupt delivered")]


def bench_case(name, emulator, cpu=None):
    """Both bench guests at once, as two VMs on two CPUs."""
    case = {"name": "bench-" + name, "emulator": emulator, "boot": "multiboot2", "cpus": 2,
            "cmdline": "test-exit", "timeout": 180,
            "vms": [{"name": "bench", "pin": 0, "memory": "16M", "kernel": "bench.elf", "cmdline": "expect-hv"},
                    {"name": "devices", "pin": 1, "memory": "16M", "kernel": "bench-devices.elf",
                     "cmdline": "expect-hv"}],
            "expect": [r"^hv: test-exit success$"],
            "expect_unordered": [r"^\[bench\] PASS bench", r"^\[devices\] PASS bench-devices"]}
    if emulator == "qemu":
        case["qemu_args"] = ["-icount", "shift=0,sleep=off"]
        case["cpu"] = cpu or "max"
    return case


def native_case():
    return {"name": "bench-native", "timeout": 60, "expect": [r"^PASS bench"],
            "native": {"image": "bench.elf", "cmdline": "", "exit": "0"}}


def native_devices_case():
    return {"name": "bench-native-devices", "timeout": 60, "expect": [r"^PASS bench-devices"],
            "native": {"image": "bench-devices.elf", "cmdline": "", "exit": "0",
                       "qemu_args": ["-icount", "shift=0,sleep=off"]}}


def figures(case):
    problem, _, text = runner.run_case(case)
    if problem:
        sys.exit("bench %s failed: %s (logs in build/test/%s)" % (case["name"], problem, case["name"]))
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"BENCH ([\w-]+) (\d+)", text)}


def main():
    configs = [("VMX, Bochs", bench_case("vmx", "bochs")), ("SVM, QEMU icount", bench_case("svm", "qemu"))]
    native = native_case()
    native["native"]["qemu_args"] = ["-icount", "shift=0,sleep=off"]
    results = []
    for label, case in configs:
        first, second = figures(case), figures(case)
        if first != second:
            sys.exit("bench %s is not repeatable: %s vs %s" % (label, first, second))
        results.append((label, first))
    bare = figures(native)
    bare.update({k: v for k, v in figures(native_devices_case()).items() if k not in bare})
    results.append(("bare metal, QEMU icount", bare))

    print("hv exit costs in instructions (guest RDTSC deltas; each run twice, identical)")
    print("%-42s" % "" + "".join("%24s" % label for label, _ in results))
    for key, text in ROWS:
        print("%-42s" % text + "".join("%24s" % r.get(key, "-") for _, r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
