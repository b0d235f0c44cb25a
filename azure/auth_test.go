package azure_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/transport"
)

// roundTrip writes two files through d, reads one back, lists their
// directory and deletes both with DeleteFiles, checking each step.
func roundTrip(t *testing.T, d driver.StorageDriver) {
	t.Helper()
	ctx := context.Background()
	for _, p := range []string{"/dir/a", "/dir/b"} {
		if err := d.PutContent(ctx, p, []byte("content of "+p)); err != nil {
			t.Fatalf("PutContent(%s): %v", p, err)
		}
	}
	got, err := d.GetContent(ctx, "/dir/a")
	if err != nil || string(got) != "content of /dir/a" {
		t.Fatalf("GetContent = %q, %v", got, err)
	}
	list, err := d.List(ctx, "/dir")
	if err != nil || strings.Join(list, ",") != "/dir/a,/dir/b" {
		t.Fatalf("List = %v, %v", list, err)
	}
	n, err := d.DeleteFiles(ctx, []string{"/dir/a", "/dir/b"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if _, err := d.Stat(ctx, "/dir/a"); !errors.As(err, new(*driver.PathNotFoundError)) {
		t.Fatalf("Stat after DeleteFiles: %v, want PathNotFoundError", err)
	}
}

// A connection string for Azurite's development account, with its blob
// endpoint, authenticates every request with the key it carries.
func TestConnectionStringAzurite(t *testing.T) {
	env := testenv.Azure(t)
	root := freshRoot(t)
	d, err := driver.Open(context.Background(), "azure", map[string]any{
		"connectionstring": fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;",
			env.Account, env.Key, env.URL),
		"container":     env.Container,
		"rootdirectory": root,
	})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, d)
}

// containerSAS signs a service SAS for the test container with the dev
// key, with the permissions perms.
func containerSAS(t *testing.T, perms sas.ContainerPermissions) string {
	t.Helper()
	env := testenv.Azure(t)
	cred, err := service.NewSharedKeyCredential(env.Account, env.Key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().UTC().Add(-time.Minute),
		ExpiryTime:    time.Now().UTC().Add(time.Hour),
		Permissions:   perms.String(),
		ContainerName: env.Container,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}

// A SAS signed with the dev key authorizes the driver's requests without a
// key; URLFor returns the blob's URL with that SAS, which a plain GET
// reads. A SAS that cannot read gives no URLs.
func TestSASTokenAzurite(t *testing.T) {
	env := testenv.Azure(t)
	root := freshRoot(t)
	token := containerSAS(t, sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true})
	for _, params := range []map[string]any{
		{"sastoken": token, "serviceurl": env.URL},
		{"serviceurl": env.URL + "?" + token},
		{"connectionstring": "BlobEndpoint=" + env.URL + ";SharedAccessSignature=" + token},
	} {
		params["accountname"], params["container"], params["rootdirectory"] = env.Account, env.Container, root
		d, err := driver.Open(context.Background(), "azure", params)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, d)
		if err := d.PutContent(context.Background(), "/f", []byte("signed")); err != nil {
			t.Fatal(err)
		}
		u, err := d.URLFor(context.Background(), "/f", nil)
		if err != nil {
			t.Fatalf("URLFor: %v", err)
		}
		if !strings.Contains(u, "sig=") {
			t.Errorf("URLFor = %s: no SAS", u)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "signed" {
			t.Errorf("GET %s: %d %q", u, resp.StatusCode, body)
		}
	}

	// Without read permission the driver can write but signs no URLs.
	writeOnly := containerSAS(t, sas.ContainerPermissions{Create: true, Write: true})
	d, err := driver.Open(context.Background(), "azure", map[string]any{
		"accountname": env.Account, "container": env.Container, "rootdirectory": root,
		"serviceurl": env.URL, "sastoken": writeOnly,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PutContent(context.Background(), "/w", []byte("w")); err != nil {
		t.Fatalf("PutContent with a write-only SAS: %v", err)
	}
	if _, err := d.URLFor(context.Background(), "/w", nil); !errors.Is(err, driver.ErrUnsupportedMethod) {
		t.Errorf("URLFor with a write-only SAS: %v, want ErrUnsupportedMethod", err)
	}
	if _, err := d.GetContent(context.Background(), "/w"); err == nil {
		t.Errorf("GetContent with a write-only SAS succeeded: the SAS was not what authorized the requests")
	}
}

// tlsProxy is an https reverse proxy in front of Azurite (which the
// shared testenv serves over http) with httptest's self-signed
// certificate; it records the Authorization header of each request.
type tlsProxy struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newTLSProxy(t *testing.T) *tlsProxy {
	t.Helper()
	env := testenv.Azure(t)
	target, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	p := &tlsProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.auths = append(p.auths, r.Header.Get("Authorization"))
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// serviceURL is the proxy's URL of the dev account.
func (p *tlsProxy) serviceURL(t *testing.T) string {
	return p.URL + "/" + testenv.Azure(t).Account
}

// authorizations returns the Authorization headers seen so far.
func (p *tlsProxy) authorizations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.auths...)
}

// skipverify reaches the transport: a service with a self-signed
// certificate is refused without it and works with it.
func TestSkipVerify(t *testing.T) {
	env := testenv.Azure(t)
	root := freshRoot(t)
	proxy := newTLSProxy(t)
	params := func(skip bool) map[string]any {
		return map[string]any{
			"accountname": env.Account, "accountkey": env.Key, "container": env.Container,
			"serviceurl": proxy.serviceURL(t), "rootdirectory": root, "skipverify": skip,
			"maxretries": 1, "retry_delay": "1ms",
		}
	}
	d, err := driver.Open(context.Background(), "azure", params(false))
	if err != nil {
		t.Fatal(err)
	}
	err = d.PutContent(context.Background(), "/tls", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("PutContent to a self-signed server without skipverify: %v, want a certificate error", err)
	}
	if n := len(proxy.authorizations()); n != 0 {
		t.Fatalf("%d requests reached the server without skipverify", n)
	}
	d, err = driver.Open(context.Background(), "azure", params(true))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, d)
	if len(proxy.authorizations()) == 0 {
		t.Fatal("no request went through the TLS server")
	}
}

