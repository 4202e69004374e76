"""The integration cases: boot path x emulator x CPUs x command line x expected serial lines.

Each case: name; emulator 'qemu' or 'bochs'; boot 'uefi' (OVMF + hv's EFI loader), 'multiboot2'
(GRUB ISO) or 'usb' (tools/mkusb.sh's stick image on QEMU's xHCI, firmware 'uefi' or 'bios'); cpus; cmdline; expect (regexes that must appear in this order); forbid; result 'pass'
(hv ends with test-exit success) or 'fail' (hv ends with test-exit failure); timeout in seconds.
A 'command' case runs a host command instead and passes on exit status 0. 'prepare', a function
(build, workdir), makes a case's own files in its workdir before the boot media (a VM's 'dir' may
then be 'test/<case>').
"""

import os
import random

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


def config_error_case(name, config_text, message, guest_files=(), emulator="bochs", cmdline="test-exit"):
    """A bad vms.cfg: hv names the line and stops cleanly instead of running anything."""
    return {
        "name": "config-" + name, "emulator": emulator, "boot": "multiboot2",
        "cpus": 2 if emulator == "bochs" else 4,
        "cmdline": cmdline, "config_text": config_text, "guest_files": list(guest_files),
        "result": "fail", "timeout": 120,
        "expect": [message, r"^hv: test-exit failure$"], "forbid": [r"^\[", r"all vms stopped", r"PANIC"],
    }


def config_refused_vm_case(name, config_text, message):
    """One VM of a good pair cannot be created on this machine: its line says why before any VM
    starts, the other VM (ok) runs, and the run still ends in failure."""
    return {
        "name": "config-" + name, "emulator": "qemu", "boot": "multiboot2", "cpus": 4, "cmdline": "test-exit",
        "config_text": config_text, "guest_files": ["cpuid.elf"], "result": "fail", "timeout": 120,
        "expect": [message, r"^hv: vm ok: ", r"^\[ok\] PASS cpuid", r"^hv: all vms stopped$",
                   r"^hv: test-exit failure$"],
        "forbid": [r"^hv: vm late: ", r"^\[late\]", r"PANIC"],
    }


