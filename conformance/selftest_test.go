package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// The self test proves that the suite bites: it runs Run on the inmemory
// backend wrapped by a "mutant" that breaks one rule, in a child process
// (a failing *testing.T cannot be contained in-process), and checks that
// the leaf tests meant to catch that mutant fail, and that an unmutated
// run passes.

const (
	mutantEnv = "STOWAGE_CONFORMANCE_MUTANT"
	// remoteEnv, set to "1", runs the mutant over remote (see
	// remote_test.go) instead of the bare inmemory driver, so that the
	// suite runs its HTTP leaves (request counts, refused requests).
	remoteEnv = "STOWAGE_CONFORMANCE_REMOTE"
)

// mutantCase names a mutant, the top-level groups of the suite to run
// against it and the leaf tests that must catch it; remote runs it over
// remote, with Capabilities.HTTP.
type mutantCase struct {
	name   string
	groups string // -test.run pattern for the groups, e.g. "Walk|List"
	caught []string
	remote bool
}

// label names the case's subtest.
func (c mutantCase) label() string {
	if c.remote {
		return c.name + "OverHTTP"
	}
	return c.name
}

var mutantCases = []mutantCase{
	{"none", "", nil, false},
	{"none", "", nil, true},
	{"DeleteFilesRemovesDirectories", "DeleteFiles", []string{"DeleteFiles/DirectoryLeftAlone"}, false},
	{"WalkReversed", "Walk", []string{"Walk/Order", "Walk/Subtree", "Walk/StartAfter/FileHint"}, false},
	{"WalkNameOrder", "Walk", []string{"Walk/Order"}, false},
	{"WalkIgnoresSkipDir", "Walk", []string{"Walk/SkipDir/Nested", "Walk/SkipDir/TopLevel", "Walk/Parallel/SkipDir"}, false},
	{"WalkIgnoresStartAfter", "Walk", []string{"Walk/StartAfter/FileHint", "Walk/StartAfter/DirHint", "Walk/StartAfter/InsideDirHint"}, false},
	{"ListReversed", "List", []string{"List/Root", "List/Nested"}, false},
	{"ReaderIgnoresOffset", "Streams", []string{"Streams/Reader/OffsetMiddle", "Streams/Large/Stream64MiB"}, false},
	{"ReaderEndIsInvalid", "Streams", []string{"Streams/Reader/OffsetEnd", "Streams/Reader/EmptyFileOffsetZero"}, false},
	{"CommitOnClose", "Writer", []string{"Writer/Visibility/InvisibleAfterClose", "Writer/State/CommitAfterClose"}, false},
	{"DoubleCloseIsNil", "Writer", []string{"Writer/State/DoubleClose"}, false},
	{"SessionSize", "Writer", []string{"Writer/Sessions/SizeAcrossSessions", "Writer/Sessions/LargeSessions"}, false},
	{"AppendCreates", "Writer", []string{"Writer/Sessions/AppendWithoutState", "Writer/Sessions/AppendAfterCancel"}, false},
	{"CleansPaths", "Paths", []string{"Paths/Invalid/PutContent", "Paths/Invalid/TraversalCreatesNothing"}, false},
	{"DeletePrefix", "Delete", []string{"Delete/FileLeavesPrefixSiblings", "Delete/DirectoryLeavesPrefixSiblings", "Delete/MissingPrefix"}, false},
	{"DeleteFilesOnly", "Delete|Content", []string{"Delete/Tree", "Content/Stat/File"}, false},
	{"MoveCopies", "Move", []string{"Move/Simple", "Move/SourceParentsVanish"}, false},
	{"DeleteFilesCountsDuplicates", "DeleteFiles", []string{"DeleteFiles/Duplicates"}, false},
	{"IgnoresCancel", "Cancel", []string{"Cancel/GetContent", "Cancel/PutContentNew", "Cancel/DeleteFiles"}, false},
	// The s3 writer's bug that distribution's registry found: the bytes
	// buffered at Close, past the last whole part of sizeLostPart, no
	// longer counted in Size.
	{"SizeLostAtClose", "Writer", []string{"Writer/Sizes/AfterClose", "Writer/ContextEnded/Close", "Writer/Sessions/LargeSessions"}, false},
	{"SizeKeptAfterCancel", "Writer", []string{"Writer/Sizes/AfterCancel", "Writer/Sizes/AfterCancelOfResumed", "Writer/Continue/CancelKeepsFile"}, false},
	// Writer(append) that resumes only uncommitted state, as every backend
	// did before it continued committed files.
	{"AppendNeedsUpload", "Writer", []string{"Writer/Continue/CommittedFile", "Writer/Continue/PutContentFile", "Writer/Continue/ZeroByteFile", "Writer/Continue/Repeatedly", "Writer/Sessions/NewDiscardsUncommitted"}, false},
	// Close that gives up when the Writer's ctx has ended, losing the
	// session's bytes.
	{"CloseNeedsContext", "Writer", []string{"Writer/ContextEnded/Close", "Writer/ContextEnded/CloseResumed"}, false},
	// A DeleteFiles that looks at its context once, before it starts,
	// and not between batches: the leaf's old cancellation, racing with
	// the call, let it through.
	{"DeleteFilesIgnoresCancelMidway", "DeleteFiles", []string{"DeleteFiles/CancelledMidway"}, false},
	// A DeleteFiles that reports every path deleted when it was cut short.
	{"DeleteFilesReportsAll", "DeleteFiles", []string{"DeleteFiles/CancelledMidway"}, false},
	{"DeleteFilesReportsAll", "DeleteFiles", []string{"DeleteFiles/CancelledMidway"}, true},
	// One bulk-delete request per path instead of per batch.
	{"DeleteFilesPerPath", "DeleteFiles", []string{"DeleteFiles/RequestCount", "DeleteFiles/Many", "DeleteFiles/Several"}, true},
	// Deleting by key prefix: /a/b takes /a/bc with it.
	{"DeleteFilesPrefixSibling", "DeleteFiles", []string{"DeleteFiles/PrefixSiblingsUntouched"}, false},
	// Validating path by path, deleting the valid ones before the bad one.
	{"DeleteFilesBeforeRejecting", "DeleteFiles", []string{"DeleteFiles/InvalidRejectsAll/Traversal", "DeleteFiles/InvalidRejectsAll/Root", "DeleteFiles/InvalidRejectsAll/Empty", "DeleteFiles/InvalidRejectsAll/Relative", "DeleteFiles/InvalidRejectsAll/TrailingSlash", "DeleteFiles/InvalidRejectsAll/Space"}, false},
	{"DeleteFilesBeforeRejecting", "DeleteFiles", []string{"DeleteFiles/InvalidRejectsAll/Traversal", "DeleteFiles/InvalidRejectsAll/Space"}, true},
	// A Walk that drops WithParallel and calls one at a time.
	{"WalkIgnoresParallel", "Walk", []string{"Walk/Parallel/Concurrent"}, false},
	// A Move that deletes the source even though its copy failed.
	{"MoveLosesSourceOnFailedCopy", "Move", []string{"Move/CopyFails"}, true},
	// Directories a removal emptied still show (no pruning), and the
	// opposite: pruning the parent with its other files.
	{"PrunesTooLittle", "Delete|DeleteFiles|Move", []string{"Delete/ParentsVanish", "Delete/ParentWithSiblingStays", "DeleteFiles/EmptyParentsPruned", "DeleteFiles/DeepParentsPruned", "Move/SourceParentsVanish"}, false},
	{"PrunesTooMuch", "Delete|DeleteFiles|Move", []string{"Delete/File", "Delete/NestedTree", "DeleteFiles/Single", "Move/SiblingsStay"}, false},
	// Uncommitted state a second driver over the same root cannot see,
	// as with state kept in the process.
	{"UploadsPerDriver", "Writer", []string{"Writer/Sessions/AppendFromNewDriver", "Writer/Continue/CommittedFile", "Writer/ContextEnded/Close"}, false},
	// URLFor that drops the caller's expiry (the URL lives for the
	// default 20 minutes), and one that signs whatever method is asked.
	{"URLForIgnoresExpiry", "URLFor", []string{"URLFor/Expired"}, true},
	{"URLForAnyMethod", "URLFor", []string{"URLFor/OtherMethods"}, true},
	// A PurgeStagedUpload that takes any ID: for one the store does not
	// list it purges the upload listed for the path, and reports nothing.
	{"PurgeIgnoresBadID", "Uploads", []string{"Uploads/PurgeRejectsForeignUpload"}, false},
	// A torn PutContent (half the content visible for a moment) is caught
	// by Concurrency/ReadersAndWritersSamePath only when a reader happens
	// to run in that moment, so it is not a mutant here: a self-test must
	// not depend on timing.
}

