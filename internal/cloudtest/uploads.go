package cloudtest

import (
	"context"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// StageUpload writes data to a new Writer for p on d and closes it
// without committing: an upload StagedUploads lists.
func StageUpload(t testing.TB, d driver.StorageDriver, p, data string) {
	t.Helper()
	w, err := d.Writer(context.Background(), p, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// StagedByPath lists the staged uploads of d (a driver.UploadStager,
// whether the caller holds it as one or as a StorageDriver) by path; a
// path listed twice fails t, and so does a d that is no UploadStager.
func StagedByPath(t testing.TB, d any) map[string]driver.StagedUpload {
	t.Helper()
	st, ok := d.(driver.UploadStager)
	if !ok {
		t.Fatalf("%T does not implement driver.UploadStager", d)
	}
	list, err := st.StagedUploads(context.Background())
	if err != nil {
		t.Fatalf("StagedUploads: %v", err)
	}
	out := map[string]driver.StagedUpload{}
	for _, u := range list {
		if _, dup := out[u.Path]; dup {
			t.Fatalf("StagedUploads lists %q twice: %+v", u.Path, list)
		}
		out[u.Path] = u
	}
	return out
}
