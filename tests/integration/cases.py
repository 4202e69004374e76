"""The integration cases: boot path x emulator x CPUs x command line x expected serial lines.

Each case: name; emulator 'qemu' or 'bochs'; boot 'uefi' (OVMF + hv's EFI loader) or 'multiboot2'
(GRUB ISO); cpus; cmdline; expect (regexes that must appear in this order); forbid; result 'pass'
(hv ends with test-exit success) or 'fail' (hv ends with test-exit failure); timeout in seconds.
A 'command' case runs a host command instead and passes on exit status 0.
"""

BOOTED = [r"^hv: cpus online", r"^hv: boot complete", r"^hv: test-exit success"]

CASES = [
    {"name": "unit", "command": ["make", "-s", "unit"], "timeout": 600},
    # A short libFuzzer run of every device model, the decoder and the page walker (ASan+UBSan).
    {"name": "fuzz-smoke", "command": ["make", "-s", "fuzz-smoke", "FUZZ_SMOKE_SECONDS=3", "FUZZ_SEED=1"], "timeout": 900},
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


def load_guest_tests():
    """guest-images/tests.txt: the one list of test guests, run natively and under each backend."""
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "guest-images", "tests.txt")
    guests = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, image, cmdline, modules, exit_, needs, expect = [x.strip() for x in line.split("|")]
            guests.append({
                "name": name, "image": image,
                "cmdline": "" if cmdline == "-" else cmdline,
                "modules": [] if modules == "-" else modules.split(","),
                "exit": exit_,
                "needs": [] if needs == "-" else needs.split(","),
                "expect": [e.strip() for e in expect.split(";") if e.strip()],
            })
    return guests


def _escape(text):
    import re
    return re.escape(text)


def guest_native_case(g):
    native = dict(g, qemu_args=["-smp", "2"]) if "smp" in g["needs"] else g
    return {"name": "native-" + g["name"], "native": native, "timeout": 30,
            "expect": ["^" + _escape(e) for e in g["expect"]]}


def guest_hv_case(g, backend):
    """The guest as one VM under hv: its lines prefixed by its name, then hv's verdict."""
    vm = g["name"]
    expect = ["^" + _escape("[%s] " % vm) + _escape(e) for e in g["expect"]]
    if g["exit"] == "triple-fault":
        expect.append(r"^hv: vm %s stopped: triple fault" % _escape(vm))
    else:
        expect.append(r"^hv: vm %s exit %s$" % (_escape(vm), g["exit"]))
    expect.append(r"^hv: test-exit success$")
    cmdline = (g["cmdline"] + " expect-hv").strip()
    modules = [m + " " + m for m in g["modules"]]
    vm_config = {"name": vm, "memory": "16M", "kernel": g["image"], "cmdline": cmdline, "modules": modules}
    if "smp" in g["needs"]:
        vm_config.update({"cpus": 2, "pin": "0 1"})
    case = {
        "name": "%s-%s" % (backend, g["name"]), "boot": "multiboot2", "cmdline": "test-exit",
        "vms": [vm_config], "expect": expect, "timeout": 120,
    }
    if backend == "vmx":
        case.update({"emulator": "bochs", "cpus": 2})
    elif backend == "svm":
        case.update({"emulator": "qemu", "cpus": 4})
    else:  # svm-uefi: the same through OVMF and hv's EFI loader
        case.update({"emulator": "qemu", "cpus": 4, "boot": "uefi"})
    return case


def config_error_case(name, config_text, message, guest_files=()):
    """A bad vms.cfg: hv names the line and stops cleanly instead of running anything."""
    return {
        "name": "config-" + name, "emulator": "bochs", "boot": "multiboot2", "cpus": 2,
        "cmdline": "test-exit", "config_text": config_text, "guest_files": list(guest_files),
        "result": "fail", "timeout": 120,
        "expect": [message, r"^hv: test-exit failure$"], "forbid": [r"^\[", r"all vms stopped"],
    }


CASES += [
    config_error_case("unknown-key", "[vm a]\nkernel = cpuid.elf\nmemroy = 16M\n",
                      r"^hv: boot error: config vms\.cfg line 3: unknown key 'memroy'$", ["cpuid.elf"]),
    config_error_case("memory-too-large", "[vm big]\nmemory = 2G\nkernel = cpuid.elf\n",
                      r"^hv: config vms\.cfg line 1: vm big: not enough free host memory for the guest RAM$",
                      ["cpuid.elf"]),
    config_error_case("missing-kernel", "\n[vm lost]\nkernel = nothere.elf\n",
                      r"^hv: config vms\.cfg line 2: vm lost: kernel file not found among the boot files$"),
    config_error_case("bad-pin", "[vm a]\npin = 7\nkernel = cpuid.elf\n",
                      r"^hv: config vms\.cfg line 1: vm a: pinned to a CPU that does not exist", ["cpuid.elf"]),
]


