package swift

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	ncw "github.com/ncw/swift/v2"
	"gopkg.in/yaml.v3"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/recorder"
)

// parseLogged runs FromParameters on params with a logger that records
// its warnings.
func parseLogged(t *testing.T, params map[string]any) (Config, []string, error) {
	t.Helper()
	logs := &recorder.Logs{MinLevel: slog.LevelDebug}
	p := map[string]any{driver.LoggerParam: logs.Logger()}
	for k, v := range params {
		p[k] = v
	}
	c, err := FromParameters(p)
	return c, logs.Messages(), err
}

// Every parameter of distribution v2.8's swift driver
// (registry/storage/driver/swift/swift.go, Parameters) is read: a
// configuration with all of them parses without a warning about unknown
// ones, and each reaches its field.
func TestFromParametersDistributionKeysAllKnown(t *testing.T) {
	c, logs, err := parseLogged(t, map[string]any{
		"username":            "user",
		"password":            "secret",
		"authurl":             "https://keystone.example/v3",
		"tenant":              "proj",
		"tenantid":            "pid",
		"domain":              "dom",
		"domainid":            "did",
		"tenantdomain":        "tdom",
		"tenantdomainid":      "tdid",
		"trustid":             "trust",
		"region":              "RegionOne",
		"authversion":         3,
		"container":           "registry",
		"prefix":              "/docker/",
		"endpointtype":        "internal",
		"insecureskipverify":  true,
		"chunksize":           5 << 20,
		"secretkey":           "tk",
		"accesskey":           "ak",
		"tempurlcontainerkey": true,
		"tempurlmethods":      []any{"GET"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 0 {
		t.Errorf("warnings for distribution's own parameters: %q", logs)
	}
	for _, ch := range []struct {
		name      string
		got, want any
	}{
		{"UserName", c.UserName, "user"}, {"Password", c.Password, "secret"},
		{"AuthURL", c.AuthURL, "https://keystone.example/v3"},
		{"Tenant", c.Tenant, "proj"}, {"TenantID", c.TenantID, "pid"},
		{"Domain", c.Domain, "dom"}, {"DomainID", c.DomainID, "did"},
		{"TenantDomain", c.TenantDomain, "tdom"}, {"TenantDomainID", c.TenantDomainID, "tdid"},
		{"TrustID", c.TrustID, "trust"}, {"Region", c.Region, "RegionOne"},
		{"AuthVersion", c.AuthVersion, 3}, {"Container", c.Container, "registry"},
		{"RootDirectory", c.RootDirectory, "docker"}, {"EndpointType", c.EndpointType, "internal"},
		{"InsecureSkipVerify", c.InsecureSkipVerify, true}, {"ChunkSize", c.ChunkSize, int64(5 << 20)},
		{"SecretKey", c.SecretKey, "tk"}, {"AccessKey", c.AccessKey, "ak"},
		{"TempURLContainerKey", c.TempURLContainerKey, true},
		{"TempURLMethods", strings.Join(c.TempURLMethods, ","), "GET"},
	} {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// Each reaches the ncw/swift connection.
	conn := newConnection(c)
	if conn.TenantDomainId != "tdid" || conn.TenantDomain != "tdom" || conn.TrustId != "trust" || conn.EndpointType != ncw.EndpointTypeInternal {
		t.Errorf("connection: %+v", conn)
	}
}

// An unknown parameter is logged in one warning naming it; a known one
// in another case is honoured, with a warning of its own.
func TestFromParametersUnknownAndMixedCase(t *testing.T) {
	c, logs, err := parseLogged(t, with(map[string]any{"rootdir": "/typo", "TenantID": "pid"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != "pid" {
		t.Errorf("TenantID = %q, want the value of \"TenantID\"", c.TenantID)
	}
	var unknown, cased []string
	for _, m := range logs {
		switch {
		case strings.Contains(m, "unknown parameters"):
			unknown = append(unknown, m)
		case strings.Contains(m, `"TenantID"`):
			cased = append(cased, m)
		default:
			t.Errorf("unexpected warning %q", m)
		}
	}
	if len(unknown) != 1 || !strings.Contains(unknown[0], "rootdir") || strings.Contains(unknown[0], "tenantid") {
		t.Errorf("unknown-parameter warnings %q, want one naming rootdir only", unknown)
	}
	if len(cased) != 1 {
		t.Errorf("mixed-case warnings %q, want one", cased)
	}
}

// YAML reads "tenantid: 123456" as an integer (distribution's swift
// driver turns it into a string by hand); it is the tenant id "123456".
func TestFromParametersYAMLIntegerTenantID(t *testing.T) {
	var params map[string]any
	doc := "authurl: http://keystone.example/v2.0\nusername: u\npassword: p\ncontainer: registry\ntenantid: 123456\ntenant: 7\nauthversion: 2\n"
	if err := yaml.Unmarshal([]byte(doc), &params); err != nil {
		t.Fatal(err)
	}
	if _, ok := params["tenantid"].(int); !ok {
		t.Fatalf("yaml gave tenantid as %T, want int (the case under test)", params["tenantid"])
	}
	c, err := FromParameters(params)
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != "123456" || c.Tenant != "7" || c.AuthVersion != 2 {
		t.Errorf("TenantID %q, Tenant %q, AuthVersion %d; want 123456, 7, 2", c.TenantID, c.Tenant, c.AuthVersion)
	}
	if conn := newConnection(c); conn.TenantId != "123456" {
		t.Errorf("connection TenantId = %q", conn.TenantId)
	}
}

// Without any parameter, every required one is named in one error.
func TestFromParametersMissingAllRequired(t *testing.T) {
	_, err := FromParameters(map[string]any{})
	var mp *driver.MissingParametersError
	if !errors.As(err, &mp) {
		t.Fatalf("FromParameters({}) = %v, want a MissingParametersError", err)
	}
	want := []string{"authurl", "container", "username", "password"}
	if !slices.Equal(mp.Parameters, want) {
		t.Errorf("missing %v, want %v", mp.Parameters, want)
	}
}

// Application credentials: by id (no user needed), or by name with the
// owner's username and domain; Keystone v3 is implied, and so the
// settings they cannot go with are errors naming them.
func TestFromParametersApplicationCredentials(t *testing.T) {
	base := map[string]any{"authurl": "https://keystone.example/v3", "container": "registry"}
	params := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	c, logs, err := parseLogged(t, params(map[string]any{"applicationcredentialid": "acid", "applicationcredentialsecret": "acs"}))
	if err != nil {
		t.Fatalf("by id: %v", err)
	}
	if len(logs) != 0 {
		t.Errorf("by id: warnings %q", logs)
	}
	if c.AuthVersion != 3 || c.ApplicationCredentialID != "acid" || c.ApplicationCredentialSecret != "acs" {
		t.Errorf("by id: %+v", c)
	}
	conn := newConnection(c)
	if conn.ApplicationCredentialId != "acid" || conn.ApplicationCredentialSecret != "acs" || conn.AuthVersion != 3 || conn.ApiKey != "" {
		t.Errorf("by id: connection %+v", conn)
	}

	c, err = FromParameters(params(map[string]any{"applicationcredentialname": "acn", "applicationcredentialsecret": "acs",
		"username": "owner", "domain": "Default", "authversion": "3"}))
	if err != nil {
		t.Fatalf("by name: %v", err)
	}
	if conn := newConnection(c); conn.ApplicationCredentialName != "acn" || conn.UserName != "owner" || conn.Domain != "Default" {
		t.Errorf("by name: connection %+v", conn)
	}

	for _, tc := range []struct {
		param string
		extra map[string]any
	}{
		{"applicationcredentialsecret", map[string]any{"applicationcredentialid": "acid"}},
		{"applicationcredentialid", map[string]any{"applicationcredentialsecret": "acs"}},
		{"applicationcredentialname", map[string]any{"applicationcredentialid": "acid", "applicationcredentialname": "acn", "applicationcredentialsecret": "acs"}},
		{"password", map[string]any{"applicationcredentialid": "acid", "applicationcredentialsecret": "acs", "password": "p"}},
		{"username", map[string]any{"applicationcredentialid": "acid", "applicationcredentialsecret": "acs", "username": "u"}},
		{"tenantid", map[string]any{"applicationcredentialid": "acid", "applicationcredentialsecret": "acs", "tenantid": 123}},
		{"trustid", map[string]any{"applicationcredentialid": "acid", "applicationcredentialsecret": "acs", "trustid": "t"}},
		{"authversion", map[string]any{"applicationcredentialid": "acid", "applicationcredentialsecret": "acs", "authversion": 2}},
		{"username", map[string]any{"applicationcredentialname": "acn", "applicationcredentialsecret": "acs", "domain": "d"}},
		{"domain", map[string]any{"applicationcredentialname": "acn", "applicationcredentialsecret": "acs", "username": "u"}},
		{"domainid", map[string]any{"applicationcredentialname": "acn", "applicationcredentialsecret": "acs", "username": "u", "domain": "d", "domainid": "i"}},
	} {
		_, err := FromParameters(params(tc.extra))
		var ce *driver.ConfigError
		if !errors.As(err, &ce) || ce.Parameter != tc.param {
			t.Errorf("FromParameters(%v) = %v; want a ConfigError for %q", tc.extra, err, tc.param)
		}
	}
}

// 429, 498 and 503 are rate limits (a *driver.TooManyRequestsError once
// the retries are spent); 500 and a dropped connection are transient.
func TestClassifyThrottling(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want driver.ErrorKind
	}{
		{&ncw.Error{StatusCode: http.StatusTooManyRequests}, driver.KindThrottled},
		{&ncw.Error{StatusCode: 498}, driver.KindThrottled},
		{&ncw.Error{StatusCode: http.StatusServiceUnavailable}, driver.KindThrottled},
		{&statusError{code: http.StatusServiceUnavailable}, driver.KindThrottled},
		{&ncw.Error{StatusCode: http.StatusInternalServerError}, driver.KindTransient},
		{errors.New("connection reset"), driver.KindTransient},
		{&ncw.Error{StatusCode: http.StatusForbidden}, driver.KindOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	var tmr *driver.TooManyRequestsError
	if err := wrap(context.Background(), "Stat", "/p", &ncw.Error{StatusCode: http.StatusServiceUnavailable}); !errors.As(err, &tmr) {
		t.Errorf("wrap(503) = %v, want a TooManyRequestsError", err)
	}
}
