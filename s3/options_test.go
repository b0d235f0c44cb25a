package s3_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/recorder"
	"github.com/stowage-dev/stowage/internal/testenv"
	s3driver "github.com/stowage-dev/stowage/s3"
	"github.com/stowage-dev/stowage/transport"
)

// ---- test doubles of our own ------------------------------------------------

// headers records, for each S3 operation sent through it, the request
// headers, then passes the request on.
type headers struct {
	Base http.RoundTripper
	mu   sync.Mutex
	seen map[string][]http.Header
}

func (h *headers) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if h.seen == nil {
		h.seen = map[string][]http.Header{}
	}
	op := opName(req)
	h.seen[op] = append(h.seen[op], req.Header.Clone())
	h.mu.Unlock()
	base := h.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// of returns the values of header key of every op request seen.
func (h *headers) of(op, key string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, hd := range h.seen[op] {
		out = append(out, hd.Get(key))
	}
	return out
}

// total returns the number of requests seen.
func (h *headers) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, hs := range h.seen {
		n += len(hs)
	}
	return n
}

// minioParams returns distribution-style parameters for the test server.
func minioParams(t *testing.T, root string) map[string]any {
	env := testenv.S3(t)
	return map[string]any{
		"bucket": env.Bucket, "region": env.Region, "regionendpoint": env.Endpoint,
		"accesskey": env.AccessKey, "secretkey": env.SecretKey, "rootdirectory": root,
	}
}

// openParams builds a driver from params with driver.Open.
func openParams(t *testing.T, params map[string]any) *s3driver.Driver {
	t.Helper()
	d, err := driver.Open(context.Background(), s3driver.DriverName, params)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return d.(*s3driver.Driver)
}

// writeAll writes content through PutContent, a multipart Writer and a Move:
// every request that creates an object.
func writeAll(t *testing.T, d driver.StorageDriver) {
	t.Helper()
	ctx := context.Background()
	if err := d.PutContent(ctx, "/put", []byte("content")); err != nil {
		t.Fatalf("PutContent: %v", err)
	}
	w, err := d.Writer(ctx, "/written", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 6<<20)); err != nil { // a part of chunksize 5mb: CreateMultipartUpload
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := d.Move(ctx, "/put", "/moved"); err != nil {
		t.Fatalf("Move: %v", err)
	}
}

// ---- parameters (no server) -------------------------------------------------

// Every parameter of distribution v3.1.2's s3-aws FromParameters
// (registry/storage/driver/s3-aws/s3.go), with a valid value: none of them
// is reported unknown.
func TestDistributionParametersKnown(t *testing.T) {
	logs := &recorder.Logs{}
	params := map[string]any{
		"accesskey": "AK", "secretkey": "SK", "regionendpoint": "http://127.0.0.1:9000",
		"forcepathstyle": true, "region": "us-east-1", "bucket": "b", "encrypt": false,
		"secure": true, "skipverify": false, "v4auth": true, "keyid": "",
		"chunksize": 10 << 20, "multipartcopychunksize": 32 << 20,
		"multipartcopymaxconcurrency": 100, "multipartcopythresholdsize": 32 << 20,
		"rootdirectory": "/r", "storageclass": "STANDARD", "useragent": "registry/3",
		"objectacl": "private", "usedualstack": false, "accelerate": false,
		"usefipsendpoint": false, "loglevel": "off", "redirectendpoint": "",
		// read by stowage too
		"sessiontoken": "", "maxrequestspersecond": 350, "checksum": "whenrequired",
		"logger": logs.Logger(),
	}
	if _, err := s3driver.FromParameters(params); err != nil {
		t.Fatalf("FromParameters: %v", err)
	}
	if w := logs.Matching(slog.LevelWarn, ""); len(w) != 0 {
		t.Errorf("warnings for distribution's parameters: %q", w)
	}
}