// TestSuiteCatchesMutants runs the suite, in a child process each, on
// deliberately broken backends and checks that the leaves that should catch
// each break fail. In the child (mutantEnv set) the same test runs the suite
// on the mutant instead.
func TestSuiteCatchesMutants(t *testing.T) {
	if kind := os.Getenv(mutantEnv); kind != "" {
		runMutant(t, kind)
		return
	}
	for _, c := range mutantCases {
		t.Run(c.label(), func(t *testing.T) {
			run := "^TestSuiteCatchesMutants$"
			if c.groups != "" {
				run += "/^(" + c.groups + ")$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+c.name)
			if c.remote {
				cmd.Env = append(cmd.Env, remoteEnv+"=1")
			}
			out, err := cmd.CombinedOutput()
			if c.name == "none" {
				if err != nil {
					t.Fatalf("the suite fails on the unmutated backend: %v\n%s", err, tail(out))
				}
				if !bytes.Contains(out, []byte("--- PASS: TestSuiteCatchesMutants")) {
					t.Fatalf("the child ran no suite:\n%s", tail(out))
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passes on mutant %s", c.label())
			}
			for _, leaf := range c.caught {
				re := regexp.MustCompile(`--- FAIL: TestSuiteCatchesMutants/` + regexp.QuoteMeta(leaf) + ` `)
				if !re.Match(out) {
					t.Errorf("mutant %s: %s did not fail", c.label(), leaf)
				}
			}
			if t.Failed() {
				t.Logf("child output:\n%s", tail(out))
			}
		})
	}
}

// tail returns the end of a long output.
func tail(out []byte) []byte {
	const keep = 8000
	if len(out) > keep {
		return out[len(out)-keep:]
	}
	return out
}

// runMutant runs the suite on the mutant named kind, in the child process.
func runMutant(t *testing.T, kind string) {
	var (
		mu      sync.Mutex
		stores  = map[string]*inmemory.Driver{}
		uploads = map[string]*uploadSet{}
		srv     *httptest.Server
	)
	if os.Getenv(remoteEnv) == "1" {
		srv = remoteServer(func(root string) *inmemory.Driver {
			mu.Lock()
			defer mu.Unlock()
			return stores[root]
		})
		t.Cleanup(srv.Close)
	}
	conformance.Run(t, conformance.Harness{
		Name: "mutant-" + kind,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			mu.Lock()
			defer mu.Unlock()
			d, ok := stores[env.Root]
			if !ok {
				d = inmemory.New()
				stores[env.Root] = d
				uploads[env.Root] = &uploadSet{paths: map[string]bool{}}
			}
			var sd driver.StorageDriver = d
			if srv != nil {
				batch := remoteBatch
				if env.DeleteBatchSize > 0 {
					batch = min(batch, env.DeleteBatchSize)
				}
				sd = &remote{Driver: d, client: env.HTTPClient, url: srv.URL, root: env.Root, batch: batch}
			}
			return &mutant{StorageDriver: sd, kind: kind, uploads: uploads[env.Root], mine: map[string]bool{}}
		},
	})
}

// mutant wraps a correct driver and breaks the rule its kind names.
type mutant struct {
	driver.StorageDriver
	kind    string
	uploads *uploadSet // of the store, shared by its drivers
	mu      sync.Mutex
	mine    map[string]bool // paths whose uploads this driver started
	ghosts  sync.Map        // directories emptied but not pruned (PrunesTooLittle)
}

// Capabilities passes on the wrapped driver's.
func (m *mutant) Capabilities() driver.Capabilities {
	return driver.CapabilitiesOf(m.StorageDriver)
}

// The inner drivers (inmemory, remote) stage uploads, and so does the
// mutant, so that the suite runs its Uploads leaves.
var _ driver.UploadStager = (*mutant)(nil)

// StagedUploads passes on the wrapped driver's.
func (m *mutant) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	return m.StorageDriver.(driver.UploadStager).StagedUploads(ctx)
}

