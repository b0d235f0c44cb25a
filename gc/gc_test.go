package gc_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gc"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/registry"
)

// scenario is a registry holding every case the collector must tell
// apart, with what it must delete with and without DeleteUntagged.
type scenario struct {
	tree *tree
	// garbage is what both modes delete; untagged what DeleteUntagged
	// deletes besides.
	garbage, untagged []string
	// kept are images that must still be whole afterwards, in both
	// modes.
	kept []image
}

// imageFiles are the files a push of im to repo wrote: its blobs, its
// layer links (config and layers) and its revision link.
func (t *tree) imageFiles(repo string, im image) []string {
	out := append(t.blobs(im), t.layerLink(repo, im.config), t.revisionLink(repo, im.manifest))
	for _, l := range im.layers {
		out = append(out, t.layerLink(repo, l))
	}
	return out
}

func newScenario() *scenario {
	t := newTree()
	s := &scenario{tree: t}
	const a, b = "team/app", "lib"
	base := []byte("base layer, in every image of both repositories")

	// Tagged: kept.
	img1 := t.pushImage(a, registry.MediaTypeOCIManifest, "img1", "", base, []byte("a1"))
	t.tag(a, "v1", img1.manifest)
	t.tag(a, "latest", img1.manifest)
	s.kept = append(s.kept, img1)

	// Pushed, tagged, then deleted by digest: garbage in both modes (its
	// base layer stays).
	img2 := t.pushImage(a, registry.MediaTypeDockerManifest, "img2", "", base, []byte("a2"))
	t.tag(a, "v2", img2.manifest)
	t.deleteManifest(a, img2.manifest)
	s.garbage = append(s.garbage, minus(t.imageFiles(a, img2), []string{registry.BlobPath(t.root, sha(base)), t.layerLink(a, sha(base)), t.revisionLink(a, img2.manifest)})...)

	// Untagged: kept, or deleted with DeleteUntagged.
	img3 := t.pushImage(a, registry.MediaTypeOCIManifest, "img3", "", base, []byte("a3"))
	s.untagged = append(s.untagged, minus(t.imageFiles(a, img3), []string{registry.BlobPath(t.root, sha(base)), t.layerLink(a, sha(base))})...)

	// Once tagged v1, then v1 moved to img1: untagged, with a tag index
	// entry that goes with it.
	img4 := t.pushImage(a, registry.MediaTypeOCIManifest, "img4", "", []byte("a4"))
	t.files[t.tagIndexLink(a, "v1", img4.manifest)] = []byte(img4.manifest)
	s.untagged = append(s.untagged, t.imageFiles(a, img4)...)
	s.untagged = append(s.untagged, t.tagIndexLink(a, "v1", img4.manifest))

	// A tagged OCI index: its untagged children stay in both modes.
	c1 := t.pushImage(a, registry.MediaTypeOCIManifest, "c1", "", base, []byte("c1"))
	c2 := t.pushImage(a, registry.MediaTypeOCIManifest, "c2", "", []byte("c2"))
	idx := t.pushIndex(a, registry.MediaTypeOCIIndex, c1.manifest, c2.manifest)
	t.tag(a, "multi", idx)
	s.kept = append(s.kept, c1, c2)

	// A tagged index of a tagged index: the inner one's children stay.
	c5 := t.pushImage(a, registry.MediaTypeOCIManifest, "c5", "", []byte("c5"))
	inner := t.pushIndex(a, registry.MediaTypeOCIIndex, c5.manifest)
	outer := t.pushIndex(a, registry.MediaTypeOCIIndex, inner)
	t.tag(a, "nested", outer)
	s.kept = append(s.kept, c5)

	// An untagged Docker manifest list and its only child: deleted
	// together with DeleteUntagged.
	c3 := t.pushImage(a, registry.MediaTypeDockerManifest, "c3", "", []byte("c3"))
	dl := t.pushIndex(a, registry.MediaTypeDockerManifestList, c3.manifest)
	s.untagged = append(s.untagged, t.imageFiles(a, c3)...)
	s.untagged = append(s.untagged, registry.BlobPath(t.root, dl), t.revisionLink(a, dl))

	// An untagged OCI referrer (a signature) of img1: kept, as its
	// subject is.
	sig := t.pushImage(a, registry.MediaTypeOCIManifest, "sig", img1.manifest, []byte("signature"))
	s.kept = append(s.kept, sig)

	// img1's manifest pushed to lib untagged: kept there, as a tagged
	// manifest elsewhere references it (distribution's global mark).
	t.putRawManifest(b, t.files[registry.BlobPath(t.root, img1.manifest)])
	imgB := t.pushImage(b, registry.MediaTypeDockerManifest, "imgB", "", base, []byte("b1"))
	t.tag(b, "stable", imgB.manifest)
	s.kept = append(s.kept, imgB)

	// A blob uploaded and linked, never referenced: garbage.
	s.garbage = append(s.garbage, registry.BlobPath(t.root, t.upload(b, []byte("orphan"))), t.layerLink(b, sha([]byte("orphan"))))
	slices.Sort(s.garbage)
	slices.Sort(s.untagged)
	return s
}

