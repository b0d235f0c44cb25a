package swift

import (
	"fmt"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.swift` section of a registry configuration), so an existing
// registry configuration works unchanged. It reads every parameter of
// distribution v2.8's swift driver, plus Keystone v3 application
// credentials and stowage's own:
//
//	authurl                      required: the identity endpoint (tempauth .../auth/v1.0,
//	                             Keystone .../v2.0 or .../v3)
//	container                    required; must exist
//	username, password           the user and its password or API key: required, unless
//	                             application credentials are given
//	applicationcredentialid,     Keystone v3 application credential (authversion 3 is
//	applicationcredentialname,   implied): the secret with the credential's id, or with
//	applicationcredentialsecret  its name and the owner's username plus domain or domainid;
//	                             password, tenant*, trustid then are an error (the
//	                             credential carries its project)
//	tenant, tenantid             project name or id (v2, v3); tenantid may be a YAML number
//	domain, domainid             the user's domain (v3)
//	tenantdomain, tenantdomainid the project's domain, when it differs from the user's (v3)
//	trustid                      a v3 trust to scope the token to
//	region                       the catalog region of the object-store endpoint (default: first)
//	authversion                  1, 2 or 3 (default: detected from authurl)
//	endpointtype                 public (default), internal or admin
//	insecureskipverify           skip TLS verification (default false; the driver's own
//	                             client only, not an httpclient given)
//	prefix                       name prefix of every path (rootdirectory is an alias)
//	chunksize                    Writer segment size, >= 1 MiB (default 20 MiB)
//	secretkey                    temp URL key (URLFor is unsupported without it)
//	accesskey                    prefixes temp URL signatures as accesskey:signature
//	tempurlcontainerkey          the key is the container's, not the account's (default false)
//	tempurlmethods               methods URLFor signs (default GET, HEAD)
//	segmentscontainer            default <container>_segments
//	maxretries                   retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency               requests in flight for DeleteFiles/Delete (default 10)
//	deletebatchsize              names per bulk delete, capped at max_deletes_per_request
//	maxrequestspersecond         a token bucket over every request (default: no limit)
//	httpclient, logger, observer Go values (driver.HTTPClientParam, LoggerParam, ObserverParam)
//
// Authentication modes: tempauth (authversion 1: username "account:user"
// and its key), Keystone v2 (username, password, tenant or tenantid) and
// Keystone v3, with a password (username, password, domain or domainid,
// and a project scope from tenant/tenantid with tenantdomain/
// tenantdomainid, or a trustid) or with an application credential. Every
// request, authentication included, goes through one client
// (driver.CommonConfig.Client), rate limiter included.
//
// The common parameters are read by driver.CommonConfig.Fields. Keys are
// case-insensitive (another case is honoured, with a warning). Sizes
// accept suffixes such as "20mb" (see driver.Params). A parameter this
// driver does not know is logged in one warning and otherwise ignored, as
// distribution does; a missing required one is a *driver.ConfigError
// naming them all.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	for _, field := range []struct {
		key string
		dst *string
	}{
		{"authurl", &c.AuthURL}, {"username", &c.UserName}, {"password", &c.Password},
		{"applicationcredentialid", &c.ApplicationCredentialID},
		{"applicationcredentialname", &c.ApplicationCredentialName},
		{"applicationcredentialsecret", &c.ApplicationCredentialSecret},
		{"tenant", &c.Tenant}, {"tenantid", &c.TenantID}, {"domain", &c.Domain}, {"domainid", &c.DomainID},
		{"tenantdomain", &c.TenantDomain}, {"tenantdomainid", &c.TenantDomainID},
		{"trustid", &c.TrustID}, {"region", &c.Region},
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
	f.Require("authurl", "container")
	if !c.applicationCredentials() {
		f.Require("username", "password")
	}
	if v, ok := f.Value("tempurlmethods"); ok {
		methods, err := methodsParam(v)
		if err != nil {
			f.Fail("tempurlmethods", "%w", err)
		}
		c.TempURLMethods = methods
	}
	if err := f.Done(); err != nil {
		return c, err
	}
	return c.normalize()
}

// methodsParam reads tempurlmethods: a list, or a string of methods
// separated by commas or spaces.
func methodsParam(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }), nil
	case []string:
		return append([]string(nil), v...), nil
	case []any:
		var out []string
		for _, m := range v {
			s, ok := m.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", m)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of methods, got %T", v)
}
