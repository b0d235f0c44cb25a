package gcs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/stowage-dev/stowage/driver"
)

// newHTTPClient returns the client every request of the driver goes
// through, built over c.CommonConfig.Client (c.HTTPClient, or a client
// over a copy of http.DefaultTransport, behind the rate limiter of
// MaxRequestsPerSecond): as it is when Anonymous, otherwise a copy of it
// whose transport adds OAuth2 credentials (c.Credentials, or Application
// Default Credentials) before handing each request to the original
// transport, so that every request, the SDK's retries included, waits for
// the limiter. Token requests of the credentials themselves do not go
// through it. Under the credentials, c.UserAgent replaces the User-Agent
// header. Its outermost transport bounds the requests of one download
// (limitDownloads).
func newHTTPClient(ctx context.Context, c Config) (*http.Client, error) {
	base := c.CommonConfig.Client(DriverName, false)
	if c.UserAgent != "" {
		// option.WithUserAgent is no use here: the SDK drops it when given
		// an HTTP client (google.golang.org/api/transport/http.NewClient
		// returns option.WithHTTPClient's client as it is), and the batch
		// requests do not go through the SDK.
		rt := base.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		hc := *base
		hc.Transport = userAgent{base: rt, value: c.UserAgent}
		base = &hc
	}
	if c.Anonymous {
		return limitingDownloads(base), nil
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	opts := []option.ClientOption{option.WithScopes(storage.ScopeFullControl)}
	if len(c.Credentials) > 0 {
		var doc struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(c.Credentials, &doc) // checked by normalize
		switch t := option.CredentialsType(doc.Type); t {
		case option.ServiceAccount, option.AuthorizedUser, option.ImpersonatedServiceAccount, option.ExternalAccount:
			opts = append(opts, option.WithAuthCredentialsJSON(t, c.Credentials))
		default:
			return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "credentials",
				Err: fmt.Errorf("%w %q", errNoCredentialsType, doc.Type)}
		}
	}
	authed, err := htransport.NewTransport(ctx, rt, opts...)
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "credentials",
			Err: fmt.Errorf("loading credentials: %w", err)}
	}
	hc := *base
	hc.Transport = authed
	return limitingDownloads(&hc), nil
}

// newStorageClient builds the SDK client over hc with the driver's retry
// policy: every call is retried (RetryAlways: the driver's writes are safe
// to repeat, since a path's content is replaced as a whole) on the SDK's
// transient errors (408, 429, 5xx, connection resets, unexpected EOFs),
// up to c.MaxRetries times, with exponential backoff, each retry reported
// to c.Events().Retried. A cancelled context stops the retries at once.
func newStorageClient(ctx context.Context, c Config, hc *http.Client) (*storage.Client, error) {
	client, err := storage.NewClient(ctx,
		option.WithHTTPClient(hc),
		option.WithEndpoint(c.Endpoint),
	)
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Err: fmt.Errorf("building the storage client: %w", err)}
	}
	if c.MaxRetries < 0 {
		client.SetRetry(storage.WithPolicy(storage.RetryNever))
		return client, nil
	}
	events := c.Events()
	client.SetRetry(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(c.MaxRetries+1),
		storage.WithBackoff(gax.Backoff{Initial: c.RetryBaseDelay, Max: c.RetryMaxBackoff, Multiplier: 2}),
		storage.WithErrorFunc(func(err error) bool { return reportRetry(events, err) }),
	)
	return client, nil
}

// reportRetry is the SDK's retry decision, storage.ShouldRetry, reporting
// each retry it grants to events: the SDK asks it only when an attempt
// is left (see cloud.google.com/go/storage's run), so each true is one
// more attempt.
func reportRetry(events driver.Observer, err error) bool {
	retry := storage.ShouldRetry(err)
	if retry {
		events.Retried(DriverName, err)
	}
	return retry
}

// userAgent sets the User-Agent header of every request to value.
type userAgent struct {
	base  http.RoundTripper
	value string
}

// RoundTrip implements http.RoundTripper on a copy of req, which it must
// not change.
func (u userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", u.value)
	return u.base.RoundTrip(r)
}
