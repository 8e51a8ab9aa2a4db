# zotad: three privilege-separated daemons and their admin tool.
#
#   make                 build everything
#   make check           build and run every test
#   make check SANITIZE=1  the same under AddressSanitizer and UBSan
#   make bench           benchmarks, printed as a table
#   make fuzz            build the libFuzzer targets and run each a while
#   make deps            install the Debian 12 packages needed
#   make install         honours PREFIX, SYSCONFDIR and DESTDIR

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
# The daemons read SYSCONFDIR/zotad/configuration.yaml without -f.
SYSCONFDIR ?= /etc
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
PKG_CONFIG ?= pkg-config
SANITIZE ?=

WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wpointer-arith -Wcast-qual -Wsign-compare -Werror
HARDEN	= -fstack-protector-strong -D_FORTIFY_SOURCE=2
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) -Icommon
LDFLAGS	?=

ifeq ($(SANITIZE),1)
BUILD	= build-san
CFLAGS	:= $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) -O1 \
	   -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
else
BUILD	= build
endif

# Libraries, each found with pkg-config; every program links only its own.
PKGS_COMMON	= libevent libcjson yaml-0.1 libcrypto libsystemd libseccomp
PKGS_RADIO	= $(PKGS_COMMON) libserialport
PKGS_FETCH	= $(PKGS_COMMON) libcurl
PKGS_MQTT	= $(PKGS_COMMON) libmosquitto libssl
PKGS_CTL	= $(PKGS_COMMON)

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1))

CFLAGS	+= $(call pkg_cflags,$(sort $(PKGS_RADIO) $(PKGS_FETCH) \
	     $(PKGS_MQTT) cmocka))