# Checked against the machine before any VM starts (kernel/config_check.c): boot files, CPUs, memory.
CASES += [
    config_error_case("unknown-key", "[vm a]\nkernel = cpuid.elf\nmemroy = 16M\n",
                      r"^hv: boot error: config vms\.cfg line 3: unknown key 'memroy'$", ["cpuid.elf"]),
    config_error_case("memory-too-large", "[vm big]\nmemory = 2G\nkernel = cpuid.elf\n",
                      r"^hv: config vms\.cfg line 2: vm big: not enough memory: it needs 2048 MiB \+ 512 KiB for "
                      r"hv, \d+ MiB is left \(all VMs: 2049 MiB needed, \d+ MiB free\)$", ["cpuid.elf"]),
    config_error_case("missing-kernel", "\n[vm lost]\nkernel = nothere.elf\n",
                      r"^hv: config vms\.cfg line 3: vm lost: file 'nothere\.elf' not found among the boot files "
                      r"\(have: none\)$"),
    config_error_case("bad-pin", "[vm a]\npin = 7\nkernel = cpuid.elf\n",
                      r"^hv: config vms\.cfg line 2: vm a: vcpu 0 is pinned to cpu 7, but hv runs on 2 cpus "
                      r"\(0-1\)$", ["cpuid.elf"]),
    config_error_case("missing-module-qemu", "[vm lost]\nkernel = cpuid.elf\nmodule = nothere.bin 4k\n",
                      r"^hv: config vms\.cfg line 3: vm lost: file 'nothere\.bin' not found among the boot files "
                      r"\(have: cpuid\.elf, modes\.elf\)$", ["cpuid.elf", "modes.elf"], emulator="qemu"),
    config_error_case("pin-beyond-maxcpus-qemu", "[vm a]\npin = 3\nkernel = cpuid.elf\n",
                      r"^hv: config vms\.cfg line 2: vm a: vcpu 0 is pinned to cpu 3, but hv runs on 2 cpus "
                      r"\(0-1, maxcpus=2\)$", ["cpuid.elf"], emulator="qemu", cmdline="test-exit maxcpus=2"),
    config_refused_vm_case("memory-qemu", "[vm ok]\nmemory = 64M\nkernel = cpuid.elf\ncmdline = expect-hv\n"
                           "[vm late]\nmemory = 192M\nkernel = cpuid.elf\n",
                           r"^hv: config vms\.cfg line 6: vm late: not enough memory: it needs 192 MiB \+ 512 KiB "
                           r"for hv, \d+ MiB is left \(all VMs: 257 MiB needed, \d+ MiB free\)$"),
    config_refused_vm_case("pin-taken-qemu", "[vm ok]\npin = 1\nkernel = cpuid.elf\ncmdline = expect-hv\n"
                           "[vm late]\npin = 2 1\nkernel = cpuid.elf\n",
                           r"^hv: config vms\.cfg line 6: vm late: vcpu 1 is pinned to cpu 1, which already runs "
                           r"vm ok vcpu 0 \(one vcpu per cpu\)$"),
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


def hostile_beside_case(backend):
    """The hostile guest (garbage in every device register, timer storms, IPI floods, random bytes
    run from the LAPIC page) next to a VM whose timers must keep their time."""
    case = {
        "name": backend + "-hostile-beside-timers", "boot": "multiboot2", "cmdline": "test-exit", "timeout": 180,
        "vms": [{"name": "hostile", "pin": 0, "memory": "16M", "kernel": "hostile.elf", "cmdline": "expect-hv"},
                {"name": "steady", "pin": 1, "memory": "16M", "kernel": "lapic-timer.elf", "cmdline": "expect-hv"}],
        "expect_unordered": [r"^\[hostile\] PASS hostile", r"^hv: vm hostile exit 0$",
                             r"^\[steady\] PASS lapic-timer", r"^hv: vm steady exit 0$"],
        "expect": [r"^hv: all vms stopped$", r"^hv: test-exit success$"],
    }
    case.update({"emulator": "bochs", "cpus": 2} if backend == "vmx" else {"emulator": "qemu", "cpus": 4})
    return case


CASES += [hostile_beside_case("vmx"), hostile_beside_case("svm")]

ESC = "\x1d"  # Ctrl-]: hv's command line


def operator_console_case():
    """The runner types on hv's serial line: input reaches the VM with the focus only, `list`,
    `stats` and `stop` work, and stopping one VM leaves the others running."""
    vms = [{"name": n, "pin": i + 1, "memory": "16M", "kernel": "console.elf", "cmdline": "expect-hv"}
           for i, n in enumerate(["alpha", "beta", "gamma"])]
    return {
        "name": "svm-operator-console", "emulator": "qemu", "cpus": 4, "boot": "multiboot2",
        "cmdline": "test-exit", "timeout": 120, "vms": vms,
        "console": [
            ([r"^hv: console input goes to vm alpha; Ctrl-\] for hv's commands"] +
             [r"^\[%s\] console: waiting for input" % vm["name"] for vm in vms], "hello alpha\r"),
            (r"^\[alpha\] echo: hello alpha", ESC),
            (r"^hv> ", "list\r"),
            (r"^hv: gamma +running +1 +3 +16M", "stats alpha\r"),
            (r"^hv:   io +\d+", "focus beta\r"),
            (r"^hv: console input goes to vm beta", "stop gamma\r"),
            (r"^hv: vm gamma stopped: halt: by the operator", "list\r"),
            (r"^hv: gamma +halt ", "\r"),
            (r"^hv: console input goes to vm beta", "hello beta\r"),
            (r"^\[beta\] echo: hello beta", "quit\r"),
            (r"^hv: vm beta exit 0", ESC + "focus alpha\r\r"),
            (r"^hv: console input goes to vm alpha\n", "quit\r"),
        ],
        "expect": [r"^\[alpha\] echo: hello alpha$", r"^hv: alpha +running +1 +1 +16M",
                   r"^hv: vm alpha exit statistics: \d+ exits", r"^hv: vm gamma stopped: halt: by the operator$",
                   r"hv: vm gamma exit statistics", r"^\[beta\] echo: hello beta$", r"^\[beta\] PASS console",
                   r"^\[alpha\] echo: quit$", r"^hv: all vms stopped$", r"^hv: test-exit success$"],
        "forbid": [r"^\[(beta|gamma)\] echo: hello alpha", r"^\[(alpha|gamma)\] echo: hello beta"],
    }


CASES += [operator_console_case()]


def no_virtualization_case(name, emulator, cpu, message):
    """A CPU without what hv needs: one clear boot message and a clean stop, not a crash."""
    return {
        "name": name, "emulator": emulator, "boot": "multiboot2", "cpus": 2, "cpu": cpu,
        "cmdline": "test-exit", "result": "fail", "timeout": 120,
        "expect": [r"^hv: boot error: no hardware virtualization: " + message, r"^hv: test-exit failure$"],
        "forbid": [r"PANIC"],
    }


def vmx_firmware_case(name, grub_commands, result, expect, vms=()):
    """IA32_FEATURE_CONTROL as firmware leaves it. Bochs's BIOS locks it with VMX on; SeaBIOS (on
    Bochs, one CPU) leaves it unlocked, so GRUB's wrmsr can lock it with VMX off, like a firmware
    setup with VT-x disabled. VM_CR has no such stand-in on the bench: test_virt_firmware covers SVM."""
    return {
        "name": name, "emulator": "bochs", "bios": "/usr/share/seabios/bios.bin", "boot": "multiboot2",
        "cpus": 1, "cmdline": "test-exit", "grub_commands": grub_commands, "vms": list(vms), "result": result,
        "timeout": 120, "expect": expect + [r"^hv: test-exit %s$" % ("success" if result == "pass" else "failure")],
        "forbid": [r"PANIC"],
    }


CASES += [
    vmx_firmware_case("vmx-disabled-by-firmware", ["wrmsr 0x3a 0x1"], "fail",
                      [r"^hv: boot error: no hardware virtualization: VMX is disabled by the firmware "
                       r"\(IA32_FEATURE_CONTROL locked without VMX\): enable Intel VT-x in the firmware setup$"]),
    vmx_firmware_case("vmx-enabled-by-hv", [], "pass",
                      [r"^hv: vmx: the firmware left IA32_FEATURE_CONTROL unlocked: hv enables VMX and locks it$",
                       r"^\[cpuid\] PASS cpuid", r"^hv: vm cpuid exit 0$"],
                      [{"name": "cpuid", "memory": "16M", "kernel": "cpuid.elf", "cmdline": "expect-hv"}]),
]

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
                   r"^\[linux\] HV-LINUX-POWEROFF$", r"^hv: vm linux stopped: poweroff",
                   r"^hv: vm linux exit statistics: [1-9][0-9]* exits", r"^hv:   io +[1-9][0-9]* +[0-9]+%  \(vcpu0 [0-9]+, vcpu1 [0-9]+\)",
                   r"^hv: test-exit success$"],
        "forbid": [r"Kernel panic"],
    }
    case.update({"emulator": "qemu", "cpus": 4} if backend == "svm" else {"emulator": "bochs", "cpus": 2})
    return case


