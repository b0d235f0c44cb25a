package azure

import (
	"bytes"
	"io"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/driver"
)

// newClient builds the SDK service client for a normalized Config. Every
// request goes through c.HTTPClient (an *http.Client is a
// policy.Transporter). The SDK's retry policy retries 408, 429, 500, 502,
// 503, 504 and connection errors with exponential backoff and jitter, up
// to c.MaxRetries times; it stops at once when the request's context ends.
func newClient(c Config) (*service.Client, *service.SharedKeyCredential, error) {
	cred, err := service.NewSharedKeyCredential(c.AccountName, c.AccountKey)
	if err != nil {
		return nil, nil, &driver.ConfigError{DriverName: DriverName, Parameter: "accountkey", Err: err}
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	retry := policy.RetryOptions{
		MaxRetries:    int32(c.MaxRetries), // -1: none
		RetryDelay:    c.RetryBaseDelay,    // 0: the SDK's 800 ms
		MaxRetryDelay: c.RetryMaxBackoff,
	}
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc,
		Retry:     retry,
		// Read batch answers inside the retry loop (see batchBody).
		PerRetryPolicies: []policy.Policy{batchBody{}},
		Telemetry:        policy.TelemetryOptions{ApplicationID: "stowage"},
	}}
	client, err := service.NewClientWithSharedKeyCredential(c.ServiceURL, cred, opts)
	if err != nil {
		return nil, nil, &driver.ConfigError{DriverName: DriverName, Parameter: "serviceurl", Err: err}
	}
	return client, cred, nil
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
