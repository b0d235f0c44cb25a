package swift_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/recorder"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/swift"
	"github.com/stowage-dev/stowage/transport"
)

// A 503 on every request is retried MaxRetries times, each retry
// reported to the Observer, and then is a *driver.TooManyRequestsError.
func TestServiceUnavailableExhaustsRetries(t *testing.T) {
	cloudtest.ServiceUnavailableExhaustsRetries(t, backend())
}

// maxrequestspersecond puts a token bucket in front of every request,
// authentication included: requests above the burst wait, each wait
// reported to the Observer, and still succeed.
func TestMaxRequestsPerSecond(t *testing.T) {
	env := testenv.Swift(t)
	counter := &transport.Counter{}
	obs := &recorder.Events{}
	d, err := driver.Open(context.Background(), swift.DriverName, map[string]any{
		"authurl": env.AuthURL, "username": env.User, "password": env.Key, "container": env.Container,
		"prefix": freshRoot(t), "maxrequestspersecond": 5,
		driver.HTTPClientParam: &http.Client{Transport: counter}, driver.ObserverParam: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range driver.RateLimitBurst {
		if _, err := d.Stat(context.Background(), fmt.Sprintf("/missing/%d", i)); !driver.IsNotFound(err) {
			t.Fatalf("Stat = %v, want PathNotFound", err)
		}
	}
	// New sent 3 requests, the Stats at least one each: more than the
	// burst, at 5 per second.
	if counter.Total() <= driver.RateLimitBurst {
		t.Fatalf("%d requests, want more than the burst %d", counter.Total(), driver.RateLimitBurst)
	}
	if len(obs.Waits()) == 0 {
		t.Error("no request waited for the rate limiter")
	}
}
