package distribution

import (
	"context"
	"maps"
	"sync"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	storagemiddleware "github.com/distribution/distribution/v3/registry/storage/driver/middleware"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// e2eBackend is one stowage backend the end-to-end suite runs on.
type e2eBackend struct {
	// name is the stowage backend's name; the registry names the
	// distribution driver NamePrefix+name.
	name string
	// params returns the driver's parameters, rooted at a fresh, unique
	// root, or skips t (fails it when STOWAGE_REQUIRE_BACKENDS names the
	// backend) when its test server is not configured.
	params func(t *testing.T) map[string]any
	// sharedInstance says that two drivers built from the same parameters
	// do not share a store (stowage's inmemory: each instance is its own
	// store, and the package has no way to open a second instance over an
	// existing one), so the garbage collector and the store checks must
	// use the very instance the registry built.
	sharedInstance bool
	// redirects says that the backend signs URLs with the parameters
	// given, so a registry with redirects enabled answers blob GETs and
	// HEADs with 307 to the backend's server.
	redirects bool
}

// params returns testenv's parameters for backend, under a fresh root.
func params(backend string) func(t *testing.T) map[string]any {
	return func(t *testing.T) map[string]any { return testenv.Params(t, backend, uniqueRoot(t)) }
}

var e2eBackends = []e2eBackend{
	{name: "inmemory", sharedInstance: true, params: params("inmemory")},
	{name: "filesystem", params: params("filesystem")},
	{name: "s3", redirects: true, params: params("s3")},
	{name: "gcs", redirects: true, params: func(t *testing.T) map[string]any {
		p := testenv.Params(t, "gcs", uniqueRoot(t))
		maps.Copy(p, gcsSigningParams(t))
		return p
	}},
	{name: "azure", redirects: true, params: params("azure")},
	// The test cluster has no tempurl middleware: swift URLFor is
	// unsupported there and the registry serves the bytes.
	{name: "swift", params: params("swift")},
}

// uniqueRoot returns a fresh root directory name for one test run.
func uniqueRoot(t *testing.T) string { return "e2e-" + testenv.UniqueRoot(t) }

// captureMiddleware is a distribution storage middleware that records the
// storage driver the registry built, under the "slot" option, and changes
// nothing. It lets the suite reach the registry's own driver instance.
const captureMiddleware = "stowage-e2e-capture"

var captured sync.Map // slot (string) -> storagedriver.StorageDriver

func init() {
	err := storagemiddleware.Register(captureMiddleware, func(_ context.Context, sd storagedriver.StorageDriver, options map[string]any) (storagedriver.StorageDriver, error) {
		slot, _ := options["slot"].(string)
		captured.Store(slot, sd)
		return sd, nil
	})
	if err != nil {
		panic(err)
	}
}

// capturedDriver returns the driver the registry with the given capture
// slot built, or fails t.
func capturedDriver(t *testing.T, slot string) *Driver {
	t.Helper()
	v, ok := captured.Load(slot)
	if !ok {
		t.Fatalf("registry built no storage driver (capture slot %q empty)", slot)
	}
	d, ok := v.(*Driver)
	if !ok {
		t.Fatalf("registry's storage driver is a %T, want the stowage adapter *Driver", v)
	}
	return d
}

// storeDriver returns a driver over the registry's store for the garbage
// collector and the store checks: a fresh instance built by distribution's
// factory from the same parameters (as `registry garbage-collect` does in
// another process), or the registry's own instance for a backend whose
// instances do not share a store.
func storeDriver(t *testing.T, be e2eBackend, params map[string]any, slot string) storagedriver.StorageDriver {
	t.Helper()
	if be.sharedInstance {
		return capturedDriver(t, slot)
	}
	d, err := factory.Create(context.Background(), NamePrefix+be.name, maps.Clone(params))
	if err != nil {
		t.Fatalf("factory.Create(%s%s): %v", NamePrefix, be.name, err)
	}
	return d
}
