# libFuzzer targets for the pure-logic parsers/emulators (included by the top Makefile with
# -include; uses BUILD). Each tests/fuzz/fuzz_X.c is linked with the kernel sources listed below,
# built with clang's -fsanitize=fuzzer,address,undefined into $(BUILD)/fuzz/.
#   make fuzz        runs every target for FUZZ_SECONDS in total (default 60, split evenly)
#   make fuzz-smoke  runs every target for FUZZ_SMOKE_SECONDS each (default 10)
# Both print executions per target and fail on a crash, hang (FUZZ_TIMEOUT s per input) or leak.
# The corpus grows in $(BUILD)/fuzz/corpus/<target>/; seeds come from tests/fuzz/seeds/<target>.txt
# (one input per line, in hex). A crashing input is kept as $(BUILD)/fuzz/crash-<target>-*:
# rerun it with `$(BUILD)/fuzz/<target> <file>`.

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Iinclude -D_DEFAULT_SOURCE
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_TIMEOUT ?= 5
FUZZ_HDRS := $(wildcard include/hv/*.h)

# fuzz target -> kernel sources under test
FUZZ_SRCS_fuzz_vie := kernel/vmm/vie.c
FUZZ_SRCS_fuzz_gpt := kernel/vmm/gpt.c
FUZZ_SRCS_fuzz_vhpet := kernel/vmm/vhpet.c
FUZZ_SRCS_fuzz_vrtc := kernel/vmm/vrtc.c
FUZZ_SRCS_fuzz_vlapic := kernel/vmm/vlapic.c
FUZZ_SRCS_fuzz_vioapic := kernel/vmm/vioapic.c
FUZZ_SRCS_fuzz_vpic := kernel/vmm/vpic.c
FUZZ_SRCS_fuzz_vpit := kernel/vmm/vpit.c
FUZZ_SRCS_fuzz_vfwcfg := kernel/vmm/vfwcfg.c
FUZZ_SRCS_fuzz_loader_mb2 := kernel/vmm/loader_mb2.c kernel/vmm/loader_mb1.c kernel/vmm/memseg.c kernel/lib/fmt.c

FUZZ_TARGETS := fuzz_vie fuzz_gpt
FUZZ_TARGETS += fuzz_vhpet fuzz_vrtc
FUZZ_TARGETS += fuzz_vlapic
FUZZ_TARGETS += fuzz_vioapic fuzz_vpic fuzz_vpit
FUZZ_TARGETS += fuzz_vfwcfg fuzz_loader_mb2
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

define FUZZ_RULE
$(FUZZ_DIR)/$(1): tests/fuzz/$(1).c $$(FUZZ_SRCS_$(1)) $$(FUZZ_HDRS) tests/fuzz/build.mk
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ tests/fuzz/$(1).c $$(FUZZ_SRCS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) bash tests/fuzz/run.sh $(FUZZ_DIR) total $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) FUZZ_SEED=$(FUZZ_SEED) bash tests/fuzz/run.sh $(FUZZ_DIR) each $(FUZZ_SMOKE_SECONDS) $(FUZZ_BINS)
