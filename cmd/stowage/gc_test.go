package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gc"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
)

// jsonGCPlan is gc --json's first document.
type jsonGCPlan struct {
	Type   string             `json:"type"`
	DryRun bool               `json:"dry_run"`
	Unsafe []registry.Problem `json:"unsafe"`
	Phases []gc.Phase         `json:"mark_phases"`
	gc.Plan
}

// jsonGCReport is gc --delete --json's second document.
type jsonGCReport struct {
	Type    string       `json:"type"`
	OK      bool         `json:"ok"`
	Aborted bool         `json:"aborted"`
	Deleted int          `json:"deleted"`
	Failed  []gc.Failure `json:"failed"`
	Phases  []gc.Phase   `json:"phases"`
}

// gcJSON runs gc --json and decodes its output: the plan and, with
// --delete, the report (nil otherwise); nothing else may follow.
func (s *storeCLI) gcJSON(wantCode int, args ...string) (jsonGCPlan, *jsonGCReport, string) {
	s.t.Helper()
	code, out, errOut := s.run(append([]string{"gc", "--json", "--progress", "never"}, args...)...)
	if code != wantCode {
		s.t.Fatalf("gc %q: exit %d, want %d; stderr %s; stdout %s", args, code, wantCode, errOut, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var plan jsonGCPlan
	if err := json.Unmarshal([]byte(lines[0]), &plan); err != nil || plan.Type != "plan" {
		s.t.Fatalf("plan document: %v, type %q in %s", err, plan.Type, out)
	}
	if !slices.Contains(args, "--delete") {
		if len(lines) != 1 || !plan.DryRun {
			s.t.Fatalf("dry run: %d documents, dry_run %v:\n%s", len(lines), plan.DryRun, out)
		}
		return plan, nil, errOut
	}
	var rep jsonGCReport
	if len(lines) != 2 {
		s.t.Fatalf("--delete: %d documents, want the plan and the report:\n%s", len(lines), out)
	}
	if err := json.Unmarshal([]byte(lines[1]), &rep); err != nil || rep.Type != "report" {
		s.t.Fatalf("report document: %v, type %q in %s", err, rep.Type, out)
	}
	return plan, &rep, errOut
}

// registryFiles lists every file under the registry root of d, sorted.
func registryFiles(t *testing.T, d driver.StorageDriver) []string {
	t.Helper()
	return cloudtest.Files(t, d, layout.RegistryRoot)
}

// without returns the elements of a not in b, sorted.
func without(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// gcTree writes a complete generated registry of three tagged manifests,
// untags the first (its tag directory removed, as deleting a tag does)
// and returns the tree.
func gcTree(t *testing.T, d driver.StorageDriver) *layout.Tree {
	t.Helper()
	ctx := context.Background()
	tree, err := layout.Generate(layout.Spec{Repository: "library/app", Manifests: 3, Tags: 1, LayersPerManifest: 2, LayerSize: 1024, Seed: 7, Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Write(ctx, d, 8, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, layout.RegistryRoot+"/repositories/library/app/_manifests/tags/"+layout.TagName(0, 0)); err != nil {
		t.Fatal(err)
	}
	return tree
}

// pushInProgress writes what a push leaves before its manifest: a blob
// and its layer link. It returns the two paths.
func pushInProgress(t *testing.T, d driver.StorageDriver, content string) []string {
	t.Helper()
	dg := registry.Digest("sha256:").Of([]byte(content))
	files := []string{registry.BlobPath(registry.RootPath, dg), registry.RootPath + "/repositories/library/app/_layers/sha256/" + dg.Hex() + "/link"}
	for i, c := range [][]byte{[]byte(content), []byte(dg)} {
		if err := d.PutContent(context.Background(), files[i], c); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// tableRow is the rest of the table's line that starts with label, its
// fields separated by one space.
func tableRow(table, label string) string {
	for _, l := range strings.Split(table, "\n") {
		if rest, ok := strings.CutPrefix(l, label+" "); ok {
			return strings.Join(strings.Fields(rest), " ")
		}
	}
	return ""
}

// batches is ceil(n/size).
func batches(n, size int) int { return (n + size - 1) / size }

// TestGCCommand collects a registry on each backend's test server: with
// the default --min-age nothing just written is deleted; aged by the
// clock, the dry run's plan deletes nothing and --delete deletes exactly
// what it listed, in ceil(N/B) requests per phase on HTTP backends; a
// push in progress survives --delete and goes with --min-age 0.
func TestGCCommand(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newStoreCLI(t, backend)
			tree := gcTree(t, s.drv)
			orphan := pushInProgress(t, s.drv, "an old upload no manifest references")
			before := registryFiles(t, s.drv)

			// Everything is younger than the default min age of 1h.
			plan, rep, _ := s.gcJSON(0, "--delete", "--delete-untagged")
			if got := registryFiles(t, s.drv); !slices.Equal(got, before) || rep.Deleted != 0 || !rep.OK {
				t.Fatalf("fresh tree: deleted %v, report %+v", without(before, got), rep)
			}
			if plan.MarkedBlobs+plan.YoungBlobs != plan.Blobs || len(plan.DeleteBlobs) != 0 || len(plan.LinkPaths()) != 0 {
				t.Fatalf("fresh tree: %d+%d of %d blobs kept, %d to delete", plan.MarkedBlobs, plan.YoungBlobs, plan.Blobs, len(plan.DeleteBlobs))
			}

			// Two hours on, all of it is old: the dry run plans the
			// untagged manifest's and the orphan's files, deletes nothing.
			s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			plan, _, _ = s.gcJSON(0, "--delete-untagged")
			if got := registryFiles(t, s.drv); !slices.Equal(got, before) {
				t.Fatalf("dry run deleted %v", without(before, got))
			}
			planned := append(plan.LinkPaths(), plan.BlobPaths()...)
			slices.Sort(planned)
			m0 := tree.Manifests[0]
			for _, p := range append(append([]string{m0.BlobPath, m0.Revision}, m0.LayerBlobs...), orphan...) {
				if !slices.Contains(planned, p) {
					t.Errorf("plan does not delete %s", p)
				}
			}
			for _, p := range append(tree.Manifests[1].LayerBlobs, tree.Manifests[2].BlobPath) {
				if slices.Contains(planned, p) {
					t.Errorf("plan deletes %s, of a tagged manifest", p)
				}
			}
			if plan.Repositories != 1 || plan.ManifestsRead != 3 || len(plan.DeleteManifests) != 1 || len(plan.Problems) != 0 {
				t.Fatalf("plan %+v", plan.Plan)
			}

			// The table says it is a dry run and counts what goes.
			code, out, _ := s.run("gc", "--delete-untagged", "--progress", "never")
			if code != 0 || !strings.Contains(out, "dry run") || tableRow(out, "to delete: manifests") != "1 untagged" {
				t.Fatalf("exit %d, table:\n%s", code, out)
			}

			_, rep, _ = s.gcJSON(0, "--delete", "--delete-untagged")
			gone := without(before, registryFiles(t, s.drv))
			if !slices.Equal(gone, planned) || rep.Deleted != len(planned) || !rep.OK || len(rep.Failed) != 0 {
				t.Fatalf("deleted\n  %s\nplanned\n  %s\nreport %+v", strings.Join(gone, "\n  "), strings.Join(planned, "\n  "), rep)
			}
			if !localBackends[backend] {
				checkSweepRequests(t, s.drv, plan, rep)
			}

			// A push in progress survives the default min age, and goes
			// with --min-age 0; nothing else is deleted.
			s.now = nil
			kept := registryFiles(t, s.drv)
			push := pushInProgress(t, s.drv, "a layer being pushed now")
			s.gcJSON(0, "--delete")
			if got := without(append(slices.Clone(kept), push...), registryFiles(t, s.drv)); len(got) != 0 {
				t.Fatalf("default --min-age deleted %v", got)
			}
			s.gcJSON(0, "--delete", "--min-age", "0")
			slices.Sort(push)
			if got := without(append(slices.Clone(kept), push...), registryFiles(t, s.drv)); !slices.Equal(got, push) {
				t.Fatalf("--min-age 0 deleted %v, want %v", got, push)
			}
		})
	}
}

// checkSweepRequests fails t unless each sweep phase of rep sent
// ceil(N/B) requests for its N paths of plan, at d's batch size B.
func checkSweepRequests(t *testing.T, d driver.StorageDriver, plan jsonGCPlan, rep *jsonGCReport) {
	t.Helper()
	b := driver.CapabilitiesOf(d).DeleteBatchSize
	want := map[string]int{"delete links": batches(len(plan.LinkPaths()), b), "delete blobs": batches(len(plan.BlobPaths()), b)}
	for _, ph := range rep.Phases {
		if w, ok := want[ph.Name]; ok {
			n := 0
			for _, c := range ph.Requests {
				n += c
			}
			if n != w {
				t.Errorf("phase %s: %d requests %v, want %d for %d links, %d blobs at batch size %d",
					ph.Name, n, ph.Requests, w, len(plan.LinkPaths()), len(plan.BlobPaths()), b)
			}
			delete(want, ph.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("phases %+v lack %v", rep.Phases, want)
	}
}

// TestGCSweepRequestsPerBatch lowers each HTTP backend's batch size
// (deletebatchsize=2) so that each sweep phase takes several bulk-delete
// requests: ceil(N/B) of them.
func TestGCSweepRequestsPerBatch(t *testing.T) {
	for _, backend := range testenv.Backends {
		if localBackends[backend] {
			continue
		}
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			params := testenv.Params(t, backend, "")
			params["deletebatchsize"] = 2
			s := newStoreCLIWith(t, backend, params)
			gcTree(t, s.drv)
			pushInProgress(t, s.drv, "an orphan")
			before := registryFiles(t, s.drv)
			plan, rep, _ := s.gcJSON(0, "--delete", "--delete-untagged", "--min-age", "0")
			if b := driver.CapabilitiesOf(s.drv).DeleteBatchSize; b != 2 || len(plan.BlobPaths()) <= b || len(plan.LinkPaths()) <= b {
				t.Fatalf("batch size %d, %d links, %d blobs: want more than one batch each", b, len(plan.LinkPaths()), len(plan.BlobPaths()))
			}
			if gone := without(before, registryFiles(t, s.drv)); rep.Deleted != len(gone) || !rep.OK {
				t.Fatalf("deleted %d files, report %+v", len(gone), rep)
			}
			checkSweepRequests(t, s.drv, plan, rep)
		})
	}
}

// TestGCCorruptManifest overwrites a tagged manifest with other content:
// gc --delete deletes nothing, exits 1 and names it; with
// --skip-unreadable it keeps the manifest and collects the rest.
func TestGCCorruptManifest(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newStoreCLI(t, backend)
			s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			tree := gcTree(t, s.drv)
			corrupt := tree.Manifests[1].BlobPath
			if err := s.drv.PutContent(context.Background(), corrupt, []byte(`{"schemaVersion":2}`)); err != nil {
				t.Fatal(err)
			}
			before := registryFiles(t, s.drv)

			plan, rep, errOut := s.gcJSON(1, "--delete", "--delete-untagged")
			if got := registryFiles(t, s.drv); !slices.Equal(got, before) || rep.Deleted != 0 || !rep.Aborted {
				t.Fatalf("deleted %v; report %+v", without(before, got), rep)
			}
			if len(plan.Unsafe) != 1 || plan.Unsafe[0].Path != corrupt || !strings.Contains(errOut, corrupt) {
				t.Fatalf("unsafe %v; stderr %q does not name %s", plan.Unsafe, errOut, corrupt)
			}
			// The dry run fails too, and the table lists the problem.
			code, out, errOut := s.run("gc", "--progress", "never")
			if code != 1 || !strings.Contains(out, "\n"+string(registry.Mismatched)+" "+corrupt) || !strings.Contains(errOut, corrupt) {
				t.Fatalf("dry run: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
			}

			_, rep, _ = s.gcJSON(0, "--delete", "--delete-untagged", "--skip-unreadable")
			gone := without(before, registryFiles(t, s.drv))
			if slices.Contains(gone, corrupt) || !rep.OK || rep.Deleted != len(gone) {
				t.Fatalf("--skip-unreadable deleted %v; report %+v", gone, rep)
			}
			for _, p := range append([]string{tree.Manifests[0].BlobPath}, tree.Manifests[1].LayerBlobs...) {
				if !slices.Contains(gone, p) {
					t.Errorf("--skip-unreadable kept %s", p)
				}
			}
		})
	}
}

func TestGCUsageErrors(t *testing.T) {
	s := newStoreCLI(t, "inmemory")
	for _, args := range [][]string{
		{"gc", "--min-age", "soon"},
		{"gc", "--min-age", "-1h"},
		{"gc", "extra"},
		{"gc", "--root", "../x"},
		{"gc", "--concurrency", "0"},
	} {
		if code, _, errOut := s.run(args...); code != exitUsage || !strings.Contains(errOut, "stowage gc: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"help", "gc"}, &app{stdout: &stdout, stderr: &stdout, open: driver.Open}); code != exitOK ||
		!strings.Contains(stdout.String(), "Usage: stowage gc") || !strings.Contains(stdout.String(), "-min-age duration") {
		t.Errorf("help gc: exit %d:\n%s", code, stdout.String())
	}
}
