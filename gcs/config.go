package gcs

import (
	"encoding/json"
	"errors"
	"fmt"
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
	DefaultMaxConcurrency = driver.DefaultMaxConcurrency
	// DefaultMaxRetries is the number of retries after a failed attempt.
	DefaultMaxRetries = driver.DefaultMaxRetries
	// DefaultRetryBaseDelay is the first backoff delay, of the SDK's
	// retries and the driver's own (GCS recommends 1 s).
	DefaultRetryBaseDelay = time.Second
	// DefaultRetryMaxBackoff caps one backoff delay.
	DefaultRetryMaxBackoff = 32 * time.Second
	// MaxURLExpiry is the longest validity of a V4 signed URL (7 days).
	MaxURLExpiry = 7 * 24 * time.Hour

	// DefaultEndpoint is the JSON API endpoint of Google Cloud Storage.
	DefaultEndpoint = "https://storage.googleapis.com/storage/v1/"
)

// Config configures a Driver. The zero value of every field but Bucket
// means its default.
type Config struct {
	// CommonConfig holds the settings every cloud backend shares. For GCS:
	// RootDirectory is an object name prefix; MaxRetries applies to the
	// SDK's calls (retried on 408, 429, 5xx and connection errors), to
	// uploads and to batch deletes; RetryBaseDelay (default
	// DefaultRetryBaseDelay) and RetryMaxBackoff (default
	// DefaultRetryMaxBackoff) set the backoff of all of them;
	// MaxConcurrency bounds the batch and compose requests in flight for
	// one DeleteFiles, Delete or Commit call; DeleteBatchSize is capped at
	// MaxDeleteBatchSize; HTTPClient sends every request (the SDK's, the
	// batch deletes'; nil means a client over a copy of
	// http.DefaultTransport), behind the rate limiter of
	// MaxRequestsPerSecond (default: none), and unless Anonymous is set an
	// OAuth2 transport over it adds the credentials; the SDK's retries are
	// reported to Observer.
	driver.CommonConfig

	// Bucket holds all the driver's objects. Required.
	Bucket string

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

	// UserAgent, when set, is the User-Agent header of every request the
	// driver sends (the SDK's, the batch deletes', the token requests'
	// excepted), as distribution's useragent parameter sets it; empty
	// leaves the SDK's own.
	UserAgent string
}

// normalize checks c, reads its key file and fills in its defaults. It
// returns a *driver.ConfigError naming the offending parameter.
func (c Config) normalize() (Config, error) {
	bad := func(param, format string, args ...any) (Config, error) {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if c.Bucket == "" {
		return bad("bucket", "required")
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if c.RetryMaxBackoff == 0 {
		c.RetryMaxBackoff = DefaultRetryMaxBackoff
	}
	if err := c.CommonConfig.Normalize(DriverName, MaxDeleteBatchSize); err != nil {
		return c, err
	}
	if c.RetryMaxBackoff < c.RetryBaseDelay {
		c.RetryMaxBackoff = c.RetryBaseDelay
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
	return c, nil
}

// errNoCredentialsType is returned for a credentials document whose type
// the auth library does not know.
var errNoCredentialsType = errors.New("unknown credentials type")
