// Package testenv gives tests the settings of the test servers that
// testenv/up starts on loopback (MinIO, fake-gcs-server, Azurite, a second
// Azurite over https with OAuth, OpenStack Swift), read from the STOWAGE_*
// environment variables it prints:
//
//	eval "$(testenv/up)"
//	go test ./...
//	testenv/down
//
// A test whose server is not configured is skipped, with a message saying how
// to start it, unless STOWAGE_REQUIRE_BACKENDS names its backend: then it
// fails, so that CI cannot pass by skipping.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// RequireEnv is the environment variable that lists the backends whose tests
// must run: backend names separated by commas or spaces, or "all".
const RequireEnv = "STOWAGE_REQUIRE_BACKENDS"

// Names of the environment variables testenv/up sets, per backend.
const (
	S3Endpoint  = "STOWAGE_S3_ENDPOINT"   // http://127.0.0.1:PORT
	S3Region    = "STOWAGE_S3_REGION"     // us-east-1
	S3AccessKey = "STOWAGE_S3_ACCESS_KEY" // access key id
	S3SecretKey = "STOWAGE_S3_SECRET_KEY" // secret access key
	S3Bucket    = "STOWAGE_S3_BUCKET"     // an existing bucket

	GCSEndpoint = "STOWAGE_GCS_ENDPOINT" // http://127.0.0.1:PORT/storage/v1/ (for option.WithEndpoint)
	GCSBucket   = "STOWAGE_GCS_BUCKET"   // an existing bucket

	AzureURL       = "STOWAGE_AZURE_URL"       // http://127.0.0.1:PORT/devstoreaccount1
	AzureAccount   = "STOWAGE_AZURE_ACCOUNT"   // devstoreaccount1
	AzureKey       = "STOWAGE_AZURE_KEY"       // base64 shared key
	AzureContainer = "STOWAGE_AZURE_CONTAINER" // an existing container

	// The "azure-oauth" server: Azurite over https with --oauth basic.
	AzureOAuthURL       = "STOWAGE_AZURE_OAUTH_URL"       // https://127.0.0.1:PORT/devstoreaccount1
	AzureOAuthCA        = "STOWAGE_AZURE_OAUTH_CA"        // path of its self-signed certificate (PEM)
	AzureOAuthContainer = "STOWAGE_AZURE_OAUTH_CONTAINER" // an existing container

	SwiftAuthURL   = "STOWAGE_SWIFT_AUTH_URL"  // http://127.0.0.1:PORT/auth/v1.0
	SwiftUser      = "STOWAGE_SWIFT_USER"      // test:tester
	SwiftKey       = "STOWAGE_SWIFT_KEY"       // testing
	SwiftContainer = "STOWAGE_SWIFT_CONTAINER" // an existing container
)

// envNames lists every variable of each backend testenv/up starts.
var envNames = map[string][]string{
	"s3":          {S3Endpoint, S3Region, S3AccessKey, S3SecretKey, S3Bucket},
	"gcs":         {GCSEndpoint, GCSBucket},
	"azure":       {AzureURL, AzureAccount, AzureKey, AzureContainer},
	"azure-oauth": {AzureOAuthURL, AzureOAuthCA, AzureOAuthContainer},
	"swift":       {SwiftAuthURL, SwiftUser, SwiftKey, SwiftContainer},
}

// Settings returns the values of the named environment variables for backend
// (e.g. "s3"). With no names it uses all of that backend's variables listed
// above. When any is missing or empty it calls t.Skip with a message saying
// to run `eval "$(testenv/up)"` — unless STOWAGE_REQUIRE_BACKENDS names the
// backend, in which case it calls t.Fatal.
func Settings(t testing.TB, backend string, names ...string) map[string]string {
	t.Helper()
	if len(names) == 0 {
		names = envNames[strings.ToLower(backend)]
	}
	values := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			missing = append(missing, n)
		}
		values[n] = v
	}
	if len(missing) > 0 {
		msg := backend + " test server not configured (" + strings.Join(missing, ", ") +
			" not set): run `eval \"$(testenv/up " + strings.ToLower(backend) + ")\"` to start it"
		if Required(backend) {
			t.Fatal(msg + "; " + RequireEnv + " requires " + backend)
		}
		t.Skip(msg)
	}
	return values
}

