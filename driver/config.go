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

	// MaxRequestsPerSecond caps the requests the driver sends, with a
	// token bucket (burst RateLimitBurst) that every request of the driver
	// shares, SDK retries included. 0 means the backend's default (s3:
	// DefaultS3MaxRequestsPerSecond, as GitLab's registry; others: no
	// limit); a negative value means no limit. See Client.
	MaxRequestsPerSecond float64

	// Observer receives retries, rate-limit waits and bulk-delete batch
	// sizes (package instrument); nil means none.
	Observer Observer
}

// DefaultS3MaxRequestsPerSecond is the default of the s3 backend's
// maxrequestspersecond, the default of GitLab's container registry: a
// tenth of the 3,500 writes per second S3 takes per prefix before it
// answers 503 SlowDown.
const DefaultS3MaxRequestsPerSecond = 350

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
		c.Events().Retried(driverName, err)
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

// Fields starts a backend's FromParameters: it takes params with their
// keys in lower case (LowerKeys: a key in another case is honoured, with a
// warning), reads the common parameters into c (see ReadParameters) and
// returns the reader of the backend's own, which carries the first error,
// if any, as its Err. The backend ends with Fields.Done, which warns once
// about every parameter nobody read.
func (c *CommonConfig) Fields(driverName string, params map[string]any) *Fields {
	f := NewFields(driverName, params)
	if f.err == nil {
		f.err = c.readCommon(f)
	}
	return f
}

// NewFields starts the FromParameters of a backend without a
// CommonConfig (filesystem): params with their keys in lower case
// (LowerKeys), and the warnings about them logged to the "logger"
// parameter's *slog.Logger, if one is given, or slog.Default; the
// parameters Go code passes (httpclient, logger, observer) count as known
// even where unused. End with Fields.Done.
func NewFields(driverName string, params map[string]any) *Fields {
	f := &Fields{p: Params{DriverName: driverName, Values: params}}
	for k, v := range params {
		if l, ok := v.(*slog.Logger); ok && strings.EqualFold(k, LoggerParam) {
			f.logger = l
		}
	}
	values, err := LowerKeys(driverName, params, f.logger)
	if err != nil {
		f.err = err
		return f
	}
	f.p.Values = values
	// The parameters Go code passes (not a configuration's) are known to
	// every backend, also one that has no use for them.
	for _, k := range []string{HTTPClientParam, LoggerParam, ObserverParam} {
		f.mark(k)
	}
	return f
}

// ReadParameters reads the common distribution-style parameters of p
// into c:
//
//	rootdirectory         key prefix of every path
//	maxretries            retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency        requests in flight per call (default 10)
//	deletebatchsize       paths per bulk-delete request, capped at the provider's limit
//	maxrequestspersecond  requests per second, a token bucket (0 disables; default per backend)
//	httpclient            an *http.Client (HTTPClientParam)
//	logger                a *slog.Logger (LoggerParam)
//	observer              an Observer (ObserverParam)
//
// A number given explicitly must be positive (maxretries and
// maxrequestspersecond: not negative).
func (c *CommonConfig) ReadParameters(p Params) error {
	return c.readCommon(p.Fields())
}

// readCommon is ReadParameters through f, which marks the keys it reads.
func (c *CommonConfig) readCommon(f *Fields) error {
	f.String("rootdirectory", &c.RootDirectory)
	retries := DefaultMaxRetries
	f.Int("maxretries", &retries)
	if f.err == nil {
		switch {
		case retries == 0:
			c.MaxRetries = -1 // explicitly none
		case retries < 0:
			f.Fail("maxretries", "%d is negative", retries)
		default:
			c.MaxRetries = retries
		}
	}
	f.Positive("maxconcurrency", &c.MaxConcurrency)
	f.Positive("deletebatchsize", &c.DeleteBatchSize)
	if _, given := f.Value("maxrequestspersecond"); given {
		var rps float64
		f.Float("maxrequestspersecond", &rps)
		switch {
		case f.err != nil:
		case rps < 0:
			f.Fail("maxrequestspersecond", "%v is negative", rps)
		case rps == 0:
			c.MaxRequestsPerSecond = -1 // explicitly no limit
		default:
			c.MaxRequestsPerSecond = rps
		}
	}
	if f.err == nil {
		f.mark(HTTPClientParam)
		c.HTTPClient, f.err = f.p.HTTPClient()
	}
	if v, ok := f.Value(LoggerParam); ok && f.err == nil {
		l, ok := v.(*slog.Logger)
		if !ok {
			f.Fail(LoggerParam, "want a *slog.Logger, got %T", v)
		}
		c.Logger = l
	}
	if v, ok := f.Value(ObserverParam); ok && f.err == nil {
		o, ok := v.(Observer)
		if !ok {
			f.Fail(ObserverParam, "want a driver.Observer, got %T", v)
		}
		c.Observer = o
	}
	return f.err
}
