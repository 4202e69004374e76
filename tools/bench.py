#!/usr/bin/env python3
"""make bench: hv's exit-path costs in host instructions.

The bench guest times each operation with RDTSC on emulators whose TSC counts instructions
(Bochs: always; QEMU: -icount shift=0,sleep=off), so a delta is the number of instructions the
whole round trip took, guest and hypervisor. Each configuration runs twice: the figures must match.

Then Linux's boot cost: Debian's kernel and busybox initramfs (guest-images/linux/) booted natively
by QEMU (-kernel) and as a VM under hv (SVM), both with icount, to the initramfs's HV-LINUX-BOOT-NS
line (the guest's monotonic clock at /init, in ns: icount makes it an instruction count).
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
        ("self-ipi", "self-IPI: ICR write to handler entry"), ("timer-irq", "LAPIC timer interrupt delivered"),
        ("eoi-x2apic", "LAPIC EOI through the x2APIC MSR"), ("self-ipi-x2apic", "self-IPI through the x2APIC ICR"),
        ("timer-irq-x2apic", "LAPIC timer interrupt, x2APIC mode"),
        ("ipi-round-trip", "IPI to another vCPU and back (halted AP)")]


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


def ipi_case(name, emulator):
    """smp-ipi as one 2-vcpu VM: its fixed-IPI ping-pong between the vCPUs is timed."""
    case = {"name": "bench-ipi-" + name, "emulator": emulator, "boot": "multiboot2", "cpus": 2,
            "cmdline": "test-exit", "timeout": 180,
            "vms": [{"name": "smp", "cpus": 2, "pin": "0 1", "memory": "16M", "kernel": "smp-ipi.elf",
                     "cmdline": "expect-hv"}],
            "expect": [r"^\[smp\] PASS smp-ipi", r"^hv: test-exit success$"]}
    if emulator == "qemu":
        case["qemu_args"] = ["-icount", "shift=0,sleep=off"]
        case["cpu"] = "max"
    return case


def native_ipi_case():
    return {"name": "bench-native-ipi", "timeout": 60, "expect": [r"^PASS smp-ipi"],
            "native": {"image": "smp-ipi.elf", "cmdline": "", "exit": "0",
                       "qemu_args": ["-smp", "2", "-icount", "shift=0,sleep=off"]}}


def native_case():
    return {"name": "bench-native", "timeout": 60, "expect": [r"^PASS bench"],
            "native": {"image": "bench.elf", "cmdline": "", "exit": "0"}}


def native_devices_case():
    return {"name": "bench-native-devices", "timeout": 60, "expect": [r"^PASS bench-devices"],
            "native": {"image": "bench-devices.elf", "cmdline": "", "exit": "0",
                       "qemu_args": ["-icount", "shift=0,sleep=off"]}}


LINUX_CMDLINE = "console=ttyS0 panic=-1"
LINUX_RUNS = 2


def linux_boot_ns(text, where):
    m = re.search(r"HV-LINUX-BOOT-NS (\d+)", text)
    if not m:
        sys.exit("bench linux %s: no HV-LINUX-BOOT-NS line" % where)
    return int(m.group(1))


def linux_native_ns():
    """The kernel on QEMU itself: 1 CPU, 256 MiB, no default devices (no NIC or VGA to probe)."""
    workdir = os.path.join(runner.BUILD, "test", "bench-linux-native")
    os.makedirs(workdir, exist_ok=True)
    serial = os.path.join(workdir, "serial.log")
    linux = os.path.join(runner.BUILD, "linux")
    cmd = ["qemu-system-x86_64", "-machine", "pc", "-nodefaults", "-cpu", "max", "-smp", "1", "-m", "256",
           "-display", "none", "-no-reboot", "-monitor", "none", "-serial", "file:" + serial,
           "-icount", "shift=0,sleep=off", "-kernel", os.path.join(linux, "vmlinuz"),
           "-initrd", os.path.join(linux, "initramfs.cpio.gz"), "-append", LINUX_CMDLINE]
    status, _ = runner.run(cmd, os.path.join(workdir, "emulator.log"), 300, cwd=workdir)
    with open(serial, errors="replace") as f:
        text = f.read()
    if status != 0 or "HV-LINUX-POWEROFF" not in text:
        sys.exit("bench linux native: qemu exit %s (logs in %s)" % (status, workdir))
    return linux_boot_ns(text, "native")


def linux_hv_ns():
    """The same kernel, initrd and command line as a 1-vcpu, 256 MiB VM under hv (SVM, QEMU icount)."""
    case = {"name": "bench-linux-svm", "emulator": "qemu", "boot": "multiboot2", "cpus": 2, "memory": 512,
            "cmdline": "test-exit", "timeout": 300, "qemu_args": ["-icount", "shift=0,sleep=off"],
            "vms": [{"name": "linux", "pin": 1, "memory": "256M", "dir": "linux", "kernel": "vmlinuz",
                     "modules": ["initramfs.cpio.gz"], "cmdline": LINUX_CMDLINE}],
            "expect": [r"^\[linux\] HV-LINUX-POWEROFF", r"^hv: test-exit success$"]}
    problem, _, text = runner.run_case(case)
    if problem:
        sys.exit("bench linux under hv failed: %s (logs in %s/test/%s)" % (problem, runner.BUILD, case["name"]))
    return linux_boot_ns(text, "hv")


def print_linux(native, hv):
    def ms(runs):
        return sum(runs) / len(runs) / 1e6

    def spread(runs):
        return 100.0 * (max(runs) - min(runs)) / min(runs)

    print()
    print("Linux 6.1 boot to /init (guest monotonic clock in ms; QEMU icount: 1 ms = 1M instructions)")
    print("%-42s%24s%24s%24s" % ("", "bare metal, QEMU icount", "SVM, QEMU icount", "hv / bare metal"))
    print("%-42s%24.1f%24.1f%24.2f" % ("1 vCPU, 256 MiB, busybox initramfs", ms(native), ms(hv), ms(hv) / ms(native)))
    print("%d runs each: spread %.3f%% bare metal, %.3f%% under hv" % (len(native), spread(native), spread(hv)))


def figures(case):
    problem, _, text = runner.run_case(case)
    if problem:
        sys.exit("bench %s failed: %s (logs in build/test/%s)" % (case["name"], problem, case["name"]))
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"BENCH ([\w-]+) (\d+)", text)}


def main():
    configs = [("VMX, Bochs", [bench_case("vmx", "bochs"), ipi_case("vmx", "bochs")]),
               ("SVM, QEMU icount", [bench_case("svm", "qemu"), ipi_case("svm", "qemu")])]
    native = native_case()
    native["native"]["qemu_args"] = ["-icount", "shift=0,sleep=off"]
    results = []
    for label, cases in configs:
        merged = {}
        for case in cases:
            first, second = figures(case), figures(case)
            if first != second:
                sys.exit("bench %s is not repeatable: %s vs %s" % (label, first, second))
            merged.update({k: v for k, v in first.items() if k not in merged})
        results.append((label, merged))
    bare = figures(native)
    for extra in (native_devices_case(), native_ipi_case()):
        bare.update({k: v for k, v in figures(extra).items() if k not in bare})
    results.append(("bare metal, QEMU icount", bare))

    print("hv exit costs in instructions (guest RDTSC deltas; each run twice, identical)")
    print("%-42s" % "" + "".join("%24s" % label for label, _ in results))
    for key, text in ROWS:
        print("%-42s" % text + "".join("%24s" % r.get(key, "-") for _, r in results))
    print_linux([linux_native_ns() for _ in range(LINUX_RUNS)], [linux_hv_ns() for _ in range(LINUX_RUNS)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