// PurgeStagedUpload passes on to the wrapped driver's, except for
// PurgeIgnoresBadID.
func (m *mutant) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	st := m.StorageDriver.(driver.UploadStager)
	if m.kind == "PurgeIgnoresBadID" {
		list, err := st.StagedUploads(ctx)
		if err != nil {
			return err
		}
		listed := slices.ContainsFunc(list, func(l driver.StagedUpload) bool { return l.ID == u.ID })
		if !listed {
			for _, l := range list {
				if l.Path == u.Path {
					return st.PurgeStagedUpload(ctx, l)
				}
			}
			return nil
		}
	}
	return st.PurgeStagedUpload(ctx, u)
}

// removed is called after p was removed (by Delete, DeleteFiles or as
// a Move's source) for the pruning mutants.
func (m *mutant) removed(ctx context.Context, p string) {
	parent := driver.ParentDir(p)
	switch m.kind {
	case "PrunesTooLittle":
		for dir := parent; dir != "/"; dir = driver.ParentDir(dir) {
			m.ghosts.Store(dir, true)
		}
	case "PrunesTooMuch":
		if parent != "/" {
			_ = m.StorageDriver.Delete(ctx, parent)
		}
	}
}

func (m *mutant) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	fi, err := m.StorageDriver.Stat(ctx, p)
	if _, ghost := m.ghosts.Load(p); ghost && driver.IsNotFound(err) {
		return driver.FileInfoFields{FilePath: p, Dir: true}, nil
	}
	return fi, err
}

