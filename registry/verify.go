package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/stowage-dev/stowage/driver"
)

// ProblemKind names what is wrong with a blob, link or manifest.
type ProblemKind string

// The problems Verify reports.
const (
	// Mismatched: the blob's content does not hash to the digest it is
	// named by (or is longer than a manifest says).
	Mismatched ProblemKind = "mismatched"
	// Truncated: the blob is shorter than a manifest referencing it says.
	Truncated ProblemKind = "truncated"
	// Empty: the blob is empty but named by another digest than the
	// empty content's.
	Empty ProblemKind = "empty"
	// Misplaced: a blob's data file is in another two-letter directory
	// than its digest's, where the registry never finds it.
	Misplaced ProblemKind = "misplaced"
	// DanglingLink: a link file points at a blob that does not exist.
	DanglingLink ProblemKind = "dangling-link"
	// BadLink: a link file holds no digest, or another one than its path
	// names.
	BadLink ProblemKind = "bad-link"
	// MissingReference: a manifest's config, layer or child manifest
	// does not exist.
	MissingReference ProblemKind = "missing-reference"
	// BadManifest: a manifest that cannot be parsed, or too large to be
	// one.
	BadManifest ProblemKind = "bad-manifest"
	// Unreadable: a read failed, after the driver's retries.
	Unreadable ProblemKind = "unreadable"
	// UnknownManifest: a manifest of a media type Refs does not know. It
	// is a warning: its references are not checked, and it does not make
	// Report.OK false.
	UnknownManifest ProblemKind = "unknown-manifest"
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// Path is the file the problem is about: the blob's data file, the
	// link file, or the manifest's data file.
	Path string `json:"path"`
	// Digest is the blob, link target or missing reference concerned.
	Digest Digest `json:"digest,omitempty"`
	// Repository is set for problems found through a repository's links.
	Repository string `json:"repository,omitempty"`
	// Detail says more, in words.
	Detail string `json:"detail,omitempty"`
}

