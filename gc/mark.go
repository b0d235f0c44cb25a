package gc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/registry"
)

// Mark walks the registry under o.Root once, reads its manifests (and,
// with DeleteUntagged, its tag current links) in parallel, and returns
// the plan of what Sweep would delete. It deletes nothing. The error is
// for a mark that could not finish (the walk failed, ctx ended, a bad
// option); problems with single manifests and links are in
// Plan.Problems. The phases' timings and requests are in the Report.
func Mark(ctx context.Context, d driver.StorageDriver, o Options) (*Plan, []Phase, error) {
	o = o.withDefaults()
	if err := driver.ValidateDirPath("gc", o.Root); err != nil {
		return nil, nil, err
	}
	m := &marker{d: d, o: o, phases: newPhaser(o)}
	m.plan = &Plan{
		Root: o.Root, Started: o.Now(), DeleteUntagged: o.DeleteUntagged,
		DeleteDanglingLinks: o.DeleteDanglingLinks, SkippedUnreadable: o.SkipUnreadable,
	}
	m.plan.Cutoff = m.plan.Started.Add(-o.minAge())
	err := m.run(ctx)
	slices.SortFunc(m.plan.Problems, func(a, b registry.Problem) int {
		return strings.Compare(a.Path+"\x00"+string(a.Kind), b.Path+"\x00"+string(b.Kind))
	})
	return m.plan, m.phases.done, err
}

// blobEntry is a blob data file the walk found.
type blobEntry struct {
	path string
	size int64
	mod  time.Time
}

// linkEntry is a link file the walk found.
type linkEntry struct {
	registry.Link
	mod time.Time
}

// repo is what the walk found of one repository.
type repo struct {
	revisions map[registry.Digest]linkEntry
	tagIndex  map[registry.Digest][]linkEntry
	current   []linkEntry // tag current links
	layers    []linkEntry
	// tagged are the manifests a tag's current link points at.
	tagged map[registry.Digest]bool
	// keepAll: a tag link could not be read, so no manifest of the
	// repository is known to be untagged.
	keepAll bool
	// kept are the manifests kept in the repository.
	kept map[registry.Digest]bool
}

// manifestInfo is what reading a manifest found.
type manifestInfo struct {
	readable bool // read, hashed and parsed
	missing  bool // its blob does not exist
	unknown  bool // of a media type Refs does not know: always kept
	refs     []registry.Ref
	subject  registry.Digest
}

type marker struct {
	d      driver.StorageDriver
	o      Options
	plan   *Plan
	phases *phaser

	blobs     map[registry.Digest]blobEntry
	repos     map[string]*repo
	manifests map[registry.Digest]*manifestInfo
	marked    map[registry.Digest]bool

	mu sync.Mutex // guards plan.Problems during the parallel reads
}

func (m *marker) problem(p registry.Problem) {
	m.mu.Lock()
	m.plan.Problems = append(m.plan.Problems, p)
	m.mu.Unlock()
}

func (m *marker) young(t time.Time) bool { return t.After(m.plan.Cutoff) }

func (m *marker) run(ctx context.Context) error {
	m.phases.start("walk")
	if err := m.walk(ctx); err != nil {
		return err
	}
	if m.o.DeleteUntagged {
		m.phases.start("read tags")
		if err := m.readTags(ctx); err != nil {
			return err
		}
	}
	m.phases.start("read manifests")
	if err := m.readManifests(ctx); err != nil {
		return err
	}
	m.phases.end()
	m.decide()
	return nil
}

