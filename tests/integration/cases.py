"""The integration cases: boot path x emulator x CPUs x command line x expected serial lines.

Each case: name; emulator 'qemu' or 'bochs'; boot 'uefi' (OVMF + hv's EFI loader) or 'multiboot2'
(GRUB ISO); cpus; cmdline; expect (regexes that must appear in this order); forbid; result 'pass'
(hv ends with test-exit success) or 'fail' (hv ends with test-exit failure); timeout in seconds.
A 'command' case runs a host command instead and passes on exit status 0.
"""

BOOTED = [r"^hv: cpus online", r"^hv: boot complete", r"^hv: test-exit success"]

CASES = [
    {"name": "unit", "command": ["make", "-s", "unit"], "timeout": 600},
    {
        "name": "boot-uefi-qemu-4cpu", "emulator": "qemu", "boot": "uefi", "cpus": 4,
        "cmdline": "test-exit",
        "expect": [r"^hv: boot=uefi", r"^hv: memory: \d+ MiB usable", r"^hv: cpus online 4/4$"] + BOOTED[1:],
    },
    {
        "name": "boot-mb2-qemu-4cpu", "emulator": "qemu", "boot": "multiboot2", "cpus": 4,
        "cmdline": "test-exit",
        "expect": [r"^hv: boot=multiboot2", r"^hv: memory: \d+ MiB usable", r"^hv: cpus online 4/4$"] + BOOTED[1:],
    },
    {
        "name": "boot-mb2-bochs-2cpu", "emulator": "bochs", "boot": "multiboot2", "cpus": 2,
        "cmdline": "test-exit",
        "expect": [r"^hv: boot=multiboot2", r"^hv: lapic: x2apic mode", r"^hv: cpus online 2/2$"] + BOOTED[1:],
    },
    {
        "name": "panic-test-qemu", "emulator": "qemu", "boot": "multiboot2", "cpus": 4,
        "cmdline": "test-exit panic-test", "result": "fail",
        "expect": [r"^hv: cpus online 4/4$", r"^hv: exception #PF page fault \(vector 14\) error code 0x2 on cpu 0",
                   r"^hv:   rip ffffffff8[0-9a-f]{7}", r"cr2 000000000dead000", r"^hv:   backtrace: 0x",
                   r"^hv: PANIC on cpu 0: unhandled exception #PF", r"^hv: all cpus stopped$",
                   r"^hv: test-exit failure$"],
        "forbid": [r"boot complete"],
    },
    {
        "name": "panic-test-bochs", "emulator": "bochs", "boot": "multiboot2", "cpus": 2,
        "cmdline": "test-exit panic-test", "result": "fail",
        "expect": [r"^hv: cpus online 2/2$", r"^hv: exception #PF page fault", r"cr2 000000000dead000",
                   r"^hv: PANIC on cpu 0", r"^hv: all cpus stopped$", r"^hv: test-exit failure$"],
    },
    {
        "name": "maxcpus-1", "emulator": "qemu", "boot": "multiboot2", "cpus": 4,
        "cmdline": "test-exit maxcpus=1",
        "expect": [r"^hv: cpus online 1/4 \(maxcpus=1\)$"] + BOOTED[1:],
        "forbid": [r"failed to start"],
    },
    {
        "name": "bad-cmdline-value", "emulator": "qemu", "boot": "multiboot2", "cpus": 1,
        "cmdline": "test-exit loglevel=9",
        "expect": [r"^hv: command line: bad value for loglevel= \(expected a number from 0 to 3\)$"] + BOOTED,
    },
    {
        "name": "no-acpi", "emulator": "qemu", "boot": "multiboot2", "cpus": 2, "qemu_args": ["-no-acpi"],
        "cmdline": "test-exit", "result": "fail",
        "expect": [r"^hv: boot error: ACPI: ", r"^hv: test-exit failure$"],
        "forbid": [r"boot complete"],
    },
]
