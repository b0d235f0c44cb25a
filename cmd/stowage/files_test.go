package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// TestFileCommands runs ls, du and rm on each backend's test server.
func TestFileCommands(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newStoreCLI(t, backend)
			ctx := context.Background()
			files := map[string]int{"/r/a/x": 10, "/r/a/deep/y": 20, "/r/b": 5, "/r/c/z": 1}
			for i := range 30 {
				files[fmt.Sprintf("/r/many/f%02d", i)] = 2
			}
			for p, n := range files {
				if err := s.drv.PutContent(ctx, p, make([]byte, n)); err != nil {
					t.Fatal(err)
				}
			}

			code, out, errOut := s.run("ls", "/r")
			if want := "/r/a/\n/r/b\n/r/c/\n/r/many/\n"; code != 0 || out != want {
				t.Fatalf("ls: exit %d, %q (stderr %s), want %q", code, out, errOut, want)
			}
			if code, _, errOut := s.run("ls", "/nothing"); code != exitFailure || !strings.Contains(errOut, "not found") {
				t.Fatalf("ls of a missing directory: exit %d, %s", code, errOut)
			}

			code, out, errOut = s.run("du", "--json", "/r")
			var du struct {
				Children []duEntry `json:"children"`
				Total    duEntry   `json:"total"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &du) != nil {
				t.Fatalf("du: exit %d, %s %s", code, out, errOut)
			}
			want := []duEntry{{"/r/a", 2, 30}, {"/r/b", 1, 5}, {"/r/c", 1, 1}, {"/r/many", 30, 60}}
			if !slices.Equal(du.Children, want) || du.Total != (duEntry{"/r", 34, 96}) {
				t.Fatalf("du %+v", du)
			}

			// rm: a bad path anywhere deletes nothing.
			var many []string
			for p := range files {
				if strings.HasPrefix(p, "/r/many/") {
					many = append(many, p)
				}
			}
			slices.Sort(many)
			s.stdin = strings.Join(many, "\n") + "\n/r/../etc\n"
			if code, _, errOut := s.run("rm"); code != exitUsage || !strings.Contains(errOut, "line 31") {
				t.Fatalf("rm with a bad path: exit %d, %s", code, errOut)
			}
			s.stdin = strings.Join(many, "\n")
			if code, out, _ := s.run("rm", "--dry-run"); code != 0 || strings.Count(out, "would delete ") != 30 {
				t.Fatalf("rm --dry-run: exit %d, %s", code, out)
			}
			if got, err := s.drv.List(ctx, "/r/many"); err != nil || len(got) != 30 {
				t.Fatalf("after the refused and the dry runs: %d files, %v", len(got), err)
			}
			s.stdin = strings.Join(many, "\n") + "\n\n/r/b\n"
			code, out, errOut = s.run("rm", "--json")
			var rm struct {
				Planned, Deleted int
				Failed           map[string]string
				Requests         *int
			}
			if code != 0 || json.Unmarshal([]byte(out), &rm) != nil || rm.Planned != 31 || rm.Deleted != 31 || len(rm.Failed) != 0 {
				t.Fatalf("rm: exit %d, %s %s", code, out, errOut)
			}
			if caps := driver.CapabilitiesOf(s.drv); caps.HTTP {
				if want := (31 + caps.DeleteBatchSize - 1) / caps.DeleteBatchSize; rm.Requests == nil || *rm.Requests != want {
					t.Fatalf("rm sent %v requests, want %d", rm.Requests, want)
				}
			}
			if got, err := s.drv.List(ctx, "/r"); err != nil || !slices.Equal(got, []string{"/r/a", "/r/c"}) {
				t.Fatalf("left %q, %v", got, err)
			}
		})
	}
}