CASES += [linux_case("svm")]


def linux_neighbours_case():
    """Two Linux VMs and a test guest on separate CPUs. linux2 (1 vcpu, the quicker to boot) ends
    itself abruptly with `reboot -f` (hv stops a VM that resets); linux1 (2 vcpus) waits in init past
    that, then counts its timer interrupts on both vcpus and powers off. The test guest (console.elf,
    first, so it has the input focus) waits in HLT all along; once both Linux VMs are gone the runner
    types to it, and it answers through its serial receive interrupt and ends. Nobody is disturbed."""
    linux = {"dir": "linux", "kernel": "vmlinuz", "modules": ["initramfs.cpio.gz"]}
    return {
        "name": "svm-linux-neighbours", "emulator": "qemu", "cpus": 4, "memory": 512, "boot": "multiboot2",
        "cmdline": "test-exit", "timeout": 300,
        "vms": [{"name": "probe", "pin": 0, "memory": "16M", "kernel": "console.elf", "cmdline": "expect-hv"},
                dict(linux, name="linux1", cpus=2, pin="1 2", memory="160M",
                     cmdline="console=ttyS0 panic=-1 hv-sleep=8"),
                dict(linux, name="linux2", cpus=1, pin=3, memory="128M",
                     cmdline="console=ttyS0 panic=-1 hv-end=reboot")],
        "console": [([r"^hv: vm linux2 stopped: reset", r"^hv: vm linux1 stopped: poweroff"], "still here\r"),
                    (r"^\[probe\] echo: still here", "quit\r")],
        "expect_unordered": [r"^\[linux2\] HV-LINUX-CPUS 1 online 0$", r"^\[linux2\] HV-LINUX-IRQ LOC: +[1-9]",
                             r"^\[linux1\] HV-LINUX-SLEEP 8$"],
        "expect": [r"^\[probe\] console: waiting for input$",
                   r"^\[linux2\] HV-LINUX-REBOOT$", r"^hv: vm linux2 stopped: reset",
                   r"^\[linux1\] HV-LINUX-CPUS 2 online 0-1$", r"^\[linux1\] HV-LINUX-IRQ LOC:( +[1-9]\d*){2}",
                   r"^\[linux1\] HV-LINUX-POWEROFF$", r"^hv: vm linux1 stopped: poweroff",
                   r"^\[probe\] echo: still here$", r"^\[probe\] PASS console$", r"^hv: vm probe exit 0$",
                   r"^hv: all vms stopped$", r"^hv: test-exit success$"],
        "forbid": [r"Kernel panic", r"^\[linux2\] HV-LINUX-POWEROFF"],
    }