// uploadSet is the paths that have uncommitted writer state in one store,
// as the mutant's writers see it.
type uploadSet struct {
	mu    sync.Mutex
	paths map[string]bool
}

func (u *uploadSet) set(p string, on bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if on {
		u.paths[p] = true
	} else {
		delete(u.paths, p)
	}
}

func (u *uploadSet) has(p string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.paths[p]
}

func (m *mutant) GetContent(ctx context.Context, p string) ([]byte, error) {
	if m.kind == "IgnoresCancel" {
		ctx = context.WithoutCancel(ctx)
	}
	return m.StorageDriver.GetContent(ctx, p)
}

func (m *mutant) PutContent(ctx context.Context, p string, content []byte) error {
	switch m.kind {
	case "IgnoresCancel":
		ctx = context.WithoutCancel(ctx)
	case "CleansPaths":
		if strings.HasPrefix(p, "/") {
			p = path.Clean(p)
		}
	}
	return m.StorageDriver.PutContent(ctx, p, content)
}

func (m *mutant) Reader(ctx context.Context, p string, off int64) (io.ReadCloser, error) {
	switch m.kind {
	case "ReaderIgnoresOffset":
		if off > 0 {
			fi, err := m.Stat(ctx, p)
			if err == nil && off <= fi.Size() {
				off = 0
			}
		}
	case "ReaderEndIsInvalid":
		if fi, err := m.Stat(ctx, p); err == nil && !fi.IsDir() && off == fi.Size() {
			return nil, &driver.InvalidOffsetError{Path: p, Offset: off, DriverName: m.Name()}
		}
	}
	return m.StorageDriver.Reader(ctx, p, off)
}

func (m *mutant) Writer(ctx context.Context, p string, appendMode bool) (driver.FileWriter, error) {
	if m.kind == "AppendNeedsUpload" && appendMode && !m.uploads.has(p) {
		return nil, &driver.PathNotFoundError{Path: p, DriverName: m.Name()}
	}
	if m.kind == "UploadsPerDriver" && appendMode && m.uploads.has(p) {
		m.mu.Lock()
		mine := m.mine[p]
		m.mu.Unlock()
		if !mine {
			return nil, &driver.PathNotFoundError{Path: p, DriverName: m.Name()}
		}
	}
	w, err := m.StorageDriver.Writer(ctx, p, appendMode)
	if m.kind == "AppendCreates" && appendMode && err != nil && errors.As(err, new(*driver.PathNotFoundError)) {
		w, err = m.StorageDriver.Writer(ctx, p, false)
	}
	if err != nil {
		return nil, err
	}
	m.uploads.set(p, true)
	m.mu.Lock()
	m.mine[p] = true
	m.mu.Unlock()
	return &mutantWriter{FileWriter: w, kind: m.kind, ctx: ctx, path: p, uploads: m.uploads}, nil
}

// sizeLostPart is the part size of the SizeLostAtClose mutant: S3's
// smallest, which the s3 writer buffered up to.
const sizeLostPart = 5 << 20

// mutantWriter breaks the writer rules.
type mutantWriter struct {
	driver.FileWriter
	kind      string
	ctx       context.Context
	path      string
	uploads   *uploadSet
	closed    bool
	cancelled bool
	sizeSeen  int64 // Size before Cancel
	session   int64
}

