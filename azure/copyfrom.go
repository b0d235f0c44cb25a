package azure

import (
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.ServerSideCopier = (*Driver)(nil)

// CopyFrom implements driver.ServerSideCopier: it copies srcPath of src,
// another azure Driver of the same storage account (another container or
// root directory), to dstPath with one Copy Blob (copy from URL) sent by
// this driver, pinned to the ETag the source has when the copy starts
// (x-ms-source-if-match), polling while the copy is pending as Move does.
// Within one account the shared key or token that authorises the request
// also authorises the read of the source (with a SAS, the source URL
// carries it), so no SAS is signed. It copies only when both drivers name
// the same account, credentials and service URL;
// otherwise it returns false and does nothing.
func (d *Driver) CopyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	s, ok := src.(*Driver)
	if !ok || !d.b.sameAccount(s.b) {
		return false, nil
	}
	if err := driver.ValidatePaths(DriverName, srcPath, dstPath); err != nil {
		return false, err
	}
	source := s.b.blob(srcPath)
	props, err := source.GetProperties(ctx, nil)
	if err != nil {
		return false, wrap(ctx, "CopyFrom", srcPath, err)
	}
	var opts *blob.StartCopyFromURLOptions
	if props.ETag != nil {
		opts = &blob.StartCopyFromURLOptions{
			SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: props.ETag},
		}
	}
	if err := d.b.copyBlob(ctx, d.b.blob(dstPath), source.URL(), opts); err != nil {
		if httpStatus(err) == http.StatusPreconditionFailed {
			return true, &driver.OpError{DriverName: DriverName, Op: "CopyFrom", Path: srcPath,
				Err: fmt.Errorf("the source changed while it was copied; nothing was copied: %w", err)}
		}
		return true, wrap(ctx, "CopyFrom", dstPath, err)
	}
	return true, nil
}

// sameAccount reports whether o signs with the same account and
// credentials (key, SAS or identity) at the same service URL as b.
func (b *backend) sameAccount(o *backend) bool {
	bc, oc := b.cfg.Credentials, o.cfg.Credentials
	return b.cfg.AccountName == o.cfg.AccountName && b.cfg.AccountKey == o.cfg.AccountKey &&
		b.cfg.ServiceURL == o.cfg.ServiceURL && b.cfg.Realm == o.cfg.Realm &&
		b.cfg.SASToken == o.cfg.SASToken && b.client.mode == o.client.mode &&
		bc.Type == oc.Type && bc.TenantID == oc.TenantID && bc.ClientID == oc.ClientID &&
		(bc.Token == nil) == (oc.Token == nil)
}
