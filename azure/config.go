package azure

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Limits and defaults of the Azure Blob API and of this driver.
const (
	// MaxDeleteBatchSize is the most sub-requests one blob batch takes.
	MaxDeleteBatchSize = 256
	// ListPageSize is the most blobs one List Blobs request returns; the
	// driver asks for exactly this many (MaxResults).
	ListPageSize = 5000
	// MaxChunkSize is the largest block Put Block accepts: 4,000 MiB.
	MaxChunkSize = 4000 << 20
	// MaxBlocks is the most blocks a committed block blob may have, so a
	// Writer's file is at most MaxBlocks * ChunkSize bytes.
	MaxBlocks = 50_000

	// DefaultRealm is the domain of the public Azure cloud.
	DefaultRealm = "core.windows.net"
	// DefaultChunkSize is the block size of Writer uploads: files up to
	// about 390 GiB.
	DefaultChunkSize = 8 << 20
	// DefaultCopyStatusPollDelay is the first wait before Move asks again
	// about a copy the service has not finished (it doubles each time).
	DefaultCopyStatusPollDelay = 100 * time.Millisecond
	// DefaultCopyStatusPollMaxRetry is how many times Move asks.
	DefaultCopyStatusPollMaxRetry = 20
)

// Config configures a Driver. The zero value of every field but
// AccountName, Container and one way to authenticate means its default.
//
// The driver authenticates in one of three ways, chosen by what is set:
//
//   - shared key: AccountKey (Credentials.Type "" or CredentialsSharedKey);
//   - token credential: Credentials.Type CredentialsClientSecret or
//     CredentialsDefault, or Credentials.Token (see Credentials);
//   - shared access signature: SASToken, or a ServiceURL whose query is a
//     SAS (?sv=...&sig=...).
//
// ConnectionString supplies AccountName, AccountKey or SASToken and
// ServiceURL at once. Giving two ways at once (an AccountKey and a SAS, an
// AccountKey and a token credential ...) is a *driver.ConfigError, never a
// silent choice.
type Config struct {
	// AccountName is the storage account. Required (a ConnectionString
	// may supply it).
	AccountName string
	// AccountKey is the account's shared key (base64): requests and
	// URLFor URLs are signed with it.
	AccountKey string
	// Credentials configures a token credential instead of the shared
	// key (see Credentials).
	Credentials Credentials
	// ConnectionString is a storage account connection string
	// ("DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=...",
	// "BlobEndpoint=...;SharedAccessSignature=...", or
	// "UseDevelopmentStorage=true" for Azurite on its default port). It
	// fills AccountName, AccountKey, SASToken and ServiceURL; any of
	// those also set must agree with it.
	ConnectionString string
	// SASToken is a shared access signature (the query string sv=...&sig=...,
	// with or without "?"), of the account or of the container, that
	// authorizes every request instead of a key. Its permissions and
	// expiry limit what the driver can do: it needs read, add, create,
	// write, delete and list on the container.
	SASToken string
	// Container holds all the driver's blobs; it must exist. Required.
	Container string
	// Realm is the domain of the Azure cloud, used to build the service
	// URL https://<account>.blob.<realm> when ServiceURL is empty.
	// Default DefaultRealm.
	Realm string
	// ServiceURL is the blob service endpoint, e.g.
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite. It overrides
	// Realm. A SAS query on it is taken as SASToken.
	ServiceURL string
	// SkipVerify turns off TLS certificate verification of the service
	// (distribution's skipverify), unless CommonConfig.HTTPClient is set:
	// that client keeps its own TLS settings.
	SkipVerify bool
	// CommonConfig holds the settings every cloud backend shares:
	// RootDirectory (a blob name prefix), MaxRetries (of the SDK's retry
	// policy on 408, 429, 5xx and connection errors, and of the per-blob
	// batch retries), RetryBaseDelay (0 means the SDK's 800 ms for its
	// retries, driver.DefaultRetryBaseDelay for the per-blob ones),
	// RetryMaxBackoff, MaxConcurrency (blob batches in flight),
	// DeleteBatchSize (at most MaxDeleteBatchSize), MaxRequestsPerSecond
	// (0: no limit), HTTPClient (nil means a clone of
	// http.DefaultTransport), Logger and Observer (which sees every retry
	// of the SDK's).
	driver.CommonConfig

	// ChunkSize is the block size of Writer uploads, at most MaxChunkSize.
	ChunkSize int64

	// CopyStatusPollDelay and CopyStatusPollMaxRetry govern how Move waits
	// for a server-side copy that the service reports as pending.
	CopyStatusPollDelay    time.Duration
	CopyStatusPollMaxRetry int
}