// Required reports whether STOWAGE_REQUIRE_BACKENDS names backend (or says
// "all"), meaning its tests must fail rather than skip without a server.
func Required(backend string) bool {
	return requiredBy(os.Getenv(RequireEnv), backend)
}

// requiredBy reports whether list, a value of STOWAGE_REQUIRE_BACKENDS,
// names backend. Names are separated by commas and/or white space and
// compared without regard to case; "all" names every backend.
func requiredBy(list, backend string) bool {
	backend = strings.TrimSpace(backend)
	for _, f := range strings.FieldsFunc(list, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		if strings.EqualFold(f, "all") || (backend != "" && strings.EqualFold(f, backend)) {
			return true
		}
	}
	return false
}

// S3Settings are the settings of the S3 server (MinIO). Use path-style
// addressing with it.
type S3Settings struct {
	Endpoint  string // http://127.0.0.1:PORT
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
}

// S3 returns the S3 server's settings, or skips/fails t as Settings does.
func S3(t testing.TB) S3Settings {
	t.Helper()
	v := Settings(t, "s3")
	return S3Settings{
		Endpoint:  v[S3Endpoint],
		Region:    v[S3Region],
		AccessKey: v[S3AccessKey],
		SecretKey: v[S3SecretKey],
		Bucket:    v[S3Bucket],
	}
}

// GCSSettings are the settings of the GCS server (fake-gcs-server). It needs
// no credentials: use option.WithoutAuthentication.
type GCSSettings struct {
	Endpoint string // http://127.0.0.1:PORT/storage/v1/, for option.WithEndpoint
	Bucket   string
}

// GCS returns the GCS server's settings, or skips/fails t as Settings does.
func GCS(t testing.TB) GCSSettings {
	t.Helper()
	v := Settings(t, "gcs")
	return GCSSettings{Endpoint: v[GCSEndpoint], Bucket: v[GCSBucket]}
}

// AzureSettings are the settings of the Azure Blob server (Azurite).
type AzureSettings struct {
	URL       string // service URL, http://127.0.0.1:PORT/devstoreaccount1
	Account   string
	Key       string // base64 shared key
	Container string
}

// Azure returns the Azure server's settings, or skips/fails t as Settings does.
func Azure(t testing.TB) AzureSettings {
	t.Helper()
	v := Settings(t, "azure")
	return AzureSettings{
		URL:       v[AzureURL],
		Account:   v[AzureAccount],
		Key:       v[AzureKey],
		Container: v[AzureContainer],
	}
}

// AzureOAuthSettings are the settings of the "azure-oauth" server: Azurite
// over https, with a self-signed certificate for 127.0.0.1, and --oauth
// basic, so that it takes bearer tokens. It checks a token's issuer (a
// Microsoft Entra one, https://sts.windows.net/<tenant>/ …), audience
// (https://storage.azure.com, or the account's blob endpoint) and
// lifetime (nbf, exp, iat present), not its signature. Its account is
// Azurite's development account, whose Shared Key it takes too.
type AzureOAuthSettings struct {
	URL       string // service URL, https://127.0.0.1:PORT/devstoreaccount1
	CA        string // path of the server's certificate (PEM), to trust as a root
	Container string
}

// AzureOAuth returns the "azure-oauth" server's settings, or skips/fails t
// as Settings does (STOWAGE_REQUIRE_BACKENDS names it as azure-oauth, or
// all).
func AzureOAuth(t testing.TB) AzureOAuthSettings {
	t.Helper()
	v := Settings(t, "azure-oauth")
	return AzureOAuthSettings{URL: v[AzureOAuthURL], CA: v[AzureOAuthCA], Container: v[AzureOAuthContainer]}
}

// SwiftSettings are the settings of the Swift server (tempauth, v1.0 auth).
type SwiftSettings struct {
	AuthURL   string // http://127.0.0.1:PORT/auth/v1.0
	User      string // account:user, e.g. test:tester
	Key       string
	Container string // exists, and so does Container+"_segments"
}

// Swift returns the Swift server's settings, or skips/fails t as Settings does.
func Swift(t testing.TB) SwiftSettings {
	t.Helper()
	v := Settings(t, "swift")
	return SwiftSettings{
		AuthURL:   v[SwiftAuthURL],
		User:      v[SwiftUser],
		Key:       v[SwiftKey],
		Container: v[SwiftContainer],
	}
}
