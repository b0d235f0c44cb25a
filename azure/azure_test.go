package azure_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// testConfig returns a Config for the Azurite server of testenv/up, rooted
// at root and sending through hc. It skips (or fails, when required)
// without a server.
func testConfig(t testing.TB, root string, hc *http.Client) azure.Config {
	t.Helper()
	env := testenv.Azure(t)
	return azure.Config{
		AccountName: env.Account,
		AccountKey:  env.Key,
		Container:   env.Container,
		ServiceURL:  env.URL,
		CommonConfig: driver.CommonConfig{
			RootDirectory: root,
			HTTPClient:    hc,
			// Keep retries quick: the fault tests make many.
			RetryBaseDelay:  5 * time.Millisecond,
			RetryMaxBackoff: 200 * time.Millisecond,
		},
	}
}

// newDriver builds a driver from c or fails t.
func newDriver(t testing.TB, c azure.Config) *azure.Driver {
	t.Helper()
	d, err := azure.New(context.Background(), c)
	if err != nil {
		t.Fatalf("azure.New: %v", err)
	}
	return d
}

// harness plugs the driver into the conformance suite.
func harness() conformance.Harness {
	return conformance.Harness{
		Name: "azure",
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			// Blob batches the SDK sends again are not counted (see
			// onceClient).
			cfg := testConfig(t, env.Root, onceClient(t, env.HTTPClient))
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
