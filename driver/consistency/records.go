package consistency

import (
	"container/list"
	"sort"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// The wrapper's memory is a tree of path components. A node holds at most
// one file record (the last PutContent, Commit, Move or DeleteFiles of that
// exact path) and one prefix record (a Delete of the path: the file there
// and everything below it is gone). Every record carries a sequence number;
// a file record newer than every prefix record above it decides the path,
// otherwise the newest prefix record does. Recording a prefix deletion
// drops the records below it, which it supersedes. Records live in one LRU
// list, oldest first, so the window and the entry limit evict in order.

// fileRec is what this process last did to one file path.
type fileRec struct {
	seq    uint64
	at     time.Time
	exists bool  // written (true) or deleted (false)
	size   int64 // -1 when unknown (a Move whose source this process did not write)
	hash   uint64
	hashed bool
	elem   *list.Element
}

// prefixRec is a Delete of a path: the file there and everything below it.
type prefixRec struct {
	seq  uint64
	at   time.Time
	elem *list.Element
}

type node struct {
	parent   *node
	name     string
	children map[string]*node
	file     *fileRec
	prefix   *prefixRec
	// creates and removes count the records strictly below this node that
	// say a file exists (creates) or that something was deleted (removes).
	creates, removes int
}

// lruItem is the value of an LRU element: the node and which of its two
// records the element stands for.
type lruItem struct {
	n      *node
	prefix bool
	at     time.Time
}

// table is the wrapper's memory; the wrapper guards it with its mutex.
type table struct {
	root  node
	lru   list.List
	seq   uint64
	nodes int // nodes besides the root, for tests
}

// state is what the records say about a file path.
type state int

const (
	unknown state = iota // no record: the backend's word stands
	present              // this process wrote it (see the fileRec)
	absent               // this process deleted it
)

// lookup returns the node of p, or nil.
func (t *table) lookup(p string) *node {
	n := &t.root
	if p == "/" {
		return n
	}
	for _, c := range strings.Split(p[1:], "/") {
		n = n.children[c]
		if n == nil {
			return nil
		}
	}
	return n
}

// nodeFor returns the node of p, creating it and its ancestors.
func (t *table) nodeFor(p string) *node {
	n := &t.root
	for _, c := range strings.Split(p[1:], "/") {
		child := n.children[c]
		if child == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			child = &node{parent: n, name: c}
			n.children[c] = child
			t.nodes++
		}
		n = child
	}
	return n
}

// adjust adds to the counts of n's strict ancestors.
func adjust(n *node, creates, removes int) {
	for a := n.parent; a != nil; a = a.parent {
		a.creates += creates
		a.removes += removes
	}
}

func recCounts(f *fileRec) (creates, removes int) {
	if f.exists {
		return 1, 0
	}
	return 0, 1
}

// setFile records what this process just did to the file at p.
func (t *table) setFile(p string, rec fileRec, now time.Time) {
	n := t.nodeFor(p)
	if n.file != nil {
		t.lru.Remove(n.file.elem)
		c, r := recCounts(n.file)
		adjust(n, -c, -r)
	}
	t.seq++
	rec.seq, rec.at = t.seq, now
	rec.elem = t.lru.PushBack(lruItem{n: n, at: now})
	n.file = &rec
	c, r := recCounts(&rec)
	adjust(n, c, r)
}

// setPrefix records a Delete of p, dropping the records it supersedes.
func (t *table) setPrefix(p string, now time.Time) {
	n := t.nodeFor(p)
	t.dropBelow(n)
	if n.file != nil {
		t.removeFile(n, false)
	}
	if n.prefix != nil {
		t.lru.Remove(n.prefix.elem)
		adjust(n, 0, -1)
	}
	t.seq++
	n.prefix = &prefixRec{seq: t.seq, at: now}
	n.prefix.elem = t.lru.PushBack(lruItem{n: n, prefix: true, at: now})
	adjust(n, 0, 1)
}