// tokenServer is a Microsoft Entra token endpoint on loopback, as the
// SDK's client-secret flow (MSAL) calls it: the tenant's OpenID
// configuration, then POST /<tenant>/oauth2/v2.0/token with
// grant_type=client_credentials, answered with an access token.
type tokenServer struct {
	*httptest.Server
	tenant, clientID, secret string
	issued                   atomic.Int32
	token                    string
	mu                       sync.Mutex
	scopes                   []string
	errs                     []string
}

// storageAudience is the audience of tokens for Azure Storage.
const storageAudience = "https://storage.azure.com"

func newTokenServer(t *testing.T, tenant, clientID, secret string) *tokenServer {
	return newTokenServerFor(t, storageAudience, tenant, clientID, secret)
}

// newTokenServerFor is newTokenServer issuing tokens for the audience aud.
func newTokenServerFor(t *testing.T, aud, tenant, clientID, secret string) *tokenServer {
	ts := &tokenServer{tenant: tenant, clientID: clientID, secret: secret}
	// An unsigned JWT with the claims Azurite's basic OAuth checks
	// (issuer, audience, nbf, exp and iat present, lifetime).
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/" + tenant + "/",
		"iat": now.Unix(), "nbf": now.Unix() - 60, "exp": now.Add(time.Hour).Unix(),
		"appid": clientID, "tid": tenant, "oid": "00000000-0000-0000-0000-000000000001",
	})
	ts.token = enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "."
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) fail(format string, args ...any) {
	ts.mu.Lock()
	ts.errs = append(ts.errs, fmt.Sprintf(format, args...))
	ts.mu.Unlock()
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	base := ts.URL + "/" + ts.tenant
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
		})
	case r.Method == http.MethodPost && r.URL.Path == "/"+ts.tenant+"/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			ts.fail("token request: %v", err)
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != ts.clientID || f.Get("client_secret") != ts.secret {
			ts.fail("token request form %v", f)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		ts.mu.Lock()
		ts.scopes = append(ts.scopes, f.Get("scope"))
		ts.mu.Unlock()
		ts.issued.Add(1)
		json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": ts.token,
		})
	default:
		ts.fail("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"not_found"}`)
	}
}

