#!/usr/bin/env python3
"""hv's integration runner: boots each case on QEMU or Bochs, reads the serial log, ends with
'N passed, N failed'. The table of cases lives in cases.py; this file only knows how to run one.

Usage: runner.py [-j JOBS] [-k SUBSTRING]...   (run the cases whose name contains a SUBSTRING)
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# `make BUILD=dir test` (or BUILD=dir in the environment) runs against another build tree.
BUILD = os.path.abspath(os.environ.get("BUILD") or os.path.join(ROOT, "build"))
OVMF = "/usr/share/ovmf/OVMF.fd"

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402

# What each emulator's exit status means for hv's test-exit (see kernel/panic.c test_exit).
EXIT_CODES = {
    "qemu": {"pass": 1, "fail": 3},    # isa-debug-exit: (value << 1) | 1
    "bochs": {"pass": 0, "fail": 1},   # magic breakpoint + 'quit' / shutdown port
}


def run(cmd, log, timeout, **kw):
    """Runs cmd with output to log; returns (exit status or 'timeout', seconds)."""
    start = time.monotonic()
    with open(log, "wb") as out:
        try:
            p = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               timeout=timeout, **kw)
            status = p.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
    return status, time.monotonic() - start


def run_interactive(cmd, log, timeout, sock, steps, **kw):
    """Like run(), for QEMU with its serial line on a Unix socket (server, waiting for us): each
    step waits for a regex (or every regex of a list, in any order) in the output after the previous
    step's cue, then types its text. Returns (status, seconds,
    problem); problem names the step that never saw its cue."""
    start = time.monotonic()
    deadline = start + timeout
    problem = None
    with open(log, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                s.connect(sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if p.poll() is not None or time.monotonic() > deadline:
                    p.kill()
                    return p.wait(), time.monotonic() - start, "the serial socket never opened"
                time.sleep(0.05)
        text, pending, pos = b"", list(steps), 0
        s.settimeout(0.1)
        while p.poll() is None and time.monotonic() < deadline:
            try:
                data = s.recv(65536)
                if not data:
                    break
                text += data
            except socket.timeout:
                pass
            while pending:
                cues = pending[0][0] if isinstance(pending[0][0], list) else [pending[0][0]]
                seen = [re.compile(c, re.M).search(text.decode(errors="replace").replace("\r", ""), pos) for c in cues]
                if not all(seen):
                    break
                pos = max(m.end() for m in seen)
                s.sendall(pending.pop(0)[1].encode())
        try:  # the socket closes as QEMU exits
            status = p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            status = "timeout"
        s.close()
        if pending:
            problem = "console step never saw its cue %r" % pending[0][0]
    return status, time.monotonic() - start, problem


def write_vm_config(case, workdir):
    """vms.cfg for the case's VMs; returns the files to hand to hv (the config and the images)."""
    files, text = [], []
    for vm in case["vms"]:
        text.append("[vm %s]" % vm["name"])
        for key in ("cpus", "pin", "memory", "kernel", "cmdline"):
            if key in vm:
                text.append("%s = %s" % (key, vm[key]))
        for m in vm.get("modules", []):
            text.append("module = %s" % m)
        folder = vm.get("dir", "guests")
        files += [os.path.join(folder, f) for f in [vm["kernel"]] + [m.split()[0] for m in vm.get("modules", [])]]
    cfg = os.path.join(workdir, "vms.cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(text) + "\n")
    paths = []
    for name in dict.fromkeys(files):
        paths.append(os.path.join(BUILD, name))
    return [cfg] + paths


def make_boot_media(case, workdir):
    """An ISO (GRUB, multiboot2) or a FAT ESP image (UEFI loader) carrying the case's cmdline."""
    modules = [os.path.join(ROOT, m) if not os.path.isabs(m) else m for m in case.get("modules", [])]
    if case.get("vms"):
        modules += write_vm_config(case, workdir)
    if "config_text" in case:
        cfg = os.path.join(workdir, "vms.cfg")
        with open(cfg, "w") as f:
            f.write(case["config_text"])
        modules += [cfg]
    # Test guests first, then the Linux guest's files (as tools/run.sh looks for them).
    modules += [os.path.join(BUILD, "guests", g) if os.path.exists(os.path.join(BUILD, "guests", g))
                else os.path.join(BUILD, "linux", g) for g in case.get("guest_files", [])]
    if case["boot"] == "usb":
        # The USB stick image of `make usb` (tools/mkusb.sh), made for this case alone: both
        # firmware paths read the same hv/ folder on it.
        img = os.path.join(workdir, "hv-usb.img")
        subprocess.run(["bash", os.path.join(ROOT, "tools/mkusb.sh"), img, case["cmdline"]] + modules,
                       check=True, cwd=ROOT, env=dict(os.environ, BUILD=BUILD))
        return img
    if case["boot"] == "uefi":
        img = os.path.join(workdir, "esp.img")
        # ESP_DIR: this build tree's loader (mkesp.sh would take build/esp otherwise).
        subprocess.run(["bash", os.path.join(ROOT, "tools/mkesp.sh"), img, case["cmdline"]] + modules,
                       check=True, cwd=ROOT, env=dict(os.environ, ESP_DIR=os.path.join(BUILD, "esp")))
        return img
    iso = os.path.join(workdir, "hv.iso")
    # 'grub_commands' run before hv loads, standing in for what firmware leaves (an MSR's value).
    prelude = "\n".join(case.get("grub_commands", []))
    # 'elf': another Multiboot2 kernel than hv for GRUB to boot (a test guest's native reference).
    elf = os.path.join(BUILD, case.get("elf", "hv.elf"))
    subprocess.run(["bash", os.path.join(ROOT, "tools/mkiso.sh"), elf, iso,
                    case["cmdline"]] + modules, check=True, cwd=ROOT, env=dict(os.environ, HV_GRUB_PRELUDE=prelude))
    return iso


def qemu_command(case, media, serial):
    cmd = ["qemu-system-x86_64", "-machine", "pc", "-cpu", case.get("cpu", "max"),
           "-smp", str(case.get("cpus", 4)), "-m", str(case.get("memory", 256)),
           "-display", "none", "-no-reboot", "-monitor", "none",
           "-serial", "file:" + serial,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if case["boot"] == "usb":
        # The stick on an xHCI controller, the only boot device: OVMF (firmware 'uefi') or SeaBIOS.
        if case["firmware"] == "uefi":
            cmd += ["-bios", OVMF]
        cmd += ["-device", "qemu-xhci,id=xhci", "-drive", "if=none,id=stick,format=raw,file=" + media,
                "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0"]
    elif case["boot"] == "uefi":
        cmd += ["-bios", OVMF, "-drive", "format=raw,file=" + media]
    else:
        cmd += ["-cdrom", media, "-boot", "d"]
    return cmd + case.get("qemu_args", [])


def bochs_command(case, media, serial, workdir):
    rc = os.path.join(workdir, "bochsrc")
    dbg = os.path.join(workdir, "dbg.rc")
    with open(rc, "w") as f:
        subprocess.run(["bash", os.path.join(ROOT, "tools/bochsrc.sh"), media, str(case.get("cpus", 2)),
                        serial, os.path.join(workdir, "bochs.log"), case.get("cpu", "corei7_skylake_x"),
                        str(case.get("memory", 256)), case.get("bios", "/usr/share/bochs/BIOS-bochs-latest")],
                       stdout=f, check=True)
    with open(dbg, "w") as f:
        f.write("c\nquit\n")
    return ["bochs", "-q", "-f", rc, "-rc", dbg]


def check_serial(case, text):
    """Expected patterns must appear in order; forbidden ones must not appear at all."""
    pos = 0
    for pattern in case.get("expect", []):
        m = re.compile(pattern, re.M).search(text, pos)
        if not m:
            return "missing (in order): %r" % pattern
        pos = m.end()
    for pattern in case.get("expect_unordered", []):
        if not re.search(pattern, text, re.M):
            return "missing: %r" % pattern
    forbid = list(case.get("forbid", [])) + [r"^(\[[\w.-]+\] )?FAIL "]
    if case.get("result", "pass") == "pass":
        forbid += [r"PANIC", r"boot error"]
    for pattern in forbid:
        if re.search(pattern, text, re.M):
            return "unexpected: %r" % pattern
    return None


def run_native_case(case):
    """A test guest booted directly by QEMU (-kernel), the reference for what hv must show."""
    workdir = os.path.join(BUILD, "test", case["name"])
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    serial = os.path.join(workdir, "serial.log")
    g = case["native"]
    cmd = ["qemu-system-x86_64", "-machine", "pc", "-cpu", "max", "-m", "128", "-display", "none",
           "-no-reboot", "-monitor", "none", "-serial", "file:" + serial,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-kernel", os.path.join(BUILD, "guests", g["image"])]
    if g.get("cmdline"):
        cmd += ["-append", g["cmdline"]]
    if g.get("modules"):
        cmd += ["-initrd", ",".join(os.path.join(BUILD, "guests", m) for m in g["modules"])]
    cmd += g.get("qemu_args", [])
    status, seconds = run(cmd, os.path.join(workdir, "emulator.log"), case.get("timeout", 30), cwd=workdir)
    with open(serial, errors="replace") as f:
        text = f.read().replace("\r", "")
    want = 0 if g["exit"] == "triple-fault" else (int(g["exit"]) << 1) | 1
    problem = None if status == want else "qemu exit %s, expected %s" % (status, want)
    return check_serial(case, text) or problem, seconds, text


def run_boot_case(case):
    workdir = os.path.join(BUILD, "test", case["name"])
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    if "prepare" in case:  # makes the case's own files (broken images) in its workdir
        case["prepare"](BUILD, workdir)
    media = make_boot_media(case, workdir)
    serial = os.path.join(workdir, "serial.log")
    open(serial, "w").close()
    emulator = case["emulator"]
    problem = None
    if case.get("console"):
        # The runner types on the serial line: QEMU serves it on a socket and logs what it sends.
        sock = os.path.join(workdir, "serial.sock")
        cmd = qemu_command(case, media, serial)
        cmd[cmd.index("file:" + serial)] = "chardev:ser0"
        cmd += ["-chardev", "socket,id=ser0,path=%s,server=on,wait=on,logfile=%s" % (sock, serial)]
        status, seconds, problem = run_interactive(cmd, os.path.join(workdir, "emulator.log"),
                                                   case.get("timeout", 90), sock, case["console"], cwd=workdir)
    elif emulator == "qemu":
        cmd = qemu_command(case, media, serial)
        status, seconds = run(cmd, os.path.join(workdir, "emulator.log"), case.get("timeout", 90), cwd=workdir)
    else:
        cmd = bochs_command(case, media, serial, workdir)
        status, seconds = run(cmd, os.path.join(workdir, "emulator.log"), case.get("timeout", 90), cwd=workdir)
    with open(serial, errors="replace") as f:
        text = f.read().replace("\r", "")
    want = EXIT_CODES[emulator][case.get("result", "pass")]
    if status != want:
        problem = "emulator exit %s, expected %s (%s)" % (status, want, case.get("result", "pass"))
    problem = check_serial(case, text) or problem
    return problem, seconds, text


def run_command_case(case):
    workdir = os.path.join(BUILD, "test", case["name"])
    os.makedirs(workdir, exist_ok=True)
    log = os.path.join(workdir, "output.log")
    status, seconds = run(case["command"], log, case.get("timeout", 600), cwd=ROOT)
    with open(log, errors="replace") as f:
        text = f.read()
    problem = None if status == 0 else "exit status %s" % status
    return problem, seconds, text


def run_case(case):
    try:
        if "command" in case:
            return run_command_case(case)
        if "native" in case:
            return run_native_case(case)
        return run_boot_case(case)
    except Exception as e:  # a broken case is a failed case, never a crashed runner
        return "runner error: %s" % e, 0.0, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("-k", "--select", action="append", default=[])
    args = ap.parse_args()
    # Slow cases run only when asked for by name.
    pool = cases.CASES + [c for c in cases.SLOW_CASES if any(s == c["name"] for s in args.select)]
    selected = [c for c in pool if not args.select or any(s in c["name"] for s in args.select)]

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(c, pool.submit(run_case, c)) for c in selected]
        for case, fut in futures:
            problem, seconds, text = fut.result()
            if problem:
                failed += 1
                print("FAIL %s (%.1fs): %s" % (case["name"], seconds, problem))
                tail = text.strip().splitlines()[-15:]
                for line in tail:
                    print("    | " + line)
                print("    logs: %s/" % os.path.relpath(os.path.join(BUILD, "test", case["name"]), ROOT))
            else:
                passed += 1
                print("PASS %s (%.1fs)" % (case["name"], seconds))
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
