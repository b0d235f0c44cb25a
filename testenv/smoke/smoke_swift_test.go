package smoke_test

import (
	"errors"
	"testing"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// TestSwift checks the Swift server (OpenStack Swift, tempauth) with ncw/swift.
func TestSwift(t *testing.T) {
	s := testenv.Swift(t)
	ctx := testContext(t)
	where := "Swift server at " + s.AuthURL

	c := &swift.Connection{UserName: s.User, ApiKey: s.Key, AuthUrl: s.AuthURL, AuthVersion: 1}
	if err := c.Authenticate(ctx); err != nil {
		t.Fatalf("%s: authenticate as %s: %v", where, s.User, err)
	}

	name := objectName(t)
	data := content(name)
	if err := c.ObjectPutBytes(ctx, s.Container, name, data, "application/octet-stream"); err != nil {
		t.Fatalf("%s: put %s/%s: %v", where, s.Container, name, err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			c.ObjectDelete(ctx, s.Container, name) //nolint:errcheck // best effort
		}
	})

	got, err := c.ObjectGetBytes(ctx, s.Container, name)
	if err != nil {
		t.Fatalf("%s: get: %v", where, err)
	}
	checkRoundTrip(t, where, got, data)

	names, err := c.ObjectNames(ctx, s.Container, &swift.ObjectsOpts{Prefix: name})
	if err != nil {
		t.Fatalf("%s: list: %v", where, err)
	}
	checkListed(t, where, names, name)

	if err := c.ObjectDelete(ctx, s.Container, name); err != nil {
		t.Fatalf("%s: delete: %v", where, err)
	}
	deleted = true
	if _, _, err := c.Object(ctx, s.Container, name); !errors.Is(err, swift.ObjectNotFound) {
		t.Fatalf("%s: head after delete: got %v, want ObjectNotFound", where, err)
	}
}
