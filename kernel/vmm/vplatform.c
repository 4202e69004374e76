/* The devices every VM gets: COM1 console and the debug-exit port. */
#include <hv/console.h>
#include <hv/mm.h>
#include <hv/string.h>
#include <hv/vmm.h>
#include <hv/vuart.h>

#define COM1_BASE 0x3f8
#define COM1_LAST 0x3ff
#define DEBUG_EXIT_PORT 0xf4

/* A VM's console line, prefixed with its name, in one console write so lines never interleave. */
static void vm_console_line(void *ctx, const char *line, size_t len)
{
	struct vm *vm = ctx;
	char buf[VM_NAME_MAX + VUART_LINE_MAX + 4];
	size_t n = 0;

	buf[n++] = '[';
	for (const char *s = vm->name; *s; s++)
		buf[n++] = *s;
	buf[n++] = ']';
	buf[n++] = ' ';
	memcpy(buf + n, line, len);
	n += len;
	buf[n++] = '\n';
	console_write(buf, n);
}

/* Port 0xf4: a write of v stops the VM with status v (QEMU's isa-debug-exit, as seen by a guest). */
static bool debug_exit_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vm *vm = dev;

	(void)port;
	(void)bytes;
	if (in)
		return false;
	vm->exit_status = *value;
	vm_suspend(vm, VM_SUSPEND_EXIT, NULL);
	return true;
}

bool vplatform_init(struct vm *vm)
{
	vm->uart = mm_zalloc(sizeof(*vm->uart));
	if (!vm->uart)
		return false;
	vuart_init(vm->uart, vm_console_line, vm);
	return !vm_register_ioport(vm, COM1_BASE, COM1_LAST, vuart_io, vm->uart) &&
	       !vm_register_ioport(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_PORT + 3, debug_exit_io, vm);
}

void vplatform_stop(struct vm *vm)
{
	if (vm->uart)
		vuart_flush(vm->uart);
}
