package filesystem

import (
	"context"
	"errors"
	"log/slog"

	"github.com/stowage-dev/stowage/driver"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "filesystem"

const (
	// DefaultRootDirectory is where the driver keeps its files when
	// Config.RootDirectory is empty, as in distribution's registry.
	DefaultRootDirectory = "/var/lib/registry"
	// DefaultMaxThreads bounds concurrent filesystem operations when
	// Config.MaxThreads is zero, as in distribution's registry.
	DefaultMaxThreads = 100
	// MinMaxThreads is the least Config.MaxThreads takes effect as; smaller
	// positive values are raised to it, as distribution does.
	MinMaxThreads = 25
)

// Parameter names read by the factory registered with driver.Register,
// named as in distribution's registry configuration.
const (
	ParamRootDirectory = "rootdirectory"
	ParamMaxThreads    = "maxthreads"
)

// Config configures a filesystem Driver.
type Config struct {
	// RootDirectory is the directory that holds every file of the driver;
	// it is created when missing. Empty means DefaultRootDirectory. It must
	// be one filesystem: a mount point below it makes writes that cross it
	// fail, since files are staged under the root and renamed into place.
	RootDirectory string

	// MaxThreads bounds how many filesystem operations run at once (each
	// blocking system call holds an OS thread). Zero means
	// DefaultMaxThreads; a value below MinMaxThreads is raised to it; a
	// negative value is an error.
	MaxThreads int

	// Logger receives the driver's warnings (a deleted directory it could
	// not remove); nil means slog.Default(). The "logger" parameter
	// (driver.LoggerParam) sets it.
	Logger *slog.Logger
}

// normalize applies the defaults and checks the values.
func (c Config) normalize() (Config, error) {
	if c.RootDirectory == "" {
		c.RootDirectory = DefaultRootDirectory
	}

	switch {
	case c.MaxThreads < 0:
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: ParamMaxThreads, Err: errors.New("must not be negative")}
	case c.MaxThreads == 0:
		c.MaxThreads = DefaultMaxThreads
	case c.MaxThreads < MinMaxThreads:
		c.MaxThreads = MinMaxThreads
	}
	return c, nil
}

// FromParameters builds a Config from distribution-style parameters:
// "rootdirectory" (string, default DefaultRootDirectory) and "maxthreads"
// (integer or numeric string, default DefaultMaxThreads, at least
// MinMaxThreads). Keys are read without regard to case (with a warning for
// one not in lower case); other parameters are left alone with one
// warning naming them, as distribution ignores them.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := driver.NewFields(DriverName, params)
	f.String(ParamRootDirectory, &c.RootDirectory)
	f.Int(ParamMaxThreads, &c.MaxThreads)
	if l, ok := f.Value(driver.LoggerParam); ok {
		if c.Logger, ok = l.(*slog.Logger); !ok {
			f.Fail(driver.LoggerParam, "want a *slog.Logger, got %T", l)
		}
	}
	if err := f.Done(); err != nil {
		return Config{}, err
	}
	return c.normalize()
}

func init() {
	driver.Register(DriverName, factory)
}

// factory is the driver.Factory registered under DriverName.
func factory(ctx context.Context, params map[string]any) (driver.StorageDriver, error) {
	cfg, err := FromParameters(params)
	if err != nil {
		return nil, err
	}
	d, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return d, nil
}
