# xfed: a clustered XMPP server node.
#
# Knobs (make VAR=value):
#   PREFIX=/usr/local   install prefix          DESTDIR=    staging root
#   SANITIZE=1          build with ASan+UBSan into build-san/ (tests too)
#   CC=cc  CFLAGS=...   compiler and extra flags
#   JOBS=2              parallel prove jobs for `make test`
#   FUZZ_SECONDS=30     how long `make fuzz-run` runs each fuzz target
#   FUZZCC=clang        the compiler for the libFuzzer build (build-fuzz/)
#
# Targets: all (default), run, test, bench, install, clean, deps,
# fuzz (libFuzzer targets of t/fuzz/), fuzz-run (each for FUZZ_SECONDS).

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
JOBS	?= 2
PKGS	 = openssl expat lmdb jansson libpq

ifeq ($(SANITIZE),1)
B	 = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
OPT	 = -O1 -g
else
B	 = build
SANFLAGS =
OPT	 = -O2 -g
endif
BIN	 = $(B)/bin

# lmdb has no .pc file on Debian; fall back to -llmdb.  These are read
# once, when make starts: on a bare machine the packages (and pkg-config
# itself) arrive only with deps, so run, test, bench and fuzz install
# them first and then build in a new make that sees them.
PC_CFLAGS := $(shell pkg-config --cflags openssl expat jansson libpq libidn 2>/dev/null)
PC_LIBS	  := $(shell pkg-config --libs openssl expat jansson libpq libidn 2>/dev/null) -llmdb

XCFLAGS	 = -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	   -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	   $(OPT) $(SANFLAGS) -Icommon -Ishm -Iworker -Iworker/io \
	   -Iworker/stream -Iworker/mod -Imaster \
	   -D_GNU_SOURCE $(PC_CFLAGS) $(CFLAGS)
XLDFLAGS = $(SANFLAGS) $(LDFLAGS)
# http-parser and wslay have no .pc file on Debian either.
LIBS	 = $(PC_LIBS) -lhttp_parser -lwslay -lpthread

# The node's library: what every process links.
COMMON	 = common/log.c common/buf.c common/conf.c common/conf_opts.c \
	   common/conf_parse.c common/jid.c common/xml.c common/xmlstream.c \
	   common/base64.c common/scram.c common/store.c \
	   common/store_lmdb.c common/store_lmdb_env.c \
	   common/store_pg.c common/store_pg_conn.c common/store_pg_listen.c \
	   common/coro.c common/net.c common/loop.c
SHM	 = shm/sess.c shm/unauth.c shm/smstate.c shm/smqueue.c shm/ring.c shm/authlim.c
# The master: argv and start-up, worker supervision, xfedctl's socket.
MASTER	 = master/main.c master/spawn.c master/signal.c master/control.c \
	   master/ctlcmd.c
# A worker, by layer.  io/: bytes, no XMPP.  stream/: one XMPP stream,
# its framings and kinds.  mod/: the IM features on module hooks.  The
# worker itself: the process, the routing decision and its dispatch, the
# rings, the server's own IQs.  Unit tests link only the layers below
# what they test, so an upward call fails their build.
WORKER_IO = worker/io/conn.c worker/io/tls.c worker/io/http.c
WORKER_STREAM = worker/stream/stream.c worker/stream/tcp.c \
	   worker/stream/websocket.c worker/stream/c2s.c worker/stream/c2s_limit.c worker/stream/sasl.c
WORKER_MOD = worker/mod/mod.c worker/mod/roster.c worker/mod/roster_sub.c \
	   worker/mod/presence.c \
	   worker/mod/offline.c worker/mod/blocking.c \
	   worker/mod/blocking_cache.c worker/mod/csi.c \
	   worker/mod/carbons.c worker/mod/vcard.c worker/mod/private.c \
	   worker/mod/pep.c worker/mod/pepnode.c worker/mod/register.c \
	   worker/mod/sm.c
WORKER	 = worker/worker.c worker/route.c worker/router.c worker/iq.c \
	   worker/ipc.c \
	   $(WORKER_STREAM) $(WORKER_MOD)
TOOLS	 = tools/xfedctl.c tools/ctldb.c tools/ctldb_init.c \
	   tools/ctldb_migrate.c
