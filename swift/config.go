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
	// UserName and Password (the API key) authenticate, unless an
	// application credential is set.
	UserName string
	Password string
	// ApplicationCredentialID or ApplicationCredentialName, with
	// ApplicationCredentialSecret, authenticate with a Keystone v3
	// application credential (AuthVersion 3 is implied; the credential is
	// bound to its project, so Password, Tenant, TenantID, TenantDomain,
	// TenantDomainID and TrustID must be empty). By name, the credential
	// is looked up among UserName's, in Domain or DomainID; by ID, UserName
	// and the domains must be empty.
	ApplicationCredentialID     string
	ApplicationCredentialName   string
	ApplicationCredentialSecret string
	// Tenant, TenantID, Domain, DomainID, TenantDomain, TenantDomainID,
	// TrustID, Region, AuthVersion (0 detects it from AuthURL) and
	// EndpointType ("public", "internal", "admin") are passed to ncw/swift
	// for v2/v3 authentication.
	Tenant         string
	TenantID       string
	Domain         string
	DomainID       string
	TenantDomain   string
	TenantDomainID string
	TrustID        string
	Region         string
	AuthVersion    int
	EndpointType   string
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
	if c.AuthURL == "" {
		return bad("authurl", "required")
	}
	if c.applicationCredentials() {
		if err := c.checkApplicationCredentials(); err != nil {
			return c, err
		}
		c.AuthVersion = 3
	} else if c.UserName == "" {
		return bad("username", "required")
	} else if c.Password == "" {
		return bad("password", "required")
	}
	switch c.EndpointType {
	case "", "public", "internal", "admin":
	default:
		return bad("endpointtype", "%q is not public, internal or admin", c.EndpointType)
	}
	if c.AuthVersion < 0 || c.AuthVersion > 3 {
		return bad("authversion", "%d is not 1, 2 or 3", c.AuthVersion)
	}
	switch {
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

// applicationCredentials reports whether c authenticates with a Keystone
// v3 application credential.
func (c Config) applicationCredentials() bool {
	return c.ApplicationCredentialID != "" || c.ApplicationCredentialName != "" || c.ApplicationCredentialSecret != ""
}

// checkApplicationCredentials checks the settings of an application
// credential: ncw/swift would drop the ones that cannot go with it
// without a word, so each is an error naming it.
func (c Config) checkApplicationCredentials() error {
	bad := func(param, format string, args ...any) error {
		return &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case c.ApplicationCredentialSecret == "":
		return bad("applicationcredentialsecret", "required with an application credential id or name")
	case c.ApplicationCredentialID == "" && c.ApplicationCredentialName == "":
		return bad("applicationcredentialid", "applicationcredentialid or applicationcredentialname is required with applicationcredentialsecret")
	case c.ApplicationCredentialID != "" && c.ApplicationCredentialName != "":
		return bad("applicationcredentialname", "give applicationcredentialid or applicationcredentialname, not both")
	case c.AuthVersion != 0 && c.AuthVersion != 3:
		return bad("authversion", "application credentials are Keystone v3 only, got authversion %d", c.AuthVersion)
	}
	for _, p := range []struct{ name, value string }{
		{"password", c.Password}, {"tenant", c.Tenant}, {"tenantid", c.TenantID},
		{"tenantdomain", c.TenantDomain}, {"tenantdomainid", c.TenantDomainID}, {"trustid", c.TrustID},
	} {
		if p.value != "" {
			return bad(p.name, "not used with application credentials (the credential is bound to its project)")
		}
	}
	if c.ApplicationCredentialID != "" {
		for _, p := range []struct{ name, value string }{
			{"username", c.UserName}, {"domain", c.Domain}, {"domainid", c.DomainID},
		} {
			if p.value != "" {
				return bad(p.name, "not used with applicationcredentialid (the id names the credential)")
			}
		}
		return nil
	}
	switch {
	case c.UserName == "":
		return bad("username", "required with applicationcredentialname (the credential's owner)")
	case c.Domain == "" && c.DomainID == "":
		return bad("domain", "domain or domainid is required with applicationcredentialname (the owner's domain)")
	case c.Domain != "" && c.DomainID != "":
		return bad("domainid", "give domain or domainid, not both, with applicationcredentialname")
	}
	return nil
}
