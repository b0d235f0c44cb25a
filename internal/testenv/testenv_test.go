package testenv

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestRequiredBy(t *testing.T) {
	tests := []struct {
		list, backend string
		want          bool
	}{
		{"", "s3", false},
		{"s3", "s3", true},
		{"S3", "s3", true},
		{"s3", "S3", true},
		{"s3,gcs", "gcs", true},
		{"s3, gcs", "gcs", true},
		{"s3 gcs\tazure", "azure", true},
		{" ,s3,, swift ", "swift", true},
		{"s3,gcs", "azure", false},
		{"s3gcs", "s3", false},
		{"s", "s3", false},
		{"all", "swift", true},
		{"ALL", "gcs", true},
		{"s3,all", "azure", true},
		{"s3", "", false},
		{",", "", false},
	}
	for _, tt := range tests {
		if got := requiredBy(tt.list, tt.backend); got != tt.want {
			t.Errorf("requiredBy(%q, %q) = %v, want %v", tt.list, tt.backend, got, tt.want)
		}
	}
}

func TestRequired(t *testing.T) {
	t.Setenv(RequireEnv, "gcs,swift")
	if !Required("swift") || !Required("gcs") {
		t.Error("Required: backends named in " + RequireEnv + " not required")
	}
	if Required("s3") {
		t.Error("Required(s3) with " + RequireEnv + "=gcs,swift")
	}
	t.Setenv(RequireEnv, "")
	if Required("s3") {
		t.Error("Required(s3) with " + RequireEnv + " empty")
	}
}

// fakeTB records Skip and Fatal, which end the calling goroutine as the real
// ones do. Calling any other testing.TB method panics (nil embedded value).
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// call runs fn with a fakeTB in its own goroutine, so that Skip/Fatal can end
// it, and returns the fake once fn has finished.
func call(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestSettingsSkipsWhenMissing(t *testing.T) {
	t.Setenv(RequireEnv, "gcs")
	t.Setenv(S3Endpoint, "http://127.0.0.1:1")
	t.Setenv(S3Bucket, "")
	f := call(func(tb testing.TB) { Settings(tb, "s3", S3Endpoint, S3Bucket) })
	if !f.skipped || f.failed {
		t.Fatalf("skipped=%v failed=%v, want a skip", f.skipped, f.failed)
	}
	for _, want := range []string{S3Bucket, "testenv/up s3"} {
		if !strings.Contains(f.msg, want) {
			t.Errorf("skip message %q does not mention %q", f.msg, want)
		}
	}
	if strings.Contains(f.msg, S3Endpoint) {
		t.Errorf("skip message %q names %s, which is set", f.msg, S3Endpoint)
	}
}

func TestSettingsFailsWhenRequired(t *testing.T) {
	for _, list := range []string{"s3", "gcs, s3", "all"} {
		t.Setenv(RequireEnv, list)
		t.Setenv(S3Bucket, "")
		f := call(func(tb testing.TB) { S3(tb) })
		if !f.failed || f.skipped {
			t.Fatalf("%s=%q: skipped=%v failed=%v, want a failure", RequireEnv, list, f.skipped, f.failed)
		}
		if !strings.Contains(f.msg, RequireEnv) || !strings.Contains(f.msg, "s3") {
			t.Errorf("failure message %q should name the backend and %s", f.msg, RequireEnv)
		}
	}
}

func TestTypedSettings(t *testing.T) {
	t.Setenv(RequireEnv, "all")
	set := func(kv map[string]string) {
		for k, v := range kv {
			t.Setenv(k, v)
		}
	}
	set(map[string]string{
		S3Endpoint: "http://127.0.0.1:9000", S3Region: "us-east-1", S3AccessKey: "ak", S3SecretKey: "sk", S3Bucket: "b",
		GCSEndpoint: "http://127.0.0.1:4443/storage/v1/", GCSBucket: "g",
		AzureURL: "http://127.0.0.1:10000/devstoreaccount1", AzureAccount: "devstoreaccount1", AzureKey: "a2V5", AzureContainer: "c",
		AzureOAuthURL: "https://127.0.0.1:10001/devstoreaccount1", AzureOAuthCA: "/tmp/cert.pem", AzureOAuthContainer: "o",
		SwiftAuthURL: "http://127.0.0.1:8080/auth/v1.0", SwiftUser: "test:tester", SwiftKey: "testing", SwiftContainer: "s",
	})
	var (
		s3  S3Settings
		gcs GCSSettings
		az  AzureSettings
		azo AzureOAuthSettings
		sw  SwiftSettings
	)
	f := call(func(tb testing.TB) {
		s3, gcs, az, azo, sw = S3(tb), GCS(tb), Azure(tb), AzureOAuth(tb), Swift(tb)
	})
	if f.failed || f.skipped {
		t.Fatalf("unexpected skip/failure: %s", f.msg)
	}
	if want := (S3Settings{"http://127.0.0.1:9000", "us-east-1", "ak", "sk", "b"}); s3 != want {
		t.Errorf("S3 = %+v, want %+v", s3, want)
	}
	if want := (GCSSettings{"http://127.0.0.1:4443/storage/v1/", "g"}); gcs != want {
		t.Errorf("GCS = %+v, want %+v", gcs, want)
	}
	if want := (AzureSettings{"http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", "a2V5", "c"}); az != want {
		t.Errorf("Azure = %+v, want %+v", az, want)
	}
	if want := (AzureOAuthSettings{"https://127.0.0.1:10001/devstoreaccount1", "/tmp/cert.pem", "o"}); azo != want {
		t.Errorf("AzureOAuth = %+v, want %+v", azo, want)
	}
	if want := (SwiftSettings{"http://127.0.0.1:8080/auth/v1.0", "test:tester", "testing", "s"}); sw != want {
		t.Errorf("Swift = %+v, want %+v", sw, want)
	}
}

func TestSettingsDefaultNames(t *testing.T) {
	t.Setenv(RequireEnv, "")
	for b, names := range envNames {
		for _, n := range names {
			t.Setenv(n, "")
		}
		f := call(func(tb testing.TB) { Settings(tb, b) })
		if !f.skipped {
			t.Errorf("Settings(%q) with nothing set did not skip", b)
		}
		for _, n := range names {
			if !strings.Contains(f.msg, n) {
				t.Errorf("Settings(%q) skip message %q does not name %s", b, f.msg, n)
			}
		}
	}
}

// azure-oauth is required by its own name or all, not by azure's; without
// its settings it fails then, naming them and the up command.
func TestAzureOAuthRequired(t *testing.T) {
	for _, tt := range []struct {
		list string
		fail bool
	}{{"azure-oauth", true}, {"all", true}, {"s3, AZURE-OAUTH", true}, {"azure", false}, {"", false}} {
		t.Setenv(RequireEnv, tt.list)
		t.Setenv(AzureOAuthURL, "https://127.0.0.1:1/devstoreaccount1")
		t.Setenv(AzureOAuthContainer, "c")
		t.Setenv(AzureOAuthCA, "")
		f := call(func(tb testing.TB) { AzureOAuth(tb) })
		if f.failed != tt.fail || f.skipped == tt.fail {
			t.Errorf("%s=%q: failed=%v skipped=%v, want failed=%v", RequireEnv, tt.list, f.failed, f.skipped, tt.fail)
		}
		for _, want := range []string{AzureOAuthCA, "testenv/up azure-oauth"} {
			if !strings.Contains(f.msg, want) {
				t.Errorf("%s=%q: message %q does not mention %q", RequireEnv, tt.list, f.msg, want)
			}
		}
	}
}
