package gc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/registry"
)

// tree builds a registry layout file by file, as distribution's registry
// writes it on a push, for the collector's tests.
type tree struct {
	root  string
	files map[string][]byte
}

func newTree() *tree { return &tree{root: registry.RootPath, files: map[string][]byte{}} }

func sha(b []byte) registry.Digest { return registry.Digest("sha256:").Of(b) }

// blob stores content as a blob and returns its digest.
func (t *tree) blob(content []byte) registry.Digest {
	d := sha(content)
	t.files[registry.BlobPath(t.root, d)] = content
	return d
}

func (t *tree) repoPath(repo string) string { return t.root + "/repositories/" + repo }

func (t *tree) layerLink(repo string, d registry.Digest) string {
	return t.repoPath(repo) + "/_layers/sha256/" + d.Hex() + "/link"
}

func (t *tree) revisionLink(repo string, d registry.Digest) string {
	return t.repoPath(repo) + "/_manifests/revisions/sha256/" + d.Hex() + "/link"
}

func (t *tree) tagIndexLink(repo, tag string, d registry.Digest) string {
	return t.repoPath(repo) + "/_manifests/tags/" + tag + "/index/sha256/" + d.Hex() + "/link"
}

func (t *tree) currentLink(repo, tag string) string {
	return t.repoPath(repo) + "/_manifests/tags/" + tag + "/current/link"
}

// upload stores a blob pushed to repo: its data and its layer link.
func (t *tree) upload(repo string, content []byte) registry.Digest {
	d := t.blob(content)
	t.files[t.layerLink(repo, d)] = []byte(d)
	return d
}

type desc struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

// image is a pushed image's manifest digest and its blobs.
type image struct {
	manifest registry.Digest
	config   registry.Digest
	layers   []registry.Digest
}

// blobs returns the image's blob data files (manifest, config, layers).
func (t *tree) blobs(im image) []string {
	out := []string{registry.BlobPath(t.root, im.manifest), registry.BlobPath(t.root, im.config)}
	for _, l := range im.layers {
		out = append(out, registry.BlobPath(t.root, l))
	}
	return out
}

// pushImage pushes an image manifest of mediaType (OCI or Docker schema 2)
// with the given layers to repo, untagged: its config and layers as
// uploads, the manifest blob and its revision link. subject, when not
// empty, makes it an OCI referrer.
func (t *tree) pushImage(repo, mediaType, name string, subject registry.Digest, layers ...[]byte) image {
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Labels":{"name":%q}}}`, name))
	im := image{config: t.upload(repo, cfg)}
	m := map[string]any{
		"schemaVersion": 2, "mediaType": mediaType,
		"config": desc{"application/vnd.oci.image.config.v1+json", string(im.config), len(cfg)},
	}
	var ls []desc
	for _, l := range layers {
		d := t.upload(repo, l)
		im.layers = append(im.layers, d)
		ls = append(ls, desc{"application/vnd.oci.image.layer.v1.tar", string(d), len(l)})
	}
	m["layers"] = ls
	if subject != "" {
		m["subject"] = desc{registry.MediaTypeOCIManifest, string(subject), len(t.files[registry.BlobPath(t.root, subject)])}
	}
	im.manifest = t.putManifest(repo, m)
	return im
}

// pushIndex pushes an index (OCI image index or Docker manifest list) of
// children already pushed to repo, untagged.
func (t *tree) pushIndex(repo, mediaType string, children ...registry.Digest) registry.Digest {
	var ms []desc
	for _, c := range children {
		ms = append(ms, desc{registry.MediaTypeOCIManifest, string(c), len(t.files[registry.BlobPath(t.root, c)])})
	}
	return t.putManifest(repo, map[string]any{"schemaVersion": 2, "mediaType": mediaType, "manifests": ms})
}

// putManifest stores a manifest of any shape and its revision link.
func (t *tree) putManifest(repo string, m any) registry.Digest {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return t.putRawManifest(repo, b)
}

func (t *tree) putRawManifest(repo string, b []byte) registry.Digest {
	d := t.blob(b)
	t.files[t.revisionLink(repo, d)] = []byte(d)
	return d
}

// tag points tag at d in repo: its current link and its index entry.
func (t *tree) tag(repo, tag string, d registry.Digest) {
	t.files[t.currentLink(repo, tag)] = []byte(d)
	t.files[t.tagIndexLink(repo, tag, d)] = []byte(d)
}

// deleteManifest deletes a manifest by digest as the registry's API
// does: its revision link and its tags' links.
func (t *tree) deleteManifest(repo string, d registry.Digest) {
	delete(t.files, t.revisionLink(repo, d))
	prefix := t.repoPath(repo) + "/_manifests/tags/"
	for p, c := range t.files {
		if strings.HasPrefix(p, prefix) && (strings.HasSuffix(p, "/index/sha256/"+d.Hex()+"/link") || (strings.HasSuffix(p, "/current/link") && string(c) == string(d))) {
			delete(t.files, p)
		}
	}
}

// write puts every file of the tree on d.
func (t *tree) write(t_ *testing.T, d driver.StorageDriver) {
	t_.Helper()
	paths := t.paths()
	err := driver.ForEach(t_.Context(), len(paths), 8, func(ctx context.Context, i int) error {
		return d.PutContent(ctx, paths[i], t.files[paths[i]])
	})
	if err != nil {
		t_.Fatal(err)
	}
}

func (t *tree) paths() []string {
	out := make([]string, 0, len(t.files))
	for p := range t.files {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// filesOn lists every file under the registry root of d.
func filesOn(t *testing.T, d driver.StorageDriver) []string {
	t.Helper()
	return cloudtest.Files(t, d, registry.RootPath)
}

// minus returns the elements of a not in b, sorted.
func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
