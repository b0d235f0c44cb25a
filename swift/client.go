package swift

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ncw/swift/v2"
)

// newConnection builds the ncw/swift connection of a normalized Config.
// Every request, authentication included, goes through the transport of
// c.CommonConfig.Client: c.HTTPClient's, or the driver's own (TLS
// verification off with InsecureSkipVerify), behind the rate limiter of
// MaxRequestsPerSecond.
func newConnection(c Config) *swift.Connection {
	cc := c.CommonConfig
	if cc.HTTPClient == nil {
		// The driver's own transport keeps more idle connections per host
		// than http.DefaultTransport's 2: DeleteFiles, Walk and the writer
		// keep up to MaxConcurrency requests in flight to one proxy.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		if c.InsecureSkipVerify {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by configuration
		}
		cc.HTTPClient = &http.Client{Transport: t}
	}
	rt := cc.Client(DriverName, c.InsecureSkipVerify).Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &swift.Connection{
		AuthUrl:                     c.AuthURL,
		UserName:                    c.UserName,
		ApiKey:                      c.Password,
		ApplicationCredentialId:     c.ApplicationCredentialID,
		ApplicationCredentialName:   c.ApplicationCredentialName,
		ApplicationCredentialSecret: c.ApplicationCredentialSecret,
		Tenant:                      c.Tenant,
		TenantId:                    c.TenantID,
		Domain:                      c.Domain,
		DomainId:                    c.DomainID,
		TenantDomain:                c.TenantDomain,
		TenantDomainId:              c.TenantDomainID,
		TrustId:                     c.TrustID,
		Region:                      c.Region,
		AuthVersion:                 c.AuthVersion,
		EndpointType:                swift.EndpointType(c.EndpointType),
		Transport:                   rt,
		ConnectTimeout:              c.ConnectTimeout,
		Timeout:                     c.Timeout,
		UserAgent:                   "stowage-swift",
	}
}

// request is one Swift request. Body is sent again on every attempt.
type request struct {
	method    string
	container string
	object    string
	query     url.Values
	headers   swift.Headers
	body      []byte
	hasBody   bool // send body even when empty (a PUT of 0 bytes)
	// keep returns the response with its body open; otherwise the body is
	// drained and closed.
	keep bool
	// read, when set, receives the whole body of a successful answer; a
	// body cut short, or one read rejects, fails the attempt, so that the
	// request is sent again.
	read func(body []byte) error
	// once sends the request a single time (the caller retries).
	once bool
}

// do sends r with retries on transient failures (see retryable) and one
// re-authentication on 401. Errors are ncw/swift's, for Classify.
func (b *backend) do(ctx context.Context, r request) (resp *http.Response, h swift.Headers, err error) {
	reauthed := false
	send := func() error {
		resp, h, err = b.send(ctx, r)
		var se *swift.Error
		if errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized && !reauthed {
			reauthed = true
			b.conn.UnAuthenticate()
			resp, h, err = b.send(ctx, r)
		}
		if err == nil && r.read != nil {
			var body []byte
			if body, err = readAll(resp); err == nil {
				err = r.read(body)
			}
		}
		return err
	}
	if r.once {
		return resp, h, send()
	}
	err = b.retry(ctx, send)
	return resp, h, err
}

// retry calls fn until it succeeds, fails with an error not worth another
// attempt (see retryable), or has been tried Retries()+1 times, with
// backoff in between (driver.CommonConfig.Retry).
func (b *backend) retry(ctx context.Context, fn func() error) error {
	return b.cfg.Retry(ctx, DriverName, retryable, fn)
}

// send sends r one time through ncw/swift's Call.
func (b *backend) send(ctx context.Context, r request) (*http.Response, swift.Headers, error) {
	storageURL, err := b.conn.GetStorageUrl(ctx)
	if err != nil {
		return nil, nil, err
	}
	h := swift.Headers{}
	for k, v := range r.headers {
		h[k] = v
	}
	opts := swift.RequestOpts{
		Container:  r.container,
		ObjectName: r.object,
		Operation:  r.method,
		Parameters: r.query,
		Headers:    h,
		NoResponse: !r.keep && r.read == nil,
		Retries:    -1, // retries and re-authentication are done here
	}
	if r.body != nil || r.hasBody {
		opts.Body = bytes.NewReader(r.body)
		h["Content-Length"] = strconv.Itoa(len(r.body))
	}
	resp, headers, err := b.conn.Call(ctx, storageURL, opts)
	if err != nil && resp != nil && resp.Body != nil && (r.keep || r.read != nil) {
		resp.Body.Close()
	}
	return resp, headers, err
}

// readAll reads and closes resp's body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// serverInfo is what the driver takes from GET /info.
type serverInfo struct {
	bulkDelete          bool
	maxDeletes          int
	maxFileSize         int64
	maxManifestSegments int
	slo                 bool
	// listingLimit is the cluster's container_listing_limit: the largest
	// listing limit it accepts (Swift answers 412 Precondition Failed to
	// a larger one).
	listingLimit int
}

// queryInfo reads /info, with defaults for what it does not say (or when
// the cluster hides it).
func (b *backend) queryInfo(ctx context.Context) serverInfo {
	si := serverInfo{bulkDelete: true, maxDeletes: MaxDeleteBatchSize, maxFileSize: DefaultMaxFileSize,
		maxManifestSegments: DefaultMaxManifestSegments, slo: true, listingLimit: ListPageSize}
	var info swift.SwiftInfo
	err := b.retry(ctx, func() (err error) {
		info, err = b.conn.QueryInfo(ctx)
		return err
	})
	if err != nil {
		b.cfg.Logger.Warn("swift: /info unavailable, assuming defaults", "error", err)
		return si
	}
	num := func(section, key string) (int64, bool) {
		m, ok := info[section].(map[string]any)
		if !ok {
			return 0, false
		}
		f, ok := m[key].(float64)
		return int64(f), ok && f > 0
	}
	si.bulkDelete = info.SupportsBulkDelete()
	si.slo = info.SupportsSLO()
	if n, ok := num("bulk_delete", "max_deletes_per_request"); ok {
		si.maxDeletes = int(n)
	}
	if n, ok := num("swift", "max_file_size"); ok {
		si.maxFileSize = n
	}
	if n, ok := num("swift", "container_listing_limit"); ok {
		si.listingLimit = int(n)
	}
	if n, ok := num("slo", "max_manifest_segments"); ok {
		si.maxManifestSegments = int(n)
	}
	return si
}
