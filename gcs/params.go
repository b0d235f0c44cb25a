package gcs

import (
	"encoding/json"
	"fmt"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.gcs` section of a registry configuration), so an existing
// registry configuration works unchanged:
//
//	bucket           required
//	keyfile          path of a JSON credentials file (a service account key)
//	credentials      the credentials themselves: a map of the JSON key's fields
//	                 (type, project_id, private_key_id, private_key, client_email, ...)
//	                 as distribution takes them, or a JSON string
//	                 (neither: Application Default Credentials)
//	rootdirectory    object name prefix of every path
//	chunksize        Writer part size, >= 256 KiB (default 16 MiB)
//	endpoint         JSON API endpoint of an emulator, e.g. http://127.0.0.1:4443/storage/v1/
//	anonymous        send no credentials (default true when endpoint is set and
//	                 neither keyfile nor credentials is, false otherwise)
//	googleaccessid,  service account e-mail and PEM private key URLFor signs with
//	privatekey       (default: those of a service-account keyfile/credentials)
//	maxretries       retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency   batch and compose requests in flight (default 10)
//	deletebatchsize  deletes per JSON batch request, capped at 100 (default 100)
//	httpclient       an *http.Client (driver.HTTPClientParam)
//
// The common ones (rootdirectory, maxretries, maxconcurrency,
// deletebatchsize, httpclient) are read by
// driver.CommonConfig.ReadParameters. Sizes accept suffixes such as "16mb"
// (see driver.Params). Unknown parameters are ignored, as distribution
// does.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	var privateKey string
	f.String("bucket", &c.Bucket)
	f.String("keyfile", &c.KeyFile)
	f.String("endpoint", &c.Endpoint)
	f.String("googleaccessid", &c.GoogleAccessID)
	f.String("privatekey", &privateKey)
	f.Positive64("chunksize", &c.ChunkSize)
	if err := f.Err(); err != nil {
		return c, err
	}
	if privateKey != "" {
		c.PrivateKey = []byte(privateKey)
	}
	var err error
	if c.Credentials, err = credentialsParam(params["credentials"]); err != nil {
		return c, err
	}
	c.Anonymous = c.Endpoint != "" && c.KeyFile == "" && len(c.Credentials) == 0
	f.Bool("anonymous", &c.Anonymous)
	if err := f.Err(); err != nil {
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