CASES += [linux_neighbours_case()]


def _copy_cut(src, dst, size, patch=None):
    with open(src, "rb") as f:
        data = bytearray(f.read(size))
    for offset, value in (patch or {}).items():
        data[offset:offset + len(value)] = value
    with open(dst, "wb") as f:
        f.write(data)


def _truncated_kernel(build, workdir):
    """The first 4 MiB of Debian's 8 MiB bzImage: the header promises more than the file holds."""
    _copy_cut(os.path.join(build, "linux", "vmlinuz"), os.path.join(workdir, "vmlinuz-truncated"), 4 << 20)


def _old_protocol_kernel(build, workdir):
    """Debian's bzImage with its boot protocol version (offset 0x206) set to 2.05."""
    _copy_cut(os.path.join(build, "linux", "vmlinuz"), os.path.join(workdir, "vmlinuz-2.05"), None,
              {0x206: b"\x05\x02"})


def _garbage_kernel(build, workdir):
    """1 MiB of (seeded) random bytes."""
    with open(os.path.join(workdir, "garbage.bin"), "wb") as f:
        f.write(random.Random(6).randbytes(1 << 20))


def _huge_initrd(build, workdir):
    """Debian's kernel with a 100 MiB initrd, for a 96 MiB VM."""
    os.symlink(os.path.join(build, "linux", "vmlinuz"), os.path.join(workdir, "vmlinuz"))
    with open(os.path.join(workdir, "huge-initrd.img"), "wb") as f:
        f.truncate(100 << 20)


def linux_bad_image_case(name, prepare, vm, message):
    """A Linux VM whose files hv refuses, with one clear line naming the file, and a test guest in
    the same config that still runs to its PASS; the run ends in failure (a VM was refused)."""
    case_name = "svm-linux-bad-" + name
    bad = dict(vm, name="bad", memory=vm.get("memory", "128M"), dir="test/" + case_name)
    return {
        "name": case_name, "emulator": "qemu", "cpus": 4, "memory": 512, "boot": "multiboot2",
        "cmdline": "test-exit", "timeout": 120, "result": "fail", "prepare": prepare,
        "vms": [bad, {"name": "steady", "memory": "16M", "kernel": "modes.elf", "cmdline": "expect-hv"}],
        "expect": [r"^hv: config vms\.cfg line 1: vm bad: " + message + "$",
                   r"^hv: config vms\.cfg: 1 of 2 VMs refused, the others run$",
                   r"^\[steady\] PASS modes$", r"^hv: vm steady exit 0$", r"^hv: all vms stopped$",
                   r"^hv: test-exit failure$"],
        "forbid": [r"^\[bad\]", r"^hv: vm bad: ", r"boot error", r"PANIC"],
    }


CASES += [
    linux_bad_image_case("truncated", _truncated_kernel, {"kernel": "vmlinuz-truncated"},
                         r"vmlinuz-truncated: truncated bzImage: the header says \d+ KiB of kernel, "
                         r"the file holds \d+ KiB"),
    linux_bad_image_case("garbage", _garbage_kernel, {"kernel": "garbage.bin"},
                         r"garbage\.bin: no Multiboot header in the first 8 KiB \(not a Multiboot kernel\)"),
    linux_bad_image_case("old-protocol", _old_protocol_kernel, {"kernel": "vmlinuz-2.05"},
                         r"vmlinuz-2\.05: unsupported boot protocol version 2\.05 \(hv needs 2\.12 or later, "
                         r"for the 64-bit entry point\)"),
    linux_bad_image_case("initrd-too-large", _huge_initrd,
                         {"kernel": "vmlinuz", "modules": ["huge-initrd.img"], "memory": "96M"},
                         r"huge-initrd\.img: initrd of 100 MiB is larger than the VM's free memory "
                         r"\(96 MiB VM, the kernel takes \d+ MiB\)"),
]
# Linux on Bochs (VMX) takes minutes (DESIGN.md: ~4 min natively): run it by name, not in make test.
SLOW_CASES = [dict(linux_case("vmx"), timeout=1500)]

