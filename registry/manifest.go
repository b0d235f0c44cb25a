package registry

import (
	"encoding/json"
	"fmt"
)

// The manifest media types a registry stores that Refs understands.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerSchema1      = "application/vnd.docker.distribution.manifest.v1+json"
	MediaTypeDockerSchema1JWS   = "application/vnd.docker.distribution.manifest.v1+prettyjws"
	MediaTypeOCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex           = "application/vnd.oci.image.index.v1+json"
)

// RefKind says what a manifest references a blob as.
type RefKind string

// The references of a manifest.
const (
	RefConfig  RefKind = "config"
	RefLayer   RefKind = "layer"
	RefChild   RefKind = "manifest" // a manifest of a manifest list or index
	RefSubject RefKind = "subject"  // the manifest an OCI referrer refers to
)

// Ref is one blob a manifest references.
type Ref struct {
	Kind   RefKind
	Digest Digest
	// Size is the size the manifest gives, -1 when it gives none
	// (schema 1).
	Size int64
}

// descriptor is the part of an OCI/Docker content descriptor Refs reads.
type descriptor struct {
	MediaType string   `json:"mediaType"`
	Digest    string   `json:"digest"`
	Size      int64    `json:"size"`
	URLs      []string `json:"urls"`
}

// manifest is the union of the manifest formats Refs reads.
type manifest struct {
	SchemaVersion int           `json:"schemaVersion"`
	MediaType     string        `json:"mediaType"`
	Config        *descriptor   `json:"config"`
	Layers        []descriptor  `json:"layers"`
	Manifests     []descriptor  `json:"manifests"`
	Subject       *descriptor   `json:"subject"`
	FSLayers      []schema1Blob `json:"fsLayers"`
}

type schema1Blob struct {
	BlobSum string `json:"blobSum"`
}

// Refs parses a manifest (Docker schema 2 and schema 1, Docker manifest
// list, OCI image manifest, OCI image index, each with or without its
// mediaType field) and returns the blobs it references that the registry
// must hold: its config, its layers, its child manifests and its subject.
// Layers with URLs (foreign, non-distributable layers) are left out: a
// registry does not store them. An unknown media type is an error wrapping
// ErrUnknownManifest; so is JSON that is no manifest.
func Refs(content []byte) (mediaType string, refs []Ref, err error) {
	var m manifest
	if err := json.Unmarshal(content, &m); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrUnknownManifest, err)
	}
	mediaType = m.MediaType
	if mediaType == "" {
		// Older clients leave the field out; the shape tells.
		switch {
		case m.SchemaVersion == 1:
			mediaType = MediaTypeDockerSchema1
		case m.Manifests != nil:
			mediaType = MediaTypeOCIIndex
		case m.Config != nil:
			mediaType = MediaTypeOCIManifest
		}
	}
	add := func(kind RefKind, d descriptor) error {
		if len(d.URLs) > 0 {
			return nil
		}
		dg, err := ParseDigest(d.Digest)
		if err != nil {
			return fmt.Errorf("%s %w", kind, err)
		}
		refs = append(refs, Ref{Kind: kind, Digest: dg, Size: d.Size})
		return nil
	}
	switch mediaType {
	case MediaTypeDockerManifest, MediaTypeOCIManifest:
		if m.Config == nil {
			return mediaType, nil, fmt.Errorf("registry: %s manifest without config", mediaType)
		}
		if err := add(RefConfig, *m.Config); err != nil {
			return mediaType, nil, err
		}
		for _, l := range m.Layers {
			if err := add(RefLayer, l); err != nil {
				return mediaType, nil, err
			}
		}
	case MediaTypeDockerManifestList, MediaTypeOCIIndex:
		for _, c := range m.Manifests {
			if err := add(RefChild, c); err != nil {
				return mediaType, nil, err
			}
		}
	case MediaTypeDockerSchema1, MediaTypeDockerSchema1JWS:
		for _, l := range m.FSLayers {
			dg, err := ParseDigest(l.BlobSum)
			if err != nil {
				return mediaType, nil, fmt.Errorf("layer %w", err)
			}
			refs = append(refs, Ref{Kind: RefLayer, Digest: dg, Size: -1})
		}
		return mediaType, refs, nil
	default:
		return mediaType, nil, fmt.Errorf("%w: media type %q", ErrUnknownManifest, mediaType)
	}
	if m.Subject != nil {
		if err := add(RefSubject, *m.Subject); err != nil {
			return mediaType, nil, err
		}
	}
	return mediaType, refs, nil
}

// ErrUnknownManifest is wrapped by Refs's error for content that is no
// manifest it knows.
var ErrUnknownManifest = fmt.Errorf("registry: unknown manifest format")
