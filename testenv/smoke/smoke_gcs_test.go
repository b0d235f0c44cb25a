package smoke_test

import (
	"errors"
	"io"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// TestGCS checks the GCS server (fake-gcs-server) with cloud.google.com/go/storage.
func TestGCS(t *testing.T) {
	s := testenv.GCS(t)
	ctx := testContext(t)
	where := "GCS server (fake-gcs-server) at " + s.Endpoint

	client, err := storage.NewClient(ctx, option.WithEndpoint(s.Endpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("%s: new client: %v", where, err)
	}
	t.Cleanup(func() { client.Close() })

	name := objectName(t)
	data := content(name)
	obj := client.Bucket(s.Bucket).Object(name)
	w := obj.NewWriter(ctx)
	if _, err := w.Write(data); err != nil {
		t.Fatalf("%s: write %s/%s: %v", where, s.Bucket, name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s: put %s/%s: %v", where, s.Bucket, name, err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			obj.Delete(ctx) //nolint:errcheck // best effort
		}
	})

	r, err := obj.NewReader(ctx)
	if err != nil {
		t.Fatalf("%s: get: %v", where, err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatalf("%s: read: %v", where, err)
	}
	checkRoundTrip(t, where, got, data)

	var names []string
	it := client.Bucket(s.Bucket).Objects(ctx, &storage.Query{Prefix: name})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("%s: list: %v", where, err)
		}
		names = append(names, a.Name)
	}
	checkListed(t, where, names, name)

	if err := obj.Delete(ctx); err != nil {
		t.Fatalf("%s: delete: %v", where, err)
	}
	deleted = true
	if _, err := obj.Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Fatalf("%s: attrs after delete: got %v, want ErrObjectNotExist", where, err)
	}
}
