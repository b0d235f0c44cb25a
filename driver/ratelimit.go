package driver

import (
	"crypto/tls"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// RateLimitBurst is how many requests the rate limiter lets through at
// once after a quiet spell, above CommonConfig.MaxRequestsPerSecond.
const RateLimitBurst = 10

// newLimiter returns the token bucket of rps requests per second, or nil
// for no limit (rps <= 0).
func newLimiter(rps float64) *rate.Limiter {
	if rps <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(rps), RateLimitBurst)
}

// Client returns the *http.Client a backend sends every request through:
// c.HTTPClient, or when nil a client over a copy of http.DefaultTransport
// (skipping TLS verification when skipVerify: distribution's skipverify
// parameters), whose transport first waits for the driver's rate limiter
// (MaxRequestsPerSecond: a new token bucket for each call, so a backend
// calls Client once and sends every request, SDK retries included,
// through the one client) and reports each wait to the Observer as
// driverName's. A wait ends at once, with the request's context
// error, when that context ends. skipVerify with an HTTPClient of the
// caller's is ignored: that client keeps its own TLS settings.
func (c *CommonConfig) Client(driverName string, skipVerify bool) *http.Client {
	base := c.HTTPClient
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if skipVerify {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked for it
		}
		base = &http.Client{Transport: t}
	}
	limiter := newLimiter(c.MaxRequestsPerSecond)
	if limiter == nil {
		return base
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc := *base
	hc.Transport = &limitedTransport{next: rt, limiter: limiter, events: c.Events(), driverName: driverName}
	return &hc
}

// limitedTransport waits for a token of its limiter before each request.
type limitedTransport struct {
	next       http.RoundTripper
	limiter    *rate.Limiter
	events     Observer
	driverName string
}

// RoundTrip implements http.RoundTripper.
func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	r := t.limiter.Reserve()
	if d := r.Delay(); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			r.Cancel()
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, req.Context().Err()
		}
		t.events.RateLimited(t.driverName, time.Since(start))
	}
	return t.next.RoundTrip(req)
}
