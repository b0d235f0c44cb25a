package azure

import (
	"context"

	"bytes"
	"errors"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// base returns the parameters every case starts from: an account and a
// container, no credentials.
func base(extra map[string]any) map[string]any {
	p := map[string]any{"accountname": "acct", "container": "reg"}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// mustParse runs FromParameters and fails t on an error.
func mustParse(t *testing.T, p map[string]any) Config {
	t.Helper()
	c, err := FromParameters(p)
	if err != nil {
		t.Fatalf("FromParameters(%v): %v", p, err)
	}
	return c
}

// mode returns how c authenticates, failing t if it cannot.
func mode(t *testing.T, c Config) authMode {
	t.Helper()
	m, err := c.auth()
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	return m
}

// wantConfigError fails t unless err is a *driver.ConfigError naming param.
func wantConfigError(t *testing.T, err error, param string) *driver.ConfigError {
	t.Helper()
	var ce *driver.ConfigError
	if !errors.As(err, &ce) || ce.DriverName != DriverName || ce.Parameter != param {
		t.Fatalf("error %v, want a ConfigError naming %q", err, param)
	}
	return ce
}

func TestCredentialsSharedKey(t *testing.T) {
	for _, creds := range []any{
		nil,
		map[string]any{"type": "shared_key"},
		map[string]string{"type": "shared_key"},
		map[any]any{"type": "SHARED_KEY"}, // yaml.v2 maps, any case of the value
	} {
		c := mustParse(t, base(map[string]any{"accountkey": testKey, "credentials": creds}))
		if c.AccountKey != testKey || mode(t, c) != authSharedKey {
			t.Errorf("credentials %v: AccountKey %q, mode %v, want the shared key", creds, c.AccountKey, mode(t, c))
		}
	}
	_, err := FromParameters(base(map[string]any{"credentials": map[string]any{"type": "shared_key"}}))
	wantConfigError(t, err, "accountkey")
}

func TestCredentialsClientSecret(t *testing.T) {
	c := mustParse(t, base(map[string]any{"credentials": map[string]any{
		"type": "client_secret", "clientid": "cid", "tenantid": 123456, "secret": "s3cret",
		"authorityhost": "https://login.example/", "disableinstancediscovery": "true",
	}}))
	want := Credentials{Type: CredentialsClientSecret, ClientID: "cid", TenantID: "123456", Secret: "s3cret",
		AuthorityHost: "https://login.example/", DisableInstanceDiscovery: true}
	if c.Credentials != want || mode(t, c) != authToken || c.AccountKey != "" {
		t.Errorf("Credentials = %+v, want %+v (token mode)", c.Credentials, want)
	}
	if c.ServiceURL != "https://acct.blob.core.windows.net" {
		t.Errorf("ServiceURL = %q", c.ServiceURL)
	}

	// Every missing one is named, in one error.
	_, err := FromParameters(base(map[string]any{"credentials": map[string]any{"type": "client_secret", "clientid": "cid"}}))
	ce := wantConfigError(t, err, "credentials.tenantid")
	var missing *driver.MissingParametersError
	if !errors.As(ce, &missing) || strings.Join(missing.Parameters, ",") != "credentials.tenantid,credentials.secret" {
		t.Errorf("missing = %v, want credentials.tenantid and credentials.secret", missing)
	}
}

func TestCredentialsDefault(t *testing.T) {
	c := mustParse(t, base(map[string]any{"credentials": map[string]any{"type": "default_credentials", "tenantid": "t1"}}))
	if c.Credentials.Type != CredentialsDefault || c.Credentials.TenantID != "t1" || mode(t, c) != authToken {
		t.Errorf("Credentials = %+v", c.Credentials)
	}
	// distribution ignores these; stowage says where they would go.
	_, err := FromParameters(base(map[string]any{"credentials": map[string]any{"type": "default_credentials", "clientid": "x"}}))
	ce := wantConfigError(t, err, "credentials.clientid")
	if !strings.Contains(ce.Error(), "AZURE_CLIENT_ID") {
		t.Errorf("error %v does not say AZURE_CLIENT_ID", ce)
	}
}

func TestCredentialsConflicts(t *testing.T) {
	token := map[string]any{"type": "default_credentials"}
	cases := []struct {
		name  string
		p     map[string]any
		param string
	}{
		{"key and token", base(map[string]any{"accountkey": testKey, "credentials": token}), "accountkey"},
		{"sas and token", base(map[string]any{"sastoken": "sv=2020&sig=abc", "credentials": token}), "sastoken"},
		{"key and sas", base(map[string]any{"accountkey": testKey, "sastoken": "sv=2020&sig=abc"}), "sastoken"},
		{"token over http", base(map[string]any{"serviceurl": "http://127.0.0.1:1/acct", "credentials": token}), "serviceurl"},
		{"nothing", base(nil), "accountkey"},
		{"secret without client_secret", base(map[string]any{"accountkey": testKey, "credentials": map[string]any{"secret": "s"}}), "credentials.secret"},
		{"tenant with shared key", base(map[string]any{"accountkey": testKey, "credentials": map[string]any{"tenantid": "t"}}), "credentials.tenantid"},
		{"unknown type", base(map[string]any{"credentials": map[string]any{"type": "managed_identity"}}), "credentials.type"},
		{"not a map", base(map[string]any{"credentials": "shared_key"}), "credentials"},
		{"sastoken not a SAS", base(map[string]any{"sastoken": "sv=2020"}), "sastoken"},
		{"serviceurl query not a SAS", base(map[string]any{"accountkey": testKey, "serviceurl": "https://h/acct?x=1"}), "serviceurl"},
		{"max_retries negative", base(map[string]any{"accountkey": testKey, "max_retries": -1}), "max_retries"},
		{"max_retries and maxretries differ", base(map[string]any{"accountkey": testKey, "max_retries": 10, "maxretries": 3}), "max_retries"},
		{"retry_delay negative", base(map[string]any{"accountkey": testKey, "retry_delay": "-1s"}), "retry_delay"},
		{"retry_delay bad", base(map[string]any{"accountkey": testKey, "retry_delay": "later"}), "retry_delay"},
		{"skipverify bad", base(map[string]any{"accountkey": testKey, "skipverify": "maybe"}), "skipverify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromParameters(tc.p)
			wantConfigError(t, err, tc.param)
		})
	}
	// A Go caller's token credential excludes a type.
	_, err := Config{AccountName: "a", Container: "c", Credentials: Credentials{Type: CredentialsDefault, Token: fakeToken{}}}.normalize()
	wantConfigError(t, err, "credentials")
	c, err := Config{AccountName: "a", Container: "c", Credentials: Credentials{Token: fakeToken{}}}.normalize()
	if err != nil || mode(t, c) != authToken {
		t.Errorf("a Token credential: %v", err)
	}
}

func TestConnectionString(t *testing.T) {
	cases := []struct {
		name, cs                      string
		account, key, serviceURL, sas string
	}{
		{"account", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + testKey + ";EndpointSuffix=core.chinacloudapi.cn",
			"acct", testKey, "https://acct.blob.core.chinacloudapi.cn", ""},
		{"defaults", "AccountName=acct;AccountKey=" + testKey, "acct", testKey, "https://acct.blob.core.windows.net", ""},
		{"http", "defaultendpointsprotocol=http;accountname=acct;accountkey=" + testKey + ";", "acct", testKey, "http://acct.blob.core.windows.net", ""},
		{"blob endpoint", "AccountName=acct;AccountKey=" + testKey + ";BlobEndpoint=http://127.0.0.1:10000/acct/;QueueEndpoint=http://127.0.0.1:10001/acct",
			"acct", testKey, "http://127.0.0.1:10000/acct", ""},
		{"sas", "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=rl&sig=abc%3D",
			"acct", "", "https://acct.blob.core.windows.net", "sv=2022-11-02&ss=b&srt=co&sp=rl&sig=abc%3D"},
		{"development storage", "UseDevelopmentStorage=true", devAccountName, devAccountKey, devServiceURL, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]any{"container": "reg", "connectionstring": tc.cs}
			if tc.key == "" {
				p["accountname"] = tc.account // a SAS connection string names no account
			}
			c := mustParse(t, p)
			if c.AccountName != tc.account || c.AccountKey != tc.key || c.ServiceURL != tc.serviceURL || c.SASToken != tc.sas {
				t.Errorf("got account %q key %q url %q sas %q\nwant account %q key %q url %q sas %q",
					c.AccountName, c.AccountKey, c.ServiceURL, c.SASToken, tc.account, tc.key, tc.serviceURL, tc.sas)
			}
			want := authSharedKey
			if tc.sas != "" {
				want = authSAS
			}
			if m := mode(t, c); m != want {
				t.Errorf("mode %v, want %v", m, want)
			}
			if again, err := c.normalize(); err != nil || again != c {
				t.Errorf("normalize again: %v, %+v", err, again)
			}
		})
	}
	errCases := []struct {
		name  string
		p     map[string]any
		param string
	}{
		{"no key", map[string]any{"connectionstring": "AccountName=a"}, "connectionstring"},
		{"key and sas", map[string]any{"connectionstring": "AccountName=a;AccountKey=" + testKey + ";SharedAccessSignature=sv=1&sig=x"}, "connectionstring"},
		{"unknown setting", map[string]any{"connectionstring": "AccountName=a;AccountKey=k;Colour=blue"}, "connectionstring"},
		{"not key=value", map[string]any{"connectionstring": "AccountName=a;oops"}, "connectionstring"},
		{"other account", map[string]any{"accountname": "b", "connectionstring": "AccountName=a;AccountKey=" + testKey}, "accountname"},
		{"other key", map[string]any{"accountkey": "b3RoZXI=", "connectionstring": "AccountName=a;AccountKey=" + testKey}, "accountkey"},
		{"other url", map[string]any{"serviceurl": "https://x/a", "connectionstring": "AccountName=a;AccountKey=" + testKey}, "serviceurl"},
		{"dev and more", map[string]any{"connectionstring": "UseDevelopmentStorage=true;AccountName=a"}, "connectionstring"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.p["container"] = "reg"
			_, err := FromParameters(tc.p)
			ce := wantConfigError(t, err, tc.param)
			if strings.Contains(ce.Error(), testKey) {
				t.Errorf("the error shows the key: %v", ce)
			}
		})
	}
}