// dropBelow removes every record strictly below n, and the nodes holding
// them.
func (t *table) dropBelow(n *node) {
	var visit func(c *node)
	visit = func(c *node) {
		if c.file != nil {
			t.lru.Remove(c.file.elem)
		}
		if c.prefix != nil {
			t.lru.Remove(c.prefix.elem)
		}
		t.nodes--
		for _, g := range c.children {
			visit(g)
		}
	}
	for _, c := range n.children {
		visit(c)
	}
	n.children = nil
	adjust(n, -n.creates, -n.removes)
	n.creates, n.removes = 0, 0
}

// removeFile drops n's file record (and n itself when it is left empty and
// prune is set).
func (t *table) removeFile(n *node, prune bool) {
	t.lru.Remove(n.file.elem)
	c, r := recCounts(n.file)
	adjust(n, -c, -r)
	n.file = nil
	if prune {
		t.prune(n)
	}
}

// prune removes n and its ancestors while they hold nothing.
func (t *table) prune(n *node) {
	for n != &t.root && n.file == nil && n.prefix == nil && len(n.children) == 0 {
		parent := n.parent
		delete(parent.children, n.name)
		t.nodes--
		n = parent
	}
}

// evict drops records older than window and the oldest records beyond
// maxEntries.
func (t *table) evict(now time.Time, window time.Duration, maxEntries int) {
	cutoff := now.Add(-window)
	for {
		e := t.lru.Front()
		if e == nil {
			return
		}
		item := e.Value.(lruItem)
		if t.lru.Len() <= maxEntries && !item.at.Before(cutoff) {
			return
		}
		n := item.n
		if item.prefix {
			t.lru.Remove(n.prefix.elem)
			adjust(n, 0, -1)
			n.prefix = nil
			t.prune(n)
		} else {
			t.removeFile(n, true)
		}
	}
}

// entries is the number of records held.
func (t *table) entries() int { return t.lru.Len() }

// fileState says what the records say about the file at p, with the
// deciding record when it is present.
func (t *table) fileState(p string) (state, fileRec) {
	n := &t.root
	var cover uint64
	for _, c := range strings.Split(p[1:], "/") {
		n = n.children[c]
		if n == nil {
			break
		}
		if n.prefix != nil && n.prefix.seq > cover {
			cover = n.prefix.seq
		}
	}
	if n != nil && n.file != nil && n.file.seq > cover {
		if n.file.exists {
			return present, *n.file
		}
		return absent, fileRec{}
	}
	if cover > 0 {
		return absent, fileRec{}
	}
	return unknown, fileRec{}
}

// reach is what the records say about the tree at and below a directory.
type reach struct {
	cover            uint64 // newest Delete of the directory or an ancestor
	creates, removes int    // records strictly below
}

func (r reach) none() bool { return r.cover == 0 && r.creates == 0 && r.removes == 0 }

// removals reports whether something at or below the directory may have
// been deleted by this process.
func (r reach) removals() bool { return r.cover > 0 || r.removes > 0 }

func (t *table) reachOf(dir string) reach {
	var r reach
	n := &t.root
	if dir != "/" {
		for _, c := range strings.Split(dir[1:], "/") {
			n = n.children[c]
			if n == nil {
				return r
			}
			if n.prefix != nil && n.prefix.seq > r.cover {
				r.cover = n.prefix.seq
			}
		}
	}
	r.creates, r.removes = n.creates, n.removes
	return r
}

// creation is a file this process wrote under a walked directory.
type creation struct {
	path string
	rec  fileRec
}

// snapshot is a copy of the records bearing on the tree below root, taken
// so that a merged walk holds no lock while it calls back.
type snapshot struct {
	root      string
	base      uint64            // newest Delete of root or an ancestor
	deleted   map[string]uint64 // file deletions strictly below root, by path
	prefixes  map[string]uint64 // Deletes strictly below root, by path
	removed   []string          // the paths of both, sorted
	creations []creation        // files written and not deleted since, by path
}

