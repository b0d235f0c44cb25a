package azure

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/driver"
)

// MaxDelegationURLExpiry is the longest a URLFor URL signed with a user
// delegation key (token credentials) stays valid: Azure issues user
// delegation keys for at most 7 days.
const MaxDelegationURLExpiry = 7 * 24 * time.Hour

// delegationKeyLifetime is how long a user delegation key the driver asks
// for is valid at least; one is asked for again when a URL's expiry
// outlasts the cached key.
const delegationKeyLifetime = 48 * time.Hour

// delegationSigner signs URLFor URLs with a user delegation key that it
// gets with Get User Delegation Key and caches until a URL outlasts it.
type delegationSigner struct {
	svc *service.Client

	mu      sync.Mutex
	cred    *service.UserDelegationCredential
	expires time.Time
}

// credential returns a user delegation credential valid until expires at
// least.
func (s *delegationSigner) credential(ctx context.Context, expires time.Time) (*service.UserDelegationCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cred != nil && !s.expires.Before(expires) {
		return s.cred, nil
	}
	now := time.Now().UTC()
	start := now.Add(-time.Minute) // clock skew
	until := now.Add(delegationKeyLifetime)
	if e := expires.UTC().Add(time.Minute); e.After(until) {
		until = e
	}
	if limit := now.Add(MaxDelegationURLExpiry); until.After(limit) {
		until = limit
	}
	cred, err := s.svc.GetUserDelegationCredential(ctx, service.KeyInfo{
		Start:  to.Ptr(start.Format(sas.TimeFormat)),
		Expiry: to.Ptr(until.Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		return nil, err
	}
	s.cred, s.expires = cred, until
	return cred, nil
}

// SignURL implements driver.Backend: a SAS with read permission on the
// one blob, enough for GET and HEAD, signed with the shared key (a
// service SAS) or a user delegation key (token credentials); with a SAS
// of the configuration's, the blob's URL carrying that SAS (Capabilities
// has SignedURLs only when it grants reading). The URL allows plain HTTP
// only when the service URL is http (Azurite).
func (b *backend) SignURL(ctx context.Context, path, _ string, expires time.Time) (string, error) {
	if b.client.mode == authSAS {
		return b.blob(path).URL(), nil // the client's URLs carry the SAS
	}
	protocol := sas.ProtocolHTTPS
	if strings.HasPrefix(b.cfg.ServiceURL, "http://") {
		protocol = sas.ProtocolHTTPSandHTTP
	}
	values := sas.BlobSignatureValues{
		Protocol:      protocol,
		ExpiryTime:    expires.UTC(),
		Permissions:   (&sas.BlobPermissions{Read: true}).String(),
		ContainerName: b.cfg.Container,
		BlobName:      b.blobName(path),
	}
	var (
		q   sas.QueryParameters
		err error
	)
	switch b.client.mode {
	case authToken:
		var cred *service.UserDelegationCredential
		cred, err = b.client.delegation.credential(ctx, expires)
		if err == nil {
			values.StartTime = time.Now().UTC().Add(-time.Minute)
			q, err = values.SignWithUserDelegation(cred)
		}
	default:
		q, err = values.SignWithSharedKey(b.client.key)
	}
	if err != nil {
		return "", err
	}
	return b.blob(path).URL() + "?" + q.Encode(), nil
}

// urlCapabilities sets what URLFor can do in caps for c's authentication.
func urlCapabilities(c Config, mode authMode, caps *driver.Capabilities) {
	switch mode {
	case authToken:
		caps.SignedURLs, caps.MaxURLExpiry = true, MaxDelegationURLExpiry
	case authSAS:
		caps.SignedURLs = sasAllowsRead(c.SASToken)
	default:
		caps.SignedURLs = true
	}
}
