package gcs_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// fake-gcs-server serves signed URLs without checking the signature, so
// the conformance suite only proves that the URL reaches the object. This
// test checks the signature itself: it rebuilds the V4 string to sign from
// the URL, as GCS does (https://cloud.google.com/storage/docs/authentication/signatures),
// and verifies it with the public half of the key.
func TestURLForSignatureVerifies(t *testing.T) {
	d := newDriver(t, gcs.Config{
		CommonConfig:   driver.CommonConfig{RootDirectory: "docker"},
		Bucket:         "registry-bucket",
		GoogleAccessID: testAccessID, PrivateKey: testKeyPEM(t), Anonymous: true,
	})
	for _, method := range []string{"GET", "HEAD"} {
		s, err := d.URLFor(context.Background(), "/v2/blobs/sha256/ab/data", map[string]any{
			"method": method, "expiry": time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != "https" || u.Host != "storage.googleapis.com" || u.Path != "/registry-bucket/docker/v2/blobs/sha256/ab/data" {
			t.Errorf("URL %s: want https://storage.googleapis.com/registry-bucket/docker/v2/blobs/sha256/ab/data", s)
		}
		q := u.Query()
		if exp := q.Get("X-Goog-Expires"); exp != "3600" && exp != "3599" {
			t.Errorf("X-Goog-Expires = %s, want about 3600", exp)
		}
		if err := verifyV4(method, u, &testRSAKey(t).PublicKey); err != nil {
			t.Errorf("%s URL %s: %v", method, s, err)
		}
		// A changed method or path breaks it.
		other := *u
		other.Path += "x"
		if verifyV4(method, &other, &testRSAKey(t).PublicKey) == nil {
			t.Errorf("%s URL still verifies for another path", method)
		}
	}
}

// An expiry beyond what V4 signs (7 days) gives a URL valid for 7 days,
// not an error (the SDK refuses to sign a longer one).
func TestURLForCapsExpiry(t *testing.T) {
	d := newDriver(t, gcs.Config{
		Bucket:         "registry-bucket",
		GoogleAccessID: testAccessID, PrivateKey: testKeyPEM(t), Anonymous: true,
	})
	s, err := d.URLFor(context.Background(), "/f", map[string]any{"expiry": time.Now().AddDate(1, 0, 0)})
	if err != nil {
		t.Fatalf("URLFor a year ahead: %v", err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if exp := u.Query().Get("X-Goog-Expires"); exp != "604800" && exp != "604799" {
		t.Errorf("X-Goog-Expires = %s, want 604800 (gcs.MaxURLExpiry)", exp)
	}
	if err := verifyV4(http.MethodGet, u, &testRSAKey(t).PublicKey); err != nil {
		t.Errorf("URL %s: %v", s, err)
	}
}

// verifyV4 checks a GOOG4-RSA-SHA256 query-string signature.
func verifyV4(method string, u *url.URL, pub *rsa.PublicKey) error {
	var pairs []string
	var sig string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if v, ok := strings.CutPrefix(kv, "X-Goog-Signature="); ok {
			sig = v
			continue
		}
		pairs = append(pairs, kv)
	}
	sort.Strings(pairs)
	q := u.Query()
	if q.Get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256" || q.Get("X-Goog-SignedHeaders") != "host" {
		return errors.New("unexpected algorithm or signed headers")
	}
	canonical := strings.Join([]string{
		method,
		u.EscapedPath(),
		strings.Join(pairs, "&"),
		"host:" + u.Host,
		"",
		"host",
		"UNSIGNED-PAYLOAD",
	}, "\n")
	cred := q.Get("X-Goog-Credential")
	scope := cred[strings.Index(cred, "/")+1:]
	sum := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"GOOG4-RSA-SHA256", q.Get("X-Goog-Date"), scope, hex.EncodeToString(sum[:])}, "\n")
	raw, err := hex.DecodeString(sig)
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(toSign))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw)
}