// String implements fmt.Stringer: "kind path: detail".
func (p Problem) String() string {
	s := string(p.Kind) + " " + p.Path
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Report is what Verify found.
type Report struct {
	// Repositories is the number of repositories whose links were read.
	Repositories int `json:"repositories"`
	// Blobs and BlobBytes count the blob data files found.
	Blobs     int   `json:"blobs"`
	BlobBytes int64 `json:"blob_bytes"`
	// Hashed and HashedBytes count the blobs read and hashed.
	Hashed      int   `json:"hashed"`
	HashedBytes int64 `json:"hashed_bytes"`
	// Links is the number of link files read; Manifests the number of
	// manifests parsed.
	Links     int `json:"links"`
	Manifests int `json:"manifests"`
	// Problems are sorted by path, then kind.
	Problems []Problem `json:"problems"`
}

// OK reports whether no problem other than a warning was found.
func (r Report) OK() bool {
	for _, p := range r.Problems {
		if p.Kind != UnknownManifest {
			return false
		}
	}
	return true
}

// ByKind counts the problems of each kind.
func (r Report) ByKind() map[ProblemKind]int {
	out := map[ProblemKind]int{}
	for _, p := range r.Problems {
		out[p.Kind]++
	}
	return out
}

// Tracker follows a long run for a progress display:
// internal/progress.Progress is one. Its methods must be safe for
// concurrent use.
type Tracker interface {
	SetStage(stage string)
	Plan(n int64)
	Add(n int64)
}

// VerifyOptions configure Verify. The zero value checks everything.
type VerifyOptions struct {
	// Root is the registry root; "" means RootPath.
	Root string
	// Repository limits the check to one repository: its links, its
	// manifests and the blobs they reference. "" means all.
	Repository string
	// Sample is the fraction of blobs to hash, in (0, 1]; 0 means all.
	// Manifests are always read and hashed, links always all checked,
	// and every blob's size is always checked against the manifests.
	Sample float64
	// Seed picks the sample; 0 picks a new one each run.
	Seed uint64
	// Concurrency bounds the parallel reads; 0 means 16.
	Concurrency int
	// Progress, when set, follows the run.
	Progress Tracker
}

// MaxManifestSize is the largest manifest Verify reads: distribution's
// registry refuses larger ones (4 MiB).
const MaxManifestSize = 4 << 20

// Verify checks the registry under o.Root on d: every blob's data file is
// hashed (or a sample of them, o.Sample) against its name; every link file
// of the repositories is read and its target looked up; every manifest a
// revision or tag links to is read, hashed and parsed, and the config,
// layers and child manifests it references are looked up, their sizes
// compared. Blobs are found with one flat Walk of blobs/, links with one of
// repositories/: a lookup never costs a request. Reads run in parallel,
// o.Concurrency at once, each with the driver's retries; a read that still
// fails is a problem (Unreadable), not an error.
//
// The error is for a run that could not finish (a listing failed, ctx
// ended); the Report then holds what was found so far.
func Verify(ctx context.Context, d driver.StorageDriver, o VerifyOptions) (Report, error) {
	v := &verifier{d: d, o: o, root: o.Root}
	if v.root == "" {
		v.root = RootPath
	}
	if err := driver.ValidateDirPath("registry", v.root); err != nil {
		return Report{}, err
	}
	if o.Sample < 0 || o.Sample > 1 || math.IsNaN(o.Sample) {
		return Report{}, fmt.Errorf("registry: sample %v: want a fraction in (0, 1]", o.Sample)
	}
	if v.o.Sample == 0 {
		v.o.Sample = 1
	}
	if v.o.Concurrency <= 0 {
		v.o.Concurrency = 16
	}
	if v.o.Seed == 0 {
		v.o.Seed = rand.Uint64()
	}
	if v.o.Progress == nil {
		v.o.Progress = nopTracker{}
	}
	err := v.run(ctx)
	slices.SortFunc(v.rep.Problems, func(a, b Problem) int {
		return strings.Compare(a.Path+"\x00"+string(a.Kind)+"\x00"+string(a.Digest), b.Path+"\x00"+string(b.Kind)+"\x00"+string(b.Digest))
	})
	return v.rep, err
}

type nopTracker struct{}

func (nopTracker) SetStage(string) {}
func (nopTracker) Plan(int64)      {}
func (nopTracker) Add(int64)       {}

// blobInfo is a blob data file found by the walk.
type blobInfo struct {
	path string
	size int64
}

type verifier struct {
	d    driver.StorageDriver
	o    VerifyOptions
	root string

	blobs map[Digest]blobInfo // blobs at their right place
	files []blobFileInfo      // every blob data file, misplaced ones too

	mu       sync.Mutex
	rep      Report
	expected map[Digest]int64 // sizes manifests give
	hashed   map[string]bool  // data files hashed already (manifests)
	reported map[string]bool  // data files with a content problem already
	wanted   map[Digest]bool  // blobs of the repository, with o.Repository
}

type blobFileInfo struct {
	blobFile
	blobInfo
}

func (v *verifier) problem(p Problem) {
	v.mu.Lock()
	v.rep.Problems = append(v.rep.Problems, p)
	v.mu.Unlock()
}

func (v *verifier) run(ctx context.Context) error {
	v.expected, v.hashed, v.wanted, v.reported = map[Digest]int64{}, map[string]bool{}, map[Digest]bool{}, map[string]bool{}
	v.o.Progress.SetStage("listing blobs")
	if err := v.listBlobs(ctx); err != nil {
		return err
	}
	v.o.Progress.SetStage("listing links")
	links, err := v.listLinks(ctx)
	if err != nil {
		return err
	}
	v.o.Progress.SetStage("reading links")
	v.o.Progress.Plan(int64(len(links)))
	manifests, err := v.readLinks(ctx, links)
	if err != nil {
		return err
	}
	v.o.Progress.SetStage("reading manifests")
	if err := v.readManifests(ctx, manifests); err != nil {
		return err
	}
	v.checkSizes()
	v.o.Progress.SetStage("hashing blobs")
	return v.hashBlobs(ctx)
}

// listBlobs walks blobs/ once.
func (v *verifier) listBlobs(ctx context.Context) error {
	v.blobs = map[Digest]blobInfo{}
	dir := v.root + "/blobs"
	err := v.d.Walk(ctx, dir, func(fi driver.FileInfo) error {
		if fi.IsDir() {
			return nil
		}
		bf, ok := parseBlobPath(strings.TrimPrefix(fi.Path(), dir+"/"))
		if !ok {
			return nil
		}
		info := blobInfo{path: fi.Path(), size: fi.Size()}
		v.files = append(v.files, blobFileInfo{bf, info})
		v.rep.Blobs++
		v.rep.BlobBytes += fi.Size()
		if bf.misplaced {
			v.problem(Problem{Kind: Misplaced, Path: fi.Path(), Digest: bf.digest,
				Detail: "not in " + bf.digest.Hex()[:2] + "/, where the registry looks for it"})
		} else {
			v.blobs[bf.digest] = info
		}
		return nil
	})
	if driver.IsNotFound(err) {
		return nil
	}
	return err
}

// listLinks walks repositories/ (or the one repository) once.
func (v *verifier) listLinks(ctx context.Context) ([]Link, error) {
	dir := v.root + "/repositories"
	if v.o.Repository != "" {
		dir += "/" + v.o.Repository
		if err := driver.ValidateDirPath("registry", dir); err != nil {
			return nil, fmt.Errorf("registry: repository %q: %w", v.o.Repository, err)
		}
	}
	var links []Link
	repos := map[string]bool{}
	err := v.d.Walk(ctx, dir, func(fi driver.FileInfo) error {
		if fi.IsDir() {
			if strings.HasSuffix(fi.Path(), "/_uploads") {
				return driver.ErrSkipDir
			}
			return nil
		}
		if l, ok := ParseLink(v.root, fi.Path()); ok {
			links = append(links, l)
			repos[l.Repository] = true
		}
		return nil
	})
	switch {
	case driver.IsNotFound(err) && v.o.Repository != "":
		return nil, fmt.Errorf("registry: repository %q not found: %w", v.o.Repository, err)
	case driver.IsNotFound(err):
		err = nil
	}
	v.rep.Repositories = len(repos)
	return links, err
}

// manifestRef is a manifest to read, and where it was found.
type manifestRef struct {
	digest     Digest
	repository string
	via        string // the link or manifest that names it
}

// readLinks reads every link, checks it, and returns the manifests the
// revision and tag links name.
func (v *verifier) readLinks(ctx context.Context, links []Link) ([]manifestRef, error) {
	targets := make([]Digest, len(links))
	err := driver.ForEach(ctx, len(links), v.o.Concurrency, func(ctx context.Context, i int) error {
		defer v.o.Progress.Add(1)
		l := links[i]
		b, err := v.d.GetContent(ctx, l.Path)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.problem(Problem{Kind: Unreadable, Path: l.Path, Repository: l.Repository, Detail: err.Error()})
			return nil
		}
		d, err := ParseDigest(strings.TrimSpace(string(b)))
		switch {
		case err != nil:
			v.problem(Problem{Kind: BadLink, Path: l.Path, Repository: l.Repository, Detail: err.Error()})
			return nil
		case l.Named != "" && d != l.Named:
			v.problem(Problem{Kind: BadLink, Path: l.Path, Digest: d, Repository: l.Repository,
				Detail: "holds " + string(d) + ", its path names " + string(l.Named)})
			return nil
		}
		targets[i] = d
		if _, ok := v.blobs[d]; !ok {
			v.problem(Problem{Kind: DanglingLink, Path: l.Path, Digest: d, Repository: l.Repository,
				Detail: fmt.Sprintf("%s link to %s, which is not in blobs/", l.Kind, d)})
		}
		return nil
	})
	v.rep.Links = len(links)
	var out []manifestRef
	for i, l := range links {
		if targets[i] == "" {
			continue
		}
		v.wanted[targets[i]] = true
		if l.Kind == RevisionLink || l.Kind == TagCurrentLink {
			out = append(out, manifestRef{digest: targets[i], repository: l.Repository, via: l.Path})
		}
	}
	return out, err
}

