// Package registry reads the storage layout of a distribution registry
// (docker/distribution, CNCF distribution v2 and v3, GitLab's container
// registry) through any stowage StorageDriver, and checks it: Verify hashes
// the blobs against the digests they are named by, follows every link file
// and manifest, and reports what is missing, truncated or corrupt.
//
// The layout, under the registry root (RootPath, "/docker/registry/v2"):
//
//	blobs/<algorithm>/<hex[:2]>/<hex>/data
//	repositories/<name>/_layers/<algorithm>/<hex>/link
//	repositories/<name>/_manifests/revisions/<algorithm>/<hex>/link
//	repositories/<name>/_manifests/tags/<tag>/current/link
//	repositories/<name>/_manifests/tags/<tag>/index/<algorithm>/<hex>/link
//	repositories/<name>/_uploads/<id>/...
//
// A link file holds a digest, "sha256:<hex>", of a blob in blobs/.
package registry

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// RootPath is where a distribution registry keeps its data, relative to
// its storage driver's root.
const RootPath = "/docker/registry/v2"

// Digest is a content digest, "<algorithm>:<hex>", as registries name
// blobs and manifests.
type Digest string

// ParseDigest checks s as a digest of a supported algorithm (sha256 or
// sha512, lower-case hex of the algorithm's length).
func ParseDigest(s string) (Digest, error) {
	alg, hx, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("registry: digest %q: want <algorithm>:<hex>", s)
	}
	n, known := digestLength[alg]
	if !known {
		return "", fmt.Errorf("registry: digest %q: unsupported algorithm %q", s, alg)
	}
	if len(hx) != n || !isLowerHex(hx) {
		return "", fmt.Errorf("registry: digest %q: want %d lower-case hex digits", s, n)
	}
	return Digest(s), nil
}

// digestLength is the hex length of each supported algorithm's digests.
var digestLength = map[string]int{"sha256": 64, "sha512": 128}

// Algorithm returns the digest's algorithm, e.g. "sha256".
func (d Digest) Algorithm() string { a, _, _ := strings.Cut(string(d), ":"); return a }

// Hex returns the digest's hex part.
func (d Digest) Hex() string { _, h, _ := strings.Cut(string(d), ":"); return h }

// String implements fmt.Stringer.
func (d Digest) String() string { return string(d) }

// newHash returns a hash of the digest's algorithm.
func (d Digest) newHash() hash.Hash {
	if d.Algorithm() == "sha512" {
		return sha512.New()
	}
	return sha256.New()
}

// Of returns the digest of data with d's algorithm.
func (d Digest) Of(data []byte) Digest {
	h := d.newHash()
	h.Write(data)
	return Digest(d.Algorithm() + ":" + hex.EncodeToString(h.Sum(nil)))
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// BlobPath returns the path of the data file of the blob d under the
// registry root root.
func BlobPath(root string, d Digest) string {
	h := d.Hex()
	return root + "/blobs/" + d.Algorithm() + "/" + h[:2] + "/" + h + "/data"
}

// ParseBlobPath parses the path of a file under root/blobs/: the digest
// its name claims, and whether it sits in another two-letter directory
// than its digest's (misplaced: the registry never finds it there). ok is
// false for anything but a blob's data file.
func ParseBlobPath(root, path string) (d Digest, misplaced, ok bool) {
	rel, found := strings.CutPrefix(path, root+"/blobs/")
	if !found {
		return "", false, false
	}
	bf, ok := parseBlobPath(rel)
	return bf.digest, bf.misplaced, ok
}

// blobFile is what a path under blobs/ says: the digest its name claims,
// and whether it sits in the right two-letter directory.
type blobFile struct {
	digest    Digest
	misplaced bool
}

// parseBlobPath parses a path relative to the blobs directory,
// "<algorithm>/<xx>/<hex>/data". ok is false for anything else (the
// registry keeps nothing else there; such files are left alone).
func parseBlobPath(rel string) (blobFile, bool) {
	parts := strings.Split(rel, "/")
	if len(parts) != 4 || parts[3] != "data" {
		return blobFile{}, false
	}
	d, err := ParseDigest(parts[0] + ":" + parts[2])
	if err != nil {
		return blobFile{}, false
	}
	return blobFile{digest: d, misplaced: parts[1] != parts[2][:2]}, true
}

// LinkKind is what a link file of a repository stands for.
type LinkKind string

// The link files of a repository.
const (
	// LayerLink is _layers/<alg>/<hex>/link: the repository may serve
	// the blob.
	LayerLink LinkKind = "layer"
	// RevisionLink is _manifests/revisions/<alg>/<hex>/link: a manifest
	// of the repository.
	RevisionLink LinkKind = "revision"
	// TagCurrentLink is _manifests/tags/<tag>/current/link: the manifest
	// a tag points at.
	TagCurrentLink LinkKind = "tag"
	// TagIndexLink is _manifests/tags/<tag>/index/<alg>/<hex>/link: a
	// manifest a tag has pointed at.
	TagIndexLink LinkKind = "tag-index"
)

// Link is one link file of a repository, as its path describes it.
type Link struct {
	// Path is the link file's path.
	Path string
	// Repository is the repository's name, e.g. "library/alpine".
	Repository string
	// Kind is what the link stands for.
	Kind LinkKind
	// Tag is the tag, for tag links.
	Tag string
	// Named is the digest the path names (empty for a current link,
	// whose path names none).
	Named Digest
}

// ParseLink parses the path of a file under root/repositories/. ok is
// false for files that are no link (uploads in progress, unknown files).
func ParseLink(root, path string) (Link, bool) {
	rel, found := strings.CutPrefix(path, root+"/repositories/")
	if !found {
		return Link{}, false
	}
	for _, marker := range []string{"/_layers/", "/_manifests/"} {
		i := strings.Index(rel, marker)
		if i <= 0 {
			continue
		}
		l := Link{Path: path, Repository: rel[:i]}
		parts := strings.Split(rel[i+len(marker):], "/")
		named := func(alg, hx string) bool {
			d, err := ParseDigest(alg + ":" + hx)
			l.Named = d
			return err == nil
		}
		switch {
		case marker == "/_layers/" && len(parts) == 3 && parts[2] == "link" && named(parts[0], parts[1]):
			l.Kind = LayerLink
		case len(parts) == 4 && parts[0] == "revisions" && parts[3] == "link" && named(parts[1], parts[2]):
			l.Kind = RevisionLink
		case len(parts) == 4 && parts[0] == "tags" && parts[2] == "current" && parts[3] == "link":
			l.Kind, l.Tag = TagCurrentLink, parts[1]
		case len(parts) == 6 && parts[0] == "tags" && parts[2] == "index" && parts[5] == "link" && named(parts[3], parts[4]):
			l.Kind, l.Tag = TagIndexLink, parts[1]
		default:
			return Link{}, false
		}
		return l, true
	}
	return Link{}, false
}
