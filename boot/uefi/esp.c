/*
 * Files from the ESP: the kernel command line and the modules (configuration, guest images) live in
 * \hv\ on the volume this application was loaded from, so one FAT image carries a whole setup.
 */
#include <stddef.h>

#include "loader.h"

#define HV_DIR L"\\hv"
#define CMDLINE_FILE "cmdline.txt"

/* One directory entry: EFI_FILE_INFO plus a name of up to 255 UCS-2 characters (FAT's limit). */
static union {
	EFI_FILE_INFO info;
	uint8_t raw[offsetof(EFI_FILE_INFO, FileName) + 256 * sizeof(CHAR16) + 64];
} dirent;

/* Room for the longest accepted first line plus a BOM and its line end. */
static char cmdline_buf[BOOT_CMDLINE_MAX + 8];

/* EFI_FILE_PROTOCOL.Close has no failure status (the spec defines only EFI_SUCCESS). */
static void file_close(EFI_FILE_HANDLE f)
{
	f->Close(f);
}

static EFI_STATUS open_boot_volume(EFI_HANDLE image, EFI_FILE_HANDLE *root)
{
	EFI_LOADED_IMAGE *li;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_STATUS st;

	st = BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return efi_error(st, L"LoadedImage protocol of this application");
	st = BS->HandleProtocol(li->DeviceHandle, &FileSystemProtocol, (void **)&fs);
	if (EFI_ERROR(st))
		return efi_error(st, L"file system of the boot volume");
	st = fs->OpenVolume(fs, root);
	if (EFI_ERROR(st))
		return efi_error(st, L"opening the boot volume");
	return EFI_SUCCESS;
}

/* File names become ASCII module names; anything outside printable ASCII turns into '?'. */
static EFI_STATUS name_to_ascii(const CHAR16 *in, char *out, UINTN max)
{
	UINTN i;

	for (i = 0; in[i]; i++) {
		if (i + 1 >= max)
			return EFI_BUFFER_TOO_SMALL;
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
	}
	out[i] = 0;
	return EFI_SUCCESS;
}

/* FAT names are case-insensitive: CMDLINE.TXT is the command line too. */
static int ascii_iequal(const char *a, const char *b)
{
	for (;; a++, b++) {
		char ca = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
		char cb = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;

		if (ca != cb)
			return 0;
		if (!ca)
			return 1;
	}
}

/* Read() may return fewer bytes than asked; loop until the buffer is full or the file ends. */
static EFI_STATUS read_file(EFI_FILE_HANDLE f, void *buf, UINTN size, UINTN *got, const CHAR16 *name)
{
	UINTN done = 0;

	while (done < size) {
		UINTN n = size - done;
		EFI_STATUS st = f->Read(f, &n, (uint8_t *)buf + done);

		if (EFI_ERROR(st)) {
			Print(L"hv-efi: error: reading \\hv\\%s: %r\n", name, st);
			return st;
		}
		if (n == 0)
			break;
		done += n;
	}
	*got = done;
	return EFI_SUCCESS;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static EFI_STATUS cmdline_too_long(void)
{
	Print(L"hv-efi: error: first line of \\hv\\" CMDLINE_FILE L" is longer than %d bytes\n",
	      BOOT_CMDLINE_MAX - 1);
	return EFI_BUFFER_TOO_SMALL;
}

/* First line of \hv\cmdline.txt, trimmed; no file means an empty command line. */
static EFI_STATUS load_cmdline(EFI_FILE_HANDLE dir, struct boot_info *info)
{
	EFI_FILE_HANDLE f;
	UINTN len, start = 0, end;
	EFI_STATUS st;

	st = dir->Open(dir, &f, L"" CMDLINE_FILE, EFI_FILE_MODE_READ, 0);
	if (st == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(st))
		return efi_error(st, L"opening \\hv\\" CMDLINE_FILE);
	st = read_file(f, cmdline_buf, sizeof(cmdline_buf), &len, L"" CMDLINE_FILE);
	file_close(f);
	if (EFI_ERROR(st))
		return st;

	/* Editors on other systems add a UTF-8 byte order mark; it is not part of the line. */
	if (len >= 3 && (uint8_t)cmdline_buf[0] == 0xef && (uint8_t)cmdline_buf[1] == 0xbb &&
	    (uint8_t)cmdline_buf[2] == 0xbf)
		start = 3;
	for (end = start; end < len; end++) {
		char c = cmdline_buf[end];

		if (c == '\r' || c == '\n' || c == 0)
			break;
	}
	if (end == len && len == sizeof(cmdline_buf)) {
		return cmdline_too_long();
	}
	while (start < end && is_blank(cmdline_buf[start]))
		start++;
	while (end > start && is_blank(cmdline_buf[end - 1]))
		end--;
	if (end - start >= BOOT_CMDLINE_MAX) {
		return cmdline_too_long();
	}
	CopyMem(info->cmdline, cmdline_buf + start, end - start);
	info->cmdline[end - start] = 0;
	return EFI_SUCCESS;
}

/* A module is the whole file in its own pages (at least one, so base is always a real page). */
static EFI_STATUS load_module(EFI_FILE_HANDLE dir, const EFI_FILE_INFO *fi, const char *name,
			      struct boot_info *info)
{
	struct boot_module *m;
	EFI_FILE_HANDLE f;
	uint64_t base;
	UINTN pages, got;
	EFI_STATUS st;

	if (info->module_count >= BOOT_MODULES_MAX) {
		Print(L"hv-efi: error: more than %d modules in \\hv\\ (%s is one too many)\n",
		      BOOT_MODULES_MAX, fi->FileName);
		return EFI_OUT_OF_RESOURCES;
	}
	pages = EFI_SIZE_TO_PAGES(fi->FileSize);
	st = pages_alloc(pages ? pages : 1, ~0ull, &base, fi->FileName);
	if (EFI_ERROR(st))
		return st;
	st = dir->Open(dir, &f, (CHAR16 *)fi->FileName, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st)) {
		Print(L"hv-efi: error: opening \\hv\\%s: %r\n", fi->FileName, st);
		return st;
	}
	st = read_file(f, (void *)(UINTN)base, fi->FileSize, &got, fi->FileName);
	file_close(f);
	if (EFI_ERROR(st))
		return st;
	if (got != fi->FileSize) {
		Print(L"hv-efi: error: \\hv\\%s: read %ld of %ld bytes\n", fi->FileName, (UINT64)got,
		      fi->FileSize);
		return EFI_VOLUME_CORRUPTED;
	}

	m = &info->modules[info->module_count++];
	m->base = base;
	m->size = fi->FileSize;
	CopyMem(m->name, (void *)name, BOOT_MODULE_NAME_MAX);
	Print(L"hv-efi: module %a: %ld bytes at 0x%lx\n", m->name, m->size, m->base);
	return EFI_SUCCESS;
}

