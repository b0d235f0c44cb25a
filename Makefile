# stowage: `make test` is the one command that checks everything. It installs
# its tools (pinned), starts the test servers on loopback (testenv/up), runs
# the checks and every test with the race detector, and stops the servers
# again even when the tests fail.

GO              ?= go
STATICCHECK_VER := v0.8.2
BIN             := $(CURDIR)/.bin
STATICCHECK     := $(BIN)/staticcheck-$(STATICCHECK_VER)
# Extra flags for go test, e.g. make test TESTFLAGS='-run Conformance -v'.
TESTFLAGS       ?=
PKGS            ?= ./...

.PHONY: test check fmt vet staticcheck unit bench up down

## test: checks, then all tests against servers started by testenv/up.
test: check
	@set -e; \
	trap '"$(CURDIR)/testenv/down"' EXIT; \
	envfile=$$(mktemp); \
	"$(CURDIR)/testenv/up" > "$$envfile" || { echo "make test: testenv/up failed (see above)" >&2; exit 1; }; \
	. "$$envfile"; rm -f "$$envfile"; \
	$(GO) test -race -count=1 -timeout 25m $(TESTFLAGS) $(PKGS)

## unit: the tests alone, against whatever servers the environment names.
unit:
	$(GO) test -race -count=1 $(TESTFLAGS) $(PKGS)

## check: formatting, go vet and staticcheck.
check: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

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
