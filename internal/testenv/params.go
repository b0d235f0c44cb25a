package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// Params returns distribution-style driver parameters (as driver.Open and
// the stowage command's --param take them) for backend's test server,
// under root as the root directory: a fresh unique one when root is "".
// It skips or fails t as Settings does when the server is not configured.
// inmemory gets no parameters and filesystem a temporary directory of t.
// gcs needs no credentials for fake-gcs-server; signing keys are the
// caller's business.
func Params(t testing.TB, backend, root string) map[string]any {
	t.Helper()
	if root == "" {
		root = UniqueRoot(t)
	}
	switch backend {
	case "inmemory":
		return map[string]any{}
	case "filesystem":
		return map[string]any{"rootdirectory": t.TempDir()}
	case "s3":
		env := S3(t)
		return map[string]any{
			"bucket": env.Bucket, "region": env.Region, "regionendpoint": env.Endpoint, "forcepathstyle": true,
			"accesskey": env.AccessKey, "secretkey": env.SecretKey, "rootdirectory": root,
			// No client-side rate limit (s3's default is 350 requests/s)
			// against the loopback MinIO; the limiter has tests of its own.
			"maxrequestspersecond": 0,
		}
	case "gcs":
		env := GCS(t)
		return map[string]any{"bucket": env.Bucket, "endpoint": env.Endpoint, "rootdirectory": root}
	case "azure":
		env := Azure(t)
		return map[string]any{
			"accountname": env.Account, "accountkey": env.Key, "container": env.Container,
			"serviceurl": env.URL, "rootdirectory": root,
		}
	case "swift":
		env := Swift(t)
		return map[string]any{
			"authurl": env.AuthURL, "username": env.User, "password": env.Key,
			"container": env.Container, "rootdirectory": root,
		}
	}
	t.Fatalf("testenv: no parameters for backend %q", backend)
	return nil
}

// UniqueRoot returns a fresh root directory name, "t-" and 16 hex digits.
func UniqueRoot(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random root: %v", err)
	}
	return "t-" + hex.EncodeToString(b[:])
}

// Backends are the backends Params knows, local ones first.
var Backends = []string{"inmemory", "filesystem", "s3", "gcs", "azure", "swift"}