// old is a clock two hours ahead: with the default MinAge, every file
// written before the run is old.
func old() time.Time { return time.Now().Add(2 * time.Hour) }

func runGC(t *testing.T, d driver.StorageDriver, o gc.Options) *gc.Report {
	t.Helper()
	rep, err := gc.Run(t.Context(), d, o)
	if err != nil {
		t.Fatalf("gc.Run: %v", err)
	}
	return rep
}

func TestRunDeletesExactlyTheGarbage(t *testing.T) {
	for _, untagged := range []bool{false, true} {
		t.Run(map[bool]string{false: "tagged-and-untagged-kept", true: "delete-untagged"}[untagged], func(t *testing.T) {
			s := newScenario()
			d := inmemory.New()
			s.tree.write(t, d)
			before := filesOn(t, d)
			want := s.garbage
			if untagged {
				want = slices.Sorted(slices.Values(append(slices.Clone(s.garbage), s.untagged...)))
			}

			plan := runGC(t, d, gc.Options{DeleteUntagged: untagged, Now: old})
			if got := slices.Sorted(slices.Values(append(plan.LinkPaths(), plan.BlobPaths()...))); !slices.Equal(got, want) {
				t.Fatalf("plan deletes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if plan.Deleted != 0 || !plan.DryRun || !slices.Equal(filesOn(t, d), before) {
				t.Fatalf("a dry run deleted %d files", plan.Deleted)
			}
			if len(plan.Problems) != 0 {
				t.Fatalf("problems: %v", plan.Problems)
			}

			rep := runGC(t, d, gc.Options{DeleteUntagged: untagged, Now: old, Delete: true})
			if got := minus(before, filesOn(t, d)); !slices.Equal(got, want) {
				t.Fatalf("deleted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if rep.Deleted != len(want) || len(rep.Failed) != 0 {
				t.Fatalf("report: %d deleted, %d failed; want %d, 0", rep.Deleted, len(rep.Failed), len(want))
			}
			var freed int64
			for _, p := range want {
				if strings.HasSuffix(p, "/data") {
					freed += int64(len(s.tree.files[p]))
				}
			}
			if rep.FreedBytes != freed || rep.FreedBytes != rep.DeleteBytes() {
				t.Fatalf("freed %d bytes (plan %d), want %d", rep.FreedBytes, rep.DeleteBytes(), freed)
			}
			checkKept(t, d, s)

			// A second run finds nothing more.
			again := runGC(t, d, gc.Options{DeleteUntagged: untagged, Now: old, Delete: true})
			if again.Deleted != 0 || len(again.LinkPaths())+len(again.BlobPaths()) != 0 {
				t.Fatalf("second run deletes %v %v", again.LinkPaths(), again.BlobPaths())
			}
		})
	}
}

// checkKept checks that every kept image's files are still there, and
// that Verify finds the registry whole.
func checkKept(t *testing.T, d driver.StorageDriver, s *scenario) {
	t.Helper()
	have := map[string]bool{}
	for _, p := range filesOn(t, d) {
		have[p] = true
	}
	for _, im := range s.kept {
		for _, p := range s.tree.blobs(im) {
			if !have[p] {
				t.Errorf("kept image %s lost %s", im.manifest, p)
			}
		}
	}
	rep, err := registry.Verify(t.Context(), d, registry.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("Verify after gc: %v %v", err, rep.Problems)
	}
}

func TestMinAgeKeepsAPushInProgress(t *testing.T) {
	s := newScenario()
	d := inmemory.New()
	s.tree.write(t, d)
	cut := time.Now()
	// After the cut: a push in progress uploads a new layer and mounts
	// an old, unreferenced one (the orphan) into another repository;
	// no manifest yet.
	fresh := newTree()
	fresh.upload("team/app", []byte("uploading"))
	fresh.files[fresh.layerLink("team/new", sha([]byte("orphan")))] = []byte(sha([]byte("orphan")))
	// and an untagged index child pushed before its index.
	child := fresh.pushImage("team/app", registry.MediaTypeOCIManifest, "child", "", []byte("child layer"))
	// and a blob whose data is written, its link not yet.
	fresh.blob([]byte("no link yet"))
	for !time.Now().After(cut) {
		// the clock must move past cut before the writes below
	}
	fresh.write(t, d)
	before := filesOn(t, d)

	rep := runGC(t, d, gc.Options{DeleteUntagged: true, Delete: true, MinAge: time.Hour, Now: func() time.Time { return cut.Add(time.Hour) }})
	gone := minus(before, filesOn(t, d))
	for p := range fresh.files {
		if slices.Contains(gone, p) {
			t.Errorf("deleted %s, written after the cut-off", p)
		}
	}
	if slices.Contains(gone, registry.BlobPath(registry.RootPath, sha([]byte("orphan")))) {
		t.Errorf("deleted the orphan blob a young link mounts")
	}
	if !slices.Contains(gone, registry.BlobPath(registry.RootPath, sha([]byte("a2")))) {
		t.Errorf("old garbage kept: %v", gone)
	}
	if rep.YoungBlobs == 0 {
		t.Errorf("YoungBlobs = 0")
	}

	// The same tree with NoMinAge: the push in progress is garbage.
	rep = runGC(t, d, gc.Options{DeleteUntagged: true, Delete: true, MinAge: gc.NoMinAge})
	gone = minus(before, filesOn(t, d))
	if !slices.Contains(gone, registry.BlobPath(registry.RootPath, sha([]byte("uploading")))) ||
		!slices.Contains(gone, registry.BlobPath(registry.RootPath, child.manifest)) ||
		!slices.Contains(gone, registry.BlobPath(registry.RootPath, sha([]byte("no link yet")))) {
		t.Errorf("NoMinAge kept the unreferenced push: %d deleted", rep.Deleted)
	}
}

func TestCorruptManifestDeletesNothing(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(s *scenario) string // returns the manifest's path
		kind    registry.ProblemKind
		// alsoGone is what SkipUnreadable deletes besides the garbage:
		// what only the corrupt manifest references.
		alsoGone func(s *scenario) []string
	}{
		{"content-mismatch", func(s *scenario) string {
			p := registry.BlobPath(registry.RootPath, s.kept[0].manifest)
			s.tree.files[p] = []byte(`{"schemaVersion":2}`)
			return p
		}, registry.Mismatched, func(s *scenario) []string {
			im := s.kept[0]
			return []string{registry.BlobPath(registry.RootPath, im.config), registry.BlobPath(registry.RootPath, im.layers[1]),
				s.tree.layerLink("team/app", im.config), s.tree.layerLink("team/app", im.layers[1])}
		}},
		{"not-json", func(s *scenario) string {
			d := s.tree.putRawManifest("lib", []byte("garbage, not a manifest"))
			return registry.BlobPath(registry.RootPath, d)
		}, registry.BadManifest, func(*scenario) []string { return nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newScenario()
			path := c.corrupt(s)
			d := inmemory.New()
			s.tree.write(t, d)
			before := filesOn(t, d)
			rep, err := gc.Run(t.Context(), d, gc.Options{Delete: true, Now: old})
			if !errors.Is(err, gc.ErrAborted) {
				t.Fatalf("Run: %v, want ErrAborted", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name %s: %v", path, err)
			}
			if got := filesOn(t, d); !slices.Equal(got, before) || rep.Deleted != 0 {
				t.Fatalf("deleted %v", minus(before, got))
			}
			if u := rep.Unsafe(); len(u) != 1 || u[0].Kind != c.kind || u[0].Path != path {
				t.Fatalf("unsafe problems %v, want one %s at %s", u, c.kind, path)
			}

			// SkipUnreadable keeps it and collects the rest.
			rep, err = gc.Run(t.Context(), d, gc.Options{Delete: true, Now: old, SkipUnreadable: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != 1 || rep.Problems[0].Path != path || len(rep.Unsafe()) != 0 {
				t.Fatalf("with SkipUnreadable: problems %v, unsafe %v; want the one problem, reported, not unsafe", rep.Problems, rep.Unsafe())
			}
			gone := minus(before, filesOn(t, d))
			want := slices.Sorted(slices.Values(append(slices.Clone(s.garbage), c.alsoGone(s)...)))
			if slices.Contains(gone, path) || !slices.Equal(gone, want) {
				t.Fatalf("with SkipUnreadable deleted\n%s\nwant\n%s", strings.Join(gone, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestUnknownMediaTypeIsKept(t *testing.T) {
	tr := newTree()
	l := tr.upload("r", []byte("artifact blob"))
	m := tr.putRawManifest("r", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json","parts":[{"digest":"`+string(l)+`"}]}`))
	orphan := tr.upload("r", []byte("orphan"))
	d := inmemory.New()
	tr.write(t, d)
	rep := runGC(t, d, gc.Options{Delete: true, Now: old, DeleteUntagged: true})
	if got := rep.BlobPaths(); !slices.Equal(got, []string{registry.BlobPath(tr.root, orphan)}) {
		t.Fatalf("deletes %v, want only the orphan", got)
	}
	if len(rep.DeleteManifests) != 0 {
		t.Fatalf("deletes the unknown manifest: %v", rep.DeleteManifests)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != registry.UnknownManifest || rep.Problems[0].Digest != m {
		t.Fatalf("problems %v, want an unknown-manifest warning", rep.Problems)
	}
}

func TestDanglingLinks(t *testing.T) {
	tr := newTree()
	im := tr.pushImage("r", registry.MediaTypeOCIManifest, "x", "", []byte("layer"))
	tr.tag("r", "v1", im.manifest)
	gone := sha([]byte("deleted by hand"))
	tr.files[tr.layerLink("r", gone)] = []byte(gone)
	missing := sha([]byte(`{"a":"manifest deleted by hand"}`))
	tr.files[tr.revisionLink("r", missing)] = []byte(missing)
	d := inmemory.New()
	tr.write(t, d)
	before := filesOn(t, d)
	rep := runGC(t, d, gc.Options{Delete: true, Now: old})
	if len(rep.DanglingLinks) != 2 || rep.Deleted != 0 {
		t.Fatalf("dangling %v, deleted %d; want 2 reported, none deleted", rep.DanglingLinks, rep.Deleted)
	}
	rep = runGC(t, d, gc.Options{Delete: true, Now: old, DeleteDanglingLinks: true})
	want := []string{tr.layerLink("r", gone), tr.revisionLink("r", missing)}
	slices.Sort(want)
	if got := minus(before, filesOn(t, d)); !slices.Equal(got, want) || rep.Deleted != 2 {
		t.Fatalf("deleted %v, want %v", got, want)
	}
}

// faultyDeletes fails DeleteFiles for the paths of one kind, and counts
// the calls.
type faultyDeletes struct {
	driver.StorageDriver
	fail  func(path string) bool
	mu    sync.Mutex
	calls int
}

func (f *faultyDeletes) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	var ok []string
	var failures []driver.DeleteFailure
	for _, p := range paths {
		if f.fail(p) {
			failures = append(failures, driver.DeleteFailure{Path: p, Err: errors.New("injected")})
		} else {
			ok = append(ok, p)
		}
	}
	n, err := f.StorageDriver.DeleteFiles(ctx, ok)
	if err != nil || len(failures) > 0 {
		return n, &driver.DeleteFilesError{DriverName: "faulty", Failures: failures}
	}
	return n, nil
}

func TestSweepHoldsBlobsBackWhenALinkFails(t *testing.T) {
	s := newScenario()
	d := &faultyDeletes{StorageDriver: inmemory.New(), fail: func(p string) bool { return strings.HasSuffix(p, "/link") && strings.Contains(p, "/lib/") }}
	s.tree.write(t, d)
	before := filesOn(t, d)
	rep, err := gc.Run(t.Context(), d, gc.Options{Delete: true, Now: old})
	if err == nil {
		t.Fatal("Run: no error, with a link not deleted")
	}
	gone := minus(before, filesOn(t, d))
	for _, p := range gone {
		if strings.HasSuffix(p, "/data") {
			t.Errorf("deleted blob %s after a link failed", p)
		}
	}
	if rep.DeletedBlobs != 0 || rep.FreedBytes != 0 || len(rep.Failed) != 1+len(rep.BlobPaths()) || rep.Deleted != len(gone) {
		t.Fatalf("report: %d deleted, %d blobs, %d bytes, failed %v; %d gone", rep.Deleted, rep.DeletedBlobs, rep.FreedBytes, rep.Failed, len(gone))
	}
	// Once the fault is gone, a new run finishes the job.
	d.fail = func(string) bool { return false }
	runGC(t, d, gc.Options{Delete: true, Now: old})
	if got := minus(before, filesOn(t, d)); !slices.Equal(got, s.garbage) {
		t.Fatalf("after the rerun deleted %v, want %v", got, s.garbage)
	}
}

func TestSweepUsesTwoDeleteFilesCalls(t *testing.T) {
	s := newScenario()
	d := &faultyDeletes{StorageDriver: inmemory.New(), fail: func(string) bool { return false }}
	s.tree.write(t, d)
	runGC(t, d, gc.Options{Delete: true, DeleteUntagged: true, Now: old})
	if d.calls != 2 {
		t.Fatalf("%d DeleteFiles calls, want 2 (links, then blobs)", d.calls)
	}
}

func TestRunCancelled(t *testing.T) {
	s := newScenario()
	d := inmemory.New()
	s.tree.write(t, d)
	before := filesOn(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := gc.Run(ctx, d, gc.Options{Delete: true, Now: old})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if got := filesOn(t, d); !slices.Equal(got, before) {
		t.Fatalf("deleted %v", minus(before, got))
	}
}

func TestBadRoot(t *testing.T) {
	_, err := gc.Run(t.Context(), inmemory.New(), gc.Options{Root: "../x"})
	var ipe *driver.InvalidPathError
	if !errors.As(err, &ipe) {
		t.Fatalf("Run with a bad root: %v, want an *InvalidPathError", err)
	}
}

func TestEmptyRegistry(t *testing.T) {
	rep := runGC(t, inmemory.New(), gc.Options{Delete: true})
	if rep.Blobs != 0 || rep.Deleted != 0 {
		t.Fatalf("empty registry: %+v", rep)
	}
}
