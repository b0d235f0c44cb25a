package filesystem_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/filesystem"
)

// baseDir holds one root directory per conformance Env.Root, for the
// whole test binary, so two drivers built for the same Root share files.
var baseDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stowage-filesystem-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	baseDir = dir
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// harness maps env.Root to a directory under baseDir.
func harness() conformance.Harness {
	return conformance.Harness{
		Name: filesystem.DriverName,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			return newDriver(t, filepath.Join(baseDir, env.Root))
		},
	}
}

// newDriver returns a driver over dir, closed when the test ends.
func newDriver(t testing.TB, dir string) *filesystem.Driver {
	t.Helper()
	d, err := filesystem.New(context.Background(), filesystem.Config{RootDirectory: dir})
	if err != nil {
		t.Fatalf("filesystem.New(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

func TestConformance(t *testing.T) {
	conformance.Run(t, harness())
}