def two_vms_case(backend):
    """Two VMs at once on two CPUs: one triple-faults on purpose, the other is not disturbed."""
    case = {
        "name": backend + "-two-vms-triple-fault", "boot": "multiboot2", "cmdline": "test-exit", "timeout": 120,
        "vms": [{"name": "crash", "pin": 0, "memory": "16M", "kernel": "triple-fault.elf", "cmdline": "expect-hv"},
                {"name": "steady", "pin": 1, "memory": "16M", "kernel": "modes.elf", "cmdline": "expect-hv"}],
        "expect_unordered": [r"^\[crash\] triple fault next", r"^hv: vm crash stopped: triple fault",
                             r"^\[steady\] modes: 64-bit code running", r"^\[steady\] PASS modes",
                             r"^hv: vm steady exit 0$"],
        "expect": [r"^hv: all vms stopped$", r"^hv: test-exit success$"],
    }
    case.update({"emulator": "bochs", "cpus": 2} if backend == "vmx" else {"emulator": "qemu", "cpus": 4})
    return case


CASES += [two_vms_case("vmx"), two_vms_case("svm")]


def no_virtualization_case(name, emulator, cpu, message):
    """A CPU without what hv needs: one clear boot message and a clean stop, not a crash."""
    return {
        "name": name, "emulator": emulator, "boot": "multiboot2", "cpus": 2, "cpu": cpu,
        "cmdline": "test-exit", "result": "fail", "timeout": 120,
        "expect": [r"^hv: boot error: no hardware virtualization: " + message, r"^hv: test-exit failure$"],
        "forbid": [r"PANIC"],
    }


CASES += [
    no_virtualization_case("svm-absent", "qemu", "qemu64,-svm", r"this AMD CPU has no SVM"),
    no_virtualization_case("svm-no-npt", "qemu", "qemu64,+svm,-npt", r"SVM lacks nested paging"),
    no_virtualization_case("vmx-no-ept", "bochs", "core2_penryn_t9600", r"VMX lacks EPT or unrestricted guest"),
    no_virtualization_case("vmx-no-unrestricted-guest", "bochs", "corei5_lynnfield_750",
                           r"VMX lacks EPT or unrestricted guest"),
]

def linux_case(backend, cpus=2):
    """Debian's kernel with a busybox initramfs (guest-images/linux/) as a 2-vcpu VM: it must find
    hv's ACPI tables, IOAPIC and HPET, count timer interrupts on both CPUs and power off."""
    case = {
        "name": backend + "-linux", "boot": "multiboot2", "cmdline": "test-exit", "timeout": 300, "memory": 512,
        "vms": [{"name": "linux", "cpus": cpus, "memory": "256M", "dir": "linux", "kernel": "vmlinuz",
                 "modules": ["initramfs.cpio.gz"], "cmdline": "console=ttyS0 panic=-1"}],
        "expect": [r"^\[linux\] .*IOAPIC\[0\]: apic_id 2, version 32, address 0xfec00000, GSI 0-23",
                   r"^\[linux\] .*ACPI: HPET id: 0x8086a201 base: 0xfed00000",
                   r"^\[linux\] HV-LINUX-INIT$", r"^\[linux\] HV-LINUX-CPUS %d online" % cpus,
                   r"^\[linux\] HV-LINUX-CLOCKSOURCE (tsc|hpet)$", r"^\[linux\] HV-LINUX-IRQ LOC:( +[1-9][0-9]*){%d}" % cpus,
                   r"^\[linux\] HV-LINUX-POWEROFF$", r"^hv: vm linux stopped: poweroff", r"^hv: test-exit success$"],
        "forbid": [r"Kernel panic"],
    }
    case.update({"emulator": "qemu", "cpus": 4} if backend == "svm" else {"emulator": "bochs", "cpus": 2})
    return case


CASES += [linux_case("svm")]
# Linux on Bochs (VMX) takes minutes (DESIGN.md: ~4 min natively): run it by name, not in make test.
SLOW_CASES = [dict(linux_case("vmx"), timeout=1500)]

GUESTS = load_guest_tests()
# Every VM gets the platform the guests may need (PIC, PIT, ...): all of them run under hv.
HV_GUESTS = [g for g in GUESTS if set(g["needs"]) <= {"pic", "pit", "smp"}]
CASES += [guest_native_case(g) for g in GUESTS]
CASES += [guest_hv_case(g, "vmx") for g in HV_GUESTS]
CASES += [guest_hv_case(g, "svm") for g in HV_GUESTS]
CASES += [guest_hv_case(g, "svm-uefi") for g in HV_GUESTS]