func TestSASToken(t *testing.T) {
	const sas = "sv=2022-11-02&sr=c&sp=racwdl&se=2030-01-01T00%3A00%3A00Z&sig=abc%3D"
	for _, p := range []map[string]any{
		base(map[string]any{"sastoken": sas}),
		base(map[string]any{"sastoken": "?" + sas}),
		base(map[string]any{"serviceurl": "https://acct.blob.core.windows.net/?" + sas}),
		base(map[string]any{"serviceurl": "https://acct.blob.core.windows.net?" + sas, "sastoken": sas}),
	} {
		c := mustParse(t, p)
		if c.SASToken != sas || c.ServiceURL != "https://acct.blob.core.windows.net" || mode(t, c) != authSAS {
			t.Errorf("%v: SASToken %q ServiceURL %q", p, c.SASToken, c.ServiceURL)
		}
	}
	_, err := FromParameters(base(map[string]any{"serviceurl": "https://acct.blob.core.windows.net?" + sas, "sastoken": "sv=1&sig=other"}))
	wantConfigError(t, err, "sastoken")

	for sas, want := range map[string]bool{
		"sv=1&sr=c&sp=rl&sig=x":              true,
		"sv=1&sr=c&sp=wl&sig=x":              false,
		"sv=1&ss=b&srt=co&sp=r&sig=x":        true,
		"sv=1&ss=qt&srt=co&sp=r&sig=x":       false, // not the blob service
		"sv=1&ss=b&srt=sc&sp=rwdl&sig=x":     false, // no objects
		"sv=1&ss=bfqt&srt=sco&sp=rwdl&sig=x": true,
	} {
		if got := sasAllowsRead(sas); got != want {
			t.Errorf("sasAllowsRead(%s) = %v, want %v", sas, got, want)
		}
	}
}

