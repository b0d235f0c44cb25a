package distribution

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/sirupsen/logrus"
)

// logLevelEnv sets the level of the registry's logs during the tests
// (logrus level names: error, info, debug ...); they are off by default,
// since the registry logs every 404 the suite asks for as an error.
const logLevelEnv = "STOWAGE_E2E_LOGLEVEL"

func TestMain(m *testing.M) {
	flag.Parse()
	selectSuiteTests()
	level := logrus.PanicLevel
	if s := os.Getenv(logLevelEnv); s != "" {
		l, err := logrus.ParseLevel(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", logLevelEnv, err)
			os.Exit(2)
		}
		level = l
	}
	logrus.SetLevel(level)
	os.Exit(m.Run())
}