func (w *mutantWriter) Commit(ctx context.Context) error {
	err := w.FileWriter.Commit(ctx)
	if err == nil {
		w.uploads.set(w.path, false)
	}
	return err
}

func (w *mutantWriter) Cancel(ctx context.Context) error {
	size := w.FileWriter.Size()
	err := w.FileWriter.Cancel(ctx)
	if err == nil {
		w.uploads.set(w.path, false)
		w.cancelled, w.sizeSeen = true, size
	}
	return err
}

func (w *mutantWriter) Write(p []byte) (int, error) {
	n, err := w.FileWriter.Write(p)
	w.session += int64(n)
	return n, err
}

func (w *mutantWriter) Size() int64 {
	switch {
	case w.kind == "SessionSize":
		return w.session
	case w.kind == "SizeLostAtClose" && w.closed:
		// Only the bytes of whole parts: what was still buffered at
		// Close is no longer counted.
		return w.FileWriter.Size() / sizeLostPart * sizeLostPart
	case w.kind == "SizeKeptAfterCancel" && w.cancelled:
		return w.sizeSeen
	}
	return w.FileWriter.Size()
}

func (w *mutantWriter) Close() error {
	switch w.kind {
	case "CommitOnClose":
		_ = w.FileWriter.Commit(w.ctx)
	case "DoubleCloseIsNil":
		if w.closed {
			return nil
		}
	case "CloseNeedsContext":
		if err := w.ctx.Err(); err != nil && !w.closed {
			_ = w.FileWriter.Cancel(context.Background())
			w.uploads.set(w.path, false)
			w.closed = true
			_ = w.FileWriter.Close()
			return err
		}
	}
	w.closed = true
	return w.FileWriter.Close()
}

func (m *mutant) URLFor(ctx context.Context, p string, options map[string]any) (string, error) {
	switch m.kind {
	case "URLForIgnoresExpiry":
		o := maps.Clone(options)
		delete(o, "expiry")
		options = o
	case "URLForAnyMethod":
		if r, ok := m.StorageDriver.(*remote); ok {
			if method, ok := options["method"].(string); ok {
				return r.sign(p, strings.ToUpper(method), time.Now().Add(driver.DefaultURLExpiry)), nil
			}
		}
	}
	return m.StorageDriver.URLFor(ctx, p, options)
}

func (m *mutant) List(ctx context.Context, p string) ([]string, error) {
	out, err := m.StorageDriver.List(ctx, p)
	if m.kind == "ListReversed" {
		slices.Reverse(out)
	}
	return out, err
}

func (m *mutant) Move(ctx context.Context, src, dst string) error {
	switch m.kind {
	case "MoveLosesSourceOnFailedCopy":
		err := m.StorageDriver.Move(ctx, src, dst)
		if err != nil && !driver.IsNotFound(err) && src != dst {
			_ = m.StorageDriver.Delete(ctx, src)
		}
		return err
	case "MoveCopies":
	default:
		err := m.StorageDriver.Move(ctx, src, dst)
		if err == nil && src != dst {
			m.removed(ctx, src)
		}
		return err
	}
	b, err := m.StorageDriver.GetContent(ctx, src)
	if err != nil {
		return err
	}
	return m.StorageDriver.PutContent(ctx, dst, b)
}

func (m *mutant) Delete(ctx context.Context, p string) error {
	switch m.kind {
	case "DeletePrefix":
		var doomed []string
		err := m.StorageDriver.Walk(ctx, "/", func(fi driver.FileInfo) error {
			if !fi.IsDir() && strings.HasPrefix(fi.Path(), p) {
				doomed = append(doomed, fi.Path())
			}
			return nil
		})
		if err != nil && !errors.As(err, new(*driver.PathNotFoundError)) {
			return err
		}
		if len(doomed) == 0 {
			return &driver.PathNotFoundError{Path: p, DriverName: m.Name()}
		}
		_, err = m.StorageDriver.DeleteFiles(ctx, doomed)
		return err
	case "DeleteFilesOnly":
		if fi, err := m.Stat(ctx, p); err == nil && fi.IsDir() {
			return nil
		}
	}
	err := m.StorageDriver.Delete(ctx, p)
	if err == nil {
		m.removed(ctx, p)
	}
	return err
}

