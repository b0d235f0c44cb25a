package distribution

import (
	"flag"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/testsuites"

	"github.com/stowage-dev/stowage/filesystem"
	"github.com/stowage-dev/stowage/inmemory"
)

// excludedSuiteTests are the tests of distribution's driver suite that
// TestDistributionSuite does not run, as they do not fit a small shared
// machine under the race detector: TestWriteReadLargeStreams writes and
// reads a 5 GiB file (and skips itself under -short, which would count a
// skip); TestConcurrentFileStreams writes 32 files of 32 MiB at once and
// TestConcurrentStreamReads reads a 128 MiB file 10 times at once (over
// 20 GB of process memory together with -race). The end-to-end suite's
// 24 MiB chunked upload and concurrent layer pushes and pulls cover large
// and concurrent streams through the registry instead.
var excludedSuiteTests = []string{"TestWriteReadLargeStreams", "TestConcurrentFileStreams", "TestConcurrentStreamReads"}

// selectSuiteTests makes testify (which runs distribution's driver suite)
// run every test of the suite but the excluded ones, by setting its
// -testify.m flag, unless the command line set it. It must run before any
// suite does, from TestMain after flag.Parse.
func selectSuiteTests() {
	f := flag.Lookup("testify.m")
	if f == nil || f.Value.String() != "" {
		return
	}
	var names []string
	typ := reflect.TypeFor[*testsuites.DriverSuite]()
	for i := range typ.NumMethod() {
		n := typ.Method(i).Name
		if strings.HasPrefix(n, "Test") && !slices.Contains(excludedSuiteTests, n) {
			names = append(names, regexp.QuoteMeta(n))
		}
	}
	if err := f.Value.Set("^(?:" + strings.Join(names, "|") + ")$"); err != nil {
		panic(err)
	}
}

// distSuiteAllEnv, set to 1, makes TestDistributionSuite run
// distribution's suite on the cloud backends too, against testenv's
// servers (several minutes; the end-to-end suite already covers them).
const distSuiteAllEnv = "STOWAGE_E2E_DISTSUITE_ALL"

// TestDistributionSuite runs distribution's own storage driver test suite
// (registry/storage/driver/testsuites, the one its inmemory, filesystem and
// cloud drivers pass) on the adapter over stowage's local backends, and
// with STOWAGE_E2E_DISTSUITE_ALL=1 over the cloud ones as well. They run
// one after the other: the suite's tests share one global buffer of random
// bytes, which they also write, so two suites at once race.
func TestDistributionSuite(t *testing.T) {
	t.Run("inmemory", func(t *testing.T) {
		testsuites.Driver(t, func() (storagedriver.StorageDriver, error) {
			return New(inmemory.New()), nil
		}, false)
	})
	t.Run("filesystem", func(t *testing.T) {
		root := t.TempDir()
		testsuites.Driver(t, func() (storagedriver.StorageDriver, error) {
			d, err := filesystem.New(t.Context(), filesystem.Config{RootDirectory: root})
			if err != nil {
				return nil, err
			}
			return New(d), nil
		}, false)
	})
	if os.Getenv(distSuiteAllEnv) != "1" {
		t.Logf("distribution's suite on the cloud backends not run; set %s=1 to run it", distSuiteAllEnv)
		return
	}
	for _, be := range e2eBackends {
		if be.name == "inmemory" || be.name == "filesystem" {
			continue
		}
		t.Run(be.name, func(t *testing.T) {
			params := be.params(t)
			testsuites.Driver(t, func() (storagedriver.StorageDriver, error) {
				return Open(t.Context(), be.name, params)
			}, false)
		})
	}
}
