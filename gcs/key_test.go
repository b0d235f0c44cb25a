package gcs_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
)

// testAccessID is the service account e-mail of the test signing key.
const testAccessID = "stowage-test@stowage-test.iam.gserviceaccount.com"

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
	testKeyErr  error
)

// testRSAKey returns an RSA key made once per test binary.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	testKeyOnce.Do(func() { testKey, testKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if testKeyErr != nil {
		t.Fatalf("generating the test key: %v", testKeyErr)
	}
	return testKey
}

// testKeyPEM returns the test key as PKCS#8 PEM, as service account keys
// carry it.
func testKeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testRSAKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
