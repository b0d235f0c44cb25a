// Package cloudtest holds the test helpers the cloud backends' tests share:
// a request classifier that counts requests by provider operation, fresh
// roots, bulk fixtures and byte patterns. Only tests import it (it imports
// package testing); the shared fault tests are conformance.RunFaults.
package cloudtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// Ops is an http.RoundTripper that counts requests by provider operation,
// as Name tells them apart (method, query, headers), keeps the headers of
// the last request of each, and passes them to Base
// (http.DefaultTransport when nil).
type Ops struct {
	Base http.RoundTripper
	// Name names the provider operation of a request, e.g. "DeleteObjects".
	Name func(req *http.Request) string

	mu      sync.Mutex
	counts  map[string]int
	headers map[string]http.Header
}

// RoundTrip counts req and passes it on.
func (o *Ops) RoundTrip(req *http.Request) (*http.Response, error) {
	name := o.Name(req)
	o.mu.Lock()
	if o.counts == nil {
		o.counts, o.headers = map[string]int{}, map[string]http.Header{}
	}
	o.counts[name]++
	o.headers[name] = req.Header.Clone()
	o.mu.Unlock()
	base := o.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Header returns the headers of the last request of operation op.
func (o *Ops) Header(op string) http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.headers[op]
}

// Take returns the counts so far and resets them.
func (o *Ops) Take() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.counts
	o.counts, o.headers = nil, nil
	if c == nil {
		c = map[string]int{}
	}
	return c
}

// CountingClient returns a client whose requests go through a
// transport.Counter, then an Ops classifier using name, then base.
func CountingClient(base http.RoundTripper, name func(*http.Request) string) (*http.Client, *transport.Counter, *Ops) {
	o := &Ops{Base: base, Name: name}
	c := &transport.Counter{Base: o}
	return &http.Client{Transport: c}, c, o
}

// WantOps fails t unless got holds exactly want.
func WantOps(t testing.TB, what string, got, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d %s requests, want %d (all: %v)", what, got[k], k, v, got)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %d unexpected %s requests (all: %v)", what, v, k, got)
		}
	}
}

// FreshRoot returns a unique root directory "<prefix>-<hex>" and, when the
// test ends, calls clean with the root's key prefix ("<root>/") to remove
// everything under it.
func FreshRoot(t testing.TB, prefix string, clean func(keyPrefix string)) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	root := prefix + "-" + hex.EncodeToString(b[:])
	if clean != nil {
		t.Cleanup(func() { clean(root + "/") })
	}
	return root
}

// PutAll stores every path with its own path as content, 16 at a time.
func PutAll(t testing.TB, d driver.StorageDriver, paths []string) {
	t.Helper()
	err := driver.ForEach(context.Background(), len(paths), 16, func(ctx context.Context, i int) error {
		return d.PutContent(ctx, paths[i], []byte(paths[i]))
	})
	if err != nil {
		t.Fatalf("PutContent: %v", err)
	}
}

// Numbered returns n paths dir/fNNNNN.
func Numbered(dir string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/f%05d", dir, i)
	}
	return out
}

// KeysOf maps paths to keys under root (root + path), sorted.
func KeysOf(root string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = root + p
	}
	slices.Sort(out)
	return out
}

// PatternBytes returns n bytes that differ from one offset to the next
// (xorshift), so that a misplaced or repeated range shows.
func PatternBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// Notify passes requests to Inner and closes First once the first answer
// is back: a test waits on First to act while a call is in its retries.
type Notify struct {
	Inner http.RoundTripper
	First chan struct{}
	once  sync.Once
}

// NewNotify returns a Notify over inner.
func NewNotify(inner http.RoundTripper) *Notify {
	return &Notify{Inner: inner, First: make(chan struct{})}
}

// RoundTrip passes req on and signals the first answer.
func (n *Notify) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.Inner.RoundTrip(req)
	n.once.Do(func() { close(n.First) })
	return resp, err
}

// Files lists every file under dir on d, sorted; none when dir does not
// exist.
func Files(t testing.TB, d driver.StorageDriver, dir string) []string {
	t.Helper()
	var out []string
	err := d.Walk(context.Background(), dir, func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			out = append(out, fi.Path())
		}
		return nil
	})
	if err != nil && !driver.IsNotFound(err) {
		t.Fatalf("Walk(%s): %v", dir, err)
	}
	slices.Sort(out)
	return out
}