func TestRetryParameters(t *testing.T) {
	key := map[string]any{"accountkey": testKey}
	cases := []struct {
		name             string
		p                map[string]any
		retries          int
		delay, pollDelay time.Duration
	}{
		{"max_retries", base(map[string]any{"max_retries": 10}), 10, 0, DefaultCopyStatusPollDelay},
		{"max_retries string", base(map[string]any{"max_retries": "10"}), 10, 0, DefaultCopyStatusPollDelay},
		{"max_retries 0 is distribution's default", base(map[string]any{"max_retries": 0}), driver.DefaultMaxRetries, 0, DefaultCopyStatusPollDelay},
		{"both agree", base(map[string]any{"max_retries": 7, "maxretries": 7}), 7, 0, DefaultCopyStatusPollDelay},
		{"maxretries", base(map[string]any{"maxretries": 3}), 3, 0, DefaultCopyStatusPollDelay},
		{"retry_delay", base(map[string]any{"retry_delay": "250ms"}), driver.DefaultMaxRetries, 250 * time.Millisecond, 250 * time.Millisecond},
		{"retry_delay and poll delay", base(map[string]any{"retry_delay": "250ms", "copy_status_poll_delay": "1s"}),
			driver.DefaultMaxRetries, 250 * time.Millisecond, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range key {
				tc.p[k] = v
			}
			c := mustParse(t, tc.p)
			if c.MaxRetries != tc.retries || c.RetryBaseDelay != tc.delay || c.CopyStatusPollDelay != tc.pollDelay {
				t.Errorf("MaxRetries %d RetryBaseDelay %v CopyStatusPollDelay %v, want %d %v %v",
					c.MaxRetries, c.RetryBaseDelay, c.CopyStatusPollDelay, tc.retries, tc.delay, tc.pollDelay)
			}
		})
	}
}

