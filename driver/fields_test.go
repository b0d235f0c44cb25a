package driver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/internal/recorder"
)

func TestFieldsHonourMixedCaseKeysWithAWarning(t *testing.T) {
	logs := &recorder.Logs{}
	var c CommonConfig
	var bucket string
	f := c.Fields("x", map[string]any{"RootDirectory": "/r", "Bucket": "b", "logger": logs.Logger()})
	f.String("bucket", &bucket)
	if err := f.Done(); err != nil {
		t.Fatal(err)
	}
	if c.RootDirectory != "/r" || bucket != "b" {
		t.Fatalf("RootDirectory %q, bucket %q: mixed-case keys not honoured", c.RootDirectory, bucket)
	}
	msgs := logs.Messages()
	if len(msgs) != 2 || !strings.Contains(msgs[0], `"Bucket" taken as "bucket"`) || !strings.Contains(msgs[1], `"RootDirectory" taken as "rootdirectory"`) {
		t.Errorf("warnings = %q, want one per mixed-case key", msgs)
	}
	if c.Logger == nil {
		t.Error("the logger parameter did not reach CommonConfig.Logger")
	}
}

func TestFieldsKeysDifferingOnlyInCase(t *testing.T) {
	var c CommonConfig
	err := c.Fields("x", map[string]any{"bucket": "a", "BUCKET": "b"}).Done()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Parameter != "bucket" || !strings.Contains(err.Error(), "given twice") {
		t.Fatalf("err = %v, want a *ConfigError saying bucket is given twice", err)
	}
}

func TestFieldsDoneWarnsOnceAboutUnknownKeys(t *testing.T) {
	logs := &recorder.Logs{}
	var c CommonConfig
	var v string
	var raw any
	f := c.Fields("x", map[string]any{"bucket": "b", "rootdir": "/typo", "zeta": 1, "credentials": map[string]any{}, "logger": logs.Logger()})
	f.String("bucket", &v)
	raw, _ = f.Value("credentials")
	if err := f.Done(); err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		t.Error("Value did not return the raw credentials")
	}
	msgs := logs.Messages()
	if len(msgs) != 1 || msgs[0] != "x: unknown parameters ignored: rootdir, zeta" {
		t.Errorf("warnings = %q, want one naming rootdir and zeta", msgs)
	}
	if got := f.Unknown(); !reflect.DeepEqual(got, []string{"rootdir", "zeta"}) {
		t.Errorf("Unknown = %q", got)
	}
}

func TestFieldsRejectRequireFail(t *testing.T) {
	var c CommonConfig
	f := c.Fields("x", map[string]any{"accelerate": true, "region": ""})
	f.Reject("accelerate", "use regionendpoint")
	f.Reject("absent", "never given")
	err := f.Done()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Parameter != "accelerate" || !strings.Contains(err.Error(), "not supported: use regionendpoint") {
		t.Fatalf("Reject: %v", err)
	}

	f = c.Fields("x", map[string]any{"region": ""})
	f.Require("bucket", "region", "accountname")
	err = f.Done()
	var missing *MissingParametersError
	if !errors.As(err, &ce) || !errors.As(err, &missing) || !reflect.DeepEqual(missing.Parameters, []string{"bucket", "region", "accountname"}) {
		t.Fatalf("Require: %v, want every missing parameter in one error", err)
	}
	if err.Error() != "x: missing required parameters bucket, region, accountname" {
		t.Errorf("message %q", err)
	}

	f = c.Fields("x", map[string]any{"a": "1"})
	f.Fail("a", "bad %d", 1)
	f.Fail("a", "second")
	if err := f.Done(); err == nil || !strings.Contains(err.Error(), "bad 1") {
		t.Errorf("Fail kept %v, want the first error", err)
	}
}

func TestParamsStringTakesYAMLNumbers(t *testing.T) {
	p := Params{DriverName: "x", Values: map[string]any{"tenantid": 123456, "f": 1.5, "b": true}}
	for key, want := range map[string]string{"tenantid": "123456", "f": "1.5", "b": "true"} {
		if got, err := p.String(key, ""); err != nil || got != want {
			t.Errorf("String(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
}

func TestMaxRequestsPerSecondParameter(t *testing.T) {
	for _, tc := range []struct {
		value any
		want  float64
		bad   bool
	}{{"350", 350, false}, {2.5, 2.5, false}, {0, -1, false}, {"0", -1, false}, {-3, 0, true}, {"fast", 0, true}} {
		var c CommonConfig
		err := c.Fields("x", map[string]any{"maxrequestspersecond": tc.value}).Done()
		var ce *ConfigError
		switch {
		case tc.bad && (!errors.As(err, &ce) || ce.Parameter != "maxrequestspersecond"):
			t.Errorf("%v: err = %v, want a *ConfigError naming maxrequestspersecond", tc.value, err)
		case !tc.bad && (err != nil || c.MaxRequestsPerSecond != tc.want):
			t.Errorf("%v: MaxRequestsPerSecond %v, err %v; want %v", tc.value, c.MaxRequestsPerSecond, err, tc.want)
		}
	}
}

func TestClientRateLimits(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer srv.Close()
	ev := &recorder.Events{}
	c := CommonConfig{MaxRequestsPerSecond: 1, Observer: ev}
	hc := c.Client("x", false)
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for range RateLimitBurst {
		if err := get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The bucket is empty: a request whose context has ended returns at
	// once with the context's error, and is never sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("request with an ended context = %v, want context.Canceled", err)
	}
	if n := served.Load(); n != RateLimitBurst {
		t.Fatalf("server saw %d requests, want %d", n, RateLimitBurst)
	}
	// The next one waits for a token (a second at 1 request/s) and says so.
	if err := get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waits := ev.Waits(); len(waits) != 1 || waits[0] <= 0 {
		t.Errorf("RateLimited events = %v, want one wait", waits)
	}
	if none := (&CommonConfig{}).Client("x", false); none.Transport != nil && reflect.TypeOf(none.Transport) == reflect.TypeOf(&limitedTransport{}) {
		t.Error("a config without a limit got a rate-limited client")
	}
}

func TestBatchDeleterReportsBatchesAndRetries(t *testing.T) {
	b := &fakeBackend{answer: func(round int, key string) error {
		switch {
		case key == "root/t" && round == 0:
			return errTransient
		case key == "root/m":
			return errMissing
		case key == "root/f":
			return errFatal
		}
		return nil
	}}
	ev := &recorder.Events{}
	d := testDeleter(b, 5)
	d.Config.Observer = ev
	d.Batch(context.Background(), "DeleteFiles", objects("root/a", "root/t", "root/m", "root/f"))
	if want := []recorder.Batch{{Size: 4, Failed: 2}, {Size: 1, Failed: 0}}; !reflect.DeepEqual(ev.Batches(), want) {
		t.Errorf("DeleteBatch events = %v, want %v (a missing object counts as deleted)", ev.Batches(), want)
	}
	if len(ev.Retries()) != 1 {
		t.Errorf("Retried events = %v, want one retry round", ev.Retries())
	}
}
