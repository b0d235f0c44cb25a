package distribution

import (
	"context"
	"fmt"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/filesystem"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/s3"
	"github.com/stowage-dev/stowage/swift"
)

// backends lists the stowage backends registered with distribution's
// factory package.
var backends = []string{
	s3.DriverName,
	gcs.DriverName,
	azure.DriverName,
	swift.DriverName,
	filesystem.DriverName,
	inmemory.DriverName,
}

// Backends returns the names of the stowage backends registered with
// distribution's factory package, each under NamePrefix followed by its
// name ("stowage-s3", ...).
func Backends() []string { return append([]string(nil), backends...) }

func init() {
	for _, b := range backends {
		factory.Register(NamePrefix+b, backendFactory(b))
	}
}

// backendFactory is the distribution factory of one stowage backend, named
// by its stowage name.
type backendFactory string

// Create implements factory.StorageDriverFactory by opening the stowage
// backend with the same parameters (driver.Open).
func (b backendFactory) Create(ctx context.Context, parameters map[string]any) (storagedriver.StorageDriver, error) {
	d, err := Open(ctx, string(b), parameters)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Open opens the stowage backend registered as backend (e.g. "s3") with
// distribution-style parameters and wraps it with New. The factories
// registered for distribution call it.
func Open(ctx context.Context, backend string, parameters map[string]any) (*Driver, error) {
	d, err := driver.Open(ctx, backend, parameters)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", NamePrefix, backend, err)
	}
	return New(d), nil
}