UNIT	 = conf jid xml xmlstream base64 scram store sess ring unauth loop coro \
	   conn http route

MAN	 = man/xfed.8 man/xfedctl.8 man/xfed.conf.5

LIBOBJ	 = $(COMMON:%.c=$(B)/%.o) $(SHM:%.c=$(B)/%.o)
IOOBJ	 = $(WORKER_IO:%.c=$(B)/%.o)
XFEDOBJ	 = $(MASTER:%.c=$(B)/%.o) $(WORKER:%.c=$(B)/%.o)
CTLOBJ	 = $(TOOLS:%.c=$(B)/%.o)
UNITBIN	 = $(UNIT:%=$(B)/t/%.t)

# Load generator and the bare relay: standalone, no xfed internals.
BENCHBIN = $(BIN)/xfed-bench $(BIN)/xfed-relay

all: bin/xfed bin/xfedctl

# bin/ always points at the last build (sanitized or not) so tests and
# scripts have one path.
bin/xfed: $(BIN)/xfed
	@mkdir -p bin && ln -sf ../$(BIN)/xfed $@
bin/xfedctl: $(BIN)/xfedctl
	@mkdir -p bin && ln -sf ../$(BIN)/xfedctl $@
.PHONY: bin/xfed bin/xfedctl

$(BIN)/xfed-bench: tools/xfed-bench.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(XLDFLAGS) -o $@ $< -lssl -lcrypto -lm

$(BIN)/xfed-relay: tools/relay.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(XLDFLAGS) -o $@ $<

$(B)/libxf.a: $(LIBOBJ)
	ar rcs $@ $^

$(B)/libxfio.a: $(IOOBJ)
	ar rcs $@ $^