GUESTS = load_guest_tests()
# Every VM gets the platform the guests may need (PIC, PIT, ...): all of them run under hv.
HV_GUESTS = [g for g in GUESTS if set(g["needs"]) <= {"pic", "pit", "smp"}]
CASES += [guest_native_case(g) for g in GUESTS]
CASES += [guest_hv_case(g, "vmx") for g in HV_GUESTS]
CASES += [guest_hv_case(g, "svm") for g in HV_GUESTS]
CASES += [guest_hv_case(g, "svm-uefi") for g in HV_GUESTS]

# The Multiboot2 guest (guest-images/mb2/): QEMU's -kernel cannot boot Multiboot2, so its native
# reference is GRUB's multiboot2 command, the way hv itself boots.
MB2_GUEST = {"name": "mb2", "image": "mb2.elf", "cmdline": "flag answer=42 modules=1", "modules": ["boot.elf"],
             "exit": "0", "needs": [], "expect": ["mb2: booted by Multiboot2 through its entry address tag", "PASS mb2"]}


def mb2_native_case(g):
    return {"name": "native-grub-" + g["name"], "emulator": "qemu", "boot": "multiboot2", "cpus": 1,
            "elf": "guests/" + g["image"], "cmdline": g["cmdline"], "guest_files": g["modules"], "timeout": 60,
            "expect": ["^" + _escape(e) for e in g["expect"]]}


def mb2_hv_case(g, backend):
    case = guest_hv_case(g, backend)
    case["expect"].insert(1, r"^\[mb2\] mb2: hv's boot loader name, memory map and ACPI 2\.0 RSDP$")
    return case


CASES += [mb2_native_case(MB2_GUEST), mb2_hv_case(MB2_GUEST, "vmx"), mb2_hv_case(MB2_GUEST, "svm")]
# A Multiboot2 kernel that requires what a VM lacks (a framebuffer) is refused with its reason.
CASES += [config_error_case("mb2-required-framebuffer-qemu", "[vm fb]\nkernel = mb2-framebuffer.elf\n",
                            r"^hv: config vms\.cfg line 1: vm fb: mb2-framebuffer\.elf: the Multiboot2 header requires a framebuffer, "
                            r"which a VM does not have$", ["mb2-framebuffer.elf"], emulator="qemu")]


def usb_case(firmware):
    """The USB stick image (tools/mkusb.sh, with make usb's VMs from tools/run.cfg and 'test-exit'
    in hv/cmdline.txt) as a USB disk on xHCI, 4 CPUs: OVMF boots the stick's EFI/BOOT/BOOTX64.EFI,
    SeaBIOS its GRUB; both must read the same hv/ folder (on the GRUB path hv takes its command line
    from the module cmdline.txt and drops it, so both see the guest files + vms.cfg). Each VM must
    end cleanly: a test guest with exit 0, Linux with its ACPI poweroff."""
    import os
    import re
    cfg = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "run.cfg")
    with open(cfg) as f:
        text = f.read()
    guests = sorted(set(re.findall(r"^\s*(?:kernel|module)\s*=\s*(\S+)", text, re.M)))
    vms = re.findall(r"^\[vm (\S+)\]", text, re.M)
    method = "uefi" if firmware == "uefi" else "multiboot2"
    expect = [r"^hv: hv \S+ starting$", r'^hv: boot=%s cmdline "test-exit"$' % method,
              r"^hv: kernel at 0x[0-9a-f]+-0x[0-9a-f]+, %d boot modules$" % (len(guests) + 1),
              r"^hv: cpus online 4/4$", r"^hv: boot complete$", r"^hv: all vms stopped$",
              r"^hv: test-exit success$"]
    if firmware == "uefi":  # OVMF says where it booted from: the USB disk, not a fallback
        expect.insert(0, r'^BdsDxe: starting Boot\w+ "UEFI QEMU QEMU USB HARDDRIVE')
    return {
        "name": "usb-" + firmware, "emulator": "qemu", "boot": "usb", "firmware": firmware, "cpus": 4,
        "cmdline": "test-exit", "config_text": text, "guest_files": guests, "timeout": 240,
        "memory": 512, "expect": expect,
        "expect_unordered": sum([[r"^hv: vm %s: " % re.escape(v),
                                  r"^hv: vm %s (exit 0|stopped: poweroff: ACPI S5)" % re.escape(v)] for v in vms], []),
    }


CASES += [usb_case("uefi"), usb_case("bios")]
