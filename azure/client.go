package azure

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/driver"
)

// client is the SDK service client of a normalized Config and what
// URLFor signs with.
type client struct {
	svc  *service.Client
	mode authMode
	// key signs URLFor URLs (authSharedKey).
	key *service.SharedKeyCredential
	// delegation signs them with a user delegation key (authToken).
	delegation *delegationSigner
}

// newClient builds the SDK service client for a normalized Config. Every
// request goes through c.CommonConfig.Client(DriverName, c.SkipVerify)
// (an *http.Client is a policy.Transporter): the caller's HTTPClient or a
// clone of http.DefaultTransport, behind the rate limiter. The SDK's
// retry policy retries 408, 429, 500, 502, 503, 504 and connection
// errors with exponential backoff and jitter, up to c.MaxRetries times,
// each retry reported to c.Events().Retried; it stops at once when the
// request's context ends. Token requests of a token credential go through
// the same client.
func newClient(c Config) (*client, error) {
	mode, err := c.auth()
	if err != nil {
		return nil, err
	}
	hc := c.CommonConfig.Client(DriverName, c.SkipVerify)
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc,
		Retry: policy.RetryOptions{
			MaxRetries:    int32(c.MaxRetries), // -1: none
			RetryDelay:    c.RetryBaseDelay,    // 0: the SDK's 800 ms
			MaxRetryDelay: c.RetryMaxBackoff,
		},
		PerCallPolicies: []policy.Policy{tryCounter{}},
		// Read batch answers inside the retry loop (see batchBody).
		PerRetryPolicies: []policy.Policy{retryReporter{events: c.Events()}, batchBody{}},
		Telemetry:        policy.TelemetryOptions{ApplicationID: "stowage"},
	}}
	cl := &client{mode: mode}
	switch mode {
	case authSharedKey:
		cl.key, err = service.NewSharedKeyCredential(c.AccountName, c.AccountKey)
		if err != nil {
			return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "accountkey", Err: err}
		}
		cl.svc, err = service.NewClientWithSharedKeyCredential(c.ServiceURL, cl.key, opts)
	case authToken:
		cred, cerr := tokenCredential(c.Credentials, hc)
		if cerr != nil {
			return nil, cerr
		}
		cl.svc, err = service.NewClient(c.ServiceURL, cred, opts)
		if err == nil {
			cl.delegation, err = newDelegationSigner(c, cl.svc, cred, opts)
		}
	case authSAS:
		cl.svc, err = service.NewClientWithNoCredential(c.ServiceURL+"?"+c.SASToken, opts)
	}
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "serviceurl", Err: err}
	}
	return cl, nil
}

// tokenCredential builds the azidentity credential of cr, which sends its
// token requests through hc.
func tokenCredential(cr Credentials, hc *http.Client) (azcore.TokenCredential, error) {
	if cr.Token != nil {
		return cr.Token, nil
	}
	co := azcore.ClientOptions{Transport: hc}
	if cr.AuthorityHost != "" {
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: cr.AuthorityHost}
	}
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch cr.Type {
	case CredentialsClientSecret:
		cred, err = azidentity.NewClientSecretCredential(cr.TenantID, cr.ClientID, cr.Secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: cr.DisableInstanceDiscovery})
	default:
		cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: co, TenantID: cr.TenantID, DisableInstanceDiscovery: cr.DisableInstanceDiscovery})
	}
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "credentials",
			Err: fmt.Errorf("%s: %w", cr.Type, err)}
	}
	return cred, nil
}

// tries counts the tries of one SDK operation, for retryReporter. It is
// set as an operation value before the retry policy, so every try (each a
// clone of the request, sharing its operation values) sees the same one.
type tries struct {
	mu   sync.Mutex
	n    int
	last error
}

// tryCounter is the per-call policy that gives each operation its tries.
type tryCounter struct{}

// Do implements policy.Policy.
func (tryCounter) Do(req *policy.Request) (*http.Response, error) {
	req.SetOperationValue(&tries{})
	return req.Next()
}

// retryReporter is the per-retry policy that reports every try of an
// operation after its first to the Observer, with the failure of the try
// before (a transport error, or the status the SDK retries on).
type retryReporter struct{ events driver.Observer }

// Do implements policy.Policy.
func (p retryReporter) Do(req *policy.Request) (*http.Response, error) {
	var t *tries
	if !req.OperationValue(&t) || t == nil {
		return req.Next()
	}
	t.mu.Lock()
	t.n++
	retry, last := t.n > 1, t.last
	t.mu.Unlock()
	if retry {
		p.events.Retried(DriverName, last)
	}
	resp, err := req.Next()
	failure := err
	if err == nil && resp.StatusCode >= 400 {
		failure = &statusError{status: resp.StatusCode, code: resp.Header.Get("x-ms-error-code")}
	}
	t.mu.Lock()
	t.last = failure
	t.mu.Unlock()
	return resp, err
}

// statusError is the failure of a try the service answered with an error
// status, as retryReporter reports it.
type statusError struct {
	status int
	code   string
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	if e.code != "" {
		s += " (" + e.code + ")"
	}
	return strings.TrimSpace(s)
}

// batchBody reads the whole answer of a blob batch request inside the
// SDK's retry loop. The SDK hands batch answers out as streams and parses
// them after its retry policy has returned, so a connection that breaks in
// the middle of the body would fail the whole batch unretried; read here,
// the break is a transport error the retry policy retries like any other.
// (Downloads stream on purpose; Reader resumes them itself.)
type batchBody struct{}

// Do implements policy.Policy.
func (batchBody) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	raw := req.Raw()
	if err != nil || raw.Method != http.MethodPost || raw.URL.Query().Get("comp") != "batch" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
