// Package transport holds http.RoundTrippers that the tests and the
// benchmarks put between a backend and its server: Counter counts requests,
// Latency adds a round trip, Faults injects transient failures (HTTP 5xx,
// 429, dropped connections, cut bodies). They test and measure stowage's own
// logic (request counts, retries) against real servers; none of them
// replaces a server.
package transport

import (
	"net/http"
	"sync"
)

// Counter is an http.RoundTripper that counts the requests passing through
// it to Base (http.DefaultTransport when nil). Tests read Total around an
// operation to assert how many requests it sent.
type Counter struct {
	Base http.RoundTripper

	mu       sync.Mutex
	total    int
	byMethod map[string]int
}

// RoundTrip counts req and passes it on.
func (c *Counter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.count(req)
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Wrap returns a transport that counts every request into c and sends it
// to base (c.Base is not used): one Counter over the transports of
// several clients.
func (c *Counter) Wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		c.count(req)
		return base.RoundTrip(req)
	})
}

// count counts req.
func (c *Counter) count(req *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if c.byMethod == nil {
		c.byMethod = map[string]int{}
	}
	c.byMethod[req.Method]++
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Total returns the number of requests counted so far.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// ByMethod returns the number of requests counted so far per HTTP method.
func (c *Counter) ByMethod() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byMethod))
	for k, v := range c.byMethod {
		out[k] = v
	}
	return out
}

// Reset sets the counts to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.total = 0
	c.byMethod = nil
	c.mu.Unlock()
}
