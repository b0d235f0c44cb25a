package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

const testKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func TestFromParametersDefaults(t *testing.T) {
	c, err := FromParameters(map[string]any{"accountname": "acct", "accountkey": testKey, "container": "reg"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		AccountName: "acct",
		AccountKey:  testKey,
		Container:   "reg",
		Realm:       DefaultRealm,
		ServiceURL:  "https://acct.blob.core.windows.net",
		CommonConfig: driver.CommonConfig{
			MaxRetries:      driver.DefaultMaxRetries,
			RetryMaxBackoff: 20 * time.Second,
			MaxConcurrency:  driver.DefaultMaxConcurrency,
			DeleteBatchSize: MaxDeleteBatchSize,
		},
		ChunkSize:              DefaultChunkSize,
		CopyStatusPollDelay:    DefaultCopyStatusPollDelay,
		CopyStatusPollMaxRetry: DefaultCopyStatusPollMaxRetry,
	}
	c.Logger = nil
	if c != want {
		t.Errorf("FromParameters = %+v\nwant %+v", c, want)
	}
}

func TestFromParametersAll(t *testing.T) {
	hc := &http.Client{}
	c, err := FromParameters(map[string]any{
		"accountname":                "devstoreaccount1",
		"accountkey":                 testKey,
		"container":                  "reg",
		"realm":                      "core.chinacloudapi.cn",
		"serviceurl":                 "http://127.0.0.1:10000/devstoreaccount1/",
		"rootdirectory":              "/registry/v2/",
		"chunksize":                  "16mb",
		"maxretries":                 "0",
		"maxconcurrency":             3,
		"deletebatchsize":            "100",
		"copy_status_poll_delay":     "250ms",
		"copy_status_poll_max_retry": 7,
		"credentials":                map[string]any{"type": "shared_key"},
		driver.HTTPClientParam:       hc,
		"unknownparameter":           "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ServiceURL", c.ServiceURL, "http://127.0.0.1:10000/devstoreaccount1"},
		{"Realm", c.Realm, "core.chinacloudapi.cn"},
		{"RootDirectory", c.RootDirectory, "registry/v2"},
		{"ChunkSize", c.ChunkSize, int64(16 << 20)},
		{"MaxRetries", c.MaxRetries, -1},
		{"MaxConcurrency", c.MaxConcurrency, 3},
		{"DeleteBatchSize", c.DeleteBatchSize, 100},
		{"CopyStatusPollDelay", c.CopyStatusPollDelay, 250 * time.Millisecond},
		{"CopyStatusPollMaxRetry", c.CopyStatusPollMaxRetry, 7},
		{"HTTPClient", c.HTTPClient, hc},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestFromParametersRealm(t *testing.T) {
	c, err := FromParameters(map[string]any{"accountname": "a", "accountkey": testKey, "container": "c", "realm": "core.usgovcloudapi.net"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://a.blob.core.usgovcloudapi.net"; c.ServiceURL != want {
		t.Errorf("ServiceURL = %q, want %q", c.ServiceURL, want)
	}
}

func TestFromParametersDeleteBatchSizeCapped(t *testing.T) {
	c, err := FromParameters(map[string]any{"accountname": "a", "accountkey": testKey, "container": "c", "deletebatchsize": 1000})
	if err != nil {
		t.Fatal(err)
	}
	if c.DeleteBatchSize != MaxDeleteBatchSize {
		t.Errorf("DeleteBatchSize = %d, want it capped at %d", c.DeleteBatchSize, MaxDeleteBatchSize)
	}
}

func TestFromParametersErrors(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"accountname": "a", "accountkey": testKey, "container": "c"}
	}
	cases := []struct {
		param string
		value any // nil: delete the parameter
	}{
		{"accountname", nil},
		{"accountkey", nil},
		{"container", nil},
		{"serviceurl", "ftp://host/x"},
		{"serviceurl", "not a url"},
		{"rootdirectory", "a//b"},
		{"chunksize", "5000mb"},
		{"chunksize", 0},
		{"chunksize", "lots"},
		{"maxretries", -1},
		{"maxconcurrency", -2},
		{"deletebatchsize", 0},
		{"copy_status_poll_max_retry", -1},
		{"copy_status_poll_delay", "soon"},
		{"connectionstring", "DefaultEndpointsProtocol=https;AccountName=a"}, // no key nor SAS
		{"credentials.type", map[string]any{"type": "certificate"}},
		{driver.HTTPClientParam, "not a client"},
		{"accountname", []string{"a"}},
	}
	for _, tc := range cases {
		p := base()
		if tc.value == nil {
			delete(p, tc.param)
		} else {
			p[tc.param] = tc.value
		}
		if tc.param == "credentials.type" { // a key of the credentials map
			delete(p, tc.param)
			p["credentials"] = tc.value
		}
		_, err := FromParameters(p)
		var ce *driver.ConfigError
		if !errors.As(err, &ce) || ce.DriverName != DriverName || ce.Parameter != tc.param {
			t.Errorf("%s=%v: error %v, want a ConfigError naming %q", tc.param, tc.value, err, tc.param)
		}
	}
}

// A bad account key is reported when the driver is built, not on first use.
func TestNewBadKey(t *testing.T) {
	_, err := New(context.Background(), Config{AccountName: "a", AccountKey: "not base64!", Container: "c"})
	var ce *driver.ConfigError
	if !errors.As(err, &ce) || ce.Parameter != "accountkey" {
		t.Errorf("New with a bad key: %v, want a ConfigError naming accountkey", err)
	}
}

func TestOpenRegistered(t *testing.T) {
	d, err := driver.Open(context.Background(), "azure", map[string]any{
		"accountname": "a", "accountkey": testKey, "container": "c", "rootdirectory": "/x/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != DriverName {
		t.Errorf("Name() = %q", d.Name())
	}
	u, err := d.URLFor(context.Background(), "/a/b", map[string]any{"method": "HEAD"})
	if err != nil || !strings.HasPrefix(u, "https://a.blob.core.windows.net/c/x%2Fa%2Fb?") || !strings.Contains(u, "sp=r") || !strings.Contains(u, "spr=https&") {
		t.Errorf("URLFor = %q, %v", u, err)
	}
	_, err = d.URLFor(context.Background(), "/a/b", map[string]any{"method": "PUT"})
	if !errors.Is(err, driver.ErrUnsupportedMethod) {
		t.Errorf("URLFor(PUT): %v, want ErrUnsupportedMethod", err)
	}
}

func TestBlockIDs(t *testing.T) {
	for _, c := range []struct{ gen, idx uint32 }{{1, 0}, {1, 1}, {0xffffffff, 0xffffffff}, {7, 50000}} {
		id := blockID(c.gen, c.idx)
		if len(id) != len(blockID(0, 0)) {
			t.Errorf("blockID(%d, %d) = %q has another length", c.gen, c.idx, id)
		}
		g, i, ok := parseBlockID(id)
		if !ok || g != c.gen || i != c.idx {
			t.Errorf("parseBlockID(blockID(%d, %d)) = %d, %d, %v", c.gen, c.idx, g, i, ok)
		}
	}
	for _, id := range []string{"", "Zm9yZWlnbg==", "not base64", blockID(1, 2) + "A"} {
		if _, _, ok := parseBlockID(id); ok {
			t.Errorf("parseBlockID(%q) accepted a foreign ID", id)
		}
	}
	s := readSession(
		[]string{blockID(1, 1), blockID(2, 2), blockID(2, 0), "Zm9yZWlnbg==", blockID(2, 1), blockID(1, 2)},
		[]int64{10, 20, 1, 5, 30, 40})
	if !s.resumable() || s.maxGen != 2 || s.foreign != 1 || len(s.data) != 2 || s.data[0].idx != 1 || s.data[1].size != 20 {
		t.Errorf("readSession = %+v", s)
	}
	s = readSession([]string{blockID(3, 1), blockID(3, markerCancelled)}, []int64{1, 1})
	if s.resumable() {
		t.Errorf("a cancelled generation is resumable: %+v", s)
	}
}
