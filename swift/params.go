package swift

import (
	"fmt"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

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
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	for _, field := range []struct {
		key string
		dst *string
	}{
		{"authurl", &c.AuthURL}, {"username", &c.UserName}, {"password", &c.Password},
		{"tenant", &c.Tenant}, {"tenantid", &c.TenantID}, {"domain", &c.Domain}, {"domainid", &c.DomainID},
		{"tenantdomain", &c.TenantDomain}, {"trustid", &c.TrustID}, {"region", &c.Region},
		{"endpointtype", &c.EndpointType}, {"container", &c.Container}, {"segmentscontainer", &c.SegmentsContainer},
		{"secretkey", &c.SecretKey}, {"accesskey", &c.AccessKey},
	} {
		f.String(field.key, field.dst)
	}
	f.String("prefix", &c.RootDirectory) // distribution's name; rootdirectory is the alias
	f.Bool("insecureskipverify", &c.InsecureSkipVerify)
	f.Bool("tempurlcontainerkey", &c.TempURLContainerKey)
	f.Int("authversion", &c.AuthVersion)
	f.Positive64("chunksize", &c.ChunkSize)
	if err := f.Err(); err != nil {
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
