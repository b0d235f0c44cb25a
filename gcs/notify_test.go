package gcs_test

import (
	"net/http"
	"sync"
)

// notify passes requests to inner and closes first after the first
// response (once per reset).
type notify struct {
	mu    sync.Mutex
	once  *sync.Once
	first chan struct{}
	inner http.RoundTripper
}

// reset arms notify for another first request.
func (n *notify) reset() {
	n.mu.Lock()
	n.once = new(sync.Once)
	n.first = make(chan struct{})
	n.mu.Unlock()
}

func (n *notify) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.inner.RoundTrip(req)
	n.mu.Lock()
	once, first := n.once, n.first
	n.mu.Unlock()
	if once != nil {
		once.Do(func() { close(first) })
	}
	return resp, err
}