// An unknown parameter gets one warning naming it; a known one in another
// case is honoured, with a warning.
func TestParameterWarnings(t *testing.T) {
	logs := &recorder.Logs{}
	c, err := s3driver.FromParameters(map[string]any{
		"bucket": "b", "region": "r", "rootdirectry": "/typo", "RootDirectory": "/reg", "ObjectACL": "public-read",
		"logger": logs.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.RootDirectory != "reg" || c.ObjectACL != "public-read" {
		t.Errorf("mixed-case keys: rootdirectory %q objectacl %q, want reg, public-read", c.RootDirectory, c.ObjectACL)
	}
	if w := logs.Matching(slog.LevelWarn, "unknown"); len(w) != 1 || !strings.Contains(w[0], "rootdirectry") {
		t.Errorf("unknown-parameter warnings %q, want one naming rootdirectry", w)
	}
	for _, k := range []string{`"RootDirectory"`, `"ObjectACL"`} {
		if w := logs.Matching(slog.LevelWarn, k); len(w) != 1 {
			t.Errorf("warnings about %s: %q, want one", k, w)
		}
	}
	if n := len(logs.Matching(slog.LevelWarn, "")); n != 3 {
		t.Errorf("%d warnings, want 3", n)
	}
}

// keyid without encrypt is accepted, as distribution does, with a warning.
func TestKeyIDWithoutEncryptAccepted(t *testing.T) {
	logs := &recorder.Logs{}
	c, err := s3driver.FromParameters(map[string]any{"bucket": "b", "region": "r", "keyid": "k", "logger": logs.Logger()})
	if err != nil {
		t.Fatalf("keyid without encrypt: %v", err)
	}
	if c.KeyID != "k" || c.Encrypt {
		t.Errorf("KeyID %q Encrypt %v", c.KeyID, c.Encrypt)
	}
	if w := logs.Matching(slog.LevelWarn, "keyid"); len(w) != 1 {
		t.Errorf("warnings about keyid: %q, want one", w)
	}
}

// signedURL returns the URL URLFor gives for /f with params: it sends no
// request, so the endpoint the SDK resolved shows without a server.
func signedURL(t *testing.T, params map[string]any) *url.URL {
	t.Helper()
	d := openParams(t, params)
	s, err := d.URLFor(context.Background(), "/f", nil)
	if err != nil {
		t.Fatalf("URLFor: %v", err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// usefipsendpoint, usedualstack, accelerate and secure pick the AWS
// endpoint the SDK's rules give them.
func TestEndpointOptions(t *testing.T) {
	for _, tc := range []struct {
		param string
		value any
		want  string // scheme://host
	}{
		{"", nil, "https://bucket-name.s3.us-east-2.amazonaws.com"},
		{"usefipsendpoint", true, "https://bucket-name.s3-fips.us-east-2.amazonaws.com"},
		{"usedualstack", true, "https://bucket-name.s3.dualstack.us-east-2.amazonaws.com"},
		{"accelerate", "true", "https://bucket-name.s3-accelerate.amazonaws.com"},
		{"secure", false, "http://bucket-name.s3.us-east-2.amazonaws.com"},
	} {
		params := map[string]any{"bucket": "bucket-name", "region": "us-east-2", "accesskey": "a", "secretkey": "s"}
		if tc.param != "" {
			params[tc.param] = tc.value
		}
		u := signedURL(t, params)
		if got := u.Scheme + "://" + u.Host; got != tc.want {
			t.Errorf("%s=%v: URL on %s, want %s", tc.param, tc.value, got, tc.want)
		}
	}
}

// The endpoint options the SDK's rules refuse together fail Open with a
// ConfigError naming the parameter.
func TestEndpointOptionsRejected(t *testing.T) {
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"regionendpoint": "http://minio:9000", "usefipsendpoint": true}, "usefipsendpoint"},
		{map[string]any{"regionendpoint": "http://minio:9000", "usedualstack": true}, "usedualstack"},
		{map[string]any{"regionendpoint": "http://minio:9000", "accelerate": true}, "accelerate"},
		{map[string]any{"region": "us-east-1", "accelerate": true, "forcepathstyle": true}, "accelerate"},
		{map[string]any{"region": "us-east-1", "accelerate": true, "usefipsendpoint": true}, "accelerate"},
	} {
		tc.params["bucket"], tc.params["accesskey"], tc.params["secretkey"] = "bucket-name", "a", "s"
		_, err := driver.Open(context.Background(), s3driver.DriverName, tc.params)
		ce, ok := errors.AsType[*driver.ConfigError](err)
		if !ok || ce.Parameter != tc.want {
			t.Errorf("%v: %v, want a ConfigError naming %s", tc.params, err, tc.want)
		}
	}
}

// ---- against MinIO ----------------------------------------------------------

// objectacl is sent as x-amz-acl on every request that creates an object;
// the default, private, is what S3 gives an object without one, and is not
// sent (a bucket with ACLs disabled refuses any x-amz-acl). MinIO ignores
// object ACLs (GetObjectAcl answers private whatever was sent), so the
// header the SDK sent is what is checked.
func TestObjectACL(t *testing.T) {
	creating := []string{"PutObject", "CreateMultipartUpload", "CopyObject"}
	for _, tc := range []struct {
		acl  any // nil: not given
		want string
	}{
		{nil, ""},
		{"private", ""},
		{"public-read", "public-read"},
		{"bucket-owner-full-control", "bucket-owner-full-control"},
	} {
		t.Run(aclName(tc.acl), func(t *testing.T) {
			h := &headers{}
			params := minioParams(t, freshRoot(t))
			params[driver.HTTPClientParam] = &http.Client{Transport: h}
			params["chunksize"] = "5mb"
			if tc.acl != nil {
				params["objectacl"] = tc.acl
			}
			writeAll(t, openParams(t, params))
			for _, op := range creating {
				got := h.of(op, "X-Amz-Acl")
				if len(got) == 0 {
					t.Errorf("no %s sent", op)
				}
				for _, v := range got {
					if v != tc.want {
						t.Errorf("%s sent x-amz-acl %q, want %q", op, v, tc.want)
					}
				}
			}
		})
	}
}

func aclName(v any) string {
	if v == nil {
		return "default"
	}
	return v.(string)
}

// useragent reaches the server in the User-Agent header, after the SDK's.
func TestUserAgent(t *testing.T) {
	h := &headers{}
	params := minioParams(t, freshRoot(t))
	params[driver.HTTPClientParam] = &http.Client{Transport: h}
	params["useragent"] = "my-registry/3.1.2 extra"
	d := openParams(t, params)
	if err := d.PutContent(context.Background(), "/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	got := h.of("PutObject", "User-Agent")
	if len(got) == 0 {
		t.Fatal("no PutObject sent")
	}
	for _, ua := range got {
		if !strings.Contains(ua, "aws-sdk-go-v2/") || !strings.Contains(ua, " my-registry/3.1.2") || !strings.Contains(ua, " extra") {
			t.Errorf("User-Agent %q lacks the SDK's or my-registry/3.1.2 extra", ua)
		}
	}
}

// tlsProxy starts an HTTPS server with a self-signed certificate that
// passes every request to the test server, Host header included (the
// signature covers it), and returns its URL.
func tlsProxy(t *testing.T) string {
	target, err := url.Parse(testenv.S3(t).Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	ts := httptest.NewTLSServer(proxy)
	ts.Config.ErrorLog = nil
	t.Cleanup(ts.Close)
	return ts.URL
}

// skipverify: a server with a self-signed certificate is reached only with
// skipverify true.
func TestSkipVerify(t *testing.T) {
	endpoint := tlsProxy(t)
	ctx := context.Background()
	root := freshRoot(t)
	open := func(skip any) driver.StorageDriver {
		params := minioParams(t, root)
		params["regionendpoint"] = endpoint
		params["maxretries"] = 1
		if skip != nil {
			params["skipverify"] = skip
		}
		return openParams(t, params)
	}
	for _, skip := range []any{nil, false, "false"} {
		err := open(skip).PutContent(ctx, "/f", []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("skipverify %v: PutContent through a self-signed certificate: %v, want a certificate error", skip, err)
		}
	}
	d := open(true)
	if err := d.PutContent(ctx, "/f", []byte("through TLS")); err != nil {
		t.Fatalf("skipverify true: PutContent: %v", err)
	}
	if got, err := d.GetContent(ctx, "/f"); err != nil || string(got) != "through TLS" {
		t.Errorf("skipverify true: GetContent = %q, %v", got, err)
	}
	if got := newIndependent(t).get(root + "/f"); string(got) != "through TLS" {
		t.Errorf("minio reads %q", got)
	}
}

// loglevel debug sends the SDK's request and response logs to the logger.
func TestLogLevelDebug(t *testing.T) {
	for _, level := range []string{"off", "debug"} {
		logs := &recorder.Logs{}
		params := minioParams(t, freshRoot(t))
		params["loglevel"] = level
		params["logger"] = logs.Logger()
		d := openParams(t, params)
		if err := d.PutContent(context.Background(), "/f", []byte("x")); err != nil {
			t.Fatal(err)
		}
		req, resp := logs.Matching(slog.LevelInfo, "Request\nPUT /"), logs.Matching(slog.LevelInfo, "Response\nHTTP/1.1 200")
		if level == "off" {
			if n := len(logs.Matching(slog.LevelInfo, "SDK")); n != 0 {
				t.Errorf("loglevel off: %d SDK log lines", n)
			}
			continue
		}
		if len(req) != 1 || len(resp) != 1 {
			t.Errorf("loglevel debug: %d request and %d response log lines for one PutObject, want 1 and 1", len(req), len(resp))
		}
	}
}

// redirectendpoint: URLFor's URLs name that scheme and host, signed for
// it. Here it is another name of the test server, which then serves the
// URL.
func TestRedirectEndpoint(t *testing.T) {
	env := testenv.S3(t)
	u, err := url.Parse(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	other := "localhost"
	if u.Hostname() == "localhost" {
		other = "127.0.0.1"
	}
	redirect := u.Scheme + "://" + other + ":" + u.Port()
	params := minioParams(t, freshRoot(t))
	params["redirectendpoint"] = redirect
	d := openParams(t, params)
	ctx := context.Background()
	if err := d.PutContent(ctx, "/f", []byte("redirected")); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		s, err := d.URLFor(ctx, "/f", map[string]any{"method": method})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, redirect+"/") {
			t.Errorf("%s URL %s is not on %s", method, s, redirect)
		}
		req, _ := http.NewRequest(method, s, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (method == http.MethodGet && string(body) != "redirected") {
			t.Errorf("%s %s: %d %q", method, s, resp.StatusCode, body)
		}
	}
}

// The rate limiter lets its burst through; a request waiting for a token
// ends, with its context's error, when that context ends, and is not sent.
// (A rate of one request per 1,000 s makes the wait certain: no token
// comes back during the test.)
func TestRateLimitWaitEndsWithContext(t *testing.T) {
	h := &headers{}
	cfg := testConfig(t, freshRoot(t), &http.Client{Transport: h})
	cfg.MaxRequestsPerSecond = 0.001
	d := newDriver(t, cfg)
	ctx := context.Background()
	head := func(ctx context.Context, opts ...func(*s3.Options)) error {
		_, err := d.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(cfg.RootDirectory + "/missing")}, opts...)
		return err
	}
	for i := 0; i < driver.RateLimitBurst; i++ {
		if err := head(ctx); err == nil {
			t.Fatal("HeadObject of a missing key succeeded")
		}
	}
	if n := h.total(); n != driver.RateLimitBurst {
		t.Fatalf("%d requests sent, want the burst, %d", n, driver.RateLimitBurst)
	}
	// The next request waits: cancel it once it reaches the HTTP client.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sending := func(stack *middleware.Stack) error {
		return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("cancelWhenSending",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				cancel()
				return next.HandleDeserialize(ctx, in)
			}), middleware.After)
	}
	err := head(wctx, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, sending) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("waiting request: %v, want context.Canceled", err)
	}
	if n := h.total(); n != driver.RateLimitBurst {
		t.Errorf("%d requests sent, want %d: the cancelled one went out", n, driver.RateLimitBurst)
	}
}

