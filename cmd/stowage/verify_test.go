package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
)

// storeCLI runs commands against one backend of testenv: drv is the
// driver the test arranges files with, args the --backend and --param
// flags that reach the same store.
type storeCLI struct {
	t      *testing.T
	name   string
	drv    driver.StorageDriver
	args   []string
	shared driver.StorageDriver // inmemory: the one instance every open returns
	stdin  string               // the next run's standard input
	now    func() time.Time     // the commands' clock; nil: time.Now
}

func newStoreCLI(t *testing.T, backend string) *storeCLI {
	t.Helper()
	return newStoreCLIWith(t, backend, testenv.Params(t, backend, ""))
}

// newStoreCLIWith is newStoreCLI with the backend's parameters given.
func newStoreCLIWith(t *testing.T, backend string, params map[string]any) *storeCLI {
	t.Helper()
	s := &storeCLI{t: t, name: backend, args: []string{"--backend", backend}}
	ctx := context.Background()
	if backend == "inmemory" {
		s.shared = inmemory.New()
		s.drv = s.shared
	} else {
		d, err := driver.Open(ctx, backend, params)
		if err != nil {
			t.Fatalf("opening %s: %v", backend, err)
		}
		s.drv = d
		t.Cleanup(func() {
			ctx := context.WithoutCancel(ctx)
			children, err := d.List(ctx, "/")
			for _, c := range children {
				if err == nil || driver.IsNotFound(err) {
					err = d.Delete(ctx, c)
				}
			}
			if st, ok := d.(driver.UploadStager); ok && err == nil {
				var ups []driver.StagedUpload
				ups, err = st.StagedUploads(ctx)
				for _, u := range ups {
					if err == nil {
						err = st.PurgeStagedUpload(ctx, u)
					}
				}
			}
			if err != nil && !driver.IsNotFound(err) {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	for k, v := range params {
		s.args = append(s.args, "--param", fmt.Sprintf("%s=%v", k, v))
	}
	return s
}

// run runs the command with the backend flags and returns the exit code,
// stdout and stderr.
func (s *storeCLI) run(args ...string) (int, string, string) {
	s.t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{now: s.now, stdin: strings.NewReader(s.stdin), stdout: &stdout, stderr: &stderr, open: func(ctx context.Context, name string, params map[string]any) (driver.StorageDriver, error) {
		if s.shared != nil {
			return s.shared, nil
		}
		return driver.Open(ctx, name, params)
	}}
	// The backend flags go after the command's words ("uploads list").
	words := 1
	for words < len(args) && !strings.HasPrefix(args[words], "-") && args[0] == "uploads" {
		words++
	}
	code := run(context.Background(), append(append(args[:words:words], s.args...), args[words:]...), a)
	return code, stdout.String(), stderr.String()
}

// jsonVerify is the part of verify's --json output the tests read.
type jsonVerify struct {
	OK           bool               `json:"ok"`
	Blobs        int                `json:"blobs"`
	Hashed       int                `json:"hashed"`
	Links        int                `json:"links"`
	Problems     []registry.Problem `json:"problems"`
	Requests     map[string]int     `json:"requests"`
	MiBPerSecond float64            `json:"mib_per_second"`
}

func (s *storeCLI) verifyJSON(wantCode int, args ...string) jsonVerify {
	s.t.Helper()
	code, out, errOut := s.run(append([]string{"verify", "--json"}, args...)...)
	if code != wantCode {
		s.t.Fatalf("verify exit %d, want %d; stderr %s; stdout %s", code, wantCode, errOut, out)
	}
	var v jsonVerify
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		s.t.Fatalf("%v in %s", err, out)
	}
	return v
}

// TestVerifyCommand writes a registry with the layout generator to each
// backend's test server, verifies it, then damages three layers (one
// truncated, one overwritten with other bytes of the same size, one
// deleted) and checks that each is reported with its kind and path and
// that the exit status is 1.
func TestVerifyCommand(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newStoreCLI(t, backend)
			ctx := context.Background()
			tree, err := layout.Generate(layout.Spec{Repository: "library/app", Manifests: 4, Tags: 2, LayersPerManifest: 2, LayerSize: 4096, Seed: 3, Complete: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := tree.Write(ctx, s.drv, 8, nil); err != nil {
				t.Fatal(err)
			}
			v := s.verifyJSON(0)
			// 4 manifests, 4 configs, 8 layers; 8 layer, 4 revision, 8 tag
			// index and 8 current links.
			if !v.OK || v.Blobs != 16 || v.Hashed != 16 || v.Links != 28 || len(v.Problems) != 0 {
				t.Fatalf("clean registry: %+v", v)
			}
			if local := backend == "inmemory" || backend == "filesystem"; local != (v.Requests == nil) || (!local && v.Requests["GET"] < 16) {
				t.Fatalf("requests %v", v.Requests)
			}

			m := tree.Manifests
			truncated, overwritten, deleted := m[0].LayerBlobs[0], m[1].LayerBlobs[1], m[2].LayerBlobs[0]
			for p, content := range map[string][]byte{truncated: []byte("cut"), overwritten: make([]byte, 4096)} {
				if err := s.drv.PutContent(ctx, p, content); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.drv.Delete(ctx, strings.TrimSuffix(deleted, "/data")); err != nil {
				t.Fatal(err)
			}
			v = s.verifyJSON(1)
			var got []string
			for _, p := range v.Problems {
				got = append(got, string(p.Kind)+" "+p.Path)
			}
			hexOf := func(blob string) string { return strings.Split(blob, "/")[7] }
			want := []string{
				"truncated " + truncated,
				"mismatched " + overwritten,
				"dangling-link " + layout.RegistryRoot + "/repositories/library/app/_layers/sha256/" + hexOf(deleted) + "/link",
				"missing-reference " + m[2].BlobPath,
			}
			slices.Sort(got)
			slices.Sort(want)
			if v.OK || !slices.Equal(got, want) {
				t.Fatalf("problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}

			// The table names each problem on a line of its own.
			code, out, _ := s.run("verify", "--progress", "never")
			if code != 1 || !strings.Contains(out, "PROBLEMS FOUND") || !strings.Contains(out, "\ntruncated "+truncated+": ") {
				t.Fatalf("exit %d, table:\n%s", code, out)
			}
		})
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	s := newStoreCLI(t, "inmemory")
	for _, args := range [][]string{
		{"verify", "--sample", "0"},
		{"verify", "--sample", "1.5"},
		{"verify", "--root", "../x"},
		{"verify", "extra"},
		{"verify", "--concurrency", "0"},
	} {
		if code, _, errOut := s.run(args...); code != exitUsage || !strings.HasPrefix(errOut, "stowage verify: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"verify"}, &app{stdout: &stdout, stderr: &stderr, open: driver.Open}); code != exitUsage {
		t.Errorf("no backend: exit %d, stderr %q", code, stderr.String())
	}
}

func TestVerifyMissingRepository(t *testing.T) {
	s := newStoreCLI(t, "inmemory")
	code, _, errOut := s.run("verify", "--repository", "no/such", "--progress", "never")
	if code != exitFailure || !strings.Contains(errOut, `repository "no/such" not found`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