// credentials: {type: client_secret}: the SDK gets a token from the
// (loopback) Microsoft Entra token endpoint with the client secret and
// sends the service requests with it as a bearer token.
//
// The shared Azurite serves plain http without --oauth, so it cannot
// accept the token (it takes bearer tokens only with --oauth basic over
// https); the request reaches it through the TLS proxy, which checks the
// Authorization header, and Azurite's refusal is the expected answer.
// TestClientSecretAzuriteOAuth sends the same flow's requests to the
// azure-oauth Azurite, which accepts them.
func TestClientSecretBearer(t *testing.T) {
	env := testenv.Azure(t)
	const tenant, clientID, secret = "72f988bf-86f1-41af-91ab-2d7cd011db47", "app-id", "app-secret"
	ts := newTokenServer(t, tenant, clientID, secret)
	proxy := newTLSProxy(t)
	d, err := driver.Open(context.Background(), "azure", map[string]any{
		"accountname": env.Account, "container": env.Container, "serviceurl": proxy.serviceURL(t),
		"rootdirectory": freshRoot(t), "maxretries": 1, "retry_delay": "1ms",
		"credentials": map[string]any{
			"type": "client_secret", "tenantid": tenant, "clientid": clientID, "secret": secret,
			"authorityhost": ts.URL, "disableinstancediscovery": true,
		},
		driver.HTTPClientParam: ts.Client(), // trusts httptest's certificate, the proxy's too
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.GetContent(context.Background(), "/nothing")
	t.Logf("GetContent through the token credential: %v", err)
	if checkTokenServer(t, ts); t.Failed() {
		t.FailNow()
	}
	auths := proxy.authorizations()
	if len(auths) == 0 {
		t.Fatal("no request reached the service")
	}
	for _, a := range auths {
		if a != "Bearer "+ts.token {
			t.Errorf("Authorization %q, want the issued bearer token", a)
		}
	}
	if errors.As(err, new(*driver.PathNotFoundError)) {
		t.Errorf("Azurite without --oauth accepted the bearer token")
	}
}

// retryCounter is an Observer counting retries.
type retryCounter struct {
	mu      sync.Mutex
	retried []error
}

func (o *retryCounter) Retried(name string, err error) {
	o.mu.Lock()
	o.retried = append(o.retried, err)
	o.mu.Unlock()
}
func (*retryCounter) RateLimited(string, time.Duration) {}
func (*retryCounter) DeleteBatch(string, int, int)      {}

// 503 ServerBusy on every try, until the SDK's retries (max_retries) run
// out, gives a *driver.TooManyRequestsError (Azure throttles with 503
// ServerBusy: https://learn.microsoft.com/azure/storage/blobs/scalability-targets),
// and the Observer sees every retry.
func TestRetriesObservedThenTooManyRequests(t *testing.T) {
	env := testenv.Azure(t)
	faults := &transport.Faults{Rate: 1, Status: http.StatusServiceUnavailable, Header: serverBusy}
	obs := &retryCounter{}
	d, err := driver.Open(context.Background(), "azure", map[string]any{
		"accountname": env.Account, "accountkey": env.Key, "container": env.Container,
		"serviceurl": env.URL, "rootdirectory": freshRoot(t),
		"max_retries": 4, "retry_delay": "1ms",
		driver.HTTPClientParam: &http.Client{Transport: faults},
		driver.ObserverParam:   obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = d.PutContent(context.Background(), "/busy", []byte("x"))
	var tooMany *driver.TooManyRequestsError
	if !errors.As(err, &tooMany) {
		t.Fatalf("PutContent under 503s: %v, want a TooManyRequestsError", err)
	}
	obs.mu.Lock()
	retried := obs.retried
	obs.mu.Unlock()
	if got := faults.Injected()[transport.FaultStatus]; got != 5 {
		t.Errorf("%d tries, want 1 + 4 retries", got)
	}
	if len(retried) != 4 {
		t.Fatalf("Observer saw %d retries, want 4", len(retried))
	}
	for _, e := range retried {
		if e == nil || !strings.Contains(e.Error(), "503") || !strings.Contains(e.Error(), "ServerBusy") {
			t.Errorf("retried after %v, want the 503 ServerBusy", e)
		}
	}

	// Without faults nothing is retried.
	obs.retried = nil
	faults2 := &transport.Faults{Rate: 0}
	d, err = driver.Open(context.Background(), "azure", map[string]any{
		"accountname": env.Account, "accountkey": env.Key, "container": env.Container,
		"serviceurl": env.URL, "rootdirectory": freshRoot(t),
		driver.HTTPClientParam: &http.Client{Transport: faults2}, driver.ObserverParam: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, d)
	if len(obs.retried) != 0 {
		t.Errorf("Observer saw %d retries without faults", len(obs.retried))
	}
}
