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
// through: c.HTTPClient (or a client over http.DefaultTransport) as it is
// when Anonymous, otherwise a copy of it whose transport adds OAuth2
// credentials (c.Credentials, or Application Default Credentials) before
// handing each request to the original transport. Token requests of the
// credentials themselves do not go through it. Its outermost transport
// bounds the requests of one download (limitDownloads).
func newHTTPClient(ctx context.Context, c Config) (*http.Client, error) {
	base := c.HTTPClient
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport}
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
// up to c.MaxRetries times, with exponential backoff. A cancelled context
// stops the retries at once.
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
	client.SetRetry(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(c.MaxRetries+1),
		storage.WithBackoff(gax.Backoff{Initial: c.RetryBaseDelay, Max: c.RetryMaxBackoff, Multiplier: 2}),
	)
	return client, nil
}
