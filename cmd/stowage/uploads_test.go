package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/registry"
)

// TestUploadsCommand lists and purges, on each backend's test server, the
// registry's uploads (an old one, a new one, one without startedat) and a
// staged upload of the backend's own (a Writer closed, not committed).
func TestUploadsCommand(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newStoreCLI(t, backend)
			ctx := context.Background()
			repo := registry.RootPath + "/repositories/library/app/_uploads/"
			now := time.Now().UTC()
			for id, started := range map[string]string{
				"old":     now.Add(-200 * time.Hour).Format(time.RFC3339Nano),
				"new":     now.Add(-time.Minute).Format(time.RFC3339Nano),
				"unknown": "",
			} {
				if err := s.drv.PutContent(ctx, repo+id+"/data", []byte("partial layer")); err != nil {
					t.Fatal(err)
				}
				if started != "" {
					if err := s.drv.PutContent(ctx, repo+id+"/startedat", []byte(started)); err != nil {
						t.Fatal(err)
					}
				}
			}
			w, err := s.drv.Writer(ctx, "/staged/file", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("staged bytes")); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, stages := s.drv.(driver.UploadStager)

			rows := s.uploads(t, 0, "list", "--json")
			wantRows := 3
			if stages {
				wantRows = 4
			}
			if len(rows) != wantRows {
				t.Fatalf("list: %+v, want %d uploads", rows, wantRows)
			}
			byPath := map[string]uploadRow{}
			for _, r := range rows {
				byPath[r.Path] = r
			}
			if r := byPath[repo+"old"]; !r.Old || r.Kind != "registry" || r.Size != int64(len("partial layer"))+int64(len(now.Add(-200*time.Hour).Format(time.RFC3339Nano))) {
				t.Fatalf("old upload %+v", r)
			}
			if r := byPath[repo+"unknown"]; r.Old || !r.Started.IsZero() || r.Error == "" {
				t.Fatalf("upload without startedat %+v", r)
			}
			if r, ok := byPath["/staged/file"]; stages && (!ok || r.Kind != "staged" || r.Old) {
				t.Fatalf("staged upload %+v (listed %v)", r, ok)
			}

			// A dry run removes nothing; a purge only what is old.
			if rows := s.uploads(t, 0, "purge", "--dry-run", "--json"); len(rows) != wantRows {
				t.Fatalf("dry run: %+v", rows)
			}
			s.uploads(t, 0, "purge", "--json", "--older-than", "100h")
			if _, err := s.drv.Stat(ctx, repo+"old/data"); !driver.IsNotFound(err) {
				t.Fatalf("the old upload survived the purge: %v", err)
			}
			rows = s.uploads(t, 0, "list", "--json")
			if len(rows) != wantRows-1 {
				t.Fatalf("after the purge: %+v", rows)
			}
			// Two hours later, a cut-off of one hour takes everything but
			// the upload of unknown age.
			s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			s.uploads(t, 0, "purge", "--json", "--older-than", "1h")
			rows = s.uploads(t, 0, "list", "--json")
			if len(rows) != 1 || rows[0].Path != repo+"unknown" {
				t.Fatalf("after purging all: %+v", rows)
			}
			if stages {
				// Nothing to resume: appending to no file and no upload
				// is a not-found error.
				if w, err := s.drv.Writer(ctx, "/staged/file", true); !driver.IsNotFound(err) {
					if err == nil {
						_ = w.Cancel(ctx)
					}
					t.Fatalf("Writer(append) after the purge: %v, want a not-found error", err)
				}
			}
			// The table mentions the lifecycle rule on s3 and gcs.
			code, out, _ := s.run("uploads", "list")
			if code != 0 || strings.Contains(out, "lifecycle rule") != (backend == "s3" || backend == "gcs") {
				t.Fatalf("exit %d, table:\n%s", code, out)
			}
		})
	}
}

// uploads runs stowage uploads with --json and decodes the rows.
func (s *storeCLI) uploads(t *testing.T, wantCode int, args ...string) []uploadRow {
	t.Helper()
	code, out, errOut := s.run(append([]string{"uploads"}, args...)...)
	if code != wantCode {
		t.Fatalf("uploads %q: exit %d; %s %s", args, code, errOut, out)
	}
	var doc struct {
		Version string      `json:"stowage_version"`
		Backend string      `json:"backend"`
		Uploads []uploadRow `json:"uploads"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version == "" || doc.Backend == "" || doc.Uploads == nil {
		t.Fatalf("%v in %s, want the version, backend and uploads", err, out)
	}
	return doc.Uploads
}
