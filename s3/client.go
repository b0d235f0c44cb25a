package s3

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stowage-dev/stowage/driver"
)

// newClient builds the SDK client for a normalized Config.
func newClient(ctx context.Context, c Config) (*s3.Client, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(c) }),
	}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	if c.AccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Err: fmt.Errorf("loading AWS configuration: %w", err)}
	}
	if awsCfg.Region == "" {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "region",
			Err: fmt.Errorf("required (none set and none found in the environment)")}
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.RegionEndpoint != "" {
			o.BaseEndpoint = aws.String(c.RegionEndpoint)
		}
		o.UsePathStyle = c.ForcePathStyle
		if c.HTTPClient != nil {
			// Set here rather than in LoadDefaultConfig, which would try to
			// add AWS_CA_BUNDLE to it and fail on a plain *http.Client: a
			// caller's client keeps its own TLS settings.
			o.HTTPClient = c.HTTPClient
		}
		if c.Checksum == ChecksumWhenSupported {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
		} else {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.DisableLogOutputChecksumValidationSkipped = true
		o.Logger = sdkLogger{c.Logger}
	})
	return client, nil
}

// newRetryer is the SDK's standard retryer with c.MaxRetries retries, 429
// added to its retryable statuses (500, 502, 503, 504, throttling codes
// and connection errors are there already), and no client-side retry quota:
// a burst of faults must not turn into errors while retries are left. A
// cancelled context stops it at once (the SDK does not retry a cancelled
// request and wakes from backoff when the context ends).
func newRetryer(c Config) aws.Retryer {
	if c.MaxRetries < 0 {
		return aws.NopRetryer{}
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = c.MaxRetries + 1
		o.MaxBackoff = c.RetryMaxBackoff
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableHTTPStatusCode{
			Codes: map[int]struct{}{http.StatusTooManyRequests: {}},
		})
		if c.RetryBaseDelay > 0 {
			o.Backoff = sdkBackoff{c.Backoff()}
		}
	})
}

// sdkBackoff gives the SDK's retryer driver.Backoff, the full-jitter
// exponential backoff of Config.RetryBaseDelay.
type sdkBackoff struct{ driver.Backoff }

// BackoffDelay implements retry.BackoffDelayer.
func (b sdkBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return b.Delay(attempt), nil
}

// sdkLogger sends the SDK's log lines to the driver's slog.Logger: its
// warnings (e.g. a response body it could not drain after a dropped
// connection) as Debug, since the driver reports what matters itself.
type sdkLogger struct{ l *slog.Logger }

// Logf implements logging.Logger.
func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	s.l.Debug("s3: SDK: "+fmt.Sprintf(format, v...), "level", string(c))
}

// contentMD5 makes an operation that requires a checksum send Content-MD5
// instead of an x-amz-checksum-* header (Config.Checksum == ChecksumMD5).
func contentMD5(stack *middleware.Stack) error {
	stack.Initialize.Remove("AWSChecksum:SetupInputContext")
	stack.Finalize.Remove("AWSChecksum:ComputeInputPayloadChecksum")
	return smithyhttp.AddContentChecksumMiddleware(stack)
}
