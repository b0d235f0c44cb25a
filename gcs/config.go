package gcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Limits and defaults of the GCS API and of this driver.
const (
	// MaxDeleteBatchSize is the most calls one JSON batch request may carry.
	MaxDeleteBatchSize = 100
	// ListPageSize is the most objects one list request returns; the driver
	// asks for exactly this many per page.
	ListPageSize = 1000
	// MaxComposeSources is the most source objects one compose request
	// takes.
	MaxComposeSources = 32

	// MinChunkSize is the smallest Writer part size accepted (256 KiB,
	// distribution's minimum), so that the parts of a large upload stay few.
	MinChunkSize = 256 << 10
	// DefaultChunkSize is the Writer part size (the Go client's own default
	// upload chunk size).
	DefaultChunkSize = 16 << 20
	// DefaultMaxConcurrency bounds the batch and compose requests in
	// flight for one call.
	DefaultMaxConcurrency = 10
	// DefaultMaxRetries is the number of retries after a failed attempt.
	DefaultMaxRetries = 5
	// DefaultRetryBaseDelay is the first backoff delay (GCS recommends 1 s).
	DefaultRetryBaseDelay = time.Second
	// DefaultRetryMaxBackoff caps one backoff delay.
	DefaultRetryMaxBackoff = 32 * time.Second
	// DefaultURLExpiry is how long a URLFor URL stays valid without an
	// "expiry" option.
	DefaultURLExpiry = 20 * time.Minute
	// MaxURLExpiry is the longest validity of a V4 signed URL (7 days).
	MaxURLExpiry = 7 * 24 * time.Hour

	// DefaultEndpoint is the JSON API endpoint of Google Cloud Storage.
	DefaultEndpoint = "https://storage.googleapis.com/storage/v1/"
)

// Config configures a Driver. The zero value of every field but Bucket
// means its default.
type Config struct {
	// Bucket holds all the driver's objects. Required.
	Bucket string
	// RootDirectory is an object name prefix under which every path lives
	// ("" for the bucket's root). Leading and trailing slashes are ignored.
	RootDirectory string

	// Endpoint is the JSON API endpoint, e.g.
	// "http://127.0.0.1:4443/storage/v1/" for an emulator; empty for GCS
	// itself (DefaultEndpoint). The batch endpoint is derived from it
	// (scheme://host/batch/storage/v1).
	Endpoint string

	// Credentials is a JSON credentials document (a service account key,
	// or any type Application Default Credentials accept). When empty the
	// contents of KeyFile are used, and when that is empty too,
	// Application Default Credentials.
	Credentials []byte
	// KeyFile is the path of a JSON credentials file, read by New.
	KeyFile string
	// Anonymous sends requests without credentials (emulators, public
	// buckets). Credentials and KeyFile may still provide the key URLFor
	// signs with.
	Anonymous bool

	// GoogleAccessID and PrivateKey sign URLFor URLs: the service account's
	// e-mail and its PEM private key. They default to client_email and
	// private_key of a service-account Credentials/KeyFile; without them
	// URLFor returns an error matching driver.ErrUnsupportedMethod.
	GoogleAccessID string
	PrivateKey     []byte

	// ChunkSize is the size of the Writer parts, buffered in memory and
	// each stored as one hidden object; at least MinChunkSize.
	ChunkSize int64

	// MaxRetries is the number of retries after a failed attempt on 408,
	// 429, 5xx and connection errors. 0 means DefaultMaxRetries; a
	// negative value disables retries.
	MaxRetries int
	// RetryBaseDelay is the first backoff delay; it doubles per attempt, up
	// to RetryMaxBackoff. 0 means DefaultRetryBaseDelay.
	RetryBaseDelay time.Duration
	// RetryMaxBackoff caps one backoff delay; 0 means DefaultRetryMaxBackoff.
	RetryMaxBackoff time.Duration

	// MaxConcurrency bounds the batch (and compose) requests in flight for
	// one DeleteFiles, Delete or Commit call.
	MaxConcurrency int
	// DeleteBatchSize is the most objects per batch request. It may lower
	// the GCS maximum of 100, never raise it: larger values are capped at
	// MaxDeleteBatchSize (with a logged warning).
	DeleteBatchSize int

	// HTTPClient sends every request (the SDK's, the batch deletes');
	// nil means a client over http.DefaultTransport. Unless Anonymous is
	// set, an OAuth2 transport over its Transport adds the credentials.
	HTTPClient *http.Client

	// Logger receives the driver's warnings; nil means slog.Default().
	Logger *slog.Logger
}

// normalize checks c, reads its key file and fills in its defaults. It
// returns a *driver.ConfigError naming the offending parameter.
func (c Config) normalize() (Config, error) {
	bad := func(param, format string, args ...any) (Config, error) {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Bucket == "" {
		return bad("bucket", "required")
	}
	c.RootDirectory = strings.Trim(c.RootDirectory, "/")
	if strings.Contains(c.RootDirectory, "//") {
		return bad("rootdirectory", "empty component in %q", c.RootDirectory)
	}

	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if !strings.Contains(c.Endpoint, "://") {
		c.Endpoint = "https://" + c.Endpoint
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return bad("endpoint", "%q is not an http(s) URL", c.Endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/storage/v1/"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	c.Endpoint = u.String()

	if len(c.Credentials) == 0 && c.KeyFile != "" {
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return bad("keyfile", "%w", err)
		}
		c.Credentials = b
	}
	if len(c.Credentials) > 0 {
		var sa struct {
			Type        string `json:"type"`
			ClientEmail string `json:"client_email"`
			PrivateKey  string `json:"private_key"`
		}
		if err := json.Unmarshal(c.Credentials, &sa); err != nil {
			return bad("credentials", "not a JSON credentials document: %w", err)
		}
		if sa.Type == "" {
			return bad("credentials", "no \"type\" field")
		}
		if c.GoogleAccessID == "" && len(c.PrivateKey) == 0 && sa.PrivateKey != "" {
			c.GoogleAccessID, c.PrivateKey = sa.ClientEmail, []byte(sa.PrivateKey)
		}
	}
	if (c.GoogleAccessID == "") != (len(c.PrivateKey) == 0) {
		return bad("googleaccessid", "GoogleAccessID and PrivateKey must be given together")
	}

	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.ChunkSize < MinChunkSize || c.ChunkSize > 1<<30 {
		return bad("chunksize", "%d is outside [%d, %d]", c.ChunkSize, MinChunkSize, 1<<30)
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MaxConcurrency < 0 {
		return bad("maxconcurrency", "%d is negative", c.MaxConcurrency)
	}
	switch {
	case c.DeleteBatchSize == 0:
		c.DeleteBatchSize = MaxDeleteBatchSize
	case c.DeleteBatchSize < 0:
		return bad("deletebatchsize", "%d is negative", c.DeleteBatchSize)
	case c.DeleteBatchSize > MaxDeleteBatchSize:
		c.Logger.Warn("gcs: deletebatchsize above the JSON batch limit, capped",
			"deletebatchsize", c.DeleteBatchSize, "cap", MaxDeleteBatchSize)
		c.DeleteBatchSize = MaxDeleteBatchSize
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = -1
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
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
	if c.RetryMaxBackoff < c.RetryBaseDelay {
		c.RetryMaxBackoff = c.RetryBaseDelay
	}
	return c, nil
}

// retries returns the number of retries after a first attempt (0 when
// disabled).
func (c Config) retries() int { return max(c.MaxRetries, 0) }

// errNoCredentialsType is returned for a credentials document whose type
// the auth library does not know.
var errNoCredentialsType = errors.New("unknown credentials type")
