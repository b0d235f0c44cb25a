package smoke_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// objectName returns a name no other run uses, under "smoke/".
func objectName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("smoke/%s-%d-%s", strings.ToLower(t.Name()), time.Now().UnixNano(), hex.EncodeToString(b))
}

// content returns the bytes a smoke test writes for name.
func content(name string) []byte {
	return []byte("stowage smoke test\n" + name + "\n")
}

// testContext is bounded so that a server that hangs fails the test instead
// of the whole run.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkRoundTrip fails t unless got equals want.
func checkRoundTrip(t *testing.T, server string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: read back %q, wrote %q", server, got, want)
	}
}

// checkListed fails t unless names contains name.
func checkListed(t *testing.T, server string, names []string, name string) {
	t.Helper()
	for _, n := range names {
		if n == name {
			return
		}
	}
	t.Fatalf("%s: listing with prefix %q = %q, want it to contain the object", server, name, names)
}
