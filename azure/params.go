package azure

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.azure` section of a registry configuration), so an existing
// registry configuration works unchanged. Every parameter of
// distribution's azure driver is honoured:
//
//	accountname                  the storage account; required (a connectionstring may give it)
//	accountkey                   the shared key (base64), for credentials type shared_key
//	credentials                  a map: how to authenticate (below)
//	connectionstring             a storage connection string (below)
//	container                    required; must exist
//	realm                        default core.windows.net
//	serviceurl                   blob endpoint, default https://<accountname>.blob.<realm>
//	                             (for Azurite: http://127.0.0.1:10000/devstoreaccount1);
//	                             a SAS query on it (?sv=...&sig=...) is taken as sastoken
//	rootdirectory                blob name prefix of every path
//	max_retries                  distribution's name of maxretries (default 5; 0 means the default,
//	                             as in distribution); given with maxretries, the two must agree
//	retry_delay                  base delay of the SDK's exponential retry backoff (default: the
//	                             SDK's 800ms), and of copy_status_poll_delay when that is not given
//	skipverify                   true: no TLS certificate verification of the service (default false;
//	                             no effect with an httpclient of the caller's)
//
// and these are stowage's own:
//
//	sastoken                     a shared access signature (sv=...&sig=...) instead of a key
//	chunksize                    Writer block size, <= 4000 MiB (default 8 MiB)
//	maxretries                   retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency               blob batch requests in flight (default 10)
//	deletebatchsize              blobs per batch, capped at 256 (default 256)
//	maxrequestspersecond         requests per second, shared by every request of the driver
//	                             (default: no limit; 0: no limit)
//	copy_status_poll_delay       first wait for a pending Move copy (default 100ms, or retry_delay)
//	copy_status_poll_max_retry   polls of a pending Move copy (default 20)
//	httpclient, logger, observer Go values (driver.HTTPClientParam, LoggerParam, ObserverParam)
//
// Authentication, exactly one of:
//
//	credentials: {type: shared_key}        with accountkey (type may be left out then)
//	credentials: {type: client_secret, tenantid: ..., clientid: ..., secret: ...}
//	                                       a Microsoft Entra service principal
//	credentials: {type: default_credentials[, tenantid: ...]}
//	                                       azidentity's DefaultAzureCredential: AZURE_* environment
//	                                       variables, AKS workload identity, managed identity (client
//	                                       ID from AZURE_CLIENT_ID), the Azure CLI
//	connectionstring: "AccountName=...;AccountKey=...[;DefaultEndpointsProtocol=...][;EndpointSuffix=...][;BlobEndpoint=...]"
//	connectionstring: "BlobEndpoint=...;SharedAccessSignature=..."
//	connectionstring: "UseDevelopmentStorage=true"   (Azurite's devstoreaccount1 on 127.0.0.1:10000)
//	sastoken: "sv=...&sig=..."             (or a serviceurl carrying it)
//
// Token credentials need an https serviceurl. The credentials map also
// takes stowage's authorityhost (the Microsoft Entra authority, default
// AZURE_AUTHORITY_HOST or the public cloud) and disableinstancediscovery
// (for private clouds).
//
// URLFor signs a service SAS with the shared key; with token credentials
// a user delegation SAS (a user delegation key is fetched, then cached,
// so "expiry" is capped at 7 days, the longest Azure allows; signed for
// accountname also when the serviceurl does not start with it, such as
// Azurite's https://127.0.0.1:10000/devstoreaccount1); with a SAS
// it returns the blob's URL carrying that SAS, whose own expiry applies,
// when the SAS grants reading blobs, and otherwise an error matching
// driver.ErrUnsupportedMethod.
//
// Rate limits: Azure Storage takes about 20,000 requests per second per
// standard storage account (and up to 500 per second on one blob) before
// it answers 503 ServerBusy; the driver has no limit of its own by
// default. Its SDK retries 408, 429, 500, 502, 503, 504 and connection
// errors max_retries times with exponential backoff (each retry reaches
// the observer's Retried); a 429 or 503 left after them is a
// *driver.TooManyRequestsError.
//
// A parameter given in another case ("AccountName") is honoured with a
// warning; unknown parameters are ignored, as distribution does, with one
// warning naming them all. Sizes accept suffixes such as "8mb" (see
// driver.Params).
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	f.Require("container")
	if v, _ := f.Value("connectionstring"); v == nil || v == "" {
		f.Require("accountname") // else the connection string may name it
	}
	f.String("accountname", &c.AccountName)
	f.String("accountkey", &c.AccountKey)
	f.String("container", &c.Container)
	f.String("realm", &c.Realm)
	f.String("serviceurl", &c.ServiceURL)
	f.String("connectionstring", &c.ConnectionString)
	f.String("sastoken", &c.SASToken)
	f.Bool("skipverify", &c.SkipVerify)
	f.Positive64("chunksize", &c.ChunkSize)
	f.Positive("copy_status_poll_max_retry", &c.CopyStatusPollMaxRetry)
	f.Duration("copy_status_poll_delay", &c.CopyStatusPollDelay)
	readMaxRetries(f, &c)
	if _, given := f.Value("retry_delay"); given {
		f.Duration("retry_delay", &c.RetryBaseDelay)
		if c.RetryBaseDelay < 0 {
			f.Fail("retry_delay", "%v is negative", c.RetryBaseDelay)
		}
		if _, given := f.Value("copy_status_poll_delay"); !given {
			c.CopyStatusPollDelay = c.RetryBaseDelay
		}
	}
	if v, given := f.Value("credentials"); given && f.Err() == nil {
		if err := readCredentials(v, &c); err != nil {
			var ce *driver.ConfigError
			if errors.As(err, &ce) {
				return c, err
			}
			f.Fail("credentials", "%w", err)
		}
	}
	if err := f.Done(); err != nil {
		return c, err
	}
	return c.normalize()
}

// readMaxRetries reads distribution's max_retries, which must agree with
// stowage's maxretries when both are given. In distribution 0 means its
// default (5).
func readMaxRetries(f *driver.Fields, c *Config) {
	if _, given := f.Value("max_retries"); !given {
		return
	}
	n := 0
	f.Int("max_retries", &n)
	if f.Err() != nil {
		return
	}
	switch {
	case n < 0:
		f.Fail("max_retries", "%d is negative", n)
		return
	case n == 0:
		n = driver.DefaultMaxRetries
	}
	if _, given := f.Value("maxretries"); given && c.MaxRetries != n {
		got := c.MaxRetries
		if got < 0 {
			got = 0
		}
		f.Fail("max_retries", "%d differs from maxretries %d: give one", n, got)
		return
	}
	c.MaxRetries = n
}

// readCredentials reads distribution's credentials map into c: type,
// clientid, tenantid and secret, and stowage's authorityhost and
// disableinstancediscovery. Keys in another case are honoured with a
// warning; unknown keys are ignored with one.
func readCredentials(v any, c *Config) error {
	var m map[string]any
	switch v := v.(type) {
	case map[string]any:
		m = v
	case map[string]string:
		m = make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
	case map[any]any: // yaml.v2
		m = make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = x
		}
	default:
		return fmt.Errorf("want a map (type, clientid, tenantid, secret), got %T", v)
	}
	log := c.Logger
	sub := map[string]any{}
	for k, x := range m {
		sub["credentials."+k] = x
	}
	sub, err := driver.LowerKeys(DriverName, sub, log)
	if err != nil {
		return err
	}
	f := driver.Params{DriverName: DriverName, Values: sub}.Fields()
	var typ string
	f.String("credentials.type", &typ)
	c.Credentials.Type = CredentialsType(strings.ToLower(typ))
	f.String("credentials.clientid", &c.Credentials.ClientID)
	f.String("credentials.tenantid", &c.Credentials.TenantID)
	f.String("credentials.secret", &c.Credentials.Secret)
	f.String("credentials.authorityhost", &c.Credentials.AuthorityHost)
	f.Bool("credentials.disableinstancediscovery", &c.Credentials.DisableInstanceDiscovery)
	if err := f.Err(); err != nil {
		return err
	}
	if unknown := f.Unknown(); len(unknown) > 0 {
		if log == nil {
			log = slog.Default()
		}
		log.Warn(DriverName+": unknown parameters ignored: "+strings.Join(unknown, ", "),
			"driver", DriverName, "parameters", unknown)
	}
	return nil
}
