package cloudtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// Backend plugs a cloud backend into the shared count, cross-check and
// writer tests of this package: how to build its driver, how the provider
// names its requests, and how to see and change what the server holds with
// a client of the test's own, never through the driver.
type Backend struct {
	// Name names the independent client in messages ("minio", "azblob").
	Name string
	// Root returns a fresh root for one test and empties it when the test
	// ends (see FreshRoot).
	Root func(t testing.TB) string
	// New returns a driver over root, set up as o says, whose every
	// request goes through hc
	// (nil: the backend's default client).
	New func(t testing.TB, root string, hc *http.Client, o Options) driver.StorageDriver
	// Op names the provider operation of a request (see Ops).
	Op func(req *http.Request) string
	// Keys returns, sorted, the objects under the key prefix.
	Keys func(t testing.TB, keyPrefix string) []string
	// Get returns the object at key.
	Get func(t testing.TB, key string) []byte
	// Put stores an object at key.
	Put func(t testing.TB, key string, content []byte)
}

// Counting returns a driver over root whose requests go through a
// transport.Counter and an Ops classifier (see CountingClient), with the
// counts of whatever New sent already taken.
func (b Backend) Counting(t testing.TB, root string) (driver.StorageDriver, *transport.Counter, *Ops) {
	t.Helper()
	hc, c, o := CountingClient(nil, b.Op)
	d := b.New(t, root, hc, Options{})
	o.Take()
	c.Reset()
	return d, c, o
}

// Head returns the first three of s, for messages about long lists.
func Head(s []string) string {
	return strings.Join(s[:min(3, len(s))], " ")
}

// Options is how a shared test wants a driver set up. Zero fields keep
// the backend's test settings.
type Options struct {
	MaxRetries      int
	DeleteBatchSize int
	ChunkSize       int64
	RetryBaseDelay  time.Duration
	RetryMaxBackoff time.Duration
	// Observer receives the driver's events (driver.CommonConfig.Observer).
	Observer driver.Observer
}

// Apply sets the fields o sets: the common ones in c, ChunkSize in
// *chunkSize (each backend's Config has its own part-size field).
func (o Options) Apply(c *driver.CommonConfig, chunkSize *int64) {
	if o.MaxRetries != 0 {
		c.MaxRetries = o.MaxRetries
	}
	if o.DeleteBatchSize != 0 {
		c.DeleteBatchSize = o.DeleteBatchSize
	}
	if o.RetryBaseDelay != 0 {
		c.RetryBaseDelay = o.RetryBaseDelay
	}
	if o.RetryMaxBackoff != 0 {
		c.RetryMaxBackoff = o.RetryMaxBackoff
	}
	if o.Observer != nil {
		c.Observer = o.Observer
	}
	if o.ChunkSize != 0 {
		*chunkSize = o.ChunkSize
	}
}
