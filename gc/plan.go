package gc

import (
	"slices"
	"time"

	"github.com/stowage-dev/stowage/registry"
)

// Plan is what Mark found and what Sweep will delete. Every list is
// sorted by path.
type Plan struct {
	// Root is the registry root collected.
	Root string `json:"root"`
	// Started is when the mark began; Cutoff is Started minus MinAge: a
	// file modified after Cutoff is kept (Cutoff is Started with
	// NoMinAge).
	Started time.Time `json:"started"`
	Cutoff  time.Time `json:"cutoff"`
	// DeleteUntagged and DeleteDanglingLinks are the options the plan was
	// made with.
	DeleteUntagged      bool `json:"delete_untagged"`
	DeleteDanglingLinks bool `json:"delete_dangling_links"`

	// Repositories, Blobs, BlobBytes and Links count what the walk found:
	// the repositories with at least one link, the blob data files and
	// their bytes, the link files.
	Repositories int   `json:"repositories"`
	Blobs        int   `json:"blobs"`
	BlobBytes    int64 `json:"blob_bytes"`
	Links        int   `json:"links"`
	// ManifestsRead is the number of manifests read; TagsRead the tag
	// current links read (with DeleteUntagged).
	ManifestsRead int `json:"manifests_read"`
	TagsRead      int `json:"tags_read"`
	// KeptManifests counts the manifest revisions kept, over all
	// repositories; MarkedBlobs the blobs kept because a kept manifest
	// (or a young link) references them; YoungBlobs the blobs kept for
	// their age alone.
	KeptManifests int `json:"kept_manifests"`
	MarkedBlobs   int `json:"marked_blobs"`
	YoungBlobs    int `json:"young_blobs"`

	// DeleteBlobs are the blobs to delete.
	DeleteBlobs []Blob `json:"delete_blobs"`
	// DeleteManifests are the untagged manifests to delete, with
	// DeleteUntagged.
	DeleteManifests []Manifest `json:"delete_manifests"`
	// DeleteLayerLinks are the layer links of the blobs to delete.
	DeleteLayerLinks []string `json:"delete_layer_links"`
	// DanglingLinks are the layer and revision links whose blob does not
	// exist; Sweep deletes them with DeleteDanglingLinks, except those
	// younger than MinAge (Young).
	DanglingLinks []DanglingLink `json:"dangling_links"`
	// Problems are what kept the plan from being complete: manifests and
	// tag links that could not be read or parsed (each aborts the sweep
	// unless SkipUnreadable) and manifests of unknown media types (kept;
	// a warning).
	Problems []registry.Problem `json:"problems"`
	// SkippedUnreadable says the plan was made with SkipUnreadable: its
	// unreadable manifests were kept, and do not stop the sweep.
	SkippedUnreadable bool `json:"skipped_unreadable"`
}

// Blob is a blob to delete.
type Blob struct {
	Path   string          `json:"path"`
	Digest registry.Digest `json:"digest"`
	Size   int64           `json:"size"`
}

// Manifest is an untagged manifest to delete from one repository: its
// revision link and its tag index entries (its blob is one of the blobs
// to delete unless another repository keeps it).
type Manifest struct {
	Repository string          `json:"repository"`
	Digest     registry.Digest `json:"digest"`
	// Paths are the revision link, then the tag index entries.
	Paths []string `json:"paths"`
}

// DanglingLink is a link whose blob does not exist.
type DanglingLink struct {
	Path       string            `json:"path"`
	Repository string            `json:"repository"`
	Kind       registry.LinkKind `json:"kind"`
	Digest     registry.Digest   `json:"digest"`
	// Young says the link is younger than MinAge: reported, never
	// deleted.
	Young bool `json:"young,omitempty"`
}

// DeleteBytes is the size of the blobs to delete.
func (p *Plan) DeleteBytes() int64 {
	var n int64
	for _, b := range p.DeleteBlobs {
		n += b.Size
	}
	return n
}

// LinkPaths returns the links Sweep deletes, in its first DeleteFiles
// call: the untagged manifests' revision links and tag index entries, the
// layer links of the blobs to delete and, with DeleteDanglingLinks, the
// dangling links that are not young. Sorted.
func (p *Plan) LinkPaths() []string {
	var out []string
	for _, m := range p.DeleteManifests {
		out = append(out, m.Paths...)
	}
	out = append(out, p.DeleteLayerLinks...)
	if p.DeleteDanglingLinks {
		for _, l := range p.DanglingLinks {
			if !l.Young {
				out = append(out, l.Path)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// BlobPaths returns the data files of the blobs to delete, in Sweep's
// second DeleteFiles call. Sorted.
func (p *Plan) BlobPaths() []string {
	out := make([]string, len(p.DeleteBlobs))
	for i, b := range p.DeleteBlobs {
		out[i] = b.Path
	}
	return out
}

// Unsafe returns the problems that stop the sweep: every manifest or tag
// link that could not be read or parsed, unless the plan was made with
// SkipUnreadable. A plan with none can be swept.
func (p *Plan) Unsafe() []registry.Problem {
	if p.SkippedUnreadable {
		return nil
	}
	var out []registry.Problem
	for _, pr := range p.Problems {
		if pr.Kind != registry.UnknownManifest {
			out = append(out, pr)
		}
	}
	return out
}
