# Host unit tests of the kernel's pure-logic files (included by the top Makefile; uses BUILD, CC).
# Each tests/unit/test_X.c is one cmocka program linked with the kernel sources listed for it below,
# built with ASan+UBSan into $(BUILD)/unit/ and run by `make unit`, which fails on any failure.
# kernel/lib/string.c is never linked here: libc provides memcpy & co. (include/hv/string.h matches).

UNIT_DIR := $(BUILD)/unit
UNIT_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Iinclude -Itests/unit -D_DEFAULT_SOURCE
UNIT_LDLIBS := -lcmocka
UNIT_HDRS := $(wildcard include/hv/*.h tests/unit/*.h tests/unit/fixtures/*.h)

# test program -> kernel sources under test
UNIT_SRCS_test_fmt := kernel/lib/fmt.c
UNIT_SRCS_test_acpi := kernel/acpi.c kernel/lib/fmt.c
UNIT_SRCS_test_gpt := kernel/vmm/gpt.c
UNIT_SRCS_test_vie := kernel/vmm/vie.c
UNIT_SRCS_test_config := kernel/config.c kernel/lib/fmt.c tests/unit/compat.c
UNIT_SRCS_test_config_check := kernel/config_check.c kernel/config.c kernel/pmm.c kernel/lib/fmt.c tests/unit/compat.c
UNIT_SRCS_test_virt_firmware := kernel/virt_firmware.c
UNIT_SRCS_test_options := kernel/cmdline.c kernel/lib/fmt.c
UNIT_SRCS_test_pmm := kernel/pmm.c
UNIT_SRCS_test_exception := kernel/vmm/exception.c
UNIT_SRCS_test_vuart := kernel/vmm/vuart.c
UNIT_SRCS_test_loader_mb1 := kernel/vmm/loader_mb1.c kernel/vmm/memseg.c
UNIT_SRCS_test_vhpet := kernel/vmm/vhpet.c
UNIT_SRCS_test_vrtc := kernel/vmm/vrtc.c
UNIT_SRCS_test_vpmtmr := kernel/vmm/vpmtmr.c
UNIT_SRCS_test_vfwcfg := kernel/vmm/vfwcfg.c
# test_loader_mb1 also loads a real test guest (Multiboot ELF32) built by `make guests`
$(UNIT_DIR)/test_loader_mb1: $(BUILD)/guests/cpuid.elf
$(UNIT_DIR)/test_loader_mb1: UNIT_CFLAGS += -DGUEST_ELF='"$(BUILD)/guests/cpuid.elf"'
# test_loader_mb2 loads the Multiboot2 test guest built by `make guests`, and hv.elf when it is built
UNIT_SRCS_test_loader_mb2 := kernel/vmm/loader_mb2.c kernel/vmm/loader_mb1.c kernel/vmm/memseg.c kernel/lib/fmt.c
$(UNIT_DIR)/test_loader_mb2: $(BUILD)/guests/mb2.elf
$(UNIT_DIR)/test_loader_mb2: UNIT_CFLAGS += -DGUEST_ELF='"$(BUILD)/guests/mb2.elf"' -DHV_ELF='"$(BUILD)/hv.elf"'
UNIT_SRCS_test_vlapic := kernel/vmm/vlapic.c
UNIT_SRCS_test_vioapic := kernel/vmm/vioapic.c
UNIT_SRCS_test_vpic := kernel/vmm/vpic.c
UNIT_SRCS_test_vpit := kernel/vmm/vpit.c
UNIT_SRCS_test_loader_linux := kernel/vmm/loader_linux.c kernel/vmm/memseg.c kernel/lib/fmt.c
# test_loader_linux also loads Debian's kernel and initramfs from $(BUILD)/linux/ when they are there
# (guest-images/linux/build.sh); without them that one test is skipped
$(UNIT_DIR)/test_loader_linux: UNIT_CFLAGS += -DLINUX_DIR='"$(BUILD)/linux"'
UNIT_SRCS_test_vacpi := kernel/vmm/vacpi.c kernel/acpi.c kernel/lib/fmt.c

UNIT_TESTS := test_fmt test_acpi
UNIT_TESTS += test_gpt test_vie
UNIT_TESTS += test_config test_options test_pmm test_exception test_vuart test_loader_mb1 test_loader_mb2
UNIT_TESTS += test_config_check test_virt_firmware
UNIT_TESTS += test_vhpet test_vrtc test_vpmtmr test_vfwcfg
UNIT_TESTS += test_vlapic
UNIT_TESTS += test_vioapic test_vpic test_vpit
UNIT_TESTS += test_loader_linux
UNIT_TESTS += test_vacpi
UNIT_BINS := $(UNIT_TESTS:%=$(UNIT_DIR)/%)

define UNIT_RULE
$(UNIT_DIR)/$(1): tests/unit/$(1).c $$(UNIT_SRCS_$(1)) $$(UNIT_HDRS) tests/unit/build.mk
	@mkdir -p $$(dir $$@)
	$$(CC) $$(UNIT_CFLAGS) -o $$@ tests/unit/$(1).c $$(UNIT_SRCS_$(1)) $$(UNIT_LDLIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call UNIT_RULE,$(t))))

.PHONY: unit unit-build
unit-build: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@bash tests/unit/run.sh $(UNIT_BINS)
