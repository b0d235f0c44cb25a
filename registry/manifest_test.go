package registry

import (
	"errors"
	"fmt"
	"testing"
)

func TestRefs(t *testing.T) {
	d := func(n int) string { return fmt.Sprintf("sha256:%064x", n) }
	for _, c := range []struct {
		name, json string
		media      string
		want       []Ref
		err        error
	}{
		{"oci manifest with subject", fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"digest":%q,"size":3},"layers":[{"digest":%q,"size":4}],"subject":{"digest":%q,"size":5}}`, MediaTypeOCIManifest, d(1), d(2), d(3)),
			MediaTypeOCIManifest, []Ref{{RefConfig, Digest(d(1)), 3}, {RefLayer, Digest(d(2)), 4}, {RefSubject, Digest(d(3)), 5}}, nil},
		{"no media type, config", fmt.Sprintf(`{"schemaVersion":2,"config":{"digest":%q,"size":3}}`, d(1)),
			MediaTypeOCIManifest, []Ref{{RefConfig, Digest(d(1)), 3}}, nil},
		{"no media type, manifests", fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"digest":%q,"size":3}]}`, d(1)),
			MediaTypeOCIIndex, []Ref{{RefChild, Digest(d(1)), 3}}, nil},
		{"docker list", fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"digest":%q,"size":3}]}`, MediaTypeDockerManifestList, d(1)),
			MediaTypeDockerManifestList, []Ref{{RefChild, Digest(d(1)), 3}}, nil},
		{"schema 1", fmt.Sprintf(`{"schemaVersion":1,"fsLayers":[{"blobSum":%q}]}`, d(1)),
			MediaTypeDockerSchema1, []Ref{{RefLayer, Digest(d(1)), -1}}, nil},
		{"foreign layer left out", fmt.Sprintf(`{"mediaType":%q,"config":{"digest":%q,"size":3},"layers":[{"digest":%q,"size":4,"urls":["https://x"]}]}`, MediaTypeDockerManifest, d(1), d(2)),
			MediaTypeDockerManifest, []Ref{{RefConfig, Digest(d(1)), 3}}, nil},
		{"not json", `{`, "", nil, ErrUnknownManifest},
		{"unknown type", `{"mediaType":"text/plain"}`, "text/plain", nil, ErrUnknownManifest},
		{"bad digest", `{"mediaType":"` + MediaTypeOCIManifest + `","config":{"digest":"md5:00","size":3}}`, MediaTypeOCIManifest, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			media, refs, err := Refs([]byte(c.json))
			if c.name == "bad digest" {
				if err == nil {
					t.Fatal("bad digest accepted")
				}
				return
			}
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || media != c.media || fmt.Sprint(refs) != fmt.Sprint(c.want) {
				t.Fatalf("Refs = %q, %v, %v; want %q, %v", media, refs, err, c.media, c.want)
			}
		})
	}
}

func TestParseLink(t *testing.T) {
	h := fmt.Sprintf("%064x", 1)
	for path, want := range map[string]Link{
		RootPath + "/repositories/a/b/_layers/sha256/" + h + "/link":                    {Repository: "a/b", Kind: LayerLink, Named: Digest("sha256:" + h)},
		RootPath + "/repositories/a/_manifests/revisions/sha256/" + h + "/link":         {Repository: "a", Kind: RevisionLink, Named: Digest("sha256:" + h)},
		RootPath + "/repositories/a/_manifests/tags/v1./current/link":                   {Repository: "a", Kind: TagCurrentLink, Tag: "v1."},
		RootPath + "/repositories/a/_manifests/tags/latest/index/sha256/" + h + "/link": {Repository: "a", Kind: TagIndexLink, Tag: "latest", Named: Digest("sha256:" + h)},
		RootPath + "/repositories/a/_uploads/x/data":                                    {},
		RootPath + "/repositories/a/_layers/sha256/xyz/link":                            {},
		RootPath + "/repositories/_layers/sha256/" + h + "/link":                        {},
	} {
		got, ok := ParseLink(RootPath, path)
		want.Path = path
		if want.Kind == "" {
			if ok {
				t.Errorf("%s parsed as %+v", path, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%s: %+v, %v; want %+v", path, got, ok, want)
		}
	}
}