// readManifests reads, hashes and parses each manifest once, and the
// child manifests of lists and indexes too, level by level.
func (v *verifier) readManifests(ctx context.Context, todo []manifestRef) error {
	seen := map[Digest]bool{}
	for len(todo) > 0 {
		var level []manifestRef
		for _, m := range todo {
			if _, ok := v.blobs[m.digest]; ok && !seen[m.digest] {
				seen[m.digest] = true
				level = append(level, m)
			}
		}
		v.o.Progress.Plan(int64(len(level)))
		children := make([][]manifestRef, len(level))
		err := driver.ForEach(ctx, len(level), v.o.Concurrency, func(ctx context.Context, i int) error {
			defer v.o.Progress.Add(1)
			var err error
			children[i], err = v.readManifest(ctx, level[i])
			return err
		})
		if err != nil {
			return err
		}
		todo = slices.Concat(children...)
	}
	return nil
}

// readManifest checks one manifest and returns its child manifests.
func (v *verifier) readManifest(ctx context.Context, m manifestRef) ([]manifestRef, error) {
	info := v.blobs[m.digest]
	if info.size > MaxManifestSize {
		v.problem(Problem{Kind: BadManifest, Path: info.path, Digest: m.digest, Repository: m.repository,
			Detail: fmt.Sprintf("%d bytes, larger than any manifest (linked from %s)", info.size, m.via)})
		return nil, nil
	}
	content, err := v.d.GetContent(ctx, info.path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.problem(Problem{Kind: Unreadable, Path: info.path, Digest: m.digest, Repository: m.repository, Detail: err.Error()})
		return nil, nil
	}
	v.mu.Lock()
	v.hashed[info.path] = true
	v.rep.Hashed++
	v.rep.HashedBytes += int64(len(content))
	v.rep.Manifests++
	v.mu.Unlock()
	if got := m.digest.Of(content); got != m.digest {
		v.mu.Lock()
		v.reported[info.path] = true
		v.mu.Unlock()
		v.problem(v.contentProblem(info, m.digest, got, int64(len(content))))
		return nil, nil
	}
	mediaType, refs, err := Refs(content)
	if errors.Is(err, ErrUnknownManifest) {
		v.problem(Problem{Kind: UnknownManifest, Path: info.path, Digest: m.digest, Repository: m.repository, Detail: err.Error()})
		return nil, nil
	}
	if err != nil {
		v.problem(Problem{Kind: BadManifest, Path: info.path, Digest: m.digest, Repository: m.repository, Detail: err.Error()})
		return nil, nil
	}
	var children []manifestRef
	for _, r := range refs {
		if r.Kind == RefSubject {
			// A referrer may be pushed before its subject (OCI
			// distribution spec 1.1): a missing subject is no problem.
			continue
		}
		v.mu.Lock()
		v.wanted[r.Digest] = true
		if r.Size >= 0 {
			v.expected[r.Digest] = r.Size
		}
		v.mu.Unlock()
		_, ok := v.blobs[r.Digest]
		if !ok {
			v.problem(Problem{Kind: MissingReference, Path: info.path, Digest: r.Digest, Repository: m.repository,
				Detail: fmt.Sprintf("%s manifest %s references %s %s, which is not in blobs/", mediaType, m.digest, r.Kind, r.Digest)})
		}
		if r.Kind == RefChild && ok {
			children = append(children, manifestRef{digest: r.Digest, repository: m.repository, via: info.path})
		}
	}
	return children, nil
}