// walk lists the whole registry root in one flat Walk.
func (m *marker) walk(ctx context.Context) error {
	m.blobs, m.repos = map[registry.Digest]blobEntry{}, map[string]*repo{}
	root := m.o.Root
	err := m.d.Walk(ctx, root, func(fi driver.FileInfo) error {
		p := fi.Path()
		if fi.IsDir() {
			if strings.HasSuffix(p, "/_uploads") && strings.HasPrefix(p, root+"/repositories/") {
				return driver.ErrSkipDir
			}
			return nil
		}
		m.o.Progress.Add(1)
		if d, misplaced, ok := registry.ParseBlobPath(root, p); ok {
			if !misplaced {
				m.blobs[d] = blobEntry{path: p, size: fi.Size(), mod: fi.ModTime()}
				m.plan.Blobs++
				m.plan.BlobBytes += fi.Size()
			}
			return nil
		}
		l, ok := registry.ParseLink(root, p)
		if !ok {
			return nil
		}
		m.plan.Links++
		r := m.repos[l.Repository]
		if r == nil {
			r = &repo{revisions: map[registry.Digest]linkEntry{}, tagIndex: map[registry.Digest][]linkEntry{},
				tagged: map[registry.Digest]bool{}, kept: map[registry.Digest]bool{}}
			m.repos[l.Repository] = r
		}
		e := linkEntry{Link: l, mod: fi.ModTime()}
		switch l.Kind {
		case registry.RevisionLink:
			r.revisions[l.Named] = e
		case registry.TagIndexLink:
			r.tagIndex[l.Named] = append(r.tagIndex[l.Named], e)
		case registry.TagCurrentLink:
			r.current = append(r.current, e)
		case registry.LayerLink:
			r.layers = append(r.layers, e)
		}
		return nil
	})
	if driver.IsNotFound(err) {
		err = nil // an empty registry
	}
	m.plan.Repositories = len(m.repos)
	if err != nil {
		return fmt.Errorf("gc: listing %s: %w", root, err)
	}
	m.o.Logger.Debug("gc: walked", "root", root, "blobs", m.plan.Blobs, "links", m.plan.Links, "repositories", m.plan.Repositories)
	return nil
}

// readTags reads every tag's current link, to know which manifests are
// tagged.
func (m *marker) readTags(ctx context.Context) error {
	var todo []*linkEntry
	owner := map[*linkEntry]*repo{}
	for _, r := range m.repos {
		for i := range r.current {
			todo = append(todo, &r.current[i])
			owner[&r.current[i]] = r
		}
	}
	m.o.Progress.Plan(int64(len(todo)))
	targets := make([]registry.Digest, len(todo))
	failed := make([]bool, len(todo))
	err := driver.ForEach(ctx, len(todo), m.o.Concurrency, func(ctx context.Context, i int) error {
		defer m.o.Progress.Add(1)
		l := todo[i]
		b, err := m.d.GetContent(ctx, l.Path)
		switch {
		case driver.IsNotFound(err):
			return nil // the tag was deleted since the walk
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			failed[i] = true
			m.problem(registry.Problem{Kind: registry.Unreadable, Path: l.Path, Repository: l.Repository,
				Detail: "tag " + l.Tag + ": " + err.Error()})
			return nil
		}
		d, err := registry.ParseDigest(strings.TrimSpace(string(b)))
		if err != nil {
			failed[i] = true
			m.problem(registry.Problem{Kind: registry.BadLink, Path: l.Path, Repository: l.Repository,
				Detail: "tag " + l.Tag + ": " + err.Error()})
			return nil
		}
		targets[i] = d
		return nil
	})
	m.plan.TagsRead = len(todo)
	if err != nil {
		return fmt.Errorf("gc: reading tags: %w", err)
	}
	for i, l := range todo {
		r := owner[l]
		switch {
		case failed[i]:
			r.keepAll = true
		case targets[i] != "":
			r.tagged[targets[i]] = true
		}
		if m.young(l.mod) && targets[i] != "" {
			r.kept[targets[i]] = true // re-tagged just now
		}
	}
	return nil
}

