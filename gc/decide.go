package gc

import (
	"slices"
	"strings"

	"github.com/stowage-dev/stowage/registry"
)

// keepItem is a manifest kept in a repository whose references are still
// to be marked.
type keepItem struct {
	repo   *repo
	digest registry.Digest
}

// decide marks what the kept manifests reference, to a fixed point, and
// fills the plan's deletions. It reads nothing: the walk and the reads
// gave it all it needs.
func (m *marker) decide() {
	m.marked = map[registry.Digest]bool{}
	unsafe := map[registry.Digest]bool{} // manifests that could not be read or parsed
	for _, p := range m.plan.Problems {
		if p.Kind != registry.UnknownManifest && p.Digest != "" {
			unsafe[p.Digest] = true
		}
	}
	var queue []keepItem
	keep := func(r *repo, d registry.Digest) {
		if !r.kept[d] {
			r.kept[d] = true
		}
		queue = append(queue, keepItem{r, d})
	}
	names := m.repoNames()
	// Roots: what must stay whatever references it.
	for _, name := range names {
		r := m.repos[name]
		for d, l := range r.revisions {
			info := m.manifests[d]
			switch {
			case !m.o.DeleteUntagged, r.keepAll, r.tagged[d], r.kept[d], unsafe[d], m.young(l.mod), info != nil && info.unknown:
				keep(r, d)
			}
		}
		for d, entries := range r.tagIndex {
			for _, e := range entries {
				if m.young(e.mod) {
					if _, ok := r.revisions[d]; ok {
						keep(r, d)
					}
					m.marked[d] = true
				}
			}
		}
		for _, l := range r.layers {
			if m.young(l.mod) {
				m.marked[l.Named] = true
			}
		}
	}
	// Mark, then keep the untagged manifests that what is kept still
	// needs, until nothing changes.
	done := map[keepItem]bool{}
	for {
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			if done[it] {
				continue
			}
			done[it] = true
			m.marked[it.digest] = true
			info := m.manifests[it.digest]
			if info == nil || !info.readable {
				continue
			}
			for _, ref := range info.refs {
				m.marked[ref.Digest] = true
				if _, ok := it.repo.revisions[ref.Digest]; ok && ref.Kind != registry.RefConfig {
					keep(it.repo, ref.Digest)
				}
			}
		}
		for _, name := range names {
			r := m.repos[name]
			for d := range r.revisions {
				if r.kept[d] {
					continue
				}
				info := m.manifests[d]
				if m.marked[d] || (info != nil && info.subject != "" && r.kept[info.subject]) {
					keep(r, d)
				}
			}
		}
		if len(queue) == 0 {
			break
		}
	}
	m.plan.KeptManifests = 0
	for _, r := range m.repos {
		m.plan.KeptManifests += len(r.kept)
	}
	m.fill(names)
}

// fill lists the deletions of the plan from the marks.
func (m *marker) fill(names []string) {
	sweep := map[registry.Digest]bool{}
	for d, b := range m.blobs {
		switch {
		case m.marked[d]:
			m.plan.MarkedBlobs++
		case m.young(b.mod):
			m.plan.YoungBlobs++
		default:
			sweep[d] = true
			m.plan.DeleteBlobs = append(m.plan.DeleteBlobs, Blob{Path: b.path, Digest: d, Size: b.size})
		}
	}
	slices.SortFunc(m.plan.DeleteBlobs, func(a, b Blob) int { return strings.Compare(a.Path, b.Path) })
	for _, name := range names {
		r := m.repos[name]
		for _, l := range r.layers {
			_, exists := m.blobs[l.Named]
			switch {
			case sweep[l.Named]:
				m.plan.DeleteLayerLinks = append(m.plan.DeleteLayerLinks, l.Path)
			case !exists:
				m.dangling(l)
			}
		}
		for d, l := range r.revisions {
			if info := m.manifests[d]; info != nil && info.missing {
				m.dangling(l)
				continue
			}
			if r.kept[d] {
				continue
			}
			dm := Manifest{Repository: name, Digest: d, Paths: []string{l.Path}}
			for _, e := range r.tagIndex[d] {
				dm.Paths = append(dm.Paths, e.Path)
			}
			slices.Sort(dm.Paths[1:])
			m.plan.DeleteManifests = append(m.plan.DeleteManifests, dm)
		}
	}
	slices.Sort(m.plan.DeleteLayerLinks)
	slices.SortFunc(m.plan.DeleteManifests, func(a, b Manifest) int { return strings.Compare(a.Paths[0], b.Paths[0]) })
	slices.SortFunc(m.plan.DanglingLinks, func(a, b DanglingLink) int { return strings.Compare(a.Path, b.Path) })
}

func (m *marker) dangling(l linkEntry) {
	m.plan.DanglingLinks = append(m.plan.DanglingLinks, DanglingLink{
		Path: l.Path, Repository: l.Repository, Kind: l.Kind, Digest: l.Named, Young: m.young(l.mod),
	})
}

func (m *marker) repoNames() []string {
	names := make([]string, 0, len(m.repos))
	for n := range m.repos {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
