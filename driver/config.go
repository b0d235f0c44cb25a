package driver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults of CommonConfig.
const (
	// DefaultMaxRetries is the number of retries after a failed attempt.
	DefaultMaxRetries = 5
	// DefaultMaxConcurrency bounds the requests one call keeps in flight
	// (delete batches, copied parts).
	DefaultMaxConcurrency = 10
	// DefaultRetryBaseDelay is the first backoff delay of the retry loops
	// stowage runs itself (per-item batch retries) when
	// CommonConfig.RetryBaseDelay is 0.
	DefaultRetryBaseDelay = 200 * time.Millisecond
	// DefaultRetryMaxBackoff caps one backoff delay.
	DefaultRetryMaxBackoff = 20 * time.Second
	// DefaultURLExpiry is how long a URLFor URL stays valid without an
	// "expiry" option.
	DefaultURLExpiry = 20 * time.Minute
)

// CommonConfig holds the settings every cloud backend shares. Each
// backend's Config embeds it, so the parameters below mean the same and are
// checked the same everywhere (see ReadParameters and Normalize).
type CommonConfig struct {
	// RootDirectory is a key prefix under which every path lives ("" for
	// the root of the bucket or container). Leading and trailing slashes
	// are ignored.
	RootDirectory string

	// MaxRetries is the number of retries after a failed attempt on
	// throttling, 5xx and connection errors. 0 means DefaultMaxRetries; a
	// negative value disables retries (Normalize makes it -1).
	MaxRetries int
	// RetryBaseDelay is the base of the full-jitter exponential backoff
	// of the retries stowage runs itself; 0 means the backend's default
	// (DefaultRetryBaseDelay, or the SDK's own backoff where the backend
	// says so). Tests set it to keep fault injection fast.
	RetryBaseDelay time.Duration
	// RetryMaxBackoff caps one backoff delay; 0 means
	// DefaultRetryMaxBackoff.
	RetryMaxBackoff time.Duration

	// MaxConcurrency bounds the requests one call keeps in flight (delete
	// batches of DeleteFiles and Delete); 0 means DefaultMaxConcurrency.
	MaxConcurrency int
	// DeleteBatchSize is the most paths per bulk-delete request. It may
	// lower the provider's limit (Capabilities.DeleteBatchSize), never
	// raise it: a larger value is capped, with a logged warning. 0 means
	// the provider's limit.
	DeleteBatchSize int

	// HTTPClient sends every request; nil means the SDK's default client.
	HTTPClient *http.Client

	// Logger receives the driver's warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Retries returns the number of retries after a failed attempt: MaxRetries,
// or 0 when retries are disabled.
func (c CommonConfig) Retries() int { return max(c.MaxRetries, 0) }

// Backoff returns the backoff of the retries stowage runs itself.
func (c CommonConfig) Backoff() Backoff {
	b := Backoff{Base: c.RetryBaseDelay, Max: c.RetryMaxBackoff}
	if b.Base == 0 {
		b.Base = DefaultRetryBaseDelay
	}
	if b.Max == 0 {
		b.Max = DefaultRetryMaxBackoff
	}
	return b
}

// Retry calls fn until it succeeds, fails with an error retryable
// rejects, ctx ends, or fn has been tried 1 + Retries() times, sleeping
// Backoff() in between: the retry loop of the requests a backend sends
// outside its SDK's own retries. When ctx ends during a backoff it returns
// an error matching ctx's, naming the last failure.
func (c CommonConfig) Retry(ctx context.Context, driverName string, retryable func(error) bool, fn func() error) error {
	backoff := c.Backoff()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := fn()
		if err == nil || ctx.Err() != nil || attempt > c.Retries() || !retryable(err) {
			return err
		}
		c.Logger.Debug(driverName+": retrying", "attempt", attempt, "error", err)
		if werr := backoff.Sleep(ctx, attempt); werr != nil {
			return fmt.Errorf("%w (after %w)", werr, err)
		}
	}
}

// Normalize checks c and fills in its defaults for driver driverName,
// whose provider takes at most maxBatchSize paths per bulk-delete request. It
// returns a *ConfigError naming the offending parameter.
func (c *CommonConfig) Normalize(driverName string, maxBatchSize int) error {
	bad := func(param, format string, args ...any) error {
		return &ConfigError{DriverName: driverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.RootDirectory = strings.Trim(c.RootDirectory, "/")
	if strings.Contains(c.RootDirectory, "//") {
		return bad("rootdirectory", "empty component in %q", c.RootDirectory)
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = -1
	}
	if c.RetryBaseDelay < 0 {
		return bad("retrybasedelay", "%v is negative", c.RetryBaseDelay)
	}
	if c.RetryMaxBackoff == 0 {
		c.RetryMaxBackoff = DefaultRetryMaxBackoff
	}
	if c.RetryMaxBackoff < 0 {
		return bad("retrymaxbackoff", "%v is negative", c.RetryMaxBackoff)
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxConcurrency < 0 {
		return bad("maxconcurrency", "%d is negative", c.MaxConcurrency)
	}
	switch {
	case c.DeleteBatchSize == 0:
		c.DeleteBatchSize = maxBatchSize
	case c.DeleteBatchSize < 0:
		return bad("deletebatchsize", "%d is negative", c.DeleteBatchSize)
	case c.DeleteBatchSize > maxBatchSize:
		c.Logger.Warn(driverName+": deletebatchsize above the provider's bulk-delete limit, capped",
			"deletebatchsize", c.DeleteBatchSize, "cap", maxBatchSize)
		c.DeleteBatchSize = maxBatchSize
	}
	return nil
}

// Fields starts a backend's FromParameters: it reads the common parameters
// of params into c (see ReadParameters) and returns the reader of the
// backend's own, which carries ReadParameters' error, if any, as its Err.
func (c *CommonConfig) Fields(driverName string, params map[string]any) *Fields {
	p := Params{DriverName: driverName, Values: params}
	return &Fields{p: p, err: c.ReadParameters(p)}
}

// ReadParameters reads the common distribution-style parameters into c:
//
//	rootdirectory    key prefix of every path
//	maxretries       retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency   requests in flight per call (default 10)
//	deletebatchsize  paths per bulk-delete request, capped at the provider's limit
//	httpclient       an *http.Client (HTTPClientParam)
//
// A number given explicitly must be positive (maxretries: not negative).
func (c *CommonConfig) ReadParameters(p Params) error {
	var err error
	if c.RootDirectory, err = p.String("rootdirectory", ""); err != nil {
		return err
	}
	retries, err := p.Int("maxretries", DefaultMaxRetries)
	if err != nil {
		return err
	}
	switch {
	case retries == 0:
		c.MaxRetries = -1 // explicitly none
	case retries < 0:
		return p.errorf("maxretries", "%d is negative", retries)
	default:
		c.MaxRetries = retries
	}
	if c.MaxConcurrency, err = p.Positive("maxconcurrency"); err != nil {
		return err
	}
	if c.DeleteBatchSize, err = p.Positive("deletebatchsize"); err != nil {
		return err
	}
	c.HTTPClient, err = p.HTTPClient()
	return err
}