func (t *table) snapshotOf(root string) *snapshot {
	s := &snapshot{root: root, base: t.reachOf(root).cover}
	n := t.lookup(root)
	if n == nil || len(n.children) == 0 {
		return s
	}
	s.creations = make([]creation, 0, n.creates)
	if n.removes > 0 {
		s.deleted, s.prefixes = map[string]uint64{}, map[string]uint64{}
		s.removed = make([]string, 0, n.removes)
	}
	var visit func(n *node, p string)
	visit = func(n *node, p string) {
		switch {
		case n.file == nil:
		case n.file.exists:
			// Records below a Delete are newer than it (setPrefix drops the
			// others), so every written file is visible.
			s.creations = append(s.creations, creation{path: p, rec: *n.file})
		default:
			s.deleted[p] = n.file.seq
			s.removed = append(s.removed, p)
		}
		if n.prefix != nil {
			s.prefixes[p] = n.prefix.seq
			if n.file == nil || n.file.exists {
				s.removed = append(s.removed, p)
			}
		}
		for name, c := range n.children {
			visit(c, driver.JoinPath(p, name))
		}
	}
	for name, c := range n.children {
		visit(c, driver.JoinPath(root, name))
	}
	sort.Slice(s.creations, func(i, j int) bool { return s.creations[i].path < s.creations[j].path })
	sort.Strings(s.removed)
	return s
}

// covered returns the newest Delete of p or of a directory above it.
func (s *snapshot) covered(p string) uint64 {
	c := s.base
	if len(s.prefixes) == 0 {
		return c
	}
	for a := p; a != s.root && a != "/"; a = driver.ParentDir(a) {
		if v, ok := s.prefixes[a]; ok && v > c {
			c = v
		}
	}
	return c
}

// created returns the index of the creation at p, or -1.
func (s *snapshot) created(p string) int {
	i := sort.Search(len(s.creations), func(i int) bool { return s.creations[i].path >= p })
	if i < len(s.creations) && s.creations[i].path == p {
		return i
	}
	return -1
}

// fileState is table.fileState for a path below root.
func (s *snapshot) fileState(p string) state {
	if s.created(p) >= 0 {
		return present
	}
	cover := s.covered(p)
	if seq, ok := s.deleted[p]; ok && seq > cover {
		return absent
	}
	if cover > 0 {
		return absent
	}
	return unknown
}

// creationUnder reports whether this process wrote a file below dir.
func (s *snapshot) creationUnder(dir string) bool {
	prefix := dir + "/"
	i := sort.Search(len(s.creations), func(i int) bool { return s.creations[i].path >= prefix })
	return i < len(s.creations) && strings.HasPrefix(s.creations[i].path, prefix)
}

// touched reports whether any record bears on p or the tree below it.
func (s *snapshot) touched(p string) bool {
	if s.covered(p) > 0 || s.created(p) >= 0 || s.creationUnder(p) {
		return true
	}
	if _, ok := s.deleted[p]; ok {
		return true
	}
	prefix := p + "/"
	i := sort.SearchStrings(s.removed, prefix)
	return i < len(s.removed) && strings.HasPrefix(s.removed[i], prefix)
}

// hidden reports whether everything below dir is deleted as far as this
// process knows, so that a walk need not look inside.
func (s *snapshot) hidden(dir string) bool {
	return s.covered(dir) > 0 && !s.creationUnder(dir)
}

// childrenWritten returns the direct children of dir below which (or at
// which) this process wrote a file. Callers hold the wrapper's mutex.
func (t *table) childrenWritten(dir string) []string {
	n := t.lookup(dir)
	if n == nil {
		return nil
	}
	var out []string
	for name, c := range n.children {
		if c.creates > 0 || c.file != nil && c.file.exists {
			out = append(out, driver.JoinPath(dir, name))
		}
	}
	return out
}
