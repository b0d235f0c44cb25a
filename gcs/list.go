package gcs

import (
	"context"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
)

// List implements driver.Backend with one object listing request of
// q.Limit (default ListPageSize) entries. GCS's startOffset is inclusive,
// so a start after a key is the key followed by "\x00"; EndBefore is its
// endOffset. A page token only continues the query it came from, so Next
// carries the query's startOffset along with GCS's token. A flat listing
// of the whole root ends before the driver's bookkeeping objects
// (endOffset), which sort after every path and which the Store would leave
// out anyway.
func (b *backend) List(ctx context.Context, q driver.ListQuery) (driver.ObjectPage, error) {
	start, token := "", ""
	if q.Token != "" {
		start, token, _ = strings.Cut(q.Token, "\n")
	} else if q.StartAfter != "" {
		start = q.StartAfter + "\x00"
	}
	sq := &storage.Query{Prefix: q.Prefix, StartOffset: start, EndOffset: q.EndBefore}
	switch {
	case q.Delimiter:
		sq.Delimiter = "/"
	case q.Prefix == b.keys.Prefix && q.EndBefore == "":
		sq.EndOffset = b.hiddenPrefix()
	}
	if err := sq.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return driver.ObjectPage{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = ListPageSize
	}
	var objs []*storage.ObjectAttrs
	next, err := iterator.NewPager(b.bucket.Objects(ctx, sq), limit, token).NextPage(&objs)
	if err != nil {
		return driver.ObjectPage{}, err
	}
	var page driver.ObjectPage
	for _, o := range objs {
		if o.Prefix != "" {
			page.Prefixes = append(page.Prefixes, o.Prefix)
			continue
		}
		page.Objects = append(page.Objects, driver.Object{Key: o.Name, Size: o.Size, ModTime: o.Updated})
	}
	if next != "" {
		page.Next = start + "\n" + next
	}
	return page, nil
}