func (m *mutant) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	switch m.kind {
	case "IgnoresCancel":
		ctx = context.WithoutCancel(ctx)
	case "DeleteFilesRemovesDirectories":
		for _, p := range paths {
			if fi, err := m.Stat(ctx, p); err == nil && fi.IsDir() {
				_ = m.StorageDriver.Delete(ctx, p)
			}
		}
	case "DeleteFilesCountsDuplicates":
		_, err := m.StorageDriver.DeleteFiles(ctx, paths)
		if err != nil {
			return 0, err
		}
		return len(paths), nil
	case "DeleteFilesIgnoresCancelMidway":
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ctx = context.WithoutCancel(ctx)
	case "DeleteFilesReportsAll":
		unique, err := driver.UniquePaths(m.Name(), paths)
		if err != nil {
			return 0, err
		}
		n, err := m.StorageDriver.DeleteFiles(ctx, paths)
		if err != nil && n > 0 {
			return len(unique), nil
		}
		return n, err
	case "DeleteFilesPerPath":
		unique, err := driver.UniquePaths(m.Name(), paths)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, p := range unique {
			k, err := m.StorageDriver.DeleteFiles(ctx, []string{p})
			n += k
			if err != nil {
				return n, err
			}
		}
		return n, nil
	case "DeleteFilesPrefixSibling":
		unique, err := driver.UniquePaths(m.Name(), paths)
		if err != nil {
			return 0, err
		}
		var doomed []string
		err = m.StorageDriver.Walk(ctx, "/", func(fi driver.FileInfo) error {
			for _, p := range unique {
				if !fi.IsDir() && strings.HasPrefix(fi.Path(), p) && !strings.HasPrefix(fi.Path(), p+"/") {
					doomed = append(doomed, fi.Path())
				}
			}
			return nil
		})
		if err != nil && !driver.IsNotFound(err) {
			return 0, err
		}
		if _, err := m.StorageDriver.DeleteFiles(ctx, doomed); err != nil {
			return 0, err
		}
		return len(unique), nil
	case "DeleteFilesBeforeRejecting":
		n := 0
		for _, p := range paths {
			k, err := m.StorageDriver.DeleteFiles(ctx, []string{p})
			if err != nil {
				return 0, err
			}
			n += k
		}
		return n, nil
	}
	n, err := m.StorageDriver.DeleteFiles(ctx, paths)
	if err == nil {
		for _, p := range paths {
			m.removed(ctx, p)
		}
	}
	return n, err
}

func (m *mutant) Walk(ctx context.Context, p string, f driver.WalkFn, opts ...driver.WalkOption) error {
	switch m.kind {
	case "WalkIgnoresSkipDir":
		return m.StorageDriver.Walk(ctx, p, func(fi driver.FileInfo) error {
			if err := f(fi); !errors.Is(err, driver.ErrSkipDir) {
				return err
			}
			return nil
		}, opts...)
	case "WalkIgnoresParallel":
		o := driver.ApplyWalkOptions(opts...)
		return m.StorageDriver.Walk(ctx, p, f, driver.WithStartAfter(o.StartAfter))
	case "WalkIgnoresStartAfter":
		o := driver.ApplyWalkOptions(opts...)
		return m.StorageDriver.Walk(ctx, p, f, driver.WithParallel(o.Parallel))
	case "WalkReversed", "WalkNameOrder":
		// Collect everything, then replay it in the wrong order,
		// honouring ErrSkipDir.
		var all []driver.FileInfo
		if err := m.StorageDriver.Walk(ctx, p, func(fi driver.FileInfo) error {
			all = append(all, fi)
			return nil
		}, opts...); err != nil {
			return err
		}
		if m.kind == "WalkReversed" {
			slices.Reverse(all)
		} else {
			slices.SortStableFunc(all, func(a, b driver.FileInfo) int { return strings.Compare(a.Path(), b.Path()) })
		}
		skipped := ""
		for _, fi := range all {
			if skipped != "" && driver.IsUnder(fi.Path(), skipped) {
				continue
			}
			if err := f(fi); err != nil {
				if errors.Is(err, driver.ErrSkipDir) && fi.IsDir() {
					skipped = fi.Path()
					continue
				}
				if !errors.Is(err, driver.ErrSkipDir) {
					return err
				}
			}
		}
		return nil
	}
	return m.StorageDriver.Walk(ctx, p, f, opts...)
}
