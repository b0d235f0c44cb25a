package driver

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Factory builds a driver from distribution-style parameters (the
// `storage.<name>` section of a registry configuration).
type Factory func(ctx context.Context, params map[string]any) (StorageDriver, error)

var (
	factoriesMu sync.RWMutex
	factories   = map[string]Factory{}
)

// Register makes a backend available to Open under name. Backends call it
// from an init function, so importing a backend package (for its side
// effect, with _) is enough. Register panics when name is taken or factory
// is nil, as database/sql does.
func Register(name string, factory Factory) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	if factory == nil {
		panic("driver: Register factory is nil for " + name)
	}
	if _, dup := factories[name]; dup {
		panic("driver: Register called twice for " + name)
	}
	factories[name] = factory
}

// RegisterConfig registers, under name, the factory every backend has:
// parse the parameters with fromParameters, then build the driver with
// open. A backend's init calls it with its FromParameters and New.
func RegisterConfig[C any, D StorageDriver](name string, fromParameters func(map[string]any) (C, error), open func(context.Context, C) (D, error)) {
	Register(name, func(ctx context.Context, params map[string]any) (StorageDriver, error) {
		cfg, err := fromParameters(params)
		if err != nil {
			return nil, err
		}
		return open(ctx, cfg)
	})
}

// Registered returns the names of the registered backends, sorted.
func Registered() []string {
	factoriesMu.RLock()
	defer factoriesMu.RUnlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open builds the backend registered as name from params. An unknown name
// gives a *ConfigError listing the registered ones.
func Open(ctx context.Context, name string, params map[string]any) (StorageDriver, error) {
	factoriesMu.RLock()
	f, ok := factories[name]
	factoriesMu.RUnlock()
	if !ok {
		return nil, &ConfigError{DriverName: name, Err: fmt.Errorf("no backend registered under this name (registered: %v); import its package", Registered())}
	}
	return f(ctx, params)
}

// HTTPClientParam is the parameter under which Open hands an HTTP backend
// an *http.Client to send all its requests through (tests count requests
// and inject faults or latency with it). Every HTTP backend's factory
// accepts it; local backends ignore it.
const HTTPClientParam = "httpclient"
