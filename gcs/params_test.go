package gcs_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
)

func TestFromParametersDefaults(t *testing.T) {
	c, err := gcs.FromParameters(map[string]any{"bucket": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != gcs.DefaultEndpoint || c.Anonymous || c.ChunkSize != gcs.DefaultChunkSize ||
		c.DeleteBatchSize != gcs.MaxDeleteBatchSize || c.MaxConcurrency != gcs.DefaultMaxConcurrency ||
		c.MaxRetries != gcs.DefaultMaxRetries || c.GoogleAccessID != "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFromParametersValues(t *testing.T) {
	hc := &http.Client{}
	c, err := gcs.FromParameters(map[string]any{
		"bucket":               "b",
		"rootdirectory":        "/docker/",
		"endpoint":             "127.0.0.1:4443",
		"chunksize":            "1mb",
		"maxconcurrency":       "4",
		"deletebatchsize":      500, // capped
		"maxretries":           0,   // none
		driver.HTTPClientParam: hc,
		"credentials": map[any]any{ // as YAML decodes distribution's map
			"type":         "service_account",
			"client_email": testAccessID,
			"private_key":  string(testKeyPEM(t)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.RootDirectory != "docker":
		t.Errorf("RootDirectory %q", c.RootDirectory)
	case c.Endpoint != "https://127.0.0.1:4443/storage/v1/":
		t.Errorf("Endpoint %q", c.Endpoint)
	case c.Anonymous:
		t.Error("Anonymous with credentials")
	case c.ChunkSize != 1<<20 || c.MaxConcurrency != 4 || c.DeleteBatchSize != 100 || c.MaxRetries != -1:
		t.Errorf("sizes: %+v", c)
	case c.HTTPClient != hc:
		t.Error("HTTPClient not taken")
	case c.GoogleAccessID != testAccessID || len(c.PrivateKey) == 0:
		t.Errorf("signing key not taken from credentials: %q", c.GoogleAccessID)
	}

	c, err = gcs.FromParameters(map[string]any{"bucket": "b", "endpoint": "http://127.0.0.1:4443/storage/v1/"})
	if err != nil || !c.Anonymous {
		t.Errorf("an endpoint without credentials: Anonymous %v, %v; want true", c.Anonymous, err)
	}
	c, err = gcs.FromParameters(map[string]any{"bucket": "b", "endpoint": "http://h/storage/v1/", "anonymous": "false"})
	if err != nil || c.Anonymous {
		t.Errorf("anonymous=false: %v, %v", c.Anonymous, err)
	}
}

func TestFromParametersKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.json")
	if err := os.WriteFile(p, serviceAccountJSON(t, "http://127.0.0.1:1/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := gcs.FromParameters(map[string]any{"bucket": "b", "keyfile": p})
	if err != nil || c.GoogleAccessID != testAccessID || len(c.Credentials) == 0 {
		t.Fatalf("keyfile: %q, %v", c.GoogleAccessID, err)
	}
	// Building the driver loads the credentials but sends nothing.
	if _, err := gcs.New(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func TestFromParametersErrors(t *testing.T) {
	for name, params := range map[string]map[string]any{
		"bucket":          {},
		"chunksize":       {"bucket": "b", "chunksize": "1k"},
		"maxretries":      {"bucket": "b", "maxretries": -1},
		"deletebatchsize": {"bucket": "b", "deletebatchsize": "0"},
		"maxconcurrency":  {"bucket": "b", "maxconcurrency": "x"},
		"keyfile":         {"bucket": "b", "keyfile": "/nonexistent/key.json"},
		"credentials":     {"bucket": "b", "credentials": "{not json"},
		"endpoint":        {"bucket": "b", "endpoint": "ftp://h/"},
		"httpclient":      {"bucket": "b", driver.HTTPClientParam: "x"},
		"rootdirectory":   {"bucket": "b", "rootdirectory": "a//b"},
		"googleaccessid":  {"bucket": "b", "googleaccessid": "x@y"},
	} {
		_, err := gcs.FromParameters(params)
		var ce *driver.ConfigError
		if !errors.As(err, &ce) || ce.Parameter != name {
			t.Errorf("%s: %v, want a ConfigError naming %s", name, err, name)
		}
	}
	_, err := driver.Open(context.Background(), "gcs", map[string]any{"bucket": "b",
		"credentials": `{"type":"no_such_type"}`})
	var ce *driver.ConfigError
	if !errors.As(err, &ce) || ce.Parameter != "credentials" {
		t.Errorf("unknown credentials type: %v", err)
	}
}
