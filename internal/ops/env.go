package ops

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix is the prefix of the environment variables that set flags.
const EnvPrefix = "MESHBONE_"

// EnvName is the environment variable of a flag: MESHBONE_ and the flag
// name upper-cased with dashes as underscores (kafka-brokers ->
// MESHBONE_KAFKA_BROKERS).
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags parses args into fs, after setting every flag that is not on
// the command line from its environment variable, if set. Flags win over the
// environment.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok || set[f.Name] || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, e)
		}
	})
	return err
}