PROGS	= zotad-radio zotad-fetch zotad-mqtt zotadctl \
	  $(if $(wildcard tests/sim/*.c),zotad-sim)
PROGDIRS = zotad-radio zotad-fetch zotad-mqtt zotadctl

COMMON_SRC	= $(wildcard common/*.c)
COMMON_OBJ	= $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON	= $(BUILD)/libzotad-common.a

# Each program is its main file plus a library of its other modules, so
# that unit tests, the simulator and the fuzz targets can link the real
# modules of any program.
MAIN_zotad-radio = zotad-radio/radio.c
MAIN_zotad-fetch = zotad-fetch/fetch.c
MAIN_zotad-mqtt	= zotad-mqtt/mqtt.c
MAIN_zotadctl	= zotadctl/zotadctl.c
MAIN_SRC	= $(foreach d,$(PROGDIRS),$(MAIN_$(d)))
prog_lib_src	= $(filter-out $(MAIN_$(1)),$(wildcard $(1)/*.c))
prog_lib_obj	= $(patsubst %.c,$(BUILD)/%.o,$(call prog_lib_src,$(1)))
# A program with nothing but its main file has no library.
prog_lib	= $(if $(call prog_lib_src,$(1)),$(BUILD)/lib$(1).a)
PROGLIBS	= $(foreach d,$(PROGDIRS),$(call prog_lib,$(d)))
PROG_INC	= $(PROGDIRS:%=-I%)
PKGS_ALL	= $(sort $(PKGS_RADIO) $(PKGS_FETCH) $(PKGS_MQTT))

# Unit tests: tests/test_NAME.c is one program linking the libraries.
# Shell tests: tests/test_NAME.sh, run with the built programs on PATH.
TEST_SRC	= $(wildcard tests/test_*.c)
TEST_BIN	= $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SH		= $(wildcard tests/test_*.sh)
BENCH_SRC	= $(wildcard tests/bench/bench_*.c)
BENCH_BIN	= $(BENCH_SRC:tests/bench/%.c=$(BUILD)/tests/%)
FUZZ_SRC	= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN	= $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS	?= 60
# Each fuzz target again, built with CC, to replay its seeds and crashes.
FUZZ_REPLAY	= $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)

all: $(PROGS:%=$(BUILD)/bin/%)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: CFLAGS += $(PROG_INC)

# The default configuration file follows SYSCONFDIR. $(BUILD)/sysconfdir
# holds the value built in and changes with it, so that daemon.o is
# rebuilt whenever SYSCONFDIR changes.
$(BUILD)/common/daemon.o: CFLAGS += -DZOTAD_SYSCONFDIR='"$(SYSCONFDIR)"'
$(BUILD)/common/daemon.o: $(BUILD)/sysconfdir

$(BUILD)/sysconfdir: FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(SYSCONFDIR)' ]; then \
		echo '$(SYSCONFDIR)' >$@; fi

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

.SECONDEXPANSION:
$(PROGLIBS): $(BUILD)/lib%.a: $$(call prog_lib_obj,$$*)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/zotad-radio: $(BUILD)/zotad-radio/radio.o \
    $(call prog_lib,zotad-radio) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_RADIO))

$(BUILD)/bin/zotad-fetch: $(BUILD)/zotad-fetch/fetch.o \
    $(call prog_lib,zotad-fetch) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_FETCH))

$(BUILD)/bin/zotad-mqtt: $(BUILD)/zotad-mqtt/mqtt.o \
    $(call prog_lib,zotad-mqtt) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_MQTT))

$(BUILD)/bin/zotadctl: $(BUILD)/zotadctl/zotadctl.o \
    $(call prog_lib,zotadctl) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_CTL))

# The adapter simulator shares the MT frame codec with zotad-radio.
SIM_OBJ	= $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/sim/*.c))

$(BUILD)/bin/zotad-sim: $(SIM_OBJ) $(call prog_lib,zotad-radio) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_RADIO))

# Objects first, so that the libraries serve the helpers a test links too.
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(PROGLIBS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) \
	    $(call pkg_libs,$(PKGS_ALL) cmocka)

$(BUILD)/tests/bench_%: $(BUILD)/tests/bench/bench_%.o $(PROGLIBS) \
    $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_ALL))

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o \
    $(BUILD)/tests/fuzz/replay.o $(PROGLIBS) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_ALL))

# The tests that run the real programs together share one harness; the
# others listed take from it a free port, an OTA image or a scratch dir
# (and test_fetch runs its own HTTP server too).
SUITE_TESTS	= faults load hostile_mqtt hostile_zcl sandbox_daemons mqtt \
		  radio_mt_hostile radio_sim sim sim_ota atomicfile statedir \
		  fetch
$(SUITE_TESTS:%=$(BUILD)/tests/test_%): $(BUILD)/tests/suite.o \
    $(BUILD)/tests/httpd/testhttpd.o

# Those that run their cases in child processes share the code for it.
CHILD_TESTS	= log priv sandbox
$(CHILD_TESTS:%=$(BUILD)/tests/test_%): $(BUILD)/tests/child.o

check: all $(TEST_BIN) $(FUZZ_REPLAY)
	@BUILD=$(BUILD) sh tests/run-tests.sh $(TEST_BIN) $(TEST_SH)

bench: all $(BENCH_BIN)
	@BUILD=$(BUILD) sh tests/bench/table.sh $(BENCH_BIN)

# libFuzzer targets, built with clang in their own directory against every
# module but the programs' main files.
FUZZ_CC		?= clang
FUZZ_CFLAGS	= -std=c11 -D_GNU_SOURCE -g -O1 -Icommon $(PROG_INC) \
		  -fsanitize=fuzzer-no-link,address,undefined \
		  $(call pkg_cflags,$(PKGS_ALL))
FUZZ_LIB_SRC	= $(COMMON_SRC) $(filter-out $(MAIN_SRC), \
		  $(foreach d,$(PROGDIRS),$(wildcard $(d)/*.c)))
FUZZ_LIB	= build-fuzz/libzotad-fuzz.a

build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_SRC:%.c=build-fuzz/obj/%.o)
	rm -f $@
	$(AR) rcs $@ $^

build-fuzz/fuzz_%: build-fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ \
	    $(call pkg_libs,$(PKGS_ALL))

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@sh tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# The real zigbee2mqtt against zotad-sim; not in check: it needs npm.
interop: $(BUILD)/bin/zotad-sim $(BUILD)/bin/zotadctl
	@sh tests/sim/interop.sh $(BUILD)

# The same update through zigbee2mqtt and through zotad, side by side.
bench-z2m: $(PROGS:%=$(BUILD)/bin/%)
	@sh tests/bench/bench_z2m.sh $(BUILD)

deps:
	@sh scripts/deps.sh

# The whole suite in the foreground until Ctrl-C: against CONFIG, or an
# embedded default (private broker, zotad-sim, synthetic images).
run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh scripts/run.sh $(CONFIG)

# A scripted check and update against the embedded default.
demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh scripts/run.sh --demo

# systemd units, sysusers.d and tmpfiles.d, where systemd looks for them
# under PREFIX; units name the daemons by their installed path. Units,
# tmpfiles.d and manual pages name the configuration's directory as
# SYSCONFDIR has it.
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
UNITS		= $(wildcard config/systemd/*.service config/systemd/*.socket \
		  config/systemd/*.target)
SED_ETC		= -e 's|/etc/zotad|$(SYSCONFDIR)/zotad|g'

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(BUILD)/bin/zotad-radio $(BUILD)/bin/zotad-fetch \
	    $(BUILD)/bin/zotad-mqtt $(DESTDIR)$(SBINDIR)
	install -m 755 $(BUILD)/bin/zotadctl $(BUILD)/bin/zotad-sim \
	    $(DESTDIR)$(BINDIR)
	install -d $(DESTDIR)$(SYSCONFDIR)/zotad
	install -m 644 config/configuration.example.yaml \
	    $(DESTDIR)$(SYSCONFDIR)/zotad/configuration.example.yaml
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	for u in $(UNITS); do \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|' $(SED_ETC) $$u \
		    >$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; \
	done
	install -m 644 config/systemd/sysusers.d/zotad.conf \
	    $(DESTDIR)$(SYSUSERSDIR)/zotad.conf
	sed $(SED_ETC) config/systemd/tmpfiles.d/zotad.conf \
	    >$(DESTDIR)$(TMPFILESDIR)/zotad.conf
	chmod 644 $(DESTDIR)$(TMPFILESDIR)/zotad.conf
	for m in $(wildcard man/*.[58]); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		sed $(SED_ETC) $$m >$$d/$${m##*/} && \
		chmod 644 $$d/$${m##*/} || exit 1; \
	done

clean:
	rm -rf build build-san build-fuzz

.PHONY: all check bench fuzz fuzz-build deps install clean interop run demo \
	bench-z2m FORCE
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
