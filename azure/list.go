package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

// List implements driver.Backend with one List Blobs request: the
// hierarchy listing with the "/" delimiter for q.Delimiter, the flat one
// otherwise. The marker is the token. A flat listing's start-after key goes
// to the service as startFrom, which is inclusive, so as the key followed
// by "\x00"; a service that ignores startFrom (older API versions) is
// noticed, logged once, and filtered by driver.WalkFlat.
//
// Keys go to the service as blob names (blobPrefix, blobName) and come
// back as keys (listedKey), each Object with its blob name as Detail for
// DeleteBatch. A prefix ending inside a segment that ends in "." (Delete's
// "a/v1.") also matches the blob names of keys under "a/v1/"'s escaped
// sibling ("a/v1..~/x" is the key "a/v1./x"); such keys, outside the
// asked prefix, are left out.
func (b *backend) List(ctx context.Context, q driver.ListQuery) (driver.ObjectPage, error) {
	limit := int32(ListPageSize)
	if q.Limit > 0 {
		limit = int32(min(q.Limit, ListPageSize))
	}
	var marker *string
	if q.Token != "" {
		marker = to.Ptr(q.Token)
	}
	var page driver.ObjectPage
	if q.Delimiter {
		resp, err := b.container.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{
			Prefix: to.Ptr(blobPrefix(q.Prefix)), Marker: marker, MaxResults: to.Ptr(limit),
		}).NextPage(ctx)
		if err != nil {
			return page, err
		}
		for _, item := range resp.Segment.BlobItems {
			page.Objects = appendObject(page.Objects, q.Prefix, item)
		}
		for _, bp := range resp.Segment.BlobPrefixes {
			if k := listedKey(deref(bp.Name, "")); strings.HasPrefix(k, q.Prefix) {
				page.Prefixes = append(page.Prefixes, k)
			}
		}
		page.Next = deref(resp.NextMarker, "")
		return page, nil
	}
	opts := &container.ListBlobsFlatOptions{Prefix: to.Ptr(blobPrefix(q.Prefix)), Marker: marker, MaxResults: to.Ptr(limit)}
	if q.Token == "" && q.StartAfter != "" {
		opts.StartFrom = to.Ptr(blobName(q.StartAfter) + "\x00")
	}
	resp, err := b.container.NewListBlobsFlatPager(opts).NextPage(ctx)
	if err != nil {
		return page, err
	}
	items := resp.Segment.BlobItems
	if sf := opts.StartFrom; sf != nil && len(items) > 0 && deref(items[0].Name, "") < *sf {
		if b.startFromIgnored.CompareAndSwap(false, true) {
			b.cfg.Logger.Warn("azure: the service ignores List Blobs startFrom; walks filter on the client")
		}
	}
	for _, item := range items {
		page.Objects = appendObject(page.Objects, q.Prefix, item)
	}
	page.Next = deref(resp.NextMarker, "")
	return page, nil
}

// appendObject appends the driver.Object of a listed blob to objs, unless
// its key lies outside prefix.
func appendObject(objs []driver.Object, prefix string, item *container.BlobItem) []driver.Object {
	name := deref(item.Name, "")
	key := listedKey(name)
	if !strings.HasPrefix(key, prefix) {
		return objs
	}
	o := driver.Object{Key: key, Detail: name}
	if props := item.Properties; props != nil {
		o.Size = deref(props.ContentLength, 0)
		o.ModTime = deref(props.LastModified, o.ModTime)
	}
	return append(objs, o)
}
