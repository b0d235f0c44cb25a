package swift

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	ncw "github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

var required = map[string]any{
	"authurl":   "http://127.0.0.1:8080/auth/v1.0",
	"username":  "test:tester",
	"password":  "testing",
	"container": "registry",
}

func with(extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range required {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestFromParametersDefaults(t *testing.T) {
	c, err := FromParameters(required)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"SegmentsContainer", c.SegmentsContainer, "registry_segments"},
		{"RootDirectory", c.RootDirectory, ""},
		{"ChunkSize", c.ChunkSize, int64(DefaultChunkSize)},
		{"MaxRetries", c.MaxRetries, DefaultMaxRetries},
		{"MaxConcurrency", c.MaxConcurrency, DefaultMaxConcurrency},
		{"DeleteBatchSize", c.DeleteBatchSize, MaxDeleteBatchSize},
		{"ListLimit", c.ListLimit, ListPageSize},
		{"TempURLMethods", len(c.TempURLMethods), 2},
		{"ConnectTimeout", c.ConnectTimeout, 10 * time.Minute},
		{"Timeout", c.Timeout, time.Minute},
		{"HTTPClient", c.HTTPClient == nil, true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestFromParametersAll(t *testing.T) {
	hc := &http.Client{}
	c, err := FromParameters(with(map[string]any{
		"tenant":               "proj",
		"tenantid":             "pid",
		"domain":               "dom",
		"domainid":             "did",
		"trustid":              "trust",
		"region":               "RegionOne",
		"authversion":          "3",
		"endpointtype":         "internal",
		"insecureskipverify":   "true",
		"rootdirectory":        "/ignored/",
		"prefix":               "/docker/registry/",
		"chunksize":            "5mb",
		"secretkey":            "s3cr3t",
		"accesskey":            "ak",
		"tempurlcontainerkey":  true,
		"tempurlmethods":       []any{"get", "PUT"},
		"segmentscontainer":    "segs",
		"maxretries":           "0",
		"maxconcurrency":       3,
		"deletebatchsize":      "500",
		driver.HTTPClientParam: hc,
		"unknownparameter":     "ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Tenant", c.Tenant, "proj"},
		{"TenantID", c.TenantID, "pid"},
		{"Domain", c.Domain, "dom"},
		{"DomainID", c.DomainID, "did"},
		{"TrustID", c.TrustID, "trust"},
		{"Region", c.Region, "RegionOne"},
		{"AuthVersion", c.AuthVersion, 3},
		{"EndpointType", c.EndpointType, "internal"},
		{"InsecureSkipVerify", c.InsecureSkipVerify, true},
		{"RootDirectory", c.RootDirectory, "docker/registry"},
		{"ChunkSize", c.ChunkSize, int64(5 << 20)},
		{"SecretKey", c.SecretKey, "s3cr3t"},
		{"AccessKey", c.AccessKey, "ak"},
		{"TempURLContainerKey", c.TempURLContainerKey, true},
		{"TempURLMethods", c.TempURLMethods[0] + "," + c.TempURLMethods[1], "GET,PUT"},
		{"SegmentsContainer", c.SegmentsContainer, "segs"},
		{"MaxRetries", c.MaxRetries, -1}, // explicitly none
		{"MaxConcurrency", c.MaxConcurrency, 3},
		{"DeleteBatchSize", c.DeleteBatchSize, 500},
		{"HTTPClient", c.HTTPClient, hc},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// rootdirectory alone is the prefix.
	c, err = FromParameters(with(map[string]any{"rootdirectory": "/reg/"}))
	if err != nil || c.RootDirectory != "reg" {
		t.Errorf("rootdirectory alone: RootDirectory = %q, %v", c.RootDirectory, err)
	}
}

func TestFromParametersErrors(t *testing.T) {
	cases := []struct {
		param  string
		params map[string]any
	}{
		{"authurl", map[string]any{"username": "u", "password": "p", "container": "c"}},
		{"username", map[string]any{"authurl": "x", "password": "p", "container": "c"}},
		{"password", map[string]any{"authurl": "x", "username": "u", "container": "c"}},
		{"container", map[string]any{"authurl": "x", "username": "u", "password": "p"}},
		{"container", with(map[string]any{"container": "a/b"})},
		{"segmentscontainer", with(map[string]any{"segmentscontainer": "registry"})},
		{"chunksize", with(map[string]any{"chunksize": "512k"})},
		{"chunksize", with(map[string]any{"chunksize": "lots"})},
		{"maxretries", with(map[string]any{"maxretries": -1})},
		{"maxconcurrency", with(map[string]any{"maxconcurrency": 0})},
		{"deletebatchsize", with(map[string]any{"deletebatchsize": "0"})},
		{"insecureskipverify", with(map[string]any{"insecureskipverify": "maybe"})},
		{"tempurlmethods", with(map[string]any{"tempurlmethods": 7})},
		{driver.HTTPClientParam, with(map[string]any{driver.HTTPClientParam: "client"})},
		{"rootdirectory", with(map[string]any{"prefix": "a//b"})}, // prefix is the root directory
	}
	for _, tc := range cases {
		_, err := FromParameters(tc.params)
		var ce *driver.ConfigError
		if !errors.As(err, &ce) || ce.Parameter != tc.param || ce.DriverName != DriverName {
			t.Errorf("FromParameters(%v) = %v; want a ConfigError for %q", tc.params, err, tc.param)
		}
	}
}

// offline returns a Driver over c (with the required settings filled in)
// that sends no request: its connection is authenticated already.
func offline(t *testing.T, c Config) *Driver {
	t.Helper()
	c.AuthURL, c.UserName, c.Password = "http://127.0.0.1:1/auth/v1.0", "u", "p"
	c, err := c.normalize()
	if err != nil {
		t.Fatal(err)
	}
	conn := &ncw.Connection{StorageUrl: "https://swift.example/v1/AUTH_test", AuthToken: "token"}
	return newDriver(c, conn, serverInfo{bulkDelete: true, maxDeletes: MaxDeleteBatchSize})
}

func TestURLForWithoutKeyIsUnsupported(t *testing.T) {
	d := offline(t, Config{Container: "c"})
	_, err := d.URLFor(t.Context(), "/a", nil)
	if !errors.Is(err, driver.ErrUnsupportedMethod) {
		t.Errorf("URLFor without a secret key = %v, want ErrUnsupportedMethod", err)
	}
	var ipe *driver.InvalidPathError
	if _, err := d.URLFor(t.Context(), "/a/../b", nil); !errors.As(err, &ipe) {
		t.Errorf("URLFor of an invalid path = %v, want InvalidPathError", err)
	}
}

// The temp URL signature is the documented HMAC over method, expiry and
// path (checked against a value computed independently with Python's
// hmac module).
func TestTempURLSignature(t *testing.T) {
	u, _ := url.Parse("https://swift.example/v1/AUTH_test/c/o")
	got := tempURL(u, "GET", time.Unix(1700000000, 0), "key", "")
	want := "https://swift.example/v1/AUTH_test/c/o?temp_url_expires=1700000000&temp_url_sig=84d09f8e15bef2209ab5fa1c8963201a1ec735f0c25dca12c9b713ed1a678dad"
	if got != want {
		t.Errorf("tempURL = %s\nwant      %s", got, want)
	}
}

// With a key, URLFor signs the methods it is configured for and refuses
// the others; it sends no request.
func TestURLForWithKey(t *testing.T) {
	d := offline(t, Config{CommonConfig: driver.CommonConfig{RootDirectory: "root"}, Container: "c", SecretKey: "key", TempURLMethods: []string{"GET"}})
	exp := time.Unix(1700000000, 0).Add(100 * 365 * 24 * time.Hour)
	got, err := d.URLFor(t.Context(), "/a/b", map[string]any{"expiry": exp})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://swift.example/v1/AUTH_test/c/root/a/b")
	if want := tempURL(u, "GET", exp, "key", ""); got != want {
		t.Errorf("URLFor = %s, want %s", got, want)
	}
	if _, err := d.URLFor(t.Context(), "/a/b", map[string]any{"method": "HEAD"}); !errors.Is(err, driver.ErrUnsupportedMethod) {
		t.Errorf("URLFor HEAD with only GET configured = %v, want ErrUnsupportedMethod", err)
	}
	if _, err := d.URLFor(t.Context(), "/a/b", map[string]any{"expiry": time.Unix(1, 0)}); err == nil {
		t.Error("URLFor with a past expiry: no error")
	}
}
