package swift

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/internal/wait"
)

// newConnection builds the ncw/swift connection of a normalized Config.
// Every request, authentication included, goes through the transport of
// c.HTTPClient.
func newConnection(c Config) *swift.Connection {
	var rt http.RoundTripper
	if c.HTTPClient != nil {
		rt = c.HTTPClient.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		if c.InsecureSkipVerify {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by configuration
		}
		rt = t
	}
	return &swift.Connection{
		AuthUrl:        c.AuthURL,
		UserName:       c.UserName,
		ApiKey:         c.Password,
		Tenant:         c.Tenant,
		TenantId:       c.TenantID,
		Domain:         c.Domain,
		DomainId:       c.DomainID,
		TenantDomain:   c.TenantDomain,
		TrustId:        c.TrustID,
		Region:         c.Region,
		AuthVersion:    c.AuthVersion,
		EndpointType:   swift.EndpointType(c.EndpointType),
		Transport:      rt,
		ConnectTimeout: c.ConnectTimeout,
		Timeout:        c.Timeout,
		UserAgent:      "stowage-swift",
	}
}

// request is one Swift request. Body is sent again on every attempt.
type request struct {
	op        string // driver operation, for errors
	path      string // driver path, for errors
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
}

// do sends r with retries on transient failures (see retryable) and
// re-authentication on 401. The error is mapped with wrap.
func (d *Driver) do(ctx context.Context, r request) (*http.Response, swift.Headers, error) {
	reauthed := false
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, d.wrap(ctx, r.op, r.path, err)
		}
		resp, h, err := d.once(ctx, r)
		if err == nil {
			return resp, h, nil
		}
		var se *swift.Error
		if errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized && !reauthed {
			reauthed = true
			d.conn.UnAuthenticate()
			continue
		}
		if ctx.Err() != nil || !retryable(err) || attempt >= d.cfg.MaxRetries {
			return nil, nil, d.wrap(ctx, r.op, r.path, err)
		}
		d.cfg.Logger.Debug("swift: retrying", "op", r.op, "path", r.path, "attempt", attempt+1, "error", err)
		if werr := wait.Sleep(ctx, d.backoff(attempt+1)); werr != nil {
			return nil, nil, d.wrap(ctx, r.op, r.path, werr)
		}
	}
}

// once sends r one time through ncw/swift's Call.
func (d *Driver) once(ctx context.Context, r request) (*http.Response, swift.Headers, error) {
	storageURL, err := d.conn.GetStorageUrl(ctx)
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
		NoResponse: !r.keep,
		Retries:    -1, // retries and re-authentication are done here
	}
	if r.body != nil || r.hasBody {
		opts.Body = bytes.NewReader(r.body)
		h["Content-Length"] = strconv.Itoa(len(r.body))
	}
	resp, headers, err := d.conn.Call(ctx, storageURL, opts)
	if err != nil && resp != nil && resp.Body != nil && r.keep {
		resp.Body.Close()
	}
	return resp, headers, err
}

// backoff is full-jitter exponential backoff for retry attempt n (from 1).
func (d *Driver) backoff(n int) time.Duration {
	return wait.Jitter(d.cfg.RetryBaseDelay, d.cfg.RetryMaxBackoff, n)
}

// retryable reports whether err is worth another attempt: a throttle
// (429, 498), a timeout (408), a server error (500, 502, 503, 504) or a
// failure below HTTP (dropped connection, cut body).
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *swift.Error
	if errors.As(err, &se) {
		switch se.StatusCode {
		case 0, http.StatusRequestTimeout, http.StatusTooManyRequests, 498,
			http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var se2 *statusError
	if errors.As(err, &se2) {
		return retryable(&swift.Error{StatusCode: se2.code})
	}
	return true
}

// statusError is a non-2xx status the driver found in a response body
// (bulk delete reports its outcome in the body of a 200).
type statusError struct {
	code int
	text string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

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
}

// queryInfo reads /info, with defaults for what it does not say (or when
// the cluster hides it).
func (d *Driver) queryInfo(ctx context.Context) serverInfo {
	si := serverInfo{bulkDelete: true, maxDeletes: MaxDeleteBatchSize, maxFileSize: DefaultMaxFileSize,
		maxManifestSegments: DefaultMaxManifestSegments, slo: true}
	var info swift.SwiftInfo
	var err error
	for attempt := 0; ; attempt++ {
		info, err = d.conn.QueryInfo(ctx)
		if err == nil || ctx.Err() != nil || attempt >= d.cfg.MaxRetries {
			break
		}
		if wait.Sleep(ctx, d.backoff(attempt+1)) != nil {
			break
		}
	}
	if err != nil {
		d.cfg.Logger.Warn("swift: /info unavailable, assuming defaults", "error", err)
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
	if n, ok := num("slo", "max_manifest_segments"); ok {
		si.maxManifestSegments = int(n)
	}
	return si
}
