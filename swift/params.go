package swift

import (
	"context"
	"fmt"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() {
	driver.Register(DriverName, func(ctx context.Context, params map[string]any) (driver.StorageDriver, error) {
		cfg, err := FromParameters(params)
		if err != nil {
			return nil, err
		}
		return New(ctx, cfg)
	})
}

// FromParameters builds a Config from distribution-style parameters (the
// `storage.swift` section of a registry configuration), so an existing
// registry configuration works unchanged:
//
//	authurl, username, password  required
//	container                    required; must exist
//	tenant, tenantid, domain,    v2/v3 authentication (passed to ncw/swift)
//	domainid, trustid, region
//	authversion                  1, 2 or 3 (default: detected from authurl)
//	endpointtype                 public (default), internal or admin
//	insecureskipverify           skip TLS verification (own client only)
//	prefix, rootdirectory        name prefix of every path (rootdirectory is an alias)
//	chunksize                    Writer segment size, >= 1 MiB (default 20 MiB)
//	secretkey, accesskey         temp URL key (URLFor is unsupported without it)
//	tempurlcontainerkey          the key is the container's, not the account's
//	tempurlmethods               methods URLFor signs (default GET, HEAD)
//	segmentscontainer            default <container>_segments
//	maxretries                   retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency               requests in flight for DeleteFiles/Delete (default 10)
//	deletebatchsize              names per bulk delete, capped at max_deletes_per_request
//	httpclient                   an *http.Client (driver.HTTPClientParam)
//
// The common parameters are read by driver.CommonConfig.ReadParameters.
// Sizes accept suffixes such as "20mb" (see driver.Params). Unknown
// parameters are ignored, as distribution does.
func FromParameters(params map[string]any) (Config, error) {
	p := driver.Params{DriverName: DriverName, Values: params}
	var c Config
	err := c.CommonConfig.ReadParameters(p)
	str := func(key string, dst *string) {
		if err == nil {
			*dst, err = p.String(key, *dst)
		}
	}
	str("authurl", &c.AuthURL)
	str("username", &c.UserName)
	str("password", &c.Password)
	str("tenant", &c.Tenant)
	str("tenantid", &c.TenantID)
	str("domain", &c.Domain)
	str("domainid", &c.DomainID)
	str("tenantdomain", &c.TenantDomain)
	str("trustid", &c.TrustID)
	str("region", &c.Region)
	str("endpointtype", &c.EndpointType)
	str("container", &c.Container)
	str("segmentscontainer", &c.SegmentsContainer)
	str("prefix", &c.RootDirectory) // distribution's name; rootdirectory is the alias
	str("secretkey", &c.SecretKey)
	str("accesskey", &c.AccessKey)
	if err != nil {
		return c, err
	}
	if c.InsecureSkipVerify, err = p.Bool("insecureskipverify", false); err != nil {
		return c, err
	}
	if c.TempURLContainerKey, err = p.Bool("tempurlcontainerkey", false); err != nil {
		return c, err
	}
	if c.AuthVersion, err = p.Int("authversion", 0); err != nil {
		return c, err
	}
	if c.ChunkSize, err = p.Positive64("chunksize"); err != nil {
		return c, err
	}
	switch v := params["tempurlmethods"].(type) {
	case nil:
	case string:
		c.TempURLMethods = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	case []string:
		c.TempURLMethods = append([]string(nil), v...)
	case []any:
		for _, m := range v {
			s, ok := m.(string)
			if !ok {
				return c, &driver.ConfigError{DriverName: DriverName, Parameter: "tempurlmethods", Err: fmt.Errorf("want strings, got %T", m)}
			}
			c.TempURLMethods = append(c.TempURLMethods, s)
		}
	default:
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: "tempurlmethods", Err: fmt.Errorf("want a list of methods, got %T", v)}
	}
	return c.normalize()
}
