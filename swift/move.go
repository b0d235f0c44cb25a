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
// COPY with 404 and changes nothing. Moving a file onto itself leaves it
// as it is (one HEAD).
func (b *backend) Move(ctx context.Context, src, dst string) error {
	if src == dst {
		_, err := b.head(ctx, src)
		return err
	}
	if _, err := b.copyObject(ctx, b.cfg.Container, b.keys.Key(src), b.cfg.Container, b.keys.Key(dst), true); err != nil {
		return err
	}
	_, _, err := b.do(ctx, request{method: http.MethodDelete, container: b.cfg.Container, object: b.keys.Key(src)})
	if statusOf(err) == http.StatusNotFound {
		return nil // a retried DELETE whose first answer was lost
	}
	return err
}

// copyObject copies srcContainer/src to dstContainer/dst server-side and
// returns the headers of the answer (Etag: the copy's). With manifest set,
// a static large object's manifest is copied rather than its content.
func (b *backend) copyObject(ctx context.Context, srcContainer, src, dstContainer, dst string, manifest bool) (swift.Headers, error) {
	var q url.Values
	if manifest {
		q = url.Values{"multipart-manifest": {"get"}}
	}
	dest := (&url.URL{Path: dstContainer + "/" + dst}).EscapedPath()
	_, h, err := b.do(ctx, request{method: "COPY", container: srcContainer, object: src,
		query: q, headers: swift.Headers{"Destination": dest}})
	return h, err
}