/* Every regular file of \hv\ except the command line, in directory order. */
static EFI_STATUS load_modules(EFI_FILE_HANDLE dir, struct boot_info *info)
{
	char name[BOOT_MODULE_NAME_MAX];

	for (;;) {
		UINTN size = sizeof(dirent);
		EFI_STATUS st = dir->Read(dir, &size, &dirent);

		if (st == EFI_BUFFER_TOO_SMALL) {
			Print(L"hv-efi: error: a file name in \\hv\\ is too long\n");
			return st;
		}
		if (EFI_ERROR(st))
			return efi_error(st, L"reading directory \\hv");
		if (size == 0)
			return EFI_SUCCESS;
		if (dirent.info.Attribute & EFI_FILE_DIRECTORY)
			continue;
		ZeroMem(name, sizeof(name));
		if (EFI_ERROR(name_to_ascii(dirent.info.FileName, name, sizeof(name)))) {
			Print(L"hv-efi: error: \\hv\\%s: name longer than %d characters\n",
			      dirent.info.FileName, BOOT_MODULE_NAME_MAX - 1);
			return EFI_BUFFER_TOO_SMALL;
		}
		if (ascii_iequal(name, CMDLINE_FILE))
			continue;
		st = load_module(dir, &dirent.info, name, info);
		if (EFI_ERROR(st))
			return st;
	}
}

/* \hv could also be a plain file; GetInfo tells them apart. */
static EFI_STATUS is_directory(EFI_FILE_HANDLE f, int *yes)
{
	UINTN size = sizeof(dirent);
	EFI_STATUS st = f->GetInfo(f, &GenericFileInfo, &size, &dirent);

	if (EFI_ERROR(st))
		return efi_error(st, L"file information of \\hv");
	*yes = (dirent.info.Attribute & EFI_FILE_DIRECTORY) != 0;
	return EFI_SUCCESS;
}

EFI_STATUS esp_load(EFI_HANDLE image, struct boot_info *info)
{
	EFI_FILE_HANDLE root, dir;
	EFI_STATUS st;
	int isdir;

	st = open_boot_volume(image, &root);
	if (EFI_ERROR(st))
		return st;
	st = root->Open(root, &dir, HV_DIR, EFI_FILE_MODE_READ, 0);
	if (st == EFI_NOT_FOUND) {
		file_close(root);
		Print(L"hv-efi: no \\hv directory: no modules, empty command line\n");
		return EFI_SUCCESS;
	}
	if (EFI_ERROR(st)) {
		file_close(root);
		return efi_error(st, L"opening \\hv");
	}

	st = is_directory(dir, &isdir);
	if (!EFI_ERROR(st) && !isdir) {
		Print(L"hv-efi: error: \\hv is a file, not a directory\n");
		st = EFI_INVALID_PARAMETER;
	}
	if (!EFI_ERROR(st))
		st = load_cmdline(dir, info);
	if (!EFI_ERROR(st))
		st = load_modules(dir, info);
	file_close(dir);
	file_close(root);
	return st;
}
