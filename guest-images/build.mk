# Test guests: each directory guest-images/<name>/ (except lib/) is one guest, linked with the guest
# library into $(BUILD)/guests/<name>.elf, a Multiboot (v1) ELF32 image loaded at 1 MiB that also
# boots natively with `qemu-system-x86_64 -kernel`. 64-bit parts are .code64 assembly in the same
# 32-bit objects, so no ELF class conversion is needed. The list of tests is guest-images/tests.txt.

GUEST_DIR := guest-images
GUEST_OUT := $(BUILD)/guests
GUEST_NAMES := $(filter-out lib linux,$(notdir $(patsubst %/,%,$(wildcard $(GUEST_DIR)/*/))))

# No SSE/x87 in C: the guests never enable CR4.OSFXSR.
GUEST_CFLAGS := --target=i386-unknown-none-elf -std=c11 -O2 -g -ffreestanding -fno-builtin -nostdlib \
	-fno-stack-protector -fno-pic -fno-pie -mgeneral-regs-only -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -Wall -Wextra -Werror -I$(GUEST_DIR)/lib -MMD -MP
GUEST_ASFLAGS := --target=i386-unknown-none-elf -I$(GUEST_DIR)/lib -MMD -MP
GUEST_LDFLAGS := -m elf_i386 -nostdlib -static -z max-page-size=4096 -z noexecstack \
	-T $(GUEST_DIR)/lib/guest.ld

# Objects of one guest directory: foo.c -> foo.c.o, so foo.c and foo.S may sit side by side.
guest_objs = $(patsubst $(GUEST_DIR)/%,$(GUEST_OUT)/obj/%.o,\
	$(wildcard $(GUEST_DIR)/$(1)/*.c $(GUEST_DIR)/$(1)/*.S))
GUEST_LIB_OBJS := $(call guest_objs,lib)
GUEST_ELFS := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)

.PHONY: guests
guests: $(GUEST_ELFS)

$(GUEST_OUT)/obj/%.c.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/%.S.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_ASFLAGS) -c $< -o $@

define guest_link
$(GUEST_OUT)/$(1).elf: $(call guest_objs,$(1)) $(GUEST_LIB_OBJS) $(GUEST_DIR)/lib/guest.ld
	$$(LD) $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_link,$(g))))

GUEST_ALL_OBJS := $(foreach g,lib $(GUEST_NAMES),$(call guest_objs,$(g)))
-include $(GUEST_ALL_OBJS:.o=.d)
