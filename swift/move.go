package swift

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ncw/swift/v2"
)

// Move implements driver.Backend: a server-side COPY with
// multipart-manifest=get (a plain object is copied; a static large object
// has its manifest copied, so both manifests share the segments), then a
// plain DELETE of the source. Two requests; a missing source fails the
// COPY with 404 and changes nothing. In a root that may hold static large
// objects (see DeleteFiles) a HEAD of the source's SLO index entry comes
// first, and an SLO's entry is moved to the destination. Moving a file onto itself leaves it
// as it is (one HEAD).
func (b *backend) Move(ctx context.Context, src, dst string) error {
	if src == dst {
		_, err := b.head(ctx, src)
		return err
	}
	srcKey, dstKey := b.keys.Key(src), b.keys.Key(dst)
	indexed := false
	if b.slos.Load() {
		// The root may hold static large objects: the source's SLO index
		// entry moves with it (see DeleteFiles), one HEAD to find it and,
		// for an SLO, two requests to move it.
		_, _, err := b.do(ctx, request{method: http.MethodHead, container: b.cfg.SegmentsContainer, object: b.sloIndexName(srcKey)})
		switch {
		case err == nil:
			indexed = true
		case statusOf(err) != http.StatusNotFound:
			return err
		}
	}
	if _, err := b.copyObject(ctx, b.cfg.Container, srcKey, b.cfg.Container, dstKey, true, ""); err != nil {
		return err
	}
	if indexed {
		if err := b.markSLO(ctx, dstKey); err != nil {
			return err
		}
	}
	_, _, err := b.do(ctx, request{method: http.MethodDelete, container: b.cfg.Container, object: srcKey})
	if err != nil && statusOf(err) != http.StatusNotFound { // 404: a retried DELETE whose first answer was lost
		return err
	}
	if indexed {
		_, _, err := b.do(ctx, request{method: http.MethodDelete, container: b.cfg.SegmentsContainer, object: b.sloIndexName(srcKey)})
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
	}
	return nil
}

// copyObject copies srcContainer/src to dstContainer/dst server-side and
// returns the headers of the answer (Etag: the copy's). With manifest set,
// a static large object's manifest is copied rather than its content. A
// contentType other than "" replaces the source's Content-Type on the
// copy (Swift's copy middleware: "Server side copy can also be used to
// change content-type of an existing object").
func (b *backend) copyObject(ctx context.Context, srcContainer, src, dstContainer, dst string, manifest bool, contentType string) (swift.Headers, error) {
	var q url.Values
	if manifest {
		q = url.Values{"multipart-manifest": {"get"}}
	}
	dest := (&url.URL{Path: dstContainer + "/" + dst}).EscapedPath()
	h := swift.Headers{"Destination": dest}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	_, h, err := b.do(ctx, request{method: "COPY", container: srcContainer, object: src, query: q, headers: h})
	return h, err
}
