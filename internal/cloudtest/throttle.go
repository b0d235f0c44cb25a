package cloudtest

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/recorder"
	"github.com/stowage-dev/stowage/transport"
)

// ServiceUnavailableExhaustsRetries checks what a caller gets from a store
// that answers 503 to every request: a 503 injected in front of the real
// server (transport.Faults, armed once New has returned) is retried
// MaxRetries times, each retry reported to the driver's Observer, and then
// comes back as a *driver.TooManyRequestsError.
func ServiceUnavailableExhaustsRetries(t *testing.T, b Backend) {
	t.Helper()
	var armed atomic.Bool
	faults := &transport.Faults{Rate: 1, Status: http.StatusServiceUnavailable,
		Match: func(*http.Request) bool { return armed.Load() }}
	obs := &recorder.Events{}
	d := b.New(t, b.Root(t), &http.Client{Transport: faults}, Options{MaxRetries: 3, Observer: obs})
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
