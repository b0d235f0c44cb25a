package swift

import (
	"context"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.ServerSideCopier = (*Driver)(nil)

// CopyFrom implements driver.ServerSideCopier: it copies srcPath of src,
// another swift Driver of the same account (another container or root
// directory), to dstPath with one server-side COPY sent by this driver
// (Destination: this driver's container). The copy is of the content: a
// static large object becomes a plain object, so a file above the
// cluster's max_file_size cannot be copied this way and the COPY fails.
// It copies only when both drivers authenticate as the same user of the
// same identity endpoint, tenant, domain and region (one storage URL);
// otherwise it returns false and does nothing.
func (d *Driver) CopyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	s, ok := src.(*Driver)
	if !ok || !d.b.sameAccount(s.b) {
		return false, nil
	}
	if err := driver.ValidatePaths(DriverName, srcPath, dstPath); err != nil {
		return false, err
	}
	_, err := d.b.copyObject(ctx, s.b.cfg.Container, s.b.keys.Key(srcPath), d.b.cfg.Container, d.b.keys.Key(dstPath), false, "")
	return true, wrap(ctx, "CopyFrom", srcPath, err)
}

// sameAccount reports whether o authenticates as b does.
func (b *backend) sameAccount(o *backend) bool {
	c, oc := b.cfg, o.cfg
	return c.AuthURL == oc.AuthURL && c.UserName == oc.UserName && c.Password == oc.Password &&
		c.Tenant == oc.Tenant && c.TenantID == oc.TenantID && c.Domain == oc.Domain && c.DomainID == oc.DomainID &&
		c.TenantDomain == oc.TenantDomain && c.TrustID == oc.TrustID && c.Region == oc.Region && c.AuthVersion == oc.AuthVersion
}
