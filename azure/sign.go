package azure

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
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

// newDelegationSigner returns the delegationSigner of c's service client
// svc, made with the token credential cred and the options opts.
//
// azblob (v1.8.3) signs a user delegation SAS for the account named by
// the first label of the service URL's host (GetUserDelegationCredential
// takes strings.Split(host, ".")[0], and UserDelegationCredential has no
// public constructor taking the name): right for Azure's
// https://<account>.blob.core.windows.net/, wrong for an IP-style or
// custom-domain URL such as Azurite's https://127.0.0.1:10000/<account>,
// for which it signs for the account "127" and the service refuses the
// SAS with 403 AuthorizationFailure
// (https://github.com/Azure/azure-sdk-for-go/issues/27390). For such a
// URL the key is fetched by a second service client whose URL,
// https://<account>.invalid/, names the account there, and whose
// per-call policy (before the retry and bearer token policies) sends each
// request to the real service URL instead (the .invalid name is never
// resolved, RFC 6761): the same request as svc would send, through the
// same transport, retries and observer.
func newDelegationSigner(c Config, svc *service.Client, cred azcore.TokenCredential, opts *service.ClientOptions) (*delegationSigner, error) {
	u, err := url.Parse(c.ServiceURL)
	if err != nil {
		return nil, err
	}
	if strings.Split(u.Host, ".")[0] == c.AccountName {
		return &delegationSigner{svc: svc}, nil
	}
	o := *opts
	o.PerCallPolicies = append(slices.Clip(o.PerCallPolicies), toServiceURL{u})
	keys, err := service.NewClient("https://"+c.AccountName+".invalid/", cred, &o)
	if err != nil {
		return nil, fmt.Errorf("user delegation key client: %w", err)
	}
	return &delegationSigner{svc: keys}, nil
}

// toServiceURL is the per-call policy of newDelegationSigner's key client:
// it sends each request to the service URL, keeping its query (Get User
// Delegation Key is a POST of ?restype=service&comp=userdelegationkey to
// the service URL).
type toServiceURL struct{ u *url.URL }

// Do implements policy.Policy.
func (p toServiceURL) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	raw.URL.Scheme, raw.URL.Host, raw.Host = p.u.Scheme, p.u.Host, p.u.Host
	raw.URL.Path, raw.URL.RawPath = p.u.Path, p.u.RawPath
	return req.Next()
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
