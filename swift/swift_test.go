package swift_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/swift"
)

// configT is the driver's Config, for test helpers that tweak it.
type configT = swift.Config

// testConfig returns a Config for the Swift server of testenv/up, rooted
// at root and sending through hc. It skips (or fails, when required)
// without a server.
func testConfig(t testing.TB, root string, hc *http.Client) swift.Config {
	t.Helper()
	env := testenv.Swift(t)
	return swift.Config{
		AuthURL:   env.AuthURL,
		UserName:  env.User,
		Password:  env.Key,
		Container: env.Container,
		CommonConfig: driver.CommonConfig{
			RootDirectory: root,
			HTTPClient:    hc,
			// Keep retries quick: the fault tests make many.
			RetryBaseDelay:  5 * time.Millisecond,
			RetryMaxBackoff: 200 * time.Millisecond,
		},
		// Small segments, so that the suite's writers cross them.
		ChunkSize: 1 << 20,
	}
}

// newDriver builds a driver from c or fails t.
func newDriver(t testing.TB, c swift.Config) *swift.Driver {
	t.Helper()
	d, err := swift.New(context.Background(), c)
	if err != nil {
		t.Fatalf("swift.New: %v", err)
	}
	return d
}

// harness plugs the driver into the conformance suite.
func harness() conformance.Harness {
	return conformance.Harness{
		Name: "swift",
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			cfg := testConfig(t, env.Root, env.HTTPClient)
			cfg.DeleteBatchSize = env.DeleteBatchSize // 0 keeps the default
			return newDriver(t, cfg)
		},
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, harness())
}

func BenchmarkConformance(b *testing.B) {
	conformance.Benchmark(b, harness())
}
