package azure

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/stowage-dev/stowage/driver"
)

// URLFor implements driver.StorageDriver with a service SAS signed by the
// shared key: read permission on the one blob (enough for GET and HEAD,
// option "method", default GET), valid until option "expiry" (a
// time.Time; default DefaultURLExpiry from now). It sends no request: it
// does not check that the file exists. Any other method gives an error
// matching driver.ErrUnsupportedMethod. The URL allows plain HTTP only
// when the service URL is http (Azurite).
func (d *Driver) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	method := http.MethodGet
	if v, ok := options["method"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: URLFor %s: option method: want a string, got %T", DriverName, path, v)
		}
		method = strings.ToUpper(s)
	}
	if method != http.MethodGet && method != http.MethodHead {
		return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor " + method}
	}
	expiry := time.Now().Add(DefaultURLExpiry)
	if v, ok := options["expiry"]; ok && v != nil {
		t, ok := v.(time.Time)
		if !ok {
			return "", fmt.Errorf("%s: URLFor %s: option expiry: want a time.Time, got %T", DriverName, path, v)
		}
		if !t.After(time.Now()) {
			return "", fmt.Errorf("%s: URLFor %s: expiry %v is not in the future", DriverName, path, t)
		}
		expiry = t
	}
	protocol := sas.ProtocolHTTPS
	if strings.HasPrefix(d.cfg.ServiceURL, "http://") {
		protocol = sas.ProtocolHTTPSandHTTP
	}
	values := sas.BlobSignatureValues{
		Protocol:      protocol,
		ExpiryTime:    expiry.UTC(),
		Permissions:   (&sas.BlobPermissions{Read: true}).String(),
		ContainerName: d.cfg.Container,
		BlobName:      d.key(path),
	}
	q, err := values.SignWithSharedKey(d.cred)
	if err != nil {
		return "", fmt.Errorf("%s: URLFor %s: %w", DriverName, path, err)
	}
	return d.blob(path).URL() + "?" + q.Encode(), nil
}
