package indexer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/indexer"
)

// valid is how fmt prints the nil error of valid options.
const valid = "<nil>"

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*indexer.Options)
		want string // as fmt prints the error; valid for none
	}{
		{"defaults", func(*indexer.Options) {}, valid},
		{"no registry", func(o *indexer.Options) { o.Kafka.RegistryURL = "" }, "registry-url: is required"},
		{"no db", func(o *indexer.Options) { o.DB = "" }, "db: is required"},
		{"no batch", func(o *indexer.Options) { o.MaxBatch = 0 }, "max-batch: 0 is below 1"},
		{"fast discovery", func(o *indexer.Options) { o.DiscoverInterval = 500 * time.Millisecond }, "discover-interval: 500ms is below 1s"},
		{"short wait", func(o *indexer.Options) { o.MaxWait = -time.Second }, "max-wait: -1s is below 1s"},
		{"registrar", func(o *indexer.Options) { o.Registrar = "https://registrar.example:8090/" }, valid},
		{"registrar without scheme", func(o *indexer.Options) { o.Registrar = "localhost:8090" }, `registrar: "localhost:8090" is not an http or https URL`},
		{"registrar without host", func(o *indexer.Options) { o.Registrar = "http://" }, `registrar: "http://" is not an http or https URL`},
		{"the smallest", func(o *indexer.Options) { o.MaxBatch, o.DiscoverInterval, o.MaxWait = 1, time.Second, time.Second }, valid},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := indexer.DefaultOptions()
			c.edit(&o)
			if err := o.Validate(); fmt.Sprint(err) != c.want {
				t.Fatalf("Validate() = %v, want %s", err, c.want)
			}
		})
	}
}

// New checks the options before it opens anything, and names the service.
func TestNewRefusesBadOptions(t *testing.T) {
	o := indexer.DefaultOptions()
	o.DB = t.TempDir() + "/view.db"
	o.MaxBatch = -1
	if _, err := indexer.New(o, nil); err == nil || err.Error() != "indexer: max-batch: -1 is below 1" {
		t.Fatalf("New: %v", err)
	}
}