// maxrequestspersecond: 350 by default, as GitLab's registry; 0 is no limit.
func TestMaxRequestsPerSecondDefault(t *testing.T) {
	for v, want := range map[any]float64{nil: driver.DefaultS3MaxRequestsPerSecond, 5: 5, "0": -1} {
		p := map[string]any{"bucket": "b", "region": "r"}
		if v != nil {
			p["maxrequestspersecond"] = v
		}
		c, err := s3driver.FromParameters(p)
		if err != nil || c.MaxRequestsPerSecond != want {
			t.Errorf("maxrequestspersecond %v: %v, %v; want %v", v, c.MaxRequestsPerSecond, err, want)
		}
	}
}

// A rate limit that lasts past the retries (503 SlowDown or 429 on every
// attempt) is a *driver.TooManyRequestsError, after MaxRetries retries,
// each reported to the Observer.
func TestThrottledAfterRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   func(*http.Request) []byte
	}{
		{"SlowDown503", http.StatusServiceUnavailable, transport.SlowDownBody},
		{"Status429", http.StatusTooManyRequests, nil},
		{"Status503NoBody", http.StatusServiceUnavailable, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const retries = 3
			faults := &transport.Faults{Rate: 1, Status: tc.status, Body: tc.body}
			obs := &recorder.Events{DriverName: s3driver.DriverName}
			cfg := testConfig(t, freshRoot(t), &http.Client{Transport: faults})
			cfg.MaxRetries = retries
			cfg.Observer = obs
			d := newDriver(t, cfg)
			ctx := context.Background()
			for _, op := range []struct {
				name string
				call func() error
			}{
				{"PutContent", func() error { return d.PutContent(ctx, "/f", []byte("x")) }},
				{"Stat", func() error { _, err := d.Stat(ctx, "/f"); return err }}, // HEAD: no body, no code
			} {
				before, seen := len(obs.Retries()), faults.Seen()
				err := op.call()
				if _, ok := errors.AsType[*driver.TooManyRequestsError](err); !ok {
					t.Errorf("%s: %v, want a *driver.TooManyRequestsError", op.name, err)
				}
				if got := len(obs.Retries()) - before; got != retries {
					t.Errorf("%s: the Observer saw %d retries, want %d", op.name, got, retries)
				}
				if got := faults.Seen() - seen; got != retries+1 {
					t.Errorf("%s: %d attempts, want %d", op.name, got, retries+1)
				}
			}
			if len(obs.Retries()) == 0 {
				return
			}
			if err := obs.Retries()[0]; !slices.ContainsFunc([]string{"SlowDown", "429", "503"}, func(s string) bool { return strings.Contains(err.Error(), s) }) {
				t.Errorf("retry reported with %v", err)
			}
		})
	}
}
