# stowage: `make test` is the one command that checks everything. It installs
# its tools (pinned), starts the test servers on loopback (testenv/up), runs
# the checks and every test with the race detector, and stops the servers
# again even when the tests fail. The nested module distribution/ (the
# adapter for distribution's registry and its end-to-end suite) is checked
# and tested with the same servers and flags.

GO              ?= go
STATICCHECK_VER := v0.8.2
BIN             := $(CURDIR)/.bin
STATICCHECK     := $(BIN)/staticcheck-$(STATICCHECK_VER)
# Extra flags for go test, e.g. make test TESTFLAGS='-run Conformance -v'.
TESTFLAGS       ?=
# The packages that take longest come first, so that go test (which runs
# -p packages at once, in this order) does not leave one of them running
# alone at the end: swift's suite alone takes about 10 minutes on 2 CPUs.
# On a 2-CPU machine the run is CPU-bound and the gain was within the
# spread between runs (19 to 25 minutes).
PKGS            ?= ./swift ./azure ./cmd/stowage ./gcs ./s3 ./gc ./...
# Nested modules, each checked and tested on its own (go ./... stops at a
# go.mod).
MODULES         := distribution

.PHONY: test check fmt vet staticcheck unit bench up down

## test: checks, then all tests against servers started by testenv/up. The
## nested modules' tests (the registry end-to-end suite) go first, while
## Azurite is fresh: Azurite 3.37 in memory can stop answering after its
## periodic cleanup once much has been deleted.
test: check
	@set -e; \
	trap '"$(CURDIR)/testenv/down"' EXIT; \
	envfile=$$(mktemp); \
	"$(CURDIR)/testenv/up" > "$$envfile" || { echo "make test: testenv/up failed (see above)" >&2; exit 1; }; \
	. "$$envfile"; rm -f "$$envfile"; \
	rc=0; \
	for m in $(MODULES); do \
		(cd "$(CURDIR)/$$m" && $(GO) test -race -count=1 -timeout 25m $(TESTFLAGS) ./...) || rc=1; \
	done; \
	$(GO) test -race -count=1 -timeout 25m $(TESTFLAGS) $(PKGS) || rc=1; \
	exit $$rc

## unit: the tests alone, against whatever servers the environment names.
unit:
	rc=0; \
	$(GO) test -race -count=1 $(TESTFLAGS) $(PKGS) || rc=1; \
	for m in $(MODULES); do \
		(cd "$(CURDIR)/$$m" && $(GO) test -race -count=1 $(TESTFLAGS) ./...) || rc=1; \
	done; \
	exit $$rc

## check: formatting, go vet and staticcheck, of every module.
check: fmt vet staticcheck

# gofmt -l . walks the nested modules too.
fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	@set -e; for m in $(MODULES); do echo "cd $$m && $(GO) vet ./..."; (cd "$(CURDIR)/$$m" && $(GO) vet ./...); done

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...
	@set -e; for m in $(MODULES); do echo "cd $$m && staticcheck ./..."; (cd "$(CURDIR)/$$m" && $(STATICCHECK) ./...); done

$(STATICCHECK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VER)
	@mv $(BIN)/staticcheck $@

## bench: the benchmarks of the local backends.
bench:
	$(GO) test -run '^$$' -bench . ./filesystem/ ./inmemory/

## up / down: start or stop the test servers by hand (eval "$$(testenv/up)").
up:
	@"$(CURDIR)/testenv/up"

down:
	@"$(CURDIR)/testenv/down"
