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

UNIT_TESTS := test_fmt test_acpi
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
