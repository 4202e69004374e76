# boot/uefi: build/esp/EFI/BOOT/BOOTX64.EFI, a GNU-EFI application that embeds $(HV_ELF).
# Included by the top Makefile, which defines BUILD, HV_ELF, ESP_DIR, EFI_APP, CC, LD, OBJCOPY.
# Also usable alone, e.g. with a test kernel:
#   make -f boot/uefi/build.mk BUILD=/tmp/b HV_ELF=/tmp/k.elf EFI_APP=/tmp/b/BOOTX64.EFI \
#        CC=clang LD=ld.lld OBJCOPY=objcopy /tmp/b/BOOTX64.EFI
#
# Pipeline (the usual gnu-efi one): clang -fpic objects -> ld.lld -shared with gnu-efi's crt0,
# linker script and libraries -> an ELF shared object whose R_X86_64_RELATIVE relocations crt0's
# _relocate applies at run time -> GNU objcopy --target efi-app-x86_64 -> PE32+ application.

UEFI_DIR := boot/uefi
UEFI_OBJDIR := $(BUILD)/uefi
GNUEFI_INC := /usr/include/efi
GNUEFI_LIB := /usr/lib

# -fshort-wchar: L"" strings are UCS-2 (CHAR16). GNU_EFI_USE_MS_ABI: firmware is called directly
# through ms_abi prototypes; efi_main itself is SysV, called by crt0. No red zone: firmware
# interrupt handlers run on our stack. -fpic + -shared: gnu-efi relocates the image itself.
UEFI_CFLAGS := --target=x86_64-unknown-none-elf -std=c11 -O2 -g -ffreestanding -fpic \
	-fshort-wchar -mno-red-zone -fno-stack-protector -fno-strict-aliasing \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-DGNU_EFI_USE_MS_ABI \
	-Wall -Wextra -Werror \
	-I$(GNUEFI_INC) -I$(GNUEFI_INC)/x86_64 -I$(GNUEFI_INC)/protocol -Iinclude -MMD -MP
UEFI_ASFLAGS := --target=x86_64-unknown-none-elf -fpic -MMD -MP \
	-DHV_ELF_PATH='"$(abspath $(HV_ELF))"'

# rela-dyn.lds: the one addition ld.lld needs on top of gnu-efi's script (see the file).
UEFI_LDFLAGS := -nostdlib -shared -Bsymbolic --no-undefined -z noexecstack \
	-T $(GNUEFI_LIB)/elf_x86_64_efi.lds -T $(UEFI_DIR)/rela-dyn.lds
UEFI_LIBS := -L$(GNUEFI_LIB) -lefi -lgnuefi

# gnu-efi's section list; .rela.* picks up ld.lld's .rela.dyn.
UEFI_PE_SECTIONS := -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
	-j '.rel.*' -j '.rela.*' -j .reloc

UEFI_SRCS := $(wildcard $(UEFI_DIR)/*.c)
UEFI_ASMS := $(wildcard $(UEFI_DIR)/*.S)
UEFI_OBJS := $(UEFI_SRCS:$(UEFI_DIR)/%.c=$(UEFI_OBJDIR)/%.o) \
	$(UEFI_ASMS:$(UEFI_DIR)/%.S=$(UEFI_OBJDIR)/%.o)

$(UEFI_OBJDIR)/%.o: $(UEFI_DIR)/%.c $(UEFI_DIR)/build.mk
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(UEFI_CFLAGS) -c $< -o $@

$(UEFI_OBJDIR)/%.o: $(UEFI_DIR)/%.S $(UEFI_DIR)/build.mk
	@mkdir -p $(dir $@)
	@echo "  AS $<"
	@$(CC) $(UEFI_ASFLAGS) -c $< -o $@

# .incbin is not seen by -MMD: the embedded kernel is an explicit prerequisite.
$(UEFI_OBJDIR)/kernel_image.o: $(HV_ELF)

$(UEFI_OBJDIR)/hv-efi.so: $(UEFI_OBJS) $(UEFI_DIR)/rela-dyn.lds
	@echo "  LD $@"
	@$(LD) $(UEFI_LDFLAGS) $(GNUEFI_LIB)/crt0-efi-x86_64.o $(UEFI_OBJS) $(UEFI_LIBS) -o $@

$(EFI_APP): $(UEFI_OBJDIR)/hv-efi.so
	@mkdir -p $(dir $@)
	@echo "  PE $@"
	@$(OBJCOPY) $(UEFI_PE_SECTIONS) --target efi-app-x86_64 $< $@

-include $(UEFI_OBJS:.o=.d)