// readManifests reads every manifest with a revision link, each once.
func (m *marker) readManifests(ctx context.Context) error {
	where := map[registry.Digest]linkEntry{} // one revision link naming it
	for _, r := range m.repos {
		for d, l := range r.revisions {
			if _, ok := where[d]; !ok || l.Path < where[d].Path {
				where[d] = l
			}
		}
	}
	todo := make([]registry.Digest, 0, len(where))
	for d := range where {
		todo = append(todo, d)
	}
	slices.Sort(todo)
	infos := make([]*manifestInfo, len(todo))
	m.o.Progress.Plan(int64(len(todo)))
	err := driver.ForEach(ctx, len(todo), m.o.Concurrency, func(ctx context.Context, i int) error {
		defer m.o.Progress.Add(1)
		info, err := m.readManifest(ctx, todo[i], where[todo[i]])
		infos[i] = info
		return err
	})
	m.plan.ManifestsRead = len(todo)
	if err != nil {
		return fmt.Errorf("gc: reading manifests: %w", err)
	}
	m.manifests = make(map[registry.Digest]*manifestInfo, len(todo))
	for i, d := range todo {
		m.manifests[d] = infos[i]
	}
	return nil
}

// readManifest reads, hashes and parses one manifest. A problem is
// recorded; the error is only ctx's.
func (m *marker) readManifest(ctx context.Context, d registry.Digest, via linkEntry) (*manifestInfo, error) {
	path := registry.BlobPath(m.o.Root, d)
	bad := func(kind registry.ProblemKind, detail string) (*manifestInfo, error) {
		m.problem(registry.Problem{Kind: kind, Path: path, Digest: d, Repository: via.Repository,
			Detail: detail + " (revision link " + via.Path + ")"})
		return &manifestInfo{}, nil
	}
	if b, ok := m.blobs[d]; ok && b.size > registry.MaxManifestSize {
		return bad(registry.BadManifest, fmt.Sprintf("%d bytes, larger than any manifest", b.size))
	}
	content, err := m.d.GetContent(ctx, path)
	switch {
	case driver.IsNotFound(err):
		return &manifestInfo{missing: true}, nil
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return bad(registry.Unreadable, err.Error())
	case len(content) > registry.MaxManifestSize:
		return bad(registry.BadManifest, fmt.Sprintf("%d bytes, larger than any manifest", len(content)))
	}
	if got := d.Of(content); got != d {
		return bad(registry.Mismatched, "content hashes to "+string(got))
	}
	mediaType, refs, err := registry.Refs(content)
	if errors.Is(err, registry.ErrUnknownManifest) {
		refs, err = digestsIn(content)
		if err != nil {
			return bad(registry.BadManifest, err.Error())
		}
		m.problem(registry.Problem{Kind: registry.UnknownManifest, Path: path, Digest: d, Repository: via.Repository,
			Detail: fmt.Sprintf("media type %q: kept, with the %d digests it names", mediaType, len(refs))})
		return &manifestInfo{readable: true, unknown: true, refs: refs}, nil
	}
	if err != nil {
		return bad(registry.BadManifest, err.Error())
	}
	info := &manifestInfo{readable: true, refs: refs}
	for _, r := range refs {
		if r.Kind == registry.RefSubject {
			info.subject = r.Digest
		}
	}
	return info, nil
}

// digestsIn returns every digest a JSON document names in a "digest"
// field, at any depth, as references of an unknown manifest: an error
// only for content that is not JSON.
func digestsIn(content []byte) ([]registry.Ref, error) {
	var v any
	if err := json.Unmarshal(content, &v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	var out []registry.Ref
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "digest" {
					if d, err := registry.ParseDigest(s); err == nil {
						out = append(out, registry.Ref{Kind: registry.RefLayer, Digest: d, Size: -1})
					}
					continue
				}
				visit(e)
			}
		case []any:
			for _, e := range v {
				visit(e)
			}
		}
	}
	visit(v)
	slices.SortFunc(out, func(a, b registry.Ref) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	return out, nil
}
