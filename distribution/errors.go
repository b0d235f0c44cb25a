package distribution

import (
	"errors"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/stowage-dev/stowage/driver"
)

// mapErr re-types a stowage error as the distribution error the registry
// expects. distribution matches its errors with type switches and type
// assertions on values, so the four typed errors are returned as bare
// values, not wrapped; any other error becomes a storagedriver.Error whose
// Detail is the stowage error (errors.As on the Detail finds stowage's
// types, e.g. *driver.TooManyRequestsError or *driver.DeleteFilesError).
func (a *Driver) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var (
		notFound    *driver.PathNotFoundError
		invalidPath *driver.InvalidPathError
		invalidOff  *driver.InvalidOffsetError
	)
	switch {
	case errors.As(err, &notFound):
		return storagedriver.PathNotFoundError{Path: notFound.Path, DriverName: a.name}
	case errors.As(err, &invalidPath):
		return storagedriver.InvalidPathError{Path: invalidPath.Path, DriverName: a.name}
	case errors.As(err, &invalidOff):
		return storagedriver.InvalidOffsetError{Path: invalidOff.Path, Offset: invalidOff.Offset, DriverName: a.name}
	case errors.Is(err, driver.ErrUnsupportedMethod):
		return storagedriver.ErrUnsupportedMethod{DriverName: a.name}
	}
	return storagedriver.Error{DriverName: a.name, Detail: err}
}
