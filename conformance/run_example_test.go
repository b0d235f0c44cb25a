package conformance_test

import (
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// A backend's whole conformance test: a Harness that builds a driver over
// env.Root, and one call to Run. (Run needs the *testing.T of a Test
// function; this example shows the shape of that function.)
func ExampleRun() {
	var (
		mu     sync.Mutex
		stores = map[string]*inmemory.Driver{}
	)
	h := conformance.Harness{
		Name: inmemory.DriverName,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			mu.Lock()
			defer mu.Unlock()
			if stores[env.Root] == nil {
				stores[env.Root] = inmemory.New()
			}
			return stores[env.Root]
		},
		// An HTTP backend would set HTTP, DeleteBatchSize, ListPageSize
		// and SignedURLs, and send its requests through env.HTTPClient.
	}
	testConformance := func(t *testing.T) { conformance.Run(t, h) }
	_ = testConformance
}
