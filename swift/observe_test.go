package swift_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/recorder"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/swift"
	"github.com/stowage-dev/stowage/transport"
)

// A 503 on every request, injected in front of the real Swift once New
// has returned, is retried MaxRetries times, each retry reported to the
// Observer, and then comes back as a *driver.TooManyRequestsError.
func TestServiceUnavailableExhaustsRetries(t *testing.T) {
	root := freshRoot(t)
	var armed atomic.Bool
	faults := &transport.Faults{Rate: 1, Status: http.StatusServiceUnavailable,
		Match: func(*http.Request) bool { return armed.Load() }}
	cfg := testConfig(t, root, &http.Client{Transport: faults})
	obs := &recorder.Events{}
	cfg.Observer = obs
	cfg.MaxRetries = 3
	d := newDriver(t, cfg)
	before := len(obs.Retries())
	armed.Store(true)
	_, err := d.Stat(context.Background(), "/missing")
	var tmr *driver.TooManyRequestsError
	if !errors.As(err, &tmr) {
		t.Fatalf("Stat under 503s = %v, want a TooManyRequestsError", err)
	}
	if got := faults.Total(); got != 1+3 {
		t.Errorf("%d requests answered 503, want 4 (1 + maxretries 3)", got)
	}
	if got := len(obs.Retries()) - before; got != 3 {
		t.Errorf("Observer saw %d retries, want 3", got)
	}
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
