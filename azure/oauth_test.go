package azure_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// The tests in this file run against testenv's azure-oauth server: Azurite
// over https with --oauth basic, which takes a bearer token when its
// issuer, audience and lifetime are right (it does not check signatures),
// and refuses it otherwise. The tokens come from the loopback token
// endpoint of auth_test.go through the SDK's client-secret flow, so every
// request below is authenticated by a token the driver got itself.

// oauthTenant, oauthClientID and oauthSecret are the client_secret
// credentials the token server expects.
const (
	oauthTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	oauthClientID = "app-id"
	oauthSecret   = "app-secret"
)

// oauthHTTPClient returns a client that trusts the azure-oauth server's
// certificate (STOWAGE_AZURE_OAUTH_CA) and, when ts is not nil, the token
// server's: the httpclient the driver sends both the token requests and
// the storage requests through.
func oauthHTTPClient(t *testing.T, env testenv.AzureOAuthSettings, ts *tokenServer) *http.Client {
	t.Helper()
	return &http.Client{Transport: oauthTransport(t, env, ts)}
}

// oauthTransport is the transport of oauthHTTPClient.
func oauthTransport(t *testing.T, env testenv.AzureOAuthSettings, ts *tokenServer) *http.Transport {
	t.Helper()
	pemBytes, err := os.ReadFile(env.CA)
	if err != nil {
		t.Fatalf("%s: %v", testenv.AzureOAuthCA, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s: no certificate in %s", testenv.AzureOAuthCA, env.CA)
	}
	if ts != nil {
		pool.AddCert(ts.Certificate())
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// hostStyle gives the azure-oauth server an account URL in Azure's own
// form, https://<account>.<host>/ (https://<account>.blob.core.windows.net/
// in the public cloud), in front of Azurite's IP-style
// https://127.0.0.1:PORT/<account>/: requests for the host-style host are
// sent to Azurite with the account as the first path segment; others (the
// token server's) go out unchanged.
type hostStyle struct {
	base    http.RoundTripper
	host    string // <account>.localhost:PORT
	target  string // 127.0.0.1:PORT
	account string
}

// newHostStyle returns the host-style service URL of env's account and a
// client trusting the server (and ts, when not nil) that serves it.
func newHostStyle(t *testing.T, env testenv.AzureOAuthSettings, ts *tokenServer) (string, *http.Client) {
	t.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := &hostStyle{
		base: oauthTransport(t, env, ts), host: path.Base(u.Path) + ".localhost:" + u.Port(),
		target: u.Host, account: path.Base(u.Path),
	}
	return "https://" + h.host, &http.Client{Transport: h}
}

func (h *hostStyle) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != h.host {
		return h.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.URL.Host, r.Host = h.target, ""
	r.URL.Path = "/" + h.account + r.URL.Path
	if r.URL.RawPath != "" {
		r.URL.RawPath = "/" + h.account + r.URL.RawPath
	}
	return h.base.RoundTrip(r)
}

// openOAuth opens the azure backend on the azure-oauth server under root
// with client_secret credentials against ts, and no key or SAS.
func openOAuth(t *testing.T, env testenv.AzureOAuthSettings, ts *tokenServer, root string) driver.StorageDriver {
	t.Helper()
	return openOAuthAt(t, env, env.URL, oauthHTTPClient(t, env, ts), ts, root)
}

// openOAuthAt is openOAuth with the service URL serviceURL, through hc.
func openOAuthAt(t *testing.T, env testenv.AzureOAuthSettings, serviceURL string, hc *http.Client, ts *tokenServer, root string) driver.StorageDriver {
	t.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	d, err := driver.Open(context.Background(), "azure", map[string]any{
		"accountname": path.Base(u.Path), "container": env.Container, "serviceurl": serviceURL,
		"rootdirectory": root,
		"credentials": map[string]any{
			"type": "client_secret", "tenantid": oauthTenant, "clientid": oauthClientID, "secret": oauthSecret,
			"authorityhost": ts.URL, "disableinstancediscovery": true,
		},
		driver.HTTPClientParam: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkTokenServer fails t on anything the token server found wrong and
// unless it issued exactly one token (the SDK caches it) for Azure
// Storage's scope.
func checkTokenServer(t *testing.T, ts *tokenServer) {
	t.Helper()
	ts.mu.Lock()
	errs, scopes := ts.errs, ts.scopes
	ts.mu.Unlock()
	for _, e := range errs {
		t.Error("token server: " + e)
	}
	if ts.issued.Load() != 1 || len(scopes) != 1 || !slices.Contains(strings.Fields(scopes[0]), "https://storage.azure.com/.default") {
		t.Errorf("tokens issued %d, scopes %v: want one for https://storage.azure.com/.default", ts.issued.Load(), scopes)
	}
}

// credentials: {type: client_secret} against an Azurite that checks
// bearer tokens: with a token for Azure Storage, Put, Get, List and
// DeleteFiles work; with one for another audience (Azure Resource
// Manager's) Azurite refuses the request with AuthenticationFailed and
// nothing is written.
func TestClientSecretAzuriteOAuth(t *testing.T) {
	env := testenv.AzureOAuth(t)
	ctx := context.Background()
	root := testenv.UniqueRoot(t)

	ts := newTokenServer(t, oauthTenant, oauthClientID, oauthSecret)
	d := openOAuth(t, env, ts, root)
	roundTrip(t, d)
	checkTokenServer(t, ts)

	wrong := newTokenServerFor(t, "https://management.azure.com", oauthTenant, oauthClientID, oauthSecret)
	dw := openOAuth(t, env, wrong, root)
	err := dw.PutContent(ctx, "/wrong-audience", []byte("x"))
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthenticationFailed" {
		t.Fatalf("PutContent with a token for another audience: %v, want Azurite's 403 AuthenticationFailed", err)
	}
	if !strings.Contains(err.Error(), "Invalid token audience") {
		t.Errorf("PutContent with a token for another audience: %v, want Azurite's reason, the audience", err)
	}
	checkTokenServer(t, wrong) // the token was issued: the refusal is Azurite's
	if _, err := d.Stat(ctx, "/wrong-audience"); !errors.As(err, new(*driver.PathNotFoundError)) {
		t.Errorf("Stat of the refused write: %v, want PathNotFoundError", err)
	}
}

// URLFor under token credentials signs a user delegation SAS (the key from
// Get User Delegation Key, under the bearer token): a plain GET of the URL,
// with no credentials, reads the blob; the same SAS on another blob is
// refused, so Azurite checked the signature.
//
// Both forms of service URL: Azurite's own IP-style
// https://127.0.0.1:PORT/devstoreaccount1, for which azblob v1.8.3 alone
// would sign for the account "127" (it takes the account name from the
// first label of the host: Azure/azure-sdk-for-go#27390, open) and the
// driver fetches the key with its second client (newDelegationSigner);
// and Azure's host-style https://<account>.<host>/ (hostStyle), for which
// the driver's own client fetches it.
func TestUserDelegationURLAzuriteOAuth(t *testing.T) {
	env := testenv.AzureOAuth(t)
	for _, tc := range []struct {
		name string
		// open returns the service URL and the clients of the driver
		// (trusting ts) and of the plain GETs.
		open func(ts *tokenServer) (serviceURL string, hc, plain *http.Client)
	}{
		{"ip-style", func(ts *tokenServer) (string, *http.Client, *http.Client) {
			return env.URL, oauthHTTPClient(t, env, ts), oauthHTTPClient(t, env, nil)
		}},
		{"host-style", func(ts *tokenServer) (string, *http.Client, *http.Client) {
			u, hc := newHostStyle(t, env, ts)
			_, plain := newHostStyle(t, env, nil)
			return u, hc, plain
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, oauthTenant, oauthClientID, oauthSecret)
			serviceURL, hc, plain := tc.open(ts)
			checkUserDelegationURL(t, env, serviceURL, hc, plain, ts)
		})
	}
}

// checkUserDelegationURL is TestUserDelegationURLAzuriteOAuth on
// serviceURL: the driver through hc, with tokens from ts, the plain GETs
// through plain.
func checkUserDelegationURL(t *testing.T, env testenv.AzureOAuthSettings, serviceURL string, hc, plain *http.Client, ts *tokenServer) {
	ctx := context.Background()
	root := testenv.UniqueRoot(t)
	d := openOAuthAt(t, env, serviceURL, hc, ts, root)
	// Cleanup on the IP-style URL: hostStyle rewrites the request URL, not
	// the sub-requests of a blob batch (DeleteFiles), whose paths Azurite
	// then reads without the account.
	direct := openOAuth(t, env, newTokenServer(t, oauthTenant, oauthClientID, oauthSecret), root)
	t.Cleanup(func() {
		if err := direct.Delete(context.Background(), "/signed"); err != nil {
			t.Errorf("cleanup: Delete(/signed): %v", err)
		}
	})
	for _, p := range []string{"/signed/blob", "/signed/other"} {
		if err := d.PutContent(ctx, p, []byte("content of "+p)); err != nil {
			t.Fatalf("PutContent(%s): %v", p, err)
		}
	}
	u, err := d.URLFor(ctx, "/signed/blob", nil)
	if err != nil {
		t.Fatalf("URLFor: %v", err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if parsed.Scheme != "https" || !strings.HasPrefix(u, strings.TrimRight(serviceURL, "/")+"/") ||
		q.Get("sig") == "" || q.Get("skoid") == "" || q.Get("spr") != "https" {
		t.Fatalf("URLFor = %s: want an https-only user delegation SAS (sig, skoid, spr=https) under %s", u, serviceURL)
	}
	checkTokenServer(t, ts) // one token, for the writes and the key alike

	get := func(u string) (int, string) {
		t.Helper()
		resp, err := plain.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	if code, body := get(u); code != http.StatusOK || body != "content of /signed/blob" {
		t.Errorf("GET %s: %d %q", u, code, body)
	}
	other := strings.Replace(u, "blob?", "other?", 1) // the path is escaped: ...%2Fsigned%2Fblob?
	if other == u {
		t.Fatalf("URLFor = %s: no blob? in it", u)
	}
	if code, body := get(other); code != http.StatusForbidden || !strings.Contains(body, "AuthorizationFailure") {
		t.Errorf("GET of another blob with the SAS of /signed/blob: %d %q, want 403 AuthorizationFailure", code, body)
	}
}
