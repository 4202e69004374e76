# The Linux guest (issue 6): Debian 12's kernel and a busybox initramfs, built by build.sh from
# Debian's packages into $(BUILD)/linux/. Include this from the top Makefile; guest-images/build.mk
# must leave this directory out of its test guests (GUEST_NAMES filter-out lib linux).
#   make linux-guest    $(BUILD)/linux/vmlinuz and $(BUILD)/linux/initramfs.cpio.gz
# The first build downloads ~71 MB (linux-image-*-amd64, busybox-static) with apt-get download and
# keeps the packages in $(BUILD)/linux/debs/; later builds reuse them and take well under a second.

LINUX_OUT := $(BUILD)/linux
LINUX_GUEST := $(LINUX_OUT)/vmlinuz $(LINUX_OUT)/initramfs.cpio.gz
LINUX_RECIPE := $(addprefix guest-images/linux/,build.sh init mkcpio.py)

.PHONY: linux-guest
linux-guest: $(LINUX_GUEST)

$(LINUX_GUEST) &: $(LINUX_RECIPE)
	bash guest-images/linux/build.sh $(LINUX_OUT)

# The loader's unit test also loads the real kernel when it is there.
$(UNIT_DIR)/test_loader_linux: | $(LINUX_GUEST)
