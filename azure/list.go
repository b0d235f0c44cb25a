package azure

import (
	"context"

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
			Prefix: to.Ptr(q.Prefix), Marker: marker, MaxResults: to.Ptr(limit),
		}).NextPage(ctx)
		if err != nil {
			return page, err
		}
		for _, item := range resp.Segment.BlobItems {
			page.Objects = append(page.Objects, object(item))
		}
		for _, bp := range resp.Segment.BlobPrefixes {
			page.Prefixes = append(page.Prefixes, deref(bp.Name, ""))
		}
		page.Next = deref(resp.NextMarker, "")
		return page, nil
	}
	opts := &container.ListBlobsFlatOptions{Prefix: to.Ptr(q.Prefix), Marker: marker, MaxResults: to.Ptr(limit)}
	if q.Token == "" && q.StartAfter != "" {
		opts.StartFrom = to.Ptr(q.StartAfter + "\x00")
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
		page.Objects = append(page.Objects, object(item))
	}
	page.Next = deref(resp.NextMarker, "")
	return page, nil
}

// object is the driver.Object of a listed blob.
func object(item *container.BlobItem) driver.Object {
	o := driver.Object{Key: deref(item.Name, "")}
	if props := item.Properties; props != nil {
		o.Size = deref(props.ContentLength, 0)
		o.ModTime = deref(props.LastModified, o.ModTime)
	}
	return o
}