$(BIN)/xfed: $(XFEDOBJ) $(B)/libxfio.a $(B)/libxf.a
	@mkdir -p $(@D)
	$(CC) $(XLDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/xfedctl: $(CTLOBJ) $(B)/libxf.a
	@mkdir -p $(@D)
	$(CC) $(XLDFLAGS) -o $@ $^ $(LIBS)

# Each unit test links only the layers below what it tests: the worker's
# connection layer alone (libxfio.a), the routing decision alone.
$(B)/t/conn.t: UNITLIBS = $(B)/libxfio.a
$(B)/t/conn.t: $(B)/libxfio.a
$(B)/t/http.t: UNITLIBS = $(B)/libxfio.a
$(B)/t/http.t: $(B)/libxfio.a
$(B)/t/route.t: UNITLIBS = $(B)/worker/route.o
$(B)/t/route.t: $(B)/worker/route.o

$(B)/t/%.t: t/unit/%.c t/unit/tap.h $(B)/libxf.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -It/unit $(XLDFLAGS) -o $@ $< $(UNITLIBS) \
	    $(B)/libxf.a $(LIBS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -MMD -MP -c -o $@ $<

-include $(LIBOBJ:.o=.d) $(IOOBJ:.o=.d) $(XFEDOBJ:.o=.d) $(CTLOBJ:.o=.d)

# libFuzzer targets (t/fuzz/, one per input parser), built with clang
# into their own tree: coverage-instrumented objects must not end up in
# a gcc build, nor gcc's in them.  fuzz-run starts each from its seeds
# (t/fuzz/corpus/NAME/, read only) plus what earlier runs found
# (build-fuzz/corpus/NAME/), with t/fuzz/NAME.dict when there is one,
# and fails on the first crash, leak or timeout, leaving the input as
# build-fuzz/crash-NAME-*.
FUZZ	 = xmlstream conf sasl jid
FUZZCC	?= clang
FUZZ_SECONDS ?= 30
FB	 = build-fuzz
FUZZSAN	 = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
FUZZCFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	   -O1 -g $(FUZZSAN) -fsanitize=fuzzer-no-link -Icommon \
	   -D_GNU_SOURCE $(PC_CFLAGS)
FUZZLIBOBJ = $(COMMON:%.c=$(FB)/%.o)
FUZZBIN	 = $(FUZZ:%=$(FB)/fuzz-%)

$(FB)/libxf.a: $(FUZZLIBOBJ)
	ar rcs $@ $^

$(FB)/fuzz-%: t/fuzz/%.c $(FB)/libxf.a
	$(FUZZCC) $(FUZZCFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FB)/libxf.a $(LIBS)

$(FB)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZCFLAGS) -MMD -MP -c -o $@ $<

-include $(FUZZLIBOBJ:.o=.d)

fuzz:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-bin

fuzz-run: fuzz
	@for t in $(FUZZ); do \
	    mkdir -p $(FB)/corpus/$$t && \
	    echo "fuzz-$$t: $(FUZZ_SECONDS)s" && \
	    $(FB)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=1024 -print_final_stats=1 \
	        -artifact_prefix=$(FB)/crash-$$t- \
	        $$(test -f t/fuzz/$$t.dict && echo -dict=t/fuzz/$$t.dict) \
	        $(FB)/corpus/$$t t/fuzz/corpus/$$t 2>$(FB)/fuzz-$$t.log; \
	    rc=$$?; grep -E '^(stat::number_of_executed_units|stat::peak_rss|#[0-9]+.*DONE)' \
	        $(FB)/fuzz-$$t.log | tr '\n' ' '; echo; \
	    if [ $$rc -ne 0 ]; then tail -n 60 $(FB)/fuzz-$$t.log; \
	        echo "fuzz-$$t failed: see $(FB)/fuzz-$$t.log"; exit 1; fi; \
	done

deps:
	@sh tools/deps.sh build

# One node in the foreground on the embedded default: LMDB store under
# var/, a self-signed certificate for localhost, conf/xfed.conf.
run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/mkcert.sh var/tls localhost
	@mkdir -p var/data
	@sh tools/run-banner.sh conf/xfed.conf
	exec bin/xfed -f -c conf/xfed.conf

test:
	@sh tools/deps.sh test
	@$(MAKE) --no-print-directory test-bin
	XFED_BIN=$(CURDIR)/$(BIN)/xfed XFEDCTL_BIN=$(CURDIR)/$(BIN)/xfedctl \
	    XFED_BENCH_BIN=$(CURDIR)/$(BIN)/xfed-bench \
	    XFED_RELAY_BIN=$(CURDIR)/$(BIN)/xfed-relay \
	    prove -j$(JOBS) --exec env $(UNITBIN) t/e2e/*.t $(wildcard t/pgsql/*.t)

bench:
	@sh tools/deps.sh bench
	@$(MAKE) --no-print-directory bench-bin
	sh tools/bench.sh

# What test, bench and fuzz build, in the make that follows deps.
test-bin: all $(BENCHBIN) $(UNITBIN)
	@:
bench-bin: all $(BENCHBIN)
	@:
fuzz-bin: $(FUZZBIN)
	@:

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/etc/xfed $(DESTDIR)$(PREFIX)/etc/init.d \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(BIN)/xfed $(DESTDIR)$(PREFIX)/sbin/xfed
	install -m 755 $(BIN)/xfedctl $(DESTDIR)$(PREFIX)/bin/xfedctl
	sed -e 's|var/|/var/lib/xfed/|' \
	    -e "s|^#'user' = ''|'user' = 'xfed'|" \
	    -e "s|^'run-as-root' = true|#'run-as-root' = false|" \
	    conf/xfed.conf > $(DESTDIR)$(PREFIX)/etc/xfed/xfed.conf.sample
	sed -e 's|@PREFIX@|$(PREFIX)|g' conf/xfed.init \
	    > $(DESTDIR)$(PREFIX)/etc/init.d/xfed
	chmod 755 $(DESTDIR)$(PREFIX)/etc/init.d/xfed
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed -e 's|@PREFIX@|$(PREFIX)|g' conf/xfed.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/xfed.service
	install -m 644 man/xfed.8 man/xfedctl.8 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 644 man/xfed.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5
	install -d $(DESTDIR)$(PREFIX)/share/xfed
	install -m 644 conf/pgsql.sql $(DESTDIR)$(PREFIX)/share/xfed/pgsql.sql

clean:
	rm -rf build build-san build-fuzz bin

.PHONY: all deps run test bench install clean fuzz fuzz-run \
	test-bin bench-bin fuzz-bin
