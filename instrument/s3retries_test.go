package instrument_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// Requests the SDK retries after a 503 are reported by the s3 backend to
// its observer, and counted.
func TestS3SDKRetries(t *testing.T) {
	in, _ := newInstrument(t)
	faults := &transport.Faults{
		Base: http.DefaultTransport, Rate: 1, Max: 2,
		Match: func(req *http.Request) bool { return req.Method == http.MethodPut },
	}
	d := openS3(t, in, map[string]any{driver.HTTPClientParam: &http.Client{Transport: faults}, "maxretries": 3})
	ctx := context.Background()
	if err := d.PutContent(ctx, "/retried", []byte("after two 503s")); err != nil {
		t.Fatalf("PutContent under two 503s: %v", err)
	}
	if err := d.Delete(ctx, "/retried"); err != nil {
		t.Fatal(err)
	}
	reg := in.Registry()
	if got := value(t, reg, "stowage_retries_total", lbl("driver", "s3")); got != 2 {
		t.Errorf("retries_total = %v, want 2 (the two 503s)", got)
	}
	if got := value(t, reg, "stowage_operations_total", lbl("driver", "s3", "operation", "PutContent")); got != 1 {
		t.Errorf("operations_total{PutContent} = %v, want 1", got)
	}
	if got := errorSeries(t, reg); got != 0 {
		t.Errorf("%d error series, want none", got)
	}
}
