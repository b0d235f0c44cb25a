// Package conformance is the single source of truth for stowage's
// behaviour: Run runs the whole contract against any backend and Benchmark
// measures it. A backend's test file builds a Harness and calls them.
//
// It also holds the test doubles the project's own logic is tested with: a
// request-counting HTTP transport, a fault and latency injecting transport,
// an eventual-consistency simulator and a registry-layout generator.
package conformance

import (
	"net/http"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// Harness plugs a backend into Run and Benchmark.
type Harness struct {
	// Name labels the backend in messages.
	Name string

	// New returns a driver over the storage area named by env.Root. Two
	// calls with the same Root must see the same files, as two processes
	// over one root would (the suite resumes writers through a second
	// driver). Each test gets a fresh, unique Root, so tests are isolated.
	// An HTTP backend must send every request through env.HTTPClient.
	// New calls t.Fatal (or t.Skip, for a server that is not configured)
	// when it cannot build the driver.
	New func(t testing.TB, env Env) driver.StorageDriver

	// Caps says which behaviours and counts apply to the backend. Left
	// zero, it is what the backend reports (driver.CapabilitiesOf a
	// driver from New), which is how every stowage backend is run; tests
	// of the suite itself set it.
	Caps Capabilities

	// Groups, when set, limits Run to these top-level groups ("List",
	// "Walk", ...): for a second run of a backend under other conditions
	// (a provider-quirk transport) that concern only some of them.
	Groups []string
}

// Env is what the suite hands Harness.New.
type Env struct {
	// Root is a fresh name of the form [a-z0-9-]+, unique per test; the
	// harness maps it to a directory (filesystem), a key prefix / root
	// directory (object stores) or a store instance (inmemory).
	Root string

	// HTTPClient is the client an HTTP backend must use for all its
	// requests. Its transport counts requests (see Env.Requests) and may
	// inject faults or latency. It is never nil.
	HTTPClient *http.Client

	// Requests counts every request sent through HTTPClient.
	Requests *transport.Counter

	// DeleteBatchSize, when not zero, asks for a driver that sends at
	// most this many paths per bulk-delete request: a harness passes it
	// to driver.CommonConfig.DeleteBatchSize (cloudtest.Options has the
	// field). DeleteFiles/CancelledMidway sets it, so that it can cut a
	// call of several batches short without writing thousands of files.
	// Zero, as for every other leaf, is the backend's own batch size; a
	// harness that ignores the field keeps that size, which the leaf
	// reads from the driver's Capabilities.
	DeleteBatchSize int
}

// Capabilities describes a backend to the suite: the backend's own
// driver.Capabilities record. HTTP turns on the request-count assertions
// (DeleteFiles of N paths sends ceil(N/DeleteBatchSize) requests, a Walk
// over N keys ceil(N/ListPageSize)); SignedURLs the URLFor fetch leaves.
type Capabilities = driver.Capabilities