// contentProblem classifies a blob whose content hashes to got, not to
// its name want.
func (v *verifier) contentProblem(info blobInfo, want, got Digest, size int64) Problem {
	p := Problem{Kind: Mismatched, Path: info.path, Digest: want, Detail: fmt.Sprintf("content hashes to %s", got)}
	v.mu.Lock()
	exp, known := v.expected[want]
	v.mu.Unlock()
	switch {
	case size == 0 && !emptyDigests[want]:
		p.Kind, p.Detail = Empty, "0 bytes"
	case known && size < exp:
		p.Kind, p.Detail = Truncated, fmt.Sprintf("%d bytes of %d; content hashes to %s", size, exp, got)
	}
	return p
}

// emptyDigests are the digests of empty content.
var emptyDigests = map[Digest]bool{
	Digest("sha256:").Of(nil): true,
	Digest("sha512:").Of(nil): true,
}

// checkSizes compares every blob the manifests give a size for with the
// size listed, hashed or not: shorter is Truncated (Empty at 0 bytes),
// longer Mismatched. A blob found wrong here is not reported again when
// hashed.
func (v *verifier) checkSizes() {
	for _, f := range v.files {
		exp, known := v.expected[f.digest]
		if !known || f.size == exp || f.misplaced || v.reported[f.path] {
			continue
		}
		p := Problem{Kind: Mismatched, Path: f.path, Digest: f.digest, Detail: fmt.Sprintf("%d bytes, its manifest says %d", f.size, exp)}
		switch {
		case f.size == 0 && !emptyDigests[f.digest]:
			p.Kind, p.Detail = Empty, fmt.Sprintf("0 bytes, its manifest says %d", exp)
		case f.size < exp:
			p.Kind = Truncated
		}
		v.reported[f.path] = true
		v.problem(p)
	}
}

