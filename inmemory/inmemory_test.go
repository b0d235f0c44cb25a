package inmemory_test

import (
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// harness gives every test root its own store; two New calls with the same
// root share it, as two processes over one root would.
func harness() conformance.Harness {
	var (
		mu     sync.Mutex
		stores = map[string]*inmemory.Driver{}
	)
	return conformance.Harness{
		Name: inmemory.DriverName,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			mu.Lock()
			defer mu.Unlock()
			d, ok := stores[env.Root]
			if !ok {
				d = inmemory.New()
				stores[env.Root] = d
			}
			return d
		},
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, harness())
}
