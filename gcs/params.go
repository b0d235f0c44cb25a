package gcs

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.gcs` section of a registry configuration), so an existing
// registry configuration works unchanged. It reads every parameter of
// distribution v3.1.2's gcs driver (bucket, keyfile, credentials,
// rootdirectory, chunksize, useragent, maxconcurrency) and stowage's own:
//
//	bucket                required
//	keyfile               path of a JSON credentials file (a service account key)
//	credentials           the credentials themselves: a map of the JSON key's fields
//	                      (type, project_id, private_key_id, private_key, client_email, ...)
//	                      as distribution takes them, or a JSON string; keyfile and
//	                      credentials together are an error
//	rootdirectory         object name prefix of every path (default: the bucket's root)
//	chunksize             Writer part size, >= 256 KiB (default 16 MiB)
//	useragent             the User-Agent header of every request (default: the SDK's)
//	maxconcurrency        batch and compose requests in flight per call (default 10;
//	                      distribution's bounds all the driver's operations, default 50)
//	endpoint              JSON API endpoint of an emulator, e.g. http://127.0.0.1:4443/storage/v1/
//	anonymous             send no credentials (default true when endpoint is set and
//	                      neither keyfile nor credentials is, false otherwise)
//	googleaccessid,       service account e-mail and PEM private key URLFor signs with
//	privatekey            (default: those of a service-account keyfile/credentials)
//	maxretries            retries after a failed attempt (default 5; 0 disables)
//	deletebatchsize       deletes per JSON batch request, capped at 100 (default 100)
//	maxrequestspersecond  a token bucket over every request (default: no limit)
//	httpclient, logger,   Go values (driver.HTTPClientParam, LoggerParam, ObserverParam)
//	observer
//
// Authentication: keyfile or credentials (a service account key, or any
// type Application Default Credentials take: authorized_user,
// impersonated_service_account, external_account); without them
// Application Default Credentials; with anonymous, none (emulators,
// public buckets). Every request, the SDK's retries included, goes
// through one client (driver.CommonConfig.Client) and its rate limiter.
//
// Rate: GCS gives a bucket an initial capacity of about 1,000 object
// writes (uploads, updates, deletes) and 5,000 object reads (listings
// and metadata included) per second, and scales it up in minutes; a
// request rate that grows faster meets higher latency and 429 and 503
// answers, so Google asks to ramp up gradually, doubling the rate at most
// every 20 minutes ("Request rate and access distribution guidelines",
// https://cloud.google.com/storage/docs/request-rate). The driver has no
// limit by default (a batch delete of 100 objects is one request but 100
// writes); set maxrequestspersecond to stay under a new bucket's
// capacity. 429 and 503 left after the retries are a
// *driver.TooManyRequestsError.
//
// The common parameters are read by driver.CommonConfig.Fields. Keys are
// case-insensitive (another case is honoured, with a warning). Sizes
// accept suffixes such as "16mb" (see driver.Params). A parameter this
// driver does not know is logged in one warning and otherwise ignored, as
// distribution does.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	var privateKey string
	f.Require("bucket")
	f.String("bucket", &c.Bucket)
	f.String("keyfile", &c.KeyFile)
	f.String("endpoint", &c.Endpoint)
	f.String("googleaccessid", &c.GoogleAccessID)
	f.String("privatekey", &privateKey)
	f.String("useragent", &c.UserAgent)
	f.Positive64("chunksize", &c.ChunkSize)
	if privateKey != "" {
		c.PrivateKey = []byte(privateKey)
	}
	if v, ok := f.Value("credentials"); ok {
		var err error
		if c.Credentials, err = credentialsParam(v); err != nil {
			var ce *driver.ConfigError
			if errors.As(err, &ce) {
				err = ce.Err
			}
			f.Fail("credentials", "%w", err)
		}
	}
	if c.KeyFile != "" && len(c.Credentials) > 0 {
		f.Fail("credentials", "give keyfile or credentials, not both")
	}
	c.Anonymous = c.Endpoint != "" && c.KeyFile == "" && len(c.Credentials) == 0
	f.Bool("anonymous", &c.Anonymous)
	if err := f.Done(); err != nil {
		return c, err
	}
	return c.normalize()
}

// credentialsParam turns the credentials parameter into a JSON document:
// distribution takes it as a map of the key file's fields (YAML gives
// map[string]any or map[any]any); a JSON string or bytes are taken as is.
func credentialsParam(v any) ([]byte, error) {
	bad := func(err error) ([]byte, error) {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "credentials", Err: err}
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []byte(v), nil
	case []byte:
		return v, nil
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return bad(err)
		}
		return b, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, val := range v {
			s, ok := k.(string)
			if !ok {
				return bad(fmt.Errorf("key %v is not a string", k))
			}
			m[s] = val
		}
		return credentialsParam(m)
	case map[string]string:
		b, err := json.Marshal(v)
		if err != nil {
			return bad(err)
		}
		return b, nil
	}
	return bad(fmt.Errorf("want a map or a JSON string, got %T", v))
}
