package consistency_test

import (
	"context"
	"flag"
	"hash/fnv"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
	"github.com/stowage-dev/stowage/filesystem"
	"github.com/stowage-dev/stowage/inmemory"
)

// TestMain raises -parallel (unless it was given): the conformance runs
// below spend their time waiting out simulated lag, not computing, so
// their leaf tests overlap well beyond the number of CPUs.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", "32"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// suiteLag is the largest lag of every kind in the conformance runs.
const suiteLag = 2 * time.Second

// laggingOptions gives every kind of change a lag spread over [lag/2, lag],
// drawn from seed, on the system clock.
func laggingOptions(seed uint64, lag time.Duration) conformance.EventualOptions {
	return conformance.EventualOptions{
		Seed: seed, CreateLag: lag, OverwriteLag: lag, DeleteLag: lag, ListLag: lag, Jitter: 0.5,
	}
}

// wrappedHarness builds, for each Env.Root, one backend, one simulator over
// it and one wrapper over that; a second New for the same Root returns the
// same wrapper. The wrapper's guarantees hold within one process, and the
// suite's second driver over a Root (resuming a writer, two drivers writing
// at once) stands for a second driver instance in the same process, which
// shares the process's wrapper.
func wrappedHarness(name string, backend func(t testing.TB, root string) driver.StorageDriver,
	sim func(root string) conformance.EventualOptions, o consistency.Options) conformance.Harness {
	var (
		mu      sync.Mutex
		drivers = map[string]driver.StorageDriver{}
	)
	return conformance.Harness{
		Name: name,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			mu.Lock()
			defer mu.Unlock()
			d, ok := drivers[env.Root]
			if !ok {
				d = consistency.Wrap(conformance.NewEventual(backend(t, env.Root), sim(env.Root)), o)
				drivers[env.Root] = d
			}
			return d
		},
	}
}

func seedOf(root string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(root))
	return h.Sum64()
}

func newInmemory(testing.TB, string) driver.StorageDriver { return inmemory.New() }

func newFilesystem(t testing.TB, _ string) driver.StorageDriver {
	d, err := filesystem.New(context.Background(), filesystem.Config{RootDirectory: t.TempDir()})
	if err != nil {
		t.Fatalf("filesystem.New: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("filesystem Close: %v", err)
		}
	})
	return d
}

// The two runs are parallel: they mostly wait.

func TestConformanceInmemory(t *testing.T) {
	t.Parallel()
	start := time.Now()
	conformance.Run(t, wrappedHarness("consistency(eventual(inmemory))", newInmemory,
		func(root string) conformance.EventualOptions { return laggingOptions(seedOf(root), suiteLag) },
		consistency.Options{}))
	t.Logf("conformance over eventual(inmemory) with lags up to %v took %v", suiteLag, time.Since(start))
}

func TestConformanceFilesystem(t *testing.T) {
	t.Parallel()
	start := time.Now()
	conformance.Run(t, wrappedHarness("consistency(eventual(filesystem))", newFilesystem,
		func(root string) conformance.EventualOptions { return laggingOptions(seedOf(root), suiteLag) },
		consistency.Options{}))
	t.Logf("conformance over eventual(filesystem) with lags up to %v took %v", suiteLag, time.Since(start))
}