// normalize checks c and fills in its defaults, the common ones with
// driver.CommonConfig.Normalize. It returns a *driver.ConfigError naming
// the offending parameter. It is idempotent: New normalizes again what
// FromParameters returned.
func (c Config) normalize() (Config, error) {
	bad := func(param, format string, args ...any) (Config, error) {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if c.ConnectionString != "" {
		cs, err := parseConnectionString(c.ConnectionString)
		if err != nil {
			return bad("connectionstring", "%w", err)
		}
		for _, f := range []struct {
			param    string
			dst      *string
			from, in string
		}{
			{"accountname", &c.AccountName, cs.accountName, "AccountName"},
			{"accountkey", &c.AccountKey, cs.accountKey, "AccountKey"},
			{"sastoken", &c.SASToken, cs.sas, "SharedAccessSignature"},
		} {
			switch {
			case f.from == "":
			case *f.dst == "":
				*f.dst = f.from
			case strings.TrimPrefix(*f.dst, "?") != f.from:
				return bad(f.param, "differs from the connection string's %s", f.in)
			}
		}
		want := strings.TrimRight(cs.serviceURL, "/")
		if cs.sas != "" {
			want += "?" + cs.sas
		}
		switch got := strings.TrimRight(c.ServiceURL, "/"); {
		case got == "":
			c.ServiceURL = cs.serviceURL
		case got != strings.TrimRight(cs.serviceURL, "/") && got != want:
			return bad("serviceurl", "%q differs from the connection string's blob endpoint %q", c.ServiceURL, cs.serviceURL)
		}
	}
	if c.AccountName == "" {
		return bad("accountname", "required")
	}
	if c.Container == "" {
		return bad("container", "required")
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.ServiceURL == "" {
		c.ServiceURL = fmt.Sprintf("https://%s.blob.%s", c.AccountName, c.Realm)
	}
	u, err := url.Parse(strings.TrimSpace(c.ServiceURL))
	if err != nil {
		return bad("serviceurl", "%w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return bad("serviceurl", "%q is not an http(s) URL", c.ServiceURL)
	}
	if u.RawQuery != "" {
		q := u.Query()
		if !isSAS(q) {
			return bad("serviceurl", "has a query (%s) that is not a shared access signature", strings.Join(sortedKeys(q), ", "))
		}
		if c.SASToken != "" && strings.TrimPrefix(c.SASToken, "?") != u.RawQuery {
			return bad("sastoken", "differs from the shared access signature in serviceurl")
		}
		c.SASToken = u.RawQuery
		u.RawQuery = ""
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c.ServiceURL = u.String()
	c.SASToken = strings.TrimPrefix(c.SASToken, "?")
	if c.SASToken != "" {
		q, err := url.ParseQuery(c.SASToken)
		if err != nil || !isSAS(q) {
			return bad("sastoken", "not a shared access signature (a query such as sv=...&sig=...)")
		}
	}
	if _, err := c.auth(); err != nil {
		return c, err
	}
	if err := c.CommonConfig.Normalize(DriverName, MaxDeleteBatchSize); err != nil {
		return c, err
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.ChunkSize < 1 || c.ChunkSize > MaxChunkSize {
		return bad("chunksize", "%d is outside [1, %d] (Azure's block size limit)", c.ChunkSize, int64(MaxChunkSize))
	}
	if c.CopyStatusPollDelay == 0 {
		c.CopyStatusPollDelay = DefaultCopyStatusPollDelay
	}
	if c.CopyStatusPollDelay < 0 {
		return bad("copy_status_poll_delay", "%v is negative", c.CopyStatusPollDelay)
	}
	if c.CopyStatusPollMaxRetry == 0 {
		c.CopyStatusPollMaxRetry = DefaultCopyStatusPollMaxRetry
	}
	if c.CopyStatusPollMaxRetry < 0 {
		return bad("copy_status_poll_max_retry", "%d is negative", c.CopyStatusPollMaxRetry)
	}
	return c, nil
}

// auth says how c (its ServiceURL and SASToken normalized) authenticates,
// or why it cannot: a *driver.ConfigError naming the parameter at fault.
func (c Config) auth() (authMode, error) {
	bad := func(param, format string, args ...any) (authMode, error) {
		return 0, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	cr := c.Credentials
	if cr.Token != nil && cr.Type != "" {
		return bad("credentials", "type %q given with a Token credential: give one", cr.Type)
	}
	if cr.Type != CredentialsClientSecret && (cr.ClientID != "" || cr.Secret != "") {
		param := "credentials.clientid"
		if cr.ClientID == "" {
			param = "credentials.secret"
		}
		why := "used only with type client_secret"
		if cr.Type == CredentialsDefault {
			why += " (default_credentials takes a managed or workload identity's client ID from AZURE_CLIENT_ID)"
		}
		return bad(param, "%s", why)
	}
	if cr.TenantID != "" && !cr.usesToken() || cr.Token != nil && cr.TenantID != "" {
		return bad("credentials.tenantid", "used only with type client_secret or default_credentials")
	}
	if (cr.AuthorityHost != "" || cr.DisableInstanceDiscovery) && (!cr.usesToken() || cr.Token != nil) {
		return bad("credentials.authorityhost", "used only with type client_secret or default_credentials")
	}
	switch cr.Type {
	case "", CredentialsSharedKey, CredentialsClientSecret, CredentialsDefault:
	default:
		return bad("credentials.type", "%q: want %s, %s or %s", cr.Type,
			CredentialsSharedKey, CredentialsClientSecret, CredentialsDefault)
	}
	if cr.usesToken() {
		switch {
		case c.AccountKey != "":
			return bad("accountkey", "given with token credentials (type %s): give one", c.tokenKind())
		case c.SASToken != "":
			return bad("sastoken", "given with token credentials (type %s): give one", c.tokenKind())
		case !strings.HasPrefix(c.ServiceURL, "https://"):
			return bad("serviceurl", "%q: token credentials are sent over https only", c.ServiceURL)
		}
		if cr.Type == CredentialsClientSecret {
			var missing []string
			for _, f := range []struct{ name, v string }{
				{"credentials.clientid", cr.ClientID}, {"credentials.tenantid", cr.TenantID}, {"credentials.secret", cr.Secret},
			} {
				if f.v == "" {
					missing = append(missing, f.name)
				}
			}
			if len(missing) > 0 {
				return 0, &driver.ConfigError{DriverName: DriverName, Parameter: missing[0],
					Err: &driver.MissingParametersError{Parameters: missing}}
			}
		}
		return authToken, nil
	}
	switch {
	case c.AccountKey != "" && c.SASToken != "":
		return bad("sastoken", "given with accountkey: give one")
	case c.AccountKey != "":
		return authSharedKey, nil
	case cr.Type == CredentialsSharedKey:
		return bad("accountkey", "required with credentials type shared_key")
	case c.SASToken != "":
		return authSAS, nil
	}
	return bad("accountkey", "required, or credentials (type client_secret or default_credentials), connectionstring or sastoken")
}

// tokenKind names the token credential of c for messages.
func (c Config) tokenKind() string {
	if c.Credentials.Token != nil {
		return "token"
	}
	return string(c.Credentials.Type)
}

// sortedKeys returns the keys of q, sorted.
func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
