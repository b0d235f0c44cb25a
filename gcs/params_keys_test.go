package gcs_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/recorder"
)

// parseLogged runs FromParameters on params with a logger that records
// its warnings.
func parseLogged(t *testing.T, params map[string]any) (gcs.Config, []string, error) {
	t.Helper()
	logs := &recorder.Logs{MinLevel: slog.LevelDebug}
	p := map[string]any{driver.LoggerParam: logs.Logger()}
	for k, v := range params {
		p[k] = v
	}
	c, err := gcs.FromParameters(p)
	return c, logs.Messages(), err
}

// credentialsMap is the credentials parameter as YAML gives
// distribution's map form.
func credentialsMap(t *testing.T) map[any]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(serviceAccountJSON(t, "http://127.0.0.1:1/token"), &m); err != nil {
		t.Fatal(err)
	}
	out := map[any]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Every parameter of distribution v3.1.2's gcs driver
// (registry/storage/driver/gcs/gcs.go FromParameters: bucket, keyfile or
// credentials, rootdirectory, chunksize, useragent, maxconcurrency) is
// read: a configuration with all of them parses without a warning about
// unknown ones, and each reaches its field.
func TestFromParametersDistributionKeysAllKnown(t *testing.T) {
	keyfile := filepath.Join(t.TempDir(), "k.json")
	if err := os.WriteFile(keyfile, serviceAccountJSON(t, "http://127.0.0.1:1/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]map[string]any{
		"keyfile":     {"keyfile": keyfile},
		"credentials": {"credentials": credentialsMap(t)},
	} {
		params := map[string]any{
			"bucket":         "registry",
			"rootdirectory":  "/docker/",
			"chunksize":      5 << 20,
			"useragent":      "registry/3.1.2",
			"maxconcurrency": 50,
		}
		for k, v := range auth {
			params[k] = v
		}
		c, logs, err := parseLogged(t, params)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(logs) != 0 {
			t.Errorf("%s: warnings for distribution's own parameters: %q", name, logs)
		}
		if c.Bucket != "registry" || c.RootDirectory != "docker" || c.ChunkSize != 5<<20 || c.UserAgent != "registry/3.1.2" ||
			c.MaxConcurrency != 50 || c.GoogleAccessID != testAccessID || len(c.Credentials) == 0 || c.Anonymous {
			t.Errorf("%s: %+v", name, c)
		}
	}
}

// An unknown parameter is logged in one warning naming it; a known one
// in another case is honoured, with a warning of its own.
func TestFromParametersUnknownAndMixedCase(t *testing.T) {
	c, logs, err := parseLogged(t, map[string]any{"bucket": "b", "UserAgent": "ua/1", "rootdir": "/typo"})
	if err != nil {
		t.Fatal(err)
	}
	if c.UserAgent != "ua/1" {
		t.Errorf("UserAgent = %q, want the value of \"UserAgent\"", c.UserAgent)
	}
	var unknown, cased []string
	for _, m := range logs {
		switch {
		case strings.Contains(m, "unknown parameters"):
			unknown = append(unknown, m)
		case strings.Contains(m, `"UserAgent"`):
			cased = append(cased, m)
		default:
			t.Errorf("unexpected warning %q", m)
		}
	}
	if len(unknown) != 1 || !strings.Contains(unknown[0], "rootdir") || strings.Contains(unknown[0], "useragent") {
		t.Errorf("unknown-parameter warnings %q, want one naming rootdir only", unknown)
	}
	if len(cased) != 1 {
		t.Errorf("mixed-case warnings %q, want one", cased)
	}
}

// keyfile and credentials together would leave one unused: an error
// naming credentials. A credentials value of the wrong kind names it too.
func TestFromParametersKeyFileAndCredentials(t *testing.T) {
	keyfile := filepath.Join(t.TempDir(), "k.json")
	if err := os.WriteFile(keyfile, serviceAccountJSON(t, "http://127.0.0.1:1/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, params := range map[string]map[string]any{
		"both":       {"bucket": "b", "keyfile": keyfile, "credentials": credentialsMap(t)},
		"wrong kind": {"bucket": "b", "credentials": 7},
	} {
		_, err := gcs.FromParameters(params)
		var ce *driver.ConfigError
		if !errors.As(err, &ce) || ce.Parameter != "credentials" {
			t.Errorf("%s: %v, want a ConfigError naming credentials", name, err)
		}
	}
	_, err := gcs.FromParameters(map[string]any{})
	var mp *driver.MissingParametersError
	if !errors.As(err, &mp) || !slices.Equal(mp.Parameters, []string{"bucket"}) {
		t.Errorf("no bucket: %v, want a MissingParametersError naming bucket", err)
	}
}
