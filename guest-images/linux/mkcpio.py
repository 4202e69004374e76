#!/usr/bin/env python3
"""Write a gzip-compressed cpio (newc) archive for an initramfs, without root: every entry is
owned by root and dated 0, and device nodes are written as entries, not made with mknod.

usage: mkcpio.py OUT.cpio.gz ENTRY...   where ENTRY is one of
  dir:PATH:MODE   file:PATH:MODE:SOURCE   symlink:PATH:TARGET   char:PATH:MODE:MAJOR:MINOR
"""
import gzip
import stat
import sys


def header(ino, mode, size, namesize, rmajor=0, rminor=0, nlink=1):
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, namesize, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad(n):
    return b"\0" * (-n % 4)


def entry(ino, name, mode, data=b"", rmajor=0, rminor=0):
    name_b = name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(mode) else 1
    out = header(ino, mode, len(data), len(name_b), rmajor, rminor, nlink) + name_b
    out += pad(110 + len(name_b)) + data + pad(len(data))
    return out


def main():
    out_path, specs = sys.argv[1], sys.argv[2:]
    body = b""
    for ino, spec in enumerate(specs, start=1):
        kind, path, *rest = spec.split(":")
        path = path.lstrip("/")
        if kind == "dir":
            body += entry(ino, path, stat.S_IFDIR | int(rest[0], 8))
        elif kind == "file":
            with open(rest[1], "rb") as f:
                body += entry(ino, path, stat.S_IFREG | int(rest[0], 8), f.read())
        elif kind == "symlink":
            body += entry(ino, path, stat.S_IFLNK | 0o777, rest[0].encode())
        elif kind == "char":
            body += entry(ino, path, stat.S_IFCHR | int(rest[0], 8), b"", int(rest[1]), int(rest[2]))
        else:
            sys.exit(f"mkcpio: unknown entry kind {kind!r}")
    body += entry(0, "TRAILER!!!", 0)
    # mtime=0: the same inputs give the same bytes.
    with open(out_path, "wb") as f, gzip.GzipFile(filename="", fileobj=f, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(body)


if __name__ == "__main__":
    main()
