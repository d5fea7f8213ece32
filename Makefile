# sikkermail — the two commands a newcomer needs are `make run` and
# `make test`; both install what is missing first (.ci/install-deps).

GO       ?= go
SHOTS    ?= screenshots
BIN      := bin
XVFB     := xvfb-run -a -s "-screen 0 1280x800x24"
# Fyne logs an error at start-up when the locale is C.UTF-8; the client sets
# its own language anyway (Danish unless configured), so say it up front.
GUIENV   := env LANGUAGE=da
# Every test that needs an outside tool fails instead of skipping.
export SIKKERMAIL_STRICT := 1
# The Go toolchain the project builds with: the go command fetches it from
# the Go module proxy once (the machine's own Go starts it). It carries the
# standard library's security fixes govulncheck asks for.
export GOTOOLCHAIN := go1.27.3

.PHONY: all run gateway test deps build vet lint fmt-check unit screenshots fuzz bench windows clean

all: build

deps:
	@.ci/install-deps

# sikkermail-gateway builds without cgo; sikkermail-gateway-pkcs11 is the
# same with cgo, which loading an HSM's PKCS #11 module needs.
build: deps
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/sikkermail ./cmd/sikkermail
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sikkermail-cli ./cmd/sikkermail-cli
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sikkermail-gateway ./cmd/sikkermail-gateway
	$(GO) build -o $(BIN)/sikkermail-gateway-pkcs11 ./cmd/sikkermail-gateway

# The GUI against the built-in demo environment. Without a display (a
# server, CI) it runs under Xvfb.
run: build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(GUIENV) $(BIN)/sikkermail -demo; \
	else echo "no display: running under Xvfb" >&2; $(XVFB) $(GUIENV) $(BIN)/sikkermail -demo; fi

# The gateway on the demo environment: it prints how to call it.
gateway: deps
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sikkermail-gateway ./cmd/sikkermail-gateway
	$(BIN)/sikkermail-gateway -demo

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: deps
	$(GO) vet ./...
	$(GO) vet -tags screenshots ./ui ./cmd/sikkermail

# The screenshot harness is built into the tests (and make screenshots),
# not into what ships.
unit: deps
	$(GO) test -race -count=1 -tags screenshots ./...

# staticcheck and govulncheck (pinned, from the Go module proxy).
lint: deps
	@GO=$(GO) .ci/lint

# Every test: format, vet, staticcheck and govulncheck, unit/integration/GUI
# tests with the race detector, the CLI built without cgo, and the real
# window under Xvfb.
test: deps fmt-check vet lint unit screenshots
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/sikkermail-cli
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/sikkermail-gateway

# Every screen of the GUI in a real window under Xvfb, as PNG files in $(SHOTS)/.
screenshots: build
	@rm -rf $(SHOTS)
	$(GO) build -tags screenshots -o $(BIN)/sikkermail-shots ./cmd/sikkermail
	$(XVFB) $(GUIENV) $(BIN)/sikkermail-shots -demo -screenshots $(SHOTS)
	$(XVFB) $(GUIENV) $(BIN)/sikkermail-shots -demo -lang en -screenshots $(SHOTS)/en

# sikkermail.exe for Windows PCs: cross-built with mingw-w64, packaged with
# icon and version information, signed with osslsigncode (CODESIGN_P12 and
# CODESIGN_PASSWORD; a throwaway test certificate without them).
windows:
	@.ci/install-deps build windows
	@.ci/windows

# Speed and memory against the reference (openssl), side by side, as ratios.
bench: deps
	$(GO) run ./cmd/sikkermail-bench
	SIKKERMAIL_STRICT=1 $(GO) test -run '^$$' -bench Gateway -benchtime 1x ./internal/gateway/

# Runs each fuzz target for FUZZTIME (their seed corpora run in `make test`).
FUZZTIME ?= 60s
FUZZ := ./internal/recipient:FuzzParse ./internal/recipient:FuzzSplitList ./internal/message:FuzzCompose ./internal/message:FuzzParse ./internal/smime:FuzzDecrypt ./internal/smime:FuzzVerify \
	./internal/keystore:FuzzDecodePFX ./internal/smime:FuzzOpen ./internal/smime:FuzzSignedAssembly ./internal/smime:FuzzIDP ./internal/smime:FuzzBER ./internal/digitalpost:FuzzReceipt ./internal/digitalpost:FuzzContacts \
	./internal/digitalpost:FuzzParseMeMo ./internal/directory:FuzzLDAPEntries ./internal/protolog:FuzzWriter ./internal/message:FuzzReadOuter
fuzz:
	@for t in $(FUZZ); do pkg=$${t%%:*}; fn=$${t##*:}; \
	echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; done

clean:
	rm -rf $(BIN) $(SHOTS)
