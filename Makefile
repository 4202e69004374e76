# hv: one Makefile. `make` builds the kernel, the UEFI loader with its ESP tree and the GRUB ISO;
# `make run` boots it; `make test` runs unit tests and the integration runner.

BUILD ?= build
CC := clang
LD := ld.lld
OBJCOPY := objcopy

# Freestanding x86-64 kernel in the top 2 GiB (-mcmodel=kernel); no SSE in hv itself so guest
# vector state never needs saving on an exit.
KERNEL_CFLAGS := --target=x86_64-unknown-none-elf -std=c11 -O2 -g -ffreestanding -fno-builtin \
	-nostdlib -fno-stack-protector -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
	-mgeneral-regs-only -fno-omit-frame-pointer -fno-strict-aliasing \
	-Wall -Wextra -Werror -Iinclude -Ikernel -MMD -MP
KERNEL_ASFLAGS := --target=x86_64-unknown-none-elf -Iinclude -MMD -MP -D__ASSEMBLY__
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack -T linker.ld

KERNEL_SRCS := $(wildcard kernel/*.c kernel/lib/*.c kernel/vmm/*.c kernel/vmx/*.c kernel/svm/*.c \
	boot/multiboot2/*.c)
KERNEL_ASMS := $(wildcard kernel/*.S kernel/vmx/*.S kernel/svm/*.S boot/multiboot2/*.S boot/ap/*.S)
KERNEL_OBJS := $(KERNEL_SRCS:%.c=$(BUILD)/obj/%.o) $(KERNEL_ASMS:%.S=$(BUILD)/obj/%.o)

HV_ELF := $(BUILD)/hv.elf
HV_ISO := $(BUILD)/hv.iso
ESP_DIR := $(BUILD)/esp
EFI_APP := $(ESP_DIR)/EFI/BOOT/BOOTX64.EFI

.PHONY: all deps run run-bios run-bochs debug usb test bench clean
all: $(HV_ELF) $(EFI_APP) $(HV_ISO)

deps:
	@bash tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS $<"
	@$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(HV_ELF): $(KERNEL_OBJS) linker.ld
	@echo "  LD $@"
	@$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS)

# GRUB rescue image: BIOS (i386-pc) always, UEFI too where grub-efi-amd64-bin is installed.
$(HV_ISO): $(HV_ELF) tools/mkiso.sh
	bash tools/mkiso.sh $(HV_ELF) $@

-include boot/uefi/build.mk
include tests/unit/build.mk
include guest-images/build.mk
include guest-images/linux/build.mk
-include tests/fuzz/build.mk

# `make run`: hv under QEMU with OVMF (KVM when nested VT-x/AMD-V is there); `make run-bios`: through
# GRUB and SeaBIOS; `make run-bochs`: the ISO in Bochs (Intel VMX). VMs: tools/run.cfg (a 2-vcpu Linux
# VM and a test guest; run-bochs: tools/run-bochs.cfg, two test guests).
run: all guests linux-guest
	BUILD=$(BUILD) bash tools/run.sh qemu-uefi

run-bios: all guests linux-guest
	BUILD=$(BUILD) bash tools/run.sh qemu-bios

run-bochs: all guests
	BUILD=$(BUILD) bash tools/run.sh bochs

# `make debug`: `make run` with QEMU halted before the firmware's first instruction and its gdbstub
# on tcp::1234; tools/run.sh prints the gdb command that attaches (docs/debugging.md).
debug: all guests linux-guest
	HV_DEBUG=1 BUILD=$(BUILD) bash tools/run.sh qemu-uefi

# `make usb`: $(BUILD)/hv-usb.img, one disk image for a USB stick that boots hv on UEFI and on legacy
# BIOS (tools/mkusb.sh). VMs: tools/run.cfg (as `make run`) or HV_CONFIG=path; command line: HV_CMDLINE.
HV_CONFIG ?= tools/run.cfg
usb: all guests linux-guest
	BUILD=$(BUILD) bash tools/mkusb.sh --config "$(HV_CONFIG)" $(BUILD)/hv-usb.img "$(HV_CMDLINE)"
	@echo "$(BUILD)/hv-usb.img is ready; to write it to a stick see docs/quickstart.md"

# Unit tests, then every integration case (QEMU, Bochs, natively booted guests).
test: deps all guests linux-guest
	bash tests/run.sh

# Exit-path costs in host instructions, measured by a guest with RDTSC on instruction-counting
# emulators: Bochs (VMX) and QEMU with -icount (SVM).
bench: deps all guests linux-guest
	bash tools/bench.sh

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJS:.o=.d)
