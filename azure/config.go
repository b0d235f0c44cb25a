package azure

import (
	"fmt"
	"net/url"
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
// AccountName, AccountKey and Container means its default.
type Config struct {
	// AccountName is the storage account. Required.
	AccountName string
	// AccountKey is the account's shared key (base64). Required: the
	// driver signs requests and URLFor URLs with it.
	AccountKey string
	// Container holds all the driver's blobs; it must exist. Required.
	Container string
	// Realm is the domain of the Azure cloud, used to build the service
	// URL https://<account>.blob.<realm> when ServiceURL is empty.
	// Default DefaultRealm.
	Realm string
	// ServiceURL is the blob service endpoint, e.g.
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite. It overrides
	// Realm.
	ServiceURL string
	// CommonConfig holds the settings every cloud backend shares:
	// RootDirectory (a blob name prefix), MaxRetries (of the SDK's retry
	// policy on 408, 429, 5xx and connection errors, and of the per-blob
	// batch retries), RetryBaseDelay (0 means the SDK's 800 ms for its
	// retries, driver.DefaultRetryBaseDelay for the per-blob ones),
	// RetryMaxBackoff, MaxConcurrency (blob batches in flight),
	// DeleteBatchSize (at most MaxDeleteBatchSize), HTTPClient (nil means
	// http.DefaultClient) and Logger.
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
// the offending parameter.
func (c Config) normalize() (Config, error) {
	bad := func(param, format string, args ...any) (Config, error) {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if c.AccountName == "" {
		return bad("accountname", "required")
	}
	if c.AccountKey == "" {
		return bad("accountkey", "required (only shared key authentication is supported)")
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
	c.ServiceURL = strings.TrimRight(c.ServiceURL, "/")
	u, err := url.Parse(c.ServiceURL)
	if err != nil {
		return bad("serviceurl", "%v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return bad("serviceurl", "%q is not an http(s) URL", c.ServiceURL)
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
