package s3_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/s3"
)

// configT is the driver's Config, for test helpers that tweak it.
type configT = s3.Config

// testConfig returns a Config for the MinIO server of testenv/up, rooted at
// root and sending through hc. It skips (or fails, when required) without a
// server.
func testConfig(t testing.TB, root string, hc *http.Client) s3.Config {
	t.Helper()
	env := testenv.S3(t)
	return s3.Config{
		Bucket:         env.Bucket,
		Region:         env.Region,
		RegionEndpoint: env.Endpoint,
		ForcePathStyle: true,
		AccessKey:      env.AccessKey,
		SecretKey:      env.SecretKey,
		CommonConfig: driver.CommonConfig{
			RootDirectory: root,
			HTTPClient:    hc,
			// Keep retries quick: the fault tests make many.
			RetryBaseDelay:  5 * time.Millisecond,
			RetryMaxBackoff: 200 * time.Millisecond,
			// No client-side rate limit against the loopback MinIO: the
			// limiter has its own tests (options_test.go), and the
			// default 350 requests/s would only slow the suite down.
			MaxRequestsPerSecond: -1,
		},
	}
}

// newDriver builds a driver from c or fails t.
func newDriver(t testing.TB, c s3.Config) *s3.Driver {
	t.Helper()
	d, err := s3.New(context.Background(), c)
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return d
}

// harness plugs the driver into the conformance suite.
func harness() conformance.Harness {
	return conformance.Harness{
		Name: "s3",
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			cfg := testConfig(t, env.Root, withMinioRaceRetry(t, env.HTTPClient))
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