// hashBlobs hashes the blobs not hashed yet: all of them, or those of
// the repository, or a sample.
func (v *verifier) hashBlobs(ctx context.Context) error {
	var todo []blobFileInfo
	for _, f := range v.files {
		switch {
		case v.hashed[f.path]:
		case v.o.Repository != "" && !v.wanted[f.digest]:
		case !v.sampled(f.digest):
		default:
			todo = append(todo, f)
		}
	}
	v.o.Progress.Plan(int64(len(todo)))
	return driver.ForEach(ctx, len(todo), v.o.Concurrency, func(ctx context.Context, i int) error {
		defer v.o.Progress.Add(1)
		f := todo[i]
		got, n, err := v.hash(ctx, f)
		v.mu.Lock()
		v.rep.Hashed++
		v.rep.HashedBytes += n
		v.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.problem(Problem{Kind: Unreadable, Path: f.path, Digest: f.digest, Detail: err.Error()})
			return nil
		}
		if got != f.digest && !v.reported[f.path] {
			v.problem(v.contentProblem(f.blobInfo, f.digest, got, n))
		}
		return nil
	})
}

// sampled reports whether the blob d is in the sample: a hash of the
// seed and the digest below the fraction, so that each blob is picked
// independently and the same seed picks the same blobs.
func (v *verifier) sampled(d Digest) bool {
	if v.o.Sample >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(v.o.Seed, 10) + string(d)))
	return float64(h.Sum64())/math.MaxUint64 < v.o.Sample
}

// hash streams one blob through its digest's hash.
func (v *verifier) hash(ctx context.Context, f blobFileInfo) (Digest, int64, error) {
	r, err := v.d.Reader(ctx, f.path, 0)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := f.digest.newHash()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return Digest(f.digest.Algorithm() + ":" + fmt.Sprintf("%x", h.Sum(nil))), n, nil
}
