package swift

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Limits and defaults of Swift and of this driver.
const (
	// MaxDeleteBatchSize is the default bulk-delete limit of Swift
	// (max_deletes_per_request) and the most names the driver sends per
	// bulk-delete request; a server whose /info says less gets fewer.
	MaxDeleteBatchSize = 10000
	// ListPageSize is the most names the driver asks one container
	// listing for (Swift's container_listing_limit default); a cluster
	// whose /info reports a lower container_listing_limit is asked for
	// that.
	ListPageSize = 10000
	// MinChunkSize is the smallest Writer segment size the driver accepts.
	MinChunkSize = 1 << 20
	// DefaultChunkSize is the Writer segment size (distribution's default).
	DefaultChunkSize = 20 << 20
	// DefaultMaxConcurrency bounds the bulk-delete requests in flight.
	DefaultMaxConcurrency = driver.DefaultMaxConcurrency
	// DefaultMaxRetries is the number of retries after a failed attempt.
	DefaultMaxRetries = driver.DefaultMaxRetries
	// DefaultMaxFileSize is Swift's default max_file_size (5 GiB + 2),
	// used when /info does not say.
	DefaultMaxFileSize = 5<<30 + 2
	// DefaultMaxManifestSegments is Swift's default max_manifest_segments.
	DefaultMaxManifestSegments = 1000
	// DefaultURLExpiry is how long a URLFor URL stays valid without an
	// "expiry" option.
	DefaultURLExpiry = driver.DefaultURLExpiry
)

// Config configures a Driver. The zero value of every field but AuthURL,
// UserName, Password and Container means its default.
type Config struct {
	// CommonConfig holds the settings every cloud backend shares: the
	// root directory (a name prefix under which every path lives,
	// distribution's "prefix"), the retries on 408, 429, 498, 5xx and
	// connection errors and their backoff, the concurrency and batch size
	// of DeleteFiles and Delete (the batch size may lower the server's
	// max_deletes_per_request, never raise it), the HTTP client (ncw/swift
	// takes its Transport; nil means a transport of the driver's own) and
	// the logger.
	driver.CommonConfig

	// AuthURL is the identity endpoint, e.g. https://keystone/v3 or
	// http://127.0.0.1:8080/auth/v1.0 (tempauth).
	AuthURL string
	// UserName and Password (the API key) authenticate.
	UserName string
	Password string
	// Tenant, TenantID, Domain, DomainID, TrustID, Region, AuthVersion
	// (0 detects it from AuthURL) and EndpointType ("public", "internal",
	// "admin") are passed to ncw/swift for v2/v3 authentication.
	Tenant       string
	TenantID     string
	Domain       string
	DomainID     string
	TenantDomain string
	TrustID      string
	Region       string
	AuthVersion  int
	EndpointType string
	// InsecureSkipVerify turns off TLS verification of the default client
	// (ignored when HTTPClient is set: that client keeps its own TLS).
	InsecureSkipVerify bool

	// Container holds every file. Required; it must exist.
	Container string
	// SegmentsContainer holds the Writer's uncommitted segments and the
	// segments of files committed above MaxFileSize. Default
	// Container+"_segments"; created on first use when missing.
	SegmentsContainer string

	// ChunkSize is the Writer's segment size, at least MinChunkSize.
	ChunkSize int64
	// MaxFileSize is the largest file Commit stores as one plain object
	// (by server-side concatenation); larger ones stay a static large
	// object. 0 means the server's max_file_size from /info.
	MaxFileSize int64

	// MaxManifestSegments, when set, lowers the cluster's
	// max_manifest_segments: Commit nests manifests above it.
	MaxManifestSegments int

	// SecretKey is the temp URL key (account or, with TempURLContainerKey,
	// container X-*-Meta-Temp-URL-Key) URLFor signs with. Without it
	// URLFor is unsupported. AccessKey, when set, prefixes the signature
	// as "accesskey:signature" (HP Cloud style).
	SecretKey           string
	AccessKey           string
	TempURLContainerKey bool
	// TempURLMethods are the methods URLFor signs; default GET and HEAD.
	TempURLMethods []string

	// ConnectTimeout bounds the wait for response headers (0 means 10
	// minutes: the server-side COPY that commits a multi-GiB file answers
	// only when it is done), and Timeout a stall of a body transfer (0
	// means 60 s); they are ncw/swift's settings.
	ConnectTimeout time.Duration
	Timeout        time.Duration

	// ListLimit is the limit asked of each container listing, at most
	// ListPageSize (the default) and at most the cluster's
	// container_listing_limit from /info (a larger limit is answered 412
	// Precondition Failed). Lower values only cost requests; tests use
	// them to cross page boundaries cheaply.
	ListLimit int
}

// normalize checks c and fills in its defaults.
func (c Config) normalize() (Config, error) {
	bad := func(param, format string, args ...any) (Config, error) {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if err := c.CommonConfig.Normalize(DriverName, MaxDeleteBatchSize); err != nil {
		return c, err
	}
	switch {
	case c.AuthURL == "":
		return bad("authurl", "required")
	case c.UserName == "":
		return bad("username", "required")
	case c.Password == "":
		return bad("password", "required")
	case c.Container == "":
		return bad("container", "required")
	case strings.Contains(c.Container, "/"):
		return bad("container", "%q contains a slash", c.Container)
	}
	if c.SegmentsContainer == "" {
		c.SegmentsContainer = c.Container + "_segments"
	}
	if c.SegmentsContainer == c.Container {
		return bad("segmentscontainer", "must differ from the container")
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.ChunkSize < MinChunkSize {
		return bad("chunksize", "%d is below %d", c.ChunkSize, MinChunkSize)
	}
	if c.MaxFileSize < 0 {
		return bad("maxfilesize", "%d is negative", c.MaxFileSize)
	}
	if len(c.TempURLMethods) == 0 {
		c.TempURLMethods = []string{http.MethodGet, http.MethodHead}
	}
	for i, m := range c.TempURLMethods {
		c.TempURLMethods[i] = strings.ToUpper(strings.TrimSpace(m))
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	if c.ListLimit == 0 || c.ListLimit > ListPageSize {
		c.ListLimit = ListPageSize
	}
	if c.ListLimit < 0 {
		return bad("listlimit", "%d is negative", c.ListLimit)
	}
	return c, nil
}
