package gcs_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// testConfig returns a Config for the fake-gcs-server of testenv/up, rooted
// at root and sending through hc, with a test service account key to sign
// URLs with (the emulator does not check signatures; signature_test.go
// does). It skips (or fails, when required) without a server.
func testConfig(t testing.TB, root string, hc *http.Client) gcs.Config {
	t.Helper()
	env := testenv.GCS(t)
	return gcs.Config{
		CommonConfig: driver.CommonConfig{
			RootDirectory: root,
			HTTPClient:    hc,
			// Keep retries quick: the fault tests make many.
			RetryBaseDelay:  5 * time.Millisecond,
			RetryMaxBackoff: 200 * time.Millisecond,
		},
		Bucket:         env.Bucket,
		Endpoint:       env.Endpoint,
		Anonymous:      true,
		GoogleAccessID: testAccessID,
		PrivateKey:     testKeyPEM(t),
	}
}

// newDriver builds a driver from c or fails t.
func newDriver(t testing.TB, c gcs.Config) *gcs.Driver {
	t.Helper()
	d, err := gcs.New(context.Background(), c)
	if err != nil {
		t.Fatalf("gcs.New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// harness plugs the driver into the conformance suite, which takes the
// capabilities from the driver.
func harness() conformance.Harness {
	return conformance.Harness{
		Name: "gcs",
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
