# SPDX-License-Identifier: GPL-2.0
#
# gcheap: a garbage-collected heap served by the kernel.
#
#   make            build gcheap.ko against KDIR and the user-space library
#   make run        boot a guest and run the demo (the main job)
#   make check      every test: KUnit, selftests, hosted; debug and stock kernels
#   make bench      the benchmarks
#   make lint       W=1, sparse (C=2) and checkpatch
#   make install    install the module (modules_install) and the library

# The running kernel's headers; on a host without them (the build machines
# run a kernel with no module support), Debian's installed amd64 headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build \
			       /lib/modules/*-amd64/build))
PWD := $(shell pwd)
PREFIX ?= /usr/local

.PHONY: all module lib clean check run bench lint install

all: module lib

module:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

lib:
	$(MAKE) -C lib

check:
	./scripts/check

run:
	./scripts/run-demo

bench:
	./scripts/bench

lint:
	./scripts/lint

install: all
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install
	$(MAKE) -C lib install PREFIX=$(PREFIX)

clean:
	-$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null
	$(MAKE) -C lib clean
	-$(MAKE) -C hosted clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C demo clean
	-$(MAKE) -C bench clean
	rm -rf build

