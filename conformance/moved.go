package conformance

import (
	"net/http"

	"github.com/stowage-dev/stowage/transport"
)

// The test doubles below moved to package transport, so that the stowage
// command links no testing code. These names stay while the backends' own
// tests move over to package transport; new code uses transport directly.

// Counter is transport.Counter.
type Counter = transport.Counter

// Faults is transport.Faults.
type Faults = transport.Faults

// FaultKind is transport.FaultKind.
type FaultKind = transport.FaultKind

// The fault kinds of transport.Faults.
const (
	FaultStatus     = transport.FaultStatus
	FaultReset      = transport.FaultReset
	FaultResetAfter = transport.FaultResetAfter
	FaultCutBody    = transport.FaultCutBody
)

// SlowDownBody is transport.SlowDownBody.
func SlowDownBody(req *http.Request) []byte { return transport.SlowDownBody(req) }