func TestSkipVerifyParameter(t *testing.T) {
	for v, want := range map[any]bool{true: true, "true": true, false: false, "false": false} {
		c := mustParse(t, base(map[string]any{"accountkey": testKey, "skipverify": v}))
		if c.SkipVerify != want {
			t.Errorf("skipverify %v: SkipVerify %v", v, c.SkipVerify)
		}
	}
}

// captureLog returns a logger whose warnings land in the returned buffer.
func captureLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})), &buf
}

// Every parameter of distribution v3.1.2's azure driver
// (registry/storage/driver/azure/parser.go) is read: none is reported
// unknown, so none is ignored silently.
func TestDistributionParametersAllKnown(t *testing.T) {
	log, buf := captureLog()
	mustParse(t, map[string]any{
		"credentials":      map[string]any{"type": "shared_key"},
		"container":        "reg",
		"accountname":      "acct",
		"accountkey":       testKey,
		"connectionstring": "AccountName=acct;AccountKey=" + testKey,
		"realm":            "core.windows.net",
		"rootdirectory":    "/r",
		"serviceurl":       "https://acct.blob.core.windows.net",
		"max_retries":      10,
		"retry_delay":      "100ms",
		"skipverify":       false,
		driver.LoggerParam: log,
	})
	if buf.Len() != 0 {
		t.Errorf("warnings: %s", buf)
	}
}

func TestUnknownParametersWarnOnce(t *testing.T) {
	log, buf := captureLog()
	c := mustParse(t, map[string]any{
		"AccountName": "acct", // honoured, with a warning
		"container":   "reg", "accountkey": testKey,
		"colour": "blue", "shape": "round",
		"credentials":      map[string]any{"type": "shared_key", "Flavour": "x"},
		driver.LoggerParam: log,
	})
	if c.AccountName != "acct" {
		t.Errorf("AccountName = %q: the mixed-case key was not honoured", c.AccountName)
	}
	out := buf.String()
	if n := strings.Count(out, "unknown parameters ignored: colour, shape"); n != 1 {
		t.Errorf("%d warnings naming colour and shape, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `AccountName\" taken as \"accountname\"`) || !strings.Contains(out, `credentials.Flavour\" taken as`) {
		t.Errorf("no warning about AccountName or credentials.Flavour:\n%s", out)
	}
	if !strings.Contains(out, "unknown parameters ignored: credentials.flavour") {
		t.Errorf("no warning about credentials.flavour:\n%s", out)
	}
	if strings.Count(out, "level=WARN") != 4 { // AccountName, Flavour's case, flavour, colour+shape
		t.Errorf("want 4 warnings:\n%s", out)
	}
}

// fakeToken is a token credential that is never asked for a token (the
// parsing tests send no request).
type fakeToken struct{}

func (fakeToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("fakeToken: not for requests")
}
